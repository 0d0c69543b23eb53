"""Untrusted text made safe to print on a terminal.

Model answers, thinking, server error messages and file names can hold escape sequences that a terminal obeys
rather than shows: set the window title, clear the screen, switch to the alternate screen, or make the terminal
answer a query as if it were typed (``ESC[6n``). Everything the command line prints that it did not write
itself goes through ``for_terminal``, whether stdout is a terminal or a pipe (a pipe often ends in ``less -R``
or a terminal later).
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls (U+0080-U+009F; U+009B is an 8-bit CSI), and the bidi
# embeddings, overrides and isolates that make a name such as "report\u202egnp.exe" read backwards.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A C0 control is shown as its Unicode control picture (ESC as U+241B), DEL as U+2421.
_PICTURES = 0x2400
# Characters that are unsafe in JSON printed raw: json.dumps escapes the C0 controls itself.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char == "\r":
        # CRLF line ends are ordinary; a lone CR would move back and overwrite what was printed.
        return ""
    if code < 0x20:
        return chr(_PICTURES + code)
    if code == 0x7F:
        return "\u2421"
    return f"<U+{code:04X}>"


def for_terminal(text: str) -> str:
    """``text`` with every control character but newline and tab shown as a visible stand-in (ESC as U+241B,
    C1 and bidi controls as ``<U+XXXX>``) and carriage returns dropped, so printing it cannot drive the
    terminal. Works piece by piece on streamed text: each character is handled on its own."""
    return _UNSAFE.sub(_visible, text)


def json_for_terminal(encoded: str) -> str:
    """A ``json.dumps(..., ensure_ascii=False)`` result with the C1 and bidi controls it leaves raw written as
    ``\\uXXXX`` escapes: the same JSON to a parser, inert on a terminal."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)
