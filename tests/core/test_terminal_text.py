"""Untrusted text printed on a terminal cannot drive it: escapes, C1 controls and bidi overrides become visible."""

from __future__ import annotations

import json

import pytest

from app.core.terminal_text import for_terminal, json_for_terminal

HOSTILE = [
    "\x1b]0;pwned\x07",  # OSC: set the window title, ended by BEL
    "\x1b]0;pwned\x1b\\",  # OSC ended by ST
    "\x1b[2J\x1b[H",  # clear the screen
    "\x1b[?1049h",  # alternate screen
    "\x1b[6n",  # ask the terminal where the cursor is (it answers as typed input)
    "\x9b6n",  # the same with an 8-bit CSI
    "\x9d0;pwned\x9c",  # 8-bit OSC and ST
    "safe\rOVERWRITTEN",
    "back\x08\x08space",
    "report\u202egnp.exe",
    "\u2066isolate\u2069",
    "del\x7f",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_control_character_survives(text):
    shown = for_terminal(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert not any(c in shown for c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def test_controls_are_shown_not_hidden():
    assert for_terminal("\x1b[2J") == "\u241b[2J"
    assert for_terminal("a\x07b") == "a\u2407b"
    assert for_terminal("x\x9by") == "x<U+009B>y"
    assert for_terminal("report\u202egnp.exe") == "report<U+202E>gnp.exe"


def test_ordinary_text_is_unchanged():
    text = "Paris, 你好, مرحبا.\n\tindented\n**bold** `code` 😀 \u200f"
    assert for_terminal(text) == text


def test_crlf_becomes_lf_even_when_a_stream_splits_it():
    assert for_terminal("one\r\ntwo") == "one\ntwo"
    assert for_terminal("one\r") + for_terminal("\ntwo") == "one\ntwo"


def test_json_keeps_its_meaning_and_loses_its_raw_controls():
    record = {"text": "a\x9b6n\u202eb\x1b[2J"}
    encoded = json_for_terminal(json.dumps(record, ensure_ascii=False))
    assert json.loads(encoded) == record
    assert not any(0x7F <= ord(c) <= 0x9F or c == "\u202e" or c == "\x1b" for c in encoded)
