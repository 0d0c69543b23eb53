"""Quick actions as plain data and from the terminal: the built-in ones, their questions with placeholders
filled, what cannot be kept (said, and left out of the settings with a warning), `glmv ask --action NAME`
against a loopback server and `glmv capture --action NAME` refusing a name the settings do not have."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from app.core import settings as settings_io
from app.core.backends.base import ThinkingChoice
from app.core.capture.commands import parse_quick_action, quick_action_line
from app.core.quick_actions import BUILT_IN, QuickAction, QuickActionError, action_problem, find_action, load_actions
from app.core.settings import Settings
from app.ui.instance import dispatch, parse_line

ROOT = Path(__file__).resolve().parents[2]


def test_the_built_in_actions_are_the_ones_people_ask_for_and_each_can_be_kept():
    assert [a.name for a in BUILT_IN] == [
        "Explain",
        "Extract text",
        "Translate",
        "Summarise",
        "Fix this error",
        "Find on screen",
    ]
    assert load_actions([a.to_dict() for a in BUILT_IN]) == (list(BUILT_IN), [])
    extract = find_action(BUILT_IN, "extract TEXT")
    assert "verbatim" in extract.prompt and "Markdown tables" in extract.prompt and extract.thinking == "off"
    find = find_action(BUILT_IN, "Find on screen")
    assert find.needs_input and "bounding box" in find.prompt and "<|begin_of_box|>" in find.prompt


def test_a_question_fills_the_placeholders_and_keeps_what_was_typed():
    translate = find_action(BUILT_IN, "Translate")
    assert "into German." in translate.question(language="German")
    explain = find_action(BUILT_IN, "Explain")
    assert explain.question() == explain.prompt
    assert explain.question("  the red bar  ") == f"{explain.prompt}\n\nthe red bar"
    find = find_action(BUILT_IN, "Find on screen")
    assert find.question("the Save button").startswith("Find the Save button in this screenshot.")
    with pytest.raises(QuickActionError, match="asks about something you name"):
        find.question("   ")
    # Braces that are not a placeholder's (JSON, code) are left as they are.
    code = QuickAction("JSON", 'Answer as {"answer": "..."} about {input}')
    assert action_problem(code) is None and code.question("it") == 'Answer as {"answer": "..."} about it'


def test_an_action_thinks_as_it_says_or_as_the_composer_does():
    composer = ThinkingChoice(True, 1024)
    assert QuickAction("a", "p", thinking="off").thinking_choice(composer) == ThinkingChoice(False)
    switched_off = ThinkingChoice(False, 1024)
    assert QuickAction("a", "p", thinking="on").thinking_choice(switched_off) == ThinkingChoice(True, 1024)
    assert QuickAction("a", "p").thinking_choice(composer) == composer


@pytest.mark.parametrize(
    ("action", "problem"),
    [
        (QuickAction("", "p"), "needs a name"),
        (QuickAction("x" * 41, "p"), "longer than 40"),
        (QuickAction("Two\nlines", "p"), "one line"),
        (QuickAction("Empty", "  "), "has no prompt"),
        (QuickAction("Typo", "Translate into {langauge}"), "{langauge}, which is not a placeholder"),
        (QuickAction("Think", "p", thinking="maybe"), "thinking is 'maybe'"),
        (QuickAction("Cap", "p", capture="window"), "capture is 'window'"),
    ],
)
def test_what_cannot_be_kept_is_said(action, problem):
    said = action_problem(action)
    assert said is not None and problem in said


def test_settings_keep_edited_actions_and_leave_out_unusable_ones_with_a_warning(tmp_path):
    path = tmp_path / "settings.json"
    mine = QuickAction("Alt text", "Write alt text for this in {language}.", thinking="off", hotkey="Ctrl+Alt+T")
    settings_io.save(Settings(quick_actions=[mine.to_dict()], translate_language="French"), path)
    loaded = settings_io.load(path)
    assert loaded.actions() == [mine] and loaded.translate_language == "French" and loaded.warnings == []
    data = json.loads(path.read_text())
    data["quick_actions"] += [{"name": "alt TEXT", "prompt": "again"}, {"name": "Bad", "prompt": "{nope}"}]
    path.write_text(json.dumps(data))
    loaded = settings_io.load(path)
    assert loaded.actions() == [mine]
    assert any("two quick actions are called “alt TEXT”" in w for w in loaded.warnings)
    assert any("{nope}" in w for w in loaded.warnings)
    data["quick_actions"].append("not an action")
    path.write_text(json.dumps(data))
    loaded = settings_io.load(path)
    assert loaded.actions() == list(BUILT_IN)  # not a list of actions at all: the built-in ones, and a warning
    assert any("setting 'quick_actions'" in w for w in loaded.warnings)


def test_the_command_channel_carries_an_action_and_its_capture():
    line = quick_action_line("capture-region", "Fix this error")
    assert line == "quick-action region Fix this error"
    assert parse_line(line) == ("quick-action", "region Fix this error")
    assert parse_quick_action("region Fix this error") == ("region", "Fix this error")
    assert parse_quick_action("- Explain") == (None, "Explain")
    assert parse_line("quick-action") is None and parse_line("show now") is None and parse_line("show") == ("show", "")
    heard: list = []
    replies: list[str] = []
    dispatch({"quick-action": lambda reply, arg: heard.append(arg) or reply("ok")}, line, replies.append)
    dispatch({"show": lambda reply: reply("ok")}, "format-disk", replies.append)
    assert heard == ["region Fix this error"] and replies == ["ok", "unknown"]


# ------------------------------------------------------------------------------------------ the terminal


def profile(tmp_path: Path, actions: list[QuickAction] | None = None) -> dict[str, str]:
    """An environment whose settings folder is under ``tmp_path`` (with these actions, when given)."""
    env = {k: v for k, v in os.environ.items() if k != "GLMV_API_KEY"}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_STATE_HOME=str(tmp_path / "state"))
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["GLMV_INSTANCE"] = f"quick-actions-test-{tmp_path.name}"
    if actions is not None:
        settings_io.save(
            Settings(quick_actions=[a.to_dict() for a in actions], translate_language="Italian"),
            tmp_path / "config" / "glmv-desktop" / "settings.json",
        )
    return env


def glmv(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "app.cli", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_glmv_ask_asks_the_actions_question_as_the_window_would(openai_server, tmp_path):
    env = profile(tmp_path, [*BUILT_IN, QuickAction("Mine", "Say what {input} is, in {language}.", thinking="on")])
    shot = tmp_path / "shot.png"
    Image.new("RGB", (320, 200), (30, 30, 30)).save(shot)
    server = ("--preset", "vllm", "--base-url", openai_server.url, "--model", "m")
    done = glmv(env, "ask", *server, "--action", "Extract text", "--attach", str(shot))
    assert done.returncode == 0, done.stderr
    body = openai_server.last.body
    assert body["messages"][-1]["content"][-1]["text"] == find_action(BUILT_IN, "Extract text").prompt
    assert body["chat_template_kwargs"] == {"enable_thinking": False}  # the action's own choice
    done = glmv(env, "ask", *server, "--action", "mine", "--no-thinking", "the logo")
    assert done.returncode == 0, done.stderr
    assert openai_server.last.body["messages"][-1]["content"] == "Say what the logo is, in Italian."
    assert openai_server.last.body["chat_template_kwargs"] == {"enable_thinking": False}  # the flag wins
    asked = len(openai_server.chat_requests)
    for args, said in (
        (("--action", "Nope", "x"), "there is no quick action “Nope”; the quick actions are: “Explain”"),
        (("--action", "Find on screen", "--attach", str(shot)), "asks about something you name"),
    ):
        done = glmv(env, "ask", *server, *args)
        assert done.returncode == 2 and said in done.stderr, done.stderr
    assert len(openai_server.chat_requests) == asked, "nothing was asked"


def test_glmv_capture_with_an_action_refuses_a_name_or_a_capture_it_cannot_use(tmp_path):
    env = profile(tmp_path)
    done = glmv(env, "capture", "--region", "--action", "Explian")
    assert done.returncode == 2 and "there is no quick action “Explian”" in done.stderr, done.stderr
    assert "“Explain”" in done.stderr and "Settings → Quick actions" in done.stderr
    done = glmv(env, "capture", "--record", "--action", "Explain")
    assert done.returncode == 2 and "--action asks about a screenshot" in done.stderr, done.stderr
    done = glmv(env, "capture")
    assert done.returncode == 2 and "say what to capture" in done.stderr, done.stderr
