"""Light or dark, following the system (Qt 6.5+ ``styleHints().colorScheme()``), and the icons in that colour.

Colours come from one small table per scheme. The application palette is built from it, so every widget that
draws with the palette (text fields, buttons, scroll bars, menus, dialogs, the floating window) follows, also
where the platform's own palette stays light while the scheme is dark (Fusion on X11, a forced "dark" setting);
the window's style sheet refers to the same table through object names, so a change of scheme restyles the
whole app at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"


@dataclass(frozen=True)
class Colors:
    dark: bool
    window: str
    surface: str
    sidebar: str
    border: str
    text: str
    muted: str
    accent: str
    accent_text: str
    user_bubble: str
    thinking_bg: str
    danger_bg: str
    danger_border: str
    danger_text: str


LIGHT = Colors(
    dark=False,
    window="#ffffff",
    surface="#ffffff",
    sidebar="#f5f6f8",
    border="#e1e4e8",
    text="#1f2328",
    muted="#6b7280",
    accent="#3b5bdb",
    accent_text="#ffffff",
    user_bubble="#eef2ff",
    thinking_bg="#fafafa",
    danger_bg="#fff1f0",
    danger_border="#f5a3a3",
    danger_text="#9b1c1c",
)
DARK = Colors(
    dark=True,
    window="#1b1d21",
    surface="#1b1d21",
    sidebar="#222429",
    border="#33363d",
    text="#e6e8eb",
    muted="#9aa3ad",
    accent="#6f8cff",
    accent_text="#0d1117",
    user_bubble="#262c40",
    thinking_bg="#1f2125",
    danger_bg="#3a1d1d",
    danger_border="#7a3434",
    danger_text="#ffb4b4",
)


def system_is_dark(preference: str = "system", scheme: Qt.ColorScheme | None = None) -> bool:
    """Whether to draw dark: the setting when it says light or dark, else ``scheme`` (the one a
    ``colorSchemeChanged`` signal just announced) or the system's current one."""
    if preference in ("light", "dark"):
        return preference == "dark"
    if scheme is None:
        if QGuiApplication.instance() is None:
            return False
        scheme = QGuiApplication.styleHints().colorScheme()
    return scheme == Qt.ColorScheme.Dark


def colors(dark: bool) -> Colors:
    return DARK if dark else LIGHT


def palette(c: Colors) -> QPalette:
    """The application palette for one scheme: every role a widget may paint with, disabled ones dimmed."""
    text, muted, border = QColor(c.text), QColor(c.muted), QColor(c.border)
    button = QColor(c.sidebar)
    result = QPalette()
    roles = {
        QPalette.ColorRole.Window: QColor(c.window),
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: QColor(c.surface),
        QPalette.ColorRole.AlternateBase: QColor(c.sidebar),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.PlaceholderText: muted,
        QPalette.ColorRole.Button: button,
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(c.danger_text),
        QPalette.ColorRole.Highlight: QColor(c.accent),
        QPalette.ColorRole.HighlightedText: QColor(c.accent_text),
        QPalette.ColorRole.ToolTipBase: QColor(c.sidebar),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Link: QColor(c.accent),
        QPalette.ColorRole.LinkVisited: QColor(c.accent),
        QPalette.ColorRole.Light: button.lighter(130 if c.dark else 110),
        QPalette.ColorRole.Midlight: button.lighter(115 if c.dark else 105),
        QPalette.ColorRole.Mid: border,
        QPalette.ColorRole.Dark: border.darker(130),
        QPalette.ColorRole.Shadow: QColor("#000000"),
    }
    for role, color in roles.items():
        result.setColor(role, color)
    dimmed = QColor(muted)
    dimmed.setAlpha(150)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        result.setColor(QPalette.ColorGroup.Disabled, role, dimmed)
    result.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, QColor(c.window))
    result.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, border)
    return result


_requested: Qt.ColorScheme | None = None


def apply(preference: str = "system", scheme: Qt.ColorScheme | None = None) -> Colors:
    """Set the whole application to the scheme the setting asks for (or the system's) and return its colours.

    A forced light or dark is also requested from the platform where Qt can (6.8+: title bars and native
    dialogs follow); "system" withdraws such a request. Styles that draw native light controls whatever the
    palette says (Windows' "windowsvista") give way to Fusion in the dark."""
    from PySide6.QtWidgets import QApplication

    global _requested
    hints = QGuiApplication.styleHints()
    wanted = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(preference)
    if wanted != _requested and hasattr(hints, "setColorScheme"):
        _requested = wanted
        if wanted is None:
            hints.unsetColorScheme()
        else:
            hints.setColorScheme(wanted)
    c = colors(system_is_dark(preference, scheme))
    app = QApplication.instance()
    if isinstance(app, QApplication):
        if c.dark and app.style().name().lower() in ("windowsvista", "windows"):
            app.setStyle("Fusion")
        app.setPalette(palette(c))
    return c


