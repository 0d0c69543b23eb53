# Sourced by packaging/linux/build.sh and packaging/macos/build.sh, from the repository root, with the script's
# arguments: the variant, the output folders, the checks of .venv, PyInstaller, and the version being built.
variant="${1:-api}"
[[ "$variant" == api || "$variant" == local ]] || { echo "usage: $0 [api|local]" >&2; exit 2; }
dist="${GLMV_DIST:-dist}"
work="${GLMV_BUILD:-build}"
py=.venv/bin/python
say() { printf '[build] %s\n' "$*" >&2; }

[[ -x "$py" ]] || { say "no .venv: run scripts/setup first (GLMV_LOCAL=0 scripts/setup for the api variant)"; exit 1; }
if [[ "$variant" == local ]] && ! "$py" -c "import torch, transformers, starlette, uvicorn" 2>/dev/null; then
    say "the local variant needs torch, transformers and the serve extra in .venv: run GLMV_LOCAL=1 scripts/setup"
    exit 1
fi
"$py" -c "import PyInstaller" 2>/dev/null || { say "installing PyInstaller into .venv"; "$py" -m pip install -q "pyinstaller>=6.10"; }
version="$("$py" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
out="$dist/$variant"
