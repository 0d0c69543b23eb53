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
source packaging/build_common.sh
[[ -f resources/icons/glmv.icns ]] || "$py" packaging/render_icons.py

name="glmv-desktop-$version-macos-$(uname -m)-$variant"
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
