#!/usr/bin/env bash
# Builds GLM-V.app and a .dmg on macOS with PyInstaller. Run it ON A MAC (Apple silicon builds arm64; an
# Intel Mac builds x86_64), from a checkout prepared by scripts/setup.
#
#   packaging/macos/build.sh [api|local]
#
# Environment:
#   GLMV_CODESIGN_IDENTITY   "Developer ID Application: NAME (TEAMID)" to sign for distribution; without it the
#                            app is signed ad hoc (runs on this Mac; others must right-click > Open once)
#   GLMV_NOTARY_PROFILE      a `xcrun notarytool store-credentials` profile: notarize and staple the .dmg
#   GLMV_DIST, GLMV_BUILD    output folders (default dist/ and build/)
#
# Screen Recording and Accessibility/Input Monitoring permissions are tied to the signature: with ad-hoc
# signing every rebuild is a new app to macOS and the person grants them again.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ "$(uname -s)" == Darwin ]] || { echo "[build] this script runs on macOS; see packaging/README.md" >&2; exit 1; }
variant="${1:-api}"
[[ "$variant" == api || "$variant" == local ]] || { echo "usage: $0 [api|local]" >&2; exit 2; }
dist="${GLMV_DIST:-dist}"
work="${GLMV_BUILD:-build}"
py=.venv/bin/python
say() { printf '[build] %s\n' "$*" >&2; }

[[ -x "$py" ]] || { say "no .venv: run scripts/setup first (GLMV_LOCAL=0 scripts/setup for the api variant)"; exit 1; }
if [[ "$variant" == local ]] && ! "$py" -c "import torch, transformers" 2>/dev/null; then
    say "the local variant needs torch and transformers in .venv: run GLMV_LOCAL=1 scripts/setup"; exit 1
fi
"$py" -c "import PyInstaller" 2>/dev/null || "$py" -m pip install -q "pyinstaller>=6.10"
[[ -f resources/icons/glmv.icns ]] || "$py" packaging/render_icons.py

version="$("$py" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
name="glmv-desktop-$version-macos-$(uname -m)-$variant"
out="$dist/$variant"
GLMV_VARIANT="$variant" GLMV_VERSION="$version" "$py" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$out" --workpath "$work/pyinstaller-$variant" packaging/glmv.spec
app="$out/GLM-V.app"
say "built $app ($(du -sh "$app" | cut -f1))"

identity="${GLMV_CODESIGN_IDENTITY:--}"
codesign --force --deep --options runtime --timestamp=none --sign "$identity" "$app" 2>/dev/null \
    || codesign --force --deep --sign "$identity" "$app"
codesign --verify --deep --strict "$app"
say "signed with ${GLMV_CODESIGN_IDENTITY:-an ad-hoc signature}"

dmg="$dist/$name.dmg"
rm -f "$dmg"
stage="$work/dmg-$variant"
rm -rf "$stage"
mkdir -p "$stage"
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
hdiutil create -volname "GLM-V" -srcfolder "$stage" -ov -format UDZO "$dmg" >/dev/null
say "disk image: $dmg ($(du -h "$dmg" | cut -f1))"

if [[ -n "${GLMV_NOTARY_PROFILE:-}" ]]; then
    xcrun notarytool submit "$dmg" --keychain-profile "$GLMV_NOTARY_PROFILE" --wait
    xcrun stapler staple "$dmg"
    say "notarized and stapled"
fi
