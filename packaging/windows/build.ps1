# Builds GLM-V for Windows with PyInstaller: a folder app zipped, and an installer when Inno Setup 6 is present.
# Run it ON WINDOWS (x64) in PowerShell from the repository root or anywhere:
#
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 [-Variant api|local]
#
# It makes .venv when missing (Python 3.10+ from python.org or the py launcher), installs the project into it
# (the local variant with the CUDA torch build from download.pytorch.org), and PyInstaller.
# Outputs go to dist\ (git-ignored): glmv-desktop-VERSION-windows-x64-VARIANT.zip and, with Inno Setup's
# iscc.exe on PATH or in its default folder, ...-setup.exe.
param(
    [ValidateSet("api", "local")][string]$Variant = "api",
    [string]$TorchIndex = "https://download.pytorch.org/whl/cu128"
)
$ErrorActionPreference = "Stop"
$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $Root
$Dist = if ($env:GLMV_DIST) { $env:GLMV_DIST } else { "dist" }
$Work = if ($env:GLMV_BUILD) { $env:GLMV_BUILD } else { "build" }
$Py = ".venv\Scripts\python.exe"

if (-not (Test-Path $Py)) {
    Write-Host "[build] creating .venv"
    if (Get-Command py -ErrorAction SilentlyContinue) { py -3 -m venv .venv } else { python -m venv .venv }
}
& $Py -m pip install -q --upgrade pip
if ($Variant -eq "local") {
    & $Py -m pip install -q torch --index-url $TorchIndex
    & $Py -m pip install -q -e ".[local]"
} else {
    & $Py -m pip install -q -e .
}
& $Py -m pip install -q "pyinstaller>=6.10"
if (-not (Test-Path "resources\icons\glmv.ico")) { & $Py packaging\render_icons.py }

$Version = & $Py -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])"
$Name = "glmv-desktop-$Version-windows-x64-$Variant"
$Out = Join-Path $Dist $Variant
$env:GLMV_VARIANT = $Variant
& $Py -m PyInstaller --noconfirm --clean --log-level WARN --distpath $Out --workpath (Join-Path $Work "pyinstaller-$Variant") packaging\glmv.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }
$App = Join-Path $Out "glmv"
$Size = "{0:N0} MB" -f ((Get-ChildItem $App -Recurse | Measure-Object Length -Sum).Sum / 1MB)
Write-Host "[build] built $App ($Size): GLM-V.exe (window) and glmv.exe (terminal)"

$Zip = Join-Path $Dist "$Name.zip"
if (Test-Path $Zip) { Remove-Item $Zip }
Compress-Archive -Path $App -DestinationPath $Zip
Write-Host "[build] zip: $Zip"

$Iscc = Get-Command iscc.exe -ErrorAction SilentlyContinue
if (-not $Iscc -and (Test-Path "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe")) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
if ($Iscc) {
    & $Iscc /Q "/DAppVersion=$Version" "/DSourceDir=$((Resolve-Path $App).Path)" "/DOutputDir=$((Resolve-Path $Dist).Path)" "/DOutputName=$Name-setup" packaging\windows\glmv.iss
    Write-Host "[build] installer: $(Join-Path $Dist "$Name-setup.exe")"
} else {
    Write-Host "[build] Inno Setup 6 not found (winget install JRSoftware.InnoSetup): only the zip was made"
}
