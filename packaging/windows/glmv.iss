; Inno Setup 6 script for GLM-V: a per-user install (no administrator rights), Start menu entry, optional
; desktop icon, `glmv` on the user's PATH for the terminal commands, and an uninstaller that keeps settings,
; history and downloaded models. build.ps1 passes AppVersion, SourceDir, OutputDir and OutputName.
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif

[Setup]
AppId={{6C1F6E0B-3A57-4D0B-9B1E-2A3C9E5F7A11}
AppName=GLM-V
AppVersion={#AppVersion}
AppPublisher=GLM-V Desktop contributors
DefaultDirName={localappdata}\Programs\GLM-V
DefaultGroupName=GLM-V
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename={#OutputName}
SetupIconFile=..\..\resources\icons\glmv.ico
UninstallDisplayIcon={app}\GLM-V.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "Create a desktop icon"; Flags: unchecked
Name: "addtopath"; Description: "Add glmv to PATH (for glmv ask, glmv doctor and capture commands)"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\GLM-V"; Filename: "{app}\GLM-V.exe"
Name: "{group}\GLM-V doctor (diagnose problems)"; Filename: "{cmd}"; Parameters: "/k ""{app}\glmv.exe"" doctor"
Name: "{userdesktop}\GLM-V"; Filename: "{app}\GLM-V.exe"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\GLM-V.exe"; Description: "Start GLM-V"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Path) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;
