#!/usr/bin/env bash
# Installs this GLM-V bundle for the current user: the app folder under ~/.local/share/glmv-desktop/app, the
# `glmv` command in ~/.local/bin, the menu entry and icons. `install.sh --uninstall` removes them again
# (settings, history and downloaded models stay).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
app="$data/glmv-desktop/app"
bin="$HOME/.local/bin"
if [[ "${1:-}" == "--uninstall" ]]; then
    rm -rf "$app" "$bin/glmv" "$data/applications/glmv-desktop.desktop"
    find "$data/icons/hicolor" -name glmv-desktop.png -delete 2>/dev/null || true
    echo "GLM-V removed (settings, history and models are kept)."
    exit 0
fi
mkdir -p "$app" "$bin" "$data/applications" "$data/icons"
rm -rf "$app"
cp -a "$here/glmv" "$app"
ln -sf "$app/glmv" "$bin/glmv"
cp -a "$here/icons/." "$data/icons/hicolor/"
sed "s|^Exec=glmv|Exec=$app/glmv|; s|^TryExec=glmv|TryExec=$app/glmv|" "$here/glmv-desktop.desktop" \
    > "$data/applications/glmv-desktop.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "GLM-V installed: start it from the menu or run glmv (in $bin)."
case ":$PATH:" in *":$bin:"*) ;; *) echo "Note: $bin is not on your PATH; add it to run glmv from a terminal." ;; esac
