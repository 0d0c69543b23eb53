#!/usr/bin/env bash
# Starts a built bundle on a private virtual X display, waits for its window, prints the time to the first
# window and saves a screenshot; then closes it. Used after build.sh to check that the bundle really starts.
#
#   packaging/linux/smoke.sh DIST/glmv [SCREENSHOT.png]
set -euo pipefail
exe="${1:?usage: smoke.sh PATH/TO/glmv [screenshot.png]}"
shot="${2:-$(dirname "$exe")/../smoke.png}"
for tool in Xvfb xdotool import; do
    command -v "$tool" >/dev/null || { echo "[smoke] needs $tool (apt install xvfb xdotool imagemagick)" >&2; exit 1; }
done
home="$(mktemp -d)"
display=":$((RANDOM % 400 + 100))"
Xvfb "$display" -screen 0 1600x1000x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
cleanup() { kill "$app" 2>/dev/null || true; kill "$xvfb" 2>/dev/null || true; rm -rf "$home"; }
trap cleanup EXIT
for _ in $(seq 50); do [[ -e "/tmp/.X11-unix/X${display#:}" ]] && break; sleep 0.1; done
export DISPLAY="$display" HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_DATA_HOME="$home/.local/share" \
    XDG_STATE_HOME="$home/.local/state" XDG_CACHE_HOME="$home/.cache"
unset WAYLAND_DISPLAY QT_QPA_PLATFORM
start=$(date +%s.%N)
"$exe" > "$home/app.log" 2>&1 &
app=$!
shown=""
for _ in $(seq 600); do
    if xdotool search --onlyvisible --name "GLM-V" >/dev/null 2>&1; then shown=$(date +%s.%N); break; fi
    kill -0 "$app" 2>/dev/null || break
    sleep 0.05
done
if [[ -z "$shown" ]]; then
    echo "[smoke] no window appeared; the app said:" >&2; cat "$home/app.log" >&2; exit 1
fi
echo "[smoke] first window after $(echo "$shown - $start" | bc) s"
sleep 2
import -window root "$shot"
echo "[smoke] screenshot: $shot"
xdotool search --onlyvisible --name "GLM-V" getwindowname %@ 2>/dev/null | sed 's/^/[smoke] window: /'
