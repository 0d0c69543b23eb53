"""Quick actions: named prompts the person uses again and again ("Explain", "Extract text", "Find on screen"),
each with how the model should think and what to capture when it runs from a hotkey.

One list, kept in the settings (``Settings.quick_actions``, the built-in ones until the person changes them),
read by every way in: the composer's chips, a global hotkey (capture, then send at once), `glmv capture
--action NAME` (where the desktop binds the shortcut) and `glmv ask --action NAME`.

A prompt may hold placeholders, filled when the action runs:

- ``{input}``: what the person typed in the composer (or gave `glmv ask` as its question). An action whose
  prompt needs it and has none waits for it: the composer asks for it and Enter sends. Without ``{input}`` in
  the prompt, anything typed goes after the prompt, as a note of its own.
- ``{language}``: the language to translate into (``Settings.translate_language``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from app.core.backends.base import ThinkingChoice
from app.core.errors import AppError

PLACEHOLDERS = ("{input}", "{language}")
CAPTURES = ("region", "full")
# thinking: "on" or "off" for this action, "default" to follow the composer's switch
THINKING = ("default", "on", "off")
MAX_NAME = 40
MAX_PROMPT = 4000


class QuickActionError(AppError, ValueError):
    """A quick action that cannot be used as written, or one asked for by a name that is not in the list."""


@dataclass(frozen=True)
class QuickAction:
    name: str
    prompt: str
    thinking: str = "default"
    capture: str = "region"
    hotkey: str = ""  # a global hotkey (app.ui.hotkeys spelling), "" for none

    @property
    def needs_input(self) -> bool:
        return "{input}" in self.prompt

    def question(self, typed: str = "", language: str = "English") -> str:
        """The question this action asks, its placeholders filled; ``QuickActionError`` when it needs what the
        person types and nothing was."""
        typed = typed.strip()
        if self.needs_input and not typed:
            raise QuickActionError(
                f"“{self.name}” asks about something you name (its prompt has {{input}})",
                "say what you mean with it: type it in the composer, or give it as the question",
            )
        text = self.prompt.replace("{language}", language.strip() or "English")
        if self.needs_input:
            return text.replace("{input}", typed)
        return f"{text}\n\n{typed}" if typed else text

    def thinking_choice(self, composer: ThinkingChoice) -> ThinkingChoice:
        """How the model thinks for this action: its own choice, or the composer's."""
        if self.thinking == "on":
            return ThinkingChoice(True, composer.budget)
        if self.thinking == "off":
            return ThinkingChoice(False)
        return composer

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


BUILT_IN: tuple[QuickAction, ...] = (
    QuickAction(
        "Explain",
        "Explain what this shows, simply and briefly: what it is, what matters in it, and anything that looks wrong.",
    ),
    QuickAction(
        "Extract text",
        "Copy out all the text in this, verbatim, in reading order. Keep the lines and paragraphs as they are, "
        "write tables as Markdown tables and code as code blocks. Add nothing of your own.",
        thinking="off",
    ),
    QuickAction(
        "Translate",
        "Translate all the text in this into {language}. Keep its layout: headings, lists and tables as they are. "
        "Give only the translation.",
        thinking="off",
    ),
    QuickAction(
        "Summarise",
        "Summarise this: the main point first in one sentence, then the key details as a short list.",
    ),
    QuickAction(
        "Fix this error",
        "This shows an error. Say what it means, the most likely cause, and the steps to fix it, most likely fix "
        "first. Quote the exact error message you are explaining.",
        thinking="on",
    ),
    QuickAction(
        "Find on screen",
        "Find {input} in this screenshot. For each one you find, say what it is and give its bounding box as "
        "<|begin_of_box|>[[x1, y1, x2, y2]]<|end_of_box|>, with coordinates from 0 to 1000 of the image. If it is "
        "not there, say so.",
        thinking="off",
    ),
)


def built_in_dicts() -> list[dict[str, str]]:
    return [action.to_dict() for action in BUILT_IN]


def parse_action(data: Mapping[str, Any]) -> QuickAction:
    """One action from its settings form; ``QuickActionError`` says what is wrong with it."""
    if not isinstance(data, Mapping):
        raise QuickActionError("a quick action is not a set of fields")
    fields = {key: data.get(key, default) for key, default in QuickAction("", "").to_dict().items()}
    if not all(isinstance(value, str) for value in fields.values()):
        raise QuickActionError("a quick action's fields must be text")
    action = QuickAction(**{key: value.strip() if key != "prompt" else value for key, value in fields.items()})
    problem = action_problem(action)
    if problem is not None:
        raise QuickActionError(problem)
    return action


def action_problem(action: QuickAction, others: Iterable[QuickAction] = ()) -> str | None:
    """Why ``action`` cannot be kept as it is (beside ``others``), in words for the editor; None when it can."""
    if not action.name:
        return "a quick action needs a name"
    if len(action.name) > MAX_NAME:
        return f"the name “{action.name[:MAX_NAME]}…” is longer than {MAX_NAME} characters"
    if any(ch in action.name for ch in "\r\n\t"):
        return f"the name “{action.name}” must be on one line"
    if any(other.name.casefold() == action.name.casefold() for other in others):
        return f"two quick actions are called “{action.name}”"
    if not action.prompt.strip():
        return f"“{action.name}” has no prompt"
    if len(action.prompt) > MAX_PROMPT:
        return f"the prompt of “{action.name}” is longer than {MAX_PROMPT:,} characters"
    unknown = _unknown_placeholders(action.prompt)
    if unknown:
        known = ", ".join(PLACEHOLDERS)
        return f"the prompt of “{action.name}” has {', '.join(unknown)}, which is not a placeholder ({known} are)"
    if action.thinking not in THINKING:
        return f"“{action.name}”: thinking is {action.thinking!r}; choose one of {', '.join(THINKING)}"
    if action.capture not in CAPTURES:
        return f"“{action.name}”: capture is {action.capture!r}; choose one of {', '.join(CAPTURES)}"
    return None


def _unknown_placeholders(prompt: str) -> list[str]:
    """Words in braces that look meant as placeholders but are not one (JSON and code in braces are left be)."""
    import re

    found = re.findall(r"\{[A-Za-z_]+\}", prompt)
    return sorted({f for f in found if f not in PLACEHOLDERS})


def load_actions(data: Sequence[Any]) -> tuple[list[QuickAction], list[str]]:
    """The actions the settings hold, and a warning for each one left out (unusable, or a second of a name)."""
    actions: list[QuickAction] = []
    warnings: list[str] = []
    for item in data:
        try:
            action = parse_action(item)
        except QuickActionError as e:
            warnings.append(f"a quick action was left out: {e}")
            continue
        problem = action_problem(action, actions)
        if problem is not None:
            warnings.append(f"a quick action was left out: {problem}")
            continue
        actions.append(action)
    return actions, warnings


def find_action(actions: Sequence[QuickAction], name: str) -> QuickAction:
    """The action called ``name`` (case does not matter); ``QuickActionError`` naming those there are."""
    wanted = name.strip().casefold()
    for action in actions:
        if action.name.casefold() == wanted:
            return action
    names = ", ".join(f"“{a.name}”" for a in actions) or "none"
    raise QuickActionError(
        f"there is no quick action “{name.strip()}”; the quick actions are: {names}",
        "add it in Settings → Quick actions, or use one of those",
    )
