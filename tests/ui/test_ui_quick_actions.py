"""Quick actions and the thinking switch in the real window (offscreen widgets, clicks and keys through
pytest-qt) against the loopback server: a chip asks its question about what is attached, one that needs what
the person types waits for it, Find on screen's boxes are drawn on the screenshot, the switch decides thinking
for the next question and the thinking pane says so; the Quick actions tab edits them and refuses what cannot be
saved."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("pytestqt")

from PIL import Image
from PySide6.QtCore import QPoint, Qt

from app.core.backends.api import ApiBackend
from app.core.backends.base import ThinkingChoice
from app.core.quick_actions import BUILT_IN, find_action
from app.ui.settings_dialog import SettingsDialog
from app.ui.shell import bindings_for
from app.ui.transcript import UserCard
from tests.support.openai_server import dialect_stream

pytestmark = pytest.mark.gui
BOX_ANSWER = "The OK button: <|begin_of_box|>[[600, 700, 800, 800]]<|end_of_box|>"


@pytest.fixture
def shot(tmp_path):
    path = tmp_path / "region-1.png"
    Image.new("RGB", (800, 450), (240, 240, 240)).save(path)
    return path


def attach(qtbot, window, path) -> None:
    window.add_files([path])
    qtbot.waitUntil(lambda: all(c.ready for c in window.composer.strip.chips()), timeout=15000)


def last_question(server) -> list[dict]:
    return server.last.body["messages"][-1]["content"]


def question_text(server) -> str:
    return last_question(server)[-1]["text"]


def wait_answer(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.is_streaming() and bool(window.answer_cards()), timeout=15000)


def test_chips_show_with_an_attachment_and_ask_their_question_at_once(qtbot, windows, openai_server, shot):
    window = windows()
    chips = window.composer.quick
    assert not chips.isVisible(), "nothing is attached: nothing to ask about"
    attach(qtbot, window, shot)
    assert chips.isVisible()
    assert [b.text() for b in chips.buttons] == [a.name for a in BUILT_IN]
    openai_server.enqueue(dialect_stream("vllm", "", "| a | b |"))
    qtbot.mouseClick(chips.button("Extract text"), Qt.MouseButton.LeftButton)
    wait_answer(qtbot, window)
    extract = find_action(BUILT_IN, "Extract text")
    assert question_text(openai_server) == extract.prompt
    assert [p["type"] for p in last_question(openai_server)] == ["text", "image_url", "text"]
    assert openai_server.last.body["chat_template_kwargs"] == {"enable_thinking": False}  # the action's own choice
    assert window.composer.strip.chips() == [] and not chips.isVisible()
    # What the person typed goes with an action that has no {input}, after its prompt.
    attach(qtbot, window, shot)
    qtbot.keyClicks(window.composer.input, "only the left column")
    openai_server.enqueue(dialect_stream("vllm", "", "Left."))
    qtbot.mouseClick(chips.button("Explain"), Qt.MouseButton.LeftButton)
    wait_answer(qtbot, window)
    assert question_text(openai_server) == find_action(BUILT_IN, "Explain").prompt + "\n\nonly the left column"
    assert openai_server.last.body["chat_template_kwargs"] == {"enable_thinking": True}  # the switch's, on


def test_find_on_screen_waits_for_what_to_find_and_draws_the_boxes_on_the_screenshot(
    qtbot, windows, openai_server, shot
):
    window = windows()
    attach(qtbot, window, shot)
    requests = len(openai_server.chat_requests)
    qtbot.mouseClick(window.composer.quick.button("Find on screen"), Qt.MouseButton.LeftButton)
    assert len(openai_server.chat_requests) == requests, "it needs what to find: nothing is sent yet"
    assert window.asking.armed is not None and window.asking.armed.name == "Find on screen"
    assert window.composer.input.placeholderText().startswith("Find on screen: type what you mean")
    assert window.composer.input.hasFocus()
    openai_server.enqueue(dialect_stream("vllm", "", BOX_ANSWER))
    qtbot.keyClicks(window.composer.input, "the OK button")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    wait_answer(qtbot, window)
    question = question_text(openai_server)
    assert question.startswith("Find the OK button in this screenshot.") and "<|begin_of_box|>" in question
    # The question card reads as the answers do: the box markers are the model's, not the person's.
    (asked,) = [c for c in window.transcript.cards() if isinstance(c, UserCard)]
    assert asked.text.text() == question.replace("<|begin_of_box|>", "").replace("<|end_of_box|>", "")
    assert "as [[x1, y1, x2, y2]], with" in asked.text.text()
    assert window.asking.armed is None and not window.composer.input.placeholderText().startswith("Find")
    (card,) = window.answer_cards()
    qtbot.waitUntil(lambda: len(card.boxes_panel.canvases) == 1, timeout=15000)
    (canvas,) = card.boxes_panel.canvases
    assert canvas.source_size == (800, 450)  # the box is drawn on the screenshot the model saw
    assert len(canvas.box_rects()) == 1


def test_translate_fills_in_the_language_from_the_settings(qtbot, windows, openai_server, shot):
    window = windows()
    settings = window.settings
    settings.translate_language = "Japanese"
    window.apply_settings(settings)
    attach(qtbot, window, shot)
    openai_server.enqueue(dialect_stream("vllm", "", "翻訳"))
    qtbot.mouseClick(window.composer.quick.button("Translate"), Qt.MouseButton.LeftButton)
    wait_answer(qtbot, window)
    assert "into Japanese" in question_text(openai_server)


def test_the_switch_turns_thinking_off_for_the_next_question_and_the_pane_says_so(qtbot, windows, openai_server):
    window = windows()
    switch = window.composer.thinking
    assert switch.isChecked() and switch.isVisible()
    qtbot.mouseClick(switch, Qt.MouseButton.LeftButton, pos=QPoint(6, switch.height() // 2))
    assert not switch.isChecked() and switch.choice() == ThinkingChoice(False)
    openai_server.enqueue(dialect_stream("vllm", "", "Quick."))
    qtbot.keyClicks(window.composer.input, "Two plus two?")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    wait_answer(qtbot, window)
    assert openai_server.last.body["chat_template_kwargs"] == {"enable_thinking": False}
    assert window.thinking.choice.text() == ""
    assert window.thinking.time.text() == "thinking was off for this question"


def test_the_thinking_choice_is_kept_in_the_history_and_answering_again_follows_it(
    qtbot, windows, openai_server, tmp_path
):
    """Reopened after a restart, the pane still says thinking was off, and Regenerate asks without thinking
    again even though the composer's switch is back on."""
    window = windows(tmp_path / "kept")
    switch = window.composer.thinking
    qtbot.mouseClick(switch, Qt.MouseButton.LeftButton, pos=QPoint(6, switch.height() // 2))
    openai_server.enqueue(dialect_stream("vllm", "", "Quick."))
    qtbot.keyClicks(window.composer.input, "Two plus two?")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    wait_answer(qtbot, window)
    window.close()
    window.store.close()

    again = windows(tmp_path / "kept")
    assert again.composer.thinking.isChecked()  # the switch is for the next question
    assert again.thinking.time.text() == "thinking was off for this question"
    openai_server.enqueue(dialect_stream("vllm", "", "Four."))
    (card,) = again.answer_cards()
    qtbot.mouseClick(card.regenerate, Qt.MouseButton.LeftButton)
    wait_answer(qtbot, again)
    assert openai_server.last.body["chat_template_kwargs"] == {"enable_thinking": False}


def test_a_budget_goes_to_a_server_that_takes_one_and_cannot_be_picked_where_none_is_taken(
    qtbot, windows, openai_server
):
    window = windows()
    switch = window.composer.thinking
    budget = next(a for a in switch.budgets.actions() if a.data() == 1024)
    assert budget.isEnabled()  # vLLM takes thinking_token_budget
    budget.trigger()
    assert switch.text() == "Think ≤1K" and switch.choice() == ThinkingChoice(True, 1024)
    openai_server.enqueue(dialect_stream("vllm", "Brief.", "Done."))
    qtbot.keyClicks(window.composer.input, "Think briefly")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    wait_answer(qtbot, window)
    assert openai_server.last.body["thinking_token_budget"] == 1024
    assert window.thinking.choice.text() == "· budget 1,024 tokens"
    # A server without a budget: the budgets are off, and the switch says why.
    window.apply_settings(dataclasses.replace(window.settings, preset="zai", base_url=openai_server.zai_url))
    assert isinstance(window.backend, ApiBackend) and window.backend.preset.name == "zai"
    assert not budget.isEnabled() and "takes no thinking budget" in switch.toolTip()
    assert switch.choice() == ThinkingChoice(True, None) and switch.text() == "Think"


def test_quick_actions_are_edited_in_settings_and_what_cannot_be_saved_is_refused(qtbot, windows):
    window = windows()
    dialog = SettingsDialog(window.settings, window.vault, window.tasks, window)
    dialog.show()
    editor = dialog.quick_actions
    dialog.tabs.setCurrentWidget(editor)
    qtbot.waitExposed(dialog)
    assert [a.name for a in editor.chosen()] == [a.name for a in BUILT_IN]
    qtbot.mouseClick(editor.add, Qt.MouseButton.LeftButton)
    editor.name.selectAll()
    qtbot.keyClicks(editor.name, "Alt text")
    editor.prompt.selectAll()
    qtbot.keyClicks(editor.prompt, "Write alt text for this in {lang}.")
    assert "{lang}" in editor.problem.text() and "not a placeholder" in editor.problem.text()
    dialog.accept()
    assert dialog.isVisible() and "Not saved" in dialog.save_problem.text()
    editor.prompt.selectAll()
    qtbot.keyClicks(editor.prompt, "Write alt text for this in {language}.")
    assert editor.problem.text() == ""
    # Keys the global shortcuts already have are refused for an action.
    editor.hotkey.setFocus()
    qtbot.keyClick(editor.hotkey, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog.accept()
    assert dialog.isVisible() and "Capture full screen" in dialog.save_problem.text()
    editor.hotkey.setFocus()
    qtbot.keyClick(editor.hotkey, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert "--region --action" in editor.command.text() and "Alt text" in editor.command.text()
    dialog.accept()
    assert not dialog.isVisible()
    saved = dialog.result_settings()
    window.apply_settings(saved)
    action = find_action(window.settings.actions(), "alt text")
    assert action.prompt == "Write alt text for this in {language}." and action.hotkey == "Ctrl+Alt+T"
    assert bindings_for(window.settings)["quick:Alt text"] == "Ctrl+Alt+T"
    assert "Alt text" in [b.text() for b in window.composer.quick.buttons]


def test_a_capture_a_quick_action_could_not_ask_about_is_kept_in_the_composer(qtbot, windows, openai_server, shot):
    """The hotkey's capture is not lost when the question cannot go: no backend (the banner says why), or an
    answer still being written."""
    window = windows()
    explain = find_action(BUILT_IN, "Explain")
    backend, window.session.backend = window.session.backend, None
    window.asking.ask_about(str(shot), explain)
    assert [c.path for c in window.composer.strip.chips()] == [shot]
    assert any("No backend" in b.text.text() for b in window.banners())
    window.composer.strip.clear()
    window.session.backend = backend
    openai_server.enqueue(dialect_stream("vllm", "", "slow", ending="stall"))
    qtbot.keyClicks(window.composer.input, "Something long")
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(window.is_streaming, timeout=10000)
    window.asking.ask_about(str(shot), explain)
    assert [c.path for c in window.composer.strip.chips()] == [shot]
    assert "The capture is in the composer" in window.statusBar().currentMessage()
    window.stop()
    openai_server.release()
    qtbot.waitUntil(lambda: not window.is_streaming(), timeout=10000)
