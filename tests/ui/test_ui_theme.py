"""Light and dark: every part of the window paints in the scheme's colours (checked on the pixels the window
actually draws), answers already on screen get the new code colours, and a change of the system's scheme is
followed. Real widgets (offscreen), a real answer from the loopback server."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QWidget

from app.core.markdown_render import DARK as DARK_CODE
from app.core.markdown_render import LIGHT as LIGHT_CODE
from app.ui import theme
from app.ui.settings_dialog import SettingsDialog
from tests.support.openai_server import dialect_stream
from tests.support.window import ask, wait_answer

pytestmark = pytest.mark.gui
ANSWER = "Here it is.\n\n```python\ndef area(w, h):\n    return w * h\n```\n"


@pytest.fixture(autouse=True)
def system_scheme_again():
    """The palette is the application's: later tests start from the system's (light, offscreen) again."""
    yield
    theme.apply("system", Qt.ColorScheme.Light)


def pixel(window: QWidget, widget: QWidget, x: int, y: int) -> QColor:
    """The colour the window shows at (x, y) of ``widget``, from a grab of the whole window."""
    image = window.grab().toImage()
    point = widget.mapTo(window, QPoint(x, y)) * image.devicePixelRatio()
    return image.pixelColor(point)


def spots(window) -> dict[str, tuple[QWidget, int, int]]:
    """Empty places of each part: where only its background shows."""
    card = window.answer_cards()[-1]
    sidebar, composer = window.sidebar, window.composer.input
    return {
        "answer": (card.view, card.view.width() - 12, 4),
        "transcript": (window.transcript.viewport(), 12, window.transcript.viewport().height() - 12),
        "new chat button": (sidebar.new_button, sidebar.new_button.width() - 12, sidebar.new_button.height() // 2),
        "settings button": (
            window.settings_button,
            window.settings_button.width() - 12,
            window.settings_button.height() // 2,
        ),
        "sidebar": (sidebar.list.viewport(), 12, sidebar.list.viewport().height() - 12),
        "search": (sidebar.search, sidebar.search.width() - 12, sidebar.search.height() // 2),
        "thinking": (window.thinking.view.viewport(), 12, window.thinking.view.viewport().height() - 12),
        "composer": (composer, composer.width() - 12, 4),
        "status bar": (window.statusBar(), window.statusBar().width() // 2, window.statusBar().height() // 2),
    }


def lightness(window) -> dict[str, int]:
    return {name: pixel(window, widget, x, y).lightness() for name, (widget, x, y) in spots(window).items()}


def answered(qtbot, windows, openai_server):
    openai_server.enqueue(dialect_stream("vllm", reasoning="Short.", answer=ANSWER))
    window = windows()
    window.resize(1100, 700)
    ask(qtbot, window, "Code please")
    wait_answer(qtbot, window)
    return window


def test_choosing_dark_in_settings_darkens_every_part_and_recolours_the_code(qtbot, windows, openai_server):
    window = answered(qtbot, windows, openai_server)
    card = window.answer_cards()[-1]
    assert not window.dark
    assert all(value > 200 for value in lightness(window).values()), lightness(window)
    assert LIGHT_CODE.code_background in card.view.toHtml()

    dialog = SettingsDialog(window.settings, window.vault, window.tasks, window)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    window.apply_settings(dialog.result_settings())
    assert window.dark and window.settings.theme == "dark"
    dark = lightness(window)
    assert all(value < 80 for value in dark.values()), dark
    # The answer already on screen was laid out again with the dark code colours; its text is light.
    html = card.view.toHtml()
    assert DARK_CODE.code_background in html and LIGHT_CODE.code_background not in html
    assert card.view.plain_text() == ANSWER
    assert QColor(theme.DARK.text) == card.view.palette().color(card.view.foregroundRole())
    # Dialogs opened from the dark window are dark too (the palette is the application's).
    dialog = SettingsDialog(window.settings, window.vault, window.tasks, window)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert pixel(dialog, dialog.base_url, dialog.base_url.width() - 8, 6).lightness() < 80
    assert pixel(dialog, dialog, 4, dialog.height() - 4).lightness() < 80
    dialog.reject()


def test_a_change_of_the_system_scheme_is_followed(qtbot, windows, openai_server):
    window = answered(qtbot, windows, openai_server)
    card = window.answer_cards()[-1]
    assert window.settings.theme == "system"
    hints = QGuiApplication.styleHints()
    # What the platform sends when the desktop switches to dark (offscreen has no desktop to switch).
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert window.dark
    assert all(value < 80 for value in lightness(window).values()), lightness(window)
    assert DARK_CODE.code_background in card.view.toHtml()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert not window.dark
    assert all(value > 200 for value in lightness(window).values()), lightness(window)
    assert LIGHT_CODE.code_background in card.view.toHtml()


def test_a_forced_theme_ignores_the_system_scheme(qtbot, windows):
    window = windows()
    window.settings.theme = "light"
    window.apply_theme()
    QGuiApplication.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert not window.dark
    assert theme.system_is_dark("dark", Qt.ColorScheme.Light) and not theme.system_is_dark("light")