def style_sheet(c: Colors) -> str:
    return f"""
    QMainWindow, #central {{ background: {c.window}; color: {c.text}; }}
    #sidebar {{ background: {c.sidebar}; border-right: 1px solid {c.border}; }}
    #history {{ background: transparent; border: none; color: {c.text}; outline: 0; }}
    #history::item {{ padding: 7px 8px; border-radius: 6px; }}
    #history::item:selected {{ background: {c.border}; color: {c.text}; }}
    #search {{ padding: 5px 8px; border: 1px solid {c.border}; border-radius: 6px; background: {c.surface};
        color: {c.text}; }}
    #transcriptArea, #transcript {{ background: {c.window}; border: none; }}
    #userCard {{ background: {c.user_bubble}; border-radius: 10px; }}
    #userText {{ color: {c.text}; }}
    #answerCard {{ background: transparent; border-radius: 8px; border: 1px solid transparent; }}
    #answerCard[selected="true"] {{ border: 1px solid {c.border}; }}
    #cardMeta {{ color: {c.muted}; font-size: 11px; }}
    #thinkingPane {{ background: {c.thinking_bg}; border-left: 1px solid {c.border}; }}
    #thinking {{ background: transparent; border: none; color: {c.muted}; }}
    #thinkingTitle {{ font-weight: 600; color: {c.text}; }}
    #thinkingTime {{ color: {c.muted}; }}
    #thinkingChoice {{ color: {c.muted}; }}
    #composerBox {{ border: 1px solid {c.border}; border-radius: 12px; background: {c.surface}; }}
    #composer {{ border: none; background: transparent; color: {c.text}; }}
    #send {{ background: {c.accent}; border: none; border-radius: 8px; padding: 6px; }}
    #send:disabled {{ background: {c.border}; }}
    #stop {{ background: {c.text}; border: none; border-radius: 8px; padding: 6px; }}
    #stop:disabled {{ background: {c.border}; }}
    #banner {{ background: {c.danger_bg}; border: 1px solid {c.danger_border}; border-radius: 8px; }}
    #bannerText {{ color: {c.danger_text}; }}
    #chip {{ border: 1px solid {c.border}; border-radius: 8px; background: {c.sidebar}; }}
    #chipDetail {{ color: {c.muted}; font-size: 11px; }}
    #chipError {{ color: {c.danger_text}; font-size: 11px; }}
    #emptyState {{ color: {c.muted}; font-size: 15px; }}
    #editBar {{ color: {c.muted}; }}
    QToolButton#cardButton {{ border: none; padding: 3px; border-radius: 4px; color: {c.muted}; }}
    QToolButton#cardButton:hover {{ background: {c.border}; }}
    #answerCard QTextBrowser {{ background: transparent; color: {c.text}; border: none; }}
    QPushButton#newChat, QPushButton#settingsButton {{ text-align: left; padding: 7px 10px; color: {c.text};
        background: {c.surface}; border: 1px solid {c.border}; border-radius: 6px; }}
    QPushButton#newChat:hover, QPushButton#settingsButton:hover {{ background: {c.border}; }}
    QStatusBar {{ background: {c.window}; color: {c.muted}; border-top: 1px solid {c.border}; }}
    #backendStatus {{ color: {c.muted}; padding-right: 6px; }}
    #shortcutProblem, #saveProblem {{ color: {c.danger_text}; }}
    #hotkeyStatus, #bindWhere, #localNote, #themeNote {{ color: {c.muted}; }}
    """


@cache
def icon(name: str, color: str = "#1f2328", size: int = 20) -> QIcon:
    """An icon drawn from ``resources/icons/NAME.svg`` in ``color``, sharp on high-DPI screens."""
    svg = (ICONS / f"{name}.svg").read_text(encoding="utf-8").replace("#000000", color)
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    result = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(QSize(size * scale, size * scale))
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        result.addPixmap(pixmap)
    return result
