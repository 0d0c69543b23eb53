#!/usr/bin/env bash
# Builds the Linux bundle with PyInstaller: a folder app, packed as a tarball with an installer script, the
# .desktop entry and the icons; and as an AppImage when appimagetool is on PATH.
#
#   packaging/linux/build.sh [api|local]      api (default): no torch; local: with the in-process engine
#
# Environment: GLMV_DIST (default dist/) and GLMV_BUILD (default build/) for the outputs (both git-ignored).
# Run it on the oldest Linux you want to support (glibc is taken from the build machine), from a checkout
# prepared by scripts/setup (GLMV_LOCAL=0 scripts/setup is enough for the api variant).
set -euo pipefail
cd "$(dirname "$0")/../.."
source packaging/build_common.sh

arch="$(uname -m)"
name="glmv-desktop-$version-linux-$arch-$variant"

# pynput's PyInstaller hook imports pynput, which needs an X display; a headless build machine gets Xvfb.
runner=()
if [[ -z "${DISPLAY:-}" ]] && command -v xvfb-run >/dev/null; then runner=(xvfb-run -a); fi
say "PyInstaller ($variant) -> $out/glmv"
start=$SECONDS
GLMV_VARIANT="$variant" "${runner[@]}" "$py" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$out" --workpath "$work/pyinstaller-$variant" packaging/glmv.spec
say "built in $((SECONDS - start)) s: $(du -sh "$out/glmv" | cut -f1)"

# --- tarball: the app folder, the desktop entry, icons, and a per-user installer -----------------------------
stage="$work/$name"
rm -rf "$stage"
mkdir -p "$stage"
cp -a "$out/glmv" "$stage/glmv"
cp resources/glmv-desktop.desktop "$stage/"
cp -a resources/icons/hicolor "$stage/icons"
cp packaging/linux/install.sh "$stage/install.sh"
chmod +x "$stage/install.sh"
tar -C "$work" -czf "$dist/$name.tar.gz" "$name"
say "tarball: $dist/$name.tar.gz ($(du -h "$dist/$name.tar.gz" | cut -f1))"

# --- AppImage: one file that runs where it is -----------------------------------------------------------------
appdir="$work/$name.AppDir"
rm -rf "$appdir"
mkdir -p "$appdir/usr/lib" "$appdir/usr/share/applications"
cp -a "$out/glmv" "$appdir/usr/lib/glmv"
cp resources/glmv-desktop.desktop "$appdir/glmv-desktop.desktop"
cp resources/glmv-desktop.desktop "$appdir/usr/share/applications/"
cp -a resources/icons/hicolor "$appdir/usr/share/icons"
cp resources/icons/hicolor/256x256/apps/glmv-desktop.png "$appdir/glmv-desktop.png"
ln -sf glmv-desktop.png "$appdir/.DirIcon"
cat > "$appdir/AppRun" <<'RUN'
#!/bin/sh
here="$(dirname "$(readlink -f "$0")")"
exec "$here/usr/lib/glmv/glmv" "$@"
RUN
chmod +x "$appdir/AppRun"
if command -v appimagetool >/dev/null; then
    ARCH="$arch" appimagetool --no-appstream "$appdir" "$dist/$name.AppImage" >/dev/null
    say "AppImage: $dist/$name.AppImage ($(du -h "$dist/$name.AppImage" | cut -f1))"
else
    say "AppDir ready at $appdir; install appimagetool (https://github.com/AppImage/appimagetool/releases) and"
    say "run: ARCH=$arch appimagetool $appdir $dist/$name.AppImage"
fi
