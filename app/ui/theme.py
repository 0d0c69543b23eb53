"""Light or dark, following the system (Qt 6.5+ ``styleHints().colorScheme()``), and the icons in that colour.

Colours come from one small table per scheme; widgets refer to them through object names in one style sheet
so a change of the system scheme restyles the whole window at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPixmap
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


def system_is_dark(preference: str = "system") -> bool:
    if preference in ("light", "dark"):
        return preference == "dark"
    app = QGuiApplication.instance()
    if app is None:
        return False
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def colors(dark: bool) -> Colors:
    return DARK if dark else LIGHT


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
