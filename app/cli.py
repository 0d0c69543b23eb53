"""`glmv`: the window, `glmv ask` (one question, streamed), `glmv inspect` (what attachments cost) and `glmv serve`
(the local model for other tools, in ``app.serve.cli``).

`ask` is the same pipeline as the window with a terminal for a view: the answer goes to stdout and the thinking
to stderr, so `glmv ask ... > answer.md` keeps just the answer; `--json` gives scripts one event per line.
Exit codes are part of the contract: 0 done, 1 backend or model failure, 2 bad usage or unusable input,
130 interrupted. Start-up stays fast: torch, PySide6 and pymupdf are imported only by the command that needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.arguments import whole_number
from app.core.backends.base import Backend, GenerationOptions
from app.core.backends.dialects import PRESETS, UnknownPreset, get_preset
from app.core.capture.commands import CAPTURE_COMMANDS
from app.core.conversation import Attachment
from app.core.errors import AppError
from app.core.events import Answer, Boxes, Done, Event, Failed, FailureKind, Thinking
from app.core.file_kinds import IMAGE_KINDS, PAGED_KINDS
from app.core.terminal_text import for_terminal, json_for_terminal
from app.serve import cli as serve_cli

if TYPE_CHECKING:
    from app.core.backends.api import ApiBackend
    from app.core.backends.local import LocalBackend
    from app.core.session import Session

DEFAULT_PRESET = "openai"
DEFAULT_LOCAL_MODEL = "zai-org/GLM-4.6V-Flash"

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# A failure's kind -> the exit code (the rest: EXIT_FAILED, a backend or model failure).
EXIT_CODES: dict[FailureKind, int] = {"input": EXIT_USAGE, "cancelled": EXIT_INTERRUPTED}


def exit_code(kind: FailureKind) -> int:
    """The one place a failure's kind becomes the exit code, for a stream's end and a raised error alike."""
    return EXIT_CODES.get(kind, EXIT_FAILED)


class UsageError(AppError):
    """Bad usage or unusable input: printed as ``glmv: MESSAGE`` and exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glmv",
        description="Desktop assistant for GLM-V vision-language models. Without a command, opens the window.",
    )
    parser.add_argument("--preset", dest="gui_preset", choices=list(PRESETS), help="server preset for the window")
    parser.add_argument("--base-url", dest="gui_base_url", metavar="URL", help="server address for the window")
    parser.add_argument("--model", dest="gui_model", metavar="NAME", help="model for the window")
    parser.add_argument(
        "--verbose", action="store_true", help="debug detail in the log file and on the terminal (never keys or images)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = commands.add_parser("ask", help="ask one question and stream the answer")
    ask.add_argument(
        "prompt",
        metavar="PROMPT",
        nargs="?",
        default="",
        help="the question ('-' reads it from stdin); with --action, what the action's {input} is",
    )
    ask.add_argument(
        "--action", metavar="NAME", help="ask a quick action's question (Settings → Quick actions), e.g. Explain"
    )
    ask.add_argument("--preset", choices=list(PRESETS), default=None, help=f"server preset (default {DEFAULT_PRESET})")
    ask.add_argument("--base-url", metavar="URL", help="server address, overriding the preset's")
    ask.add_argument(
        "--model", metavar="NAME", help=f"model name; with --backend local a HF id or folder ({DEFAULT_LOCAL_MODEL})"
    )
    ask.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key")
    ask.add_argument("--backend", choices=("api", "local"), default="api", help="remote API (default) or in-process")
    ask.add_argument("--attach", action="append", default=[], metavar="PATH", help="attach a file (repeatable)")
    _add_document_options(ask)
    thinking = ask.add_mutually_exclusive_group()
    thinking.add_argument("--thinking", dest="thinking", action="store_true", default=None, help="think first")
    thinking.add_argument("--no-thinking", dest="thinking", action="store_false", help="answer without thinking")
    ask.add_argument(
        "--thinking-budget",
        type=whole_number(),
        metavar="N",
        help="think for at most N tokens, then answer (the local backend and vLLM servers started with "
        "--reasoning-config; other servers take no budget)",
    )
    ask.add_argument("--max-tokens", type=whole_number(1), metavar="N", help="longest answer in tokens")
    ask.add_argument("--temperature", type=_temperature, metavar="T", help="sampling temperature")
    ask.add_argument(
        "--timeout",
        type=_positive_float,
        default=120.0,
        metavar="S",
        help="give up after S seconds without thinking or answer text (keep-alive messages do not count)",
    )
    ask.add_argument("--json", action="store_true", help="one JSON event per line on stdout")
    ask.add_argument(
        "--draw", metavar="OUT.png", help="save the image the answer's boxes refer to, with the boxes drawn on it"
    )

    inspect = commands.add_parser("inspect", help="show what attachments become and what they cost")
    inspect.add_argument("paths", nargs="+", metavar="PATH")
    inspect.add_argument(
        "--preset", choices=list(PRESETS), default=None, help="apply this server's limits (default openai)"
    )
    _add_document_options(inspect)
    inspect.add_argument("--json", action="store_true", help="one JSON object per file, then a total")

    capture = commands.add_parser(
        "capture",
        help="capture the screen into the running app (bind this to a desktop shortcut where hotkeys cannot work)",
    )
    what = capture.add_mutually_exclusive_group()
    for command in CAPTURE_COMMANDS:
        what.add_argument(command.flag, dest="capture", action="store_const", const=command.instance, help=command.help)
    capture.add_argument(
        "--action",
        metavar="NAME",
        help="then ask that quick action's question about the capture at once (with --region or --full, or the "
        "capture the action names)",
    )

    doctor = commands.add_parser("doctor", help="check what works on this machine and what to do about what does not")
    doctor.add_argument("--json", action="store_true", help="the findings as one JSON object")
    serve_cli.add_parser(commands)
    return parser


def _add_document_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pages", metavar="SPEC", help='pages or slides to use, e.g. "1-5, 9"')
    parser.add_argument("--password", metavar="PW", help="password for encrypted PDFs")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError("must be between 0 and 2")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    from app.core.logs import setup_logging

    setup_logging(args.verbose)
    try:
        if args.command == "doctor":
            return _doctor(args)
        if args.command == "ask":
            return _ask(args)
        if args.command == "inspect":
            return _inspect(args)
        if args.command == "capture":
            return _capture(args)
        if args.command == "serve":
            return serve_cli.run(args)
        return _window(args)
    except AppError as e:
        print(for_terminal(f"glmv: {e}"), file=sys.stderr)
        return exit_code(e.kind)
    except KeyboardInterrupt:
        print("glmv: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# -- the window -----------------------------------------------------------------------------------------------


def _window(args: argparse.Namespace, command: str | None = None) -> int:
    overrides = {
        key: value
        for key, value in (("preset", args.gui_preset), ("base_url", args.gui_base_url), ("model", args.gui_model))
        if value
    }
    try:
        from app.ui.main import run
    except ModuleNotFoundError as e:
        if e.name == "app.ui.main":
            raise UsageError("the desktop window is not part of this build; use `glmv ask` or `glmv inspect`") from None
        if e.name and e.name.split(".")[0] in ("PySide6", "shiboken6"):
            raise UsageError("the desktop window needs PySide6: pip install PySide6-Essentials") from None
        raise
    return run(overrides, command=command)


def _doctor(args: argparse.Namespace) -> int:
    """`glmv doctor`: exit 0 when nothing is a problem, 1 otherwise, so scripts can tell."""
    from app.core import doctor

    checks = doctor.run_checks()
    if args.json:
        print(json_for_terminal(json.dumps(doctor.to_json(checks), indent=2, ensure_ascii=False)))
    else:
        print(for_terminal(doctor.format_text(checks)), end="")
    return doctor.exit_code(checks)


def _capture(args: argparse.Namespace) -> int:
    """Hand the capture to the running app and exit with how it ended (0 with the file's path, 1 with the app's
    message when it could not capture); when no app answers, start it and capture once its window is up."""
    from app.ui.instance import hand_over
    from app.ui.main import report

    command = args.capture
    if args.action is not None:
        command = _quick_action_line(args.capture, args.action)
    elif command is None:
        raise UsageError("say what to capture: --region, --full, --window or --record (or --action NAME)")
    handed = hand_over(command, 1500)
    if handed is None:
        return _window(args, command=command)
    return report(*handed)


def _quick_action_line(capture: str | None, name: str) -> str:
    """The command channel's line for `glmv capture --action NAME`, the name checked against the settings first:
    a misspelt name in a desktop shortcut says so at once, with the names there are."""
    from app.core import settings as settings_io
    from app.core.capture.commands import QUICK_ACTION_CAPTURES, quick_action_line
    from app.core.quick_actions import QuickActionError, find_action

    if capture is not None and capture not in QUICK_ACTION_CAPTURES:
        raise UsageError("--action asks about a screenshot: use it with --region or --full (or neither)")
    try:
        action = find_action(settings_io.load().actions(), name)
    except QuickActionError as e:
        raise UsageError(str(e)) from None
    return quick_action_line(capture, action.name)


# -- attachments ----------------------------------------------------------------------------------------------


def _attachments(paths: list[str], pages: str | None, password: str | None) -> list[tuple[Attachment, str]]:
    """(attachment, detected kind) for the given paths, with --pages/--password on the documents they apply to.

    Missing files are bad usage (exit 2) here rather than a failure from deep in the backend.
    """
    from app.core.media.kinds import access_problem, detect_kind

    attachments = []
    for raw in paths:
        path = Path(raw).expanduser()
        problem = access_problem(path)
        if problem is not None:
            raise UsageError(f"{raw}: {problem}")
        if path.is_dir():
            raise UsageError(f"{raw}: is a folder; attach the files inside it instead")
        try:
            kind, _ = detect_kind(path)
        except OSError as e:
            raise UsageError(f"{raw}: cannot be read ({e.strerror or e})") from None
        if kind in PAGED_KINDS:
            attachments.append((Attachment(path, pages=pages, password=password), kind))
        else:
            attachments.append((Attachment(path), kind))
    return attachments


# -- ask ------------------------------------------------------------------------------------------------------


def _ask(args: argparse.Namespace) -> int:
    """One question through the window's session (``app.core.session``): the same request, the same end of a
    stream, with a terminal for a view and nothing kept."""
    from app.core.conversation import AttachmentRecord
    from app.core.session import Session

    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    thinking = args.thinking
    if args.action is not None:
        prompt, action_thinking = _action_question(args.action, prompt)
        thinking = action_thinking if thinking is None else thinking
    if not prompt.strip() and not args.attach:
        raise UsageError("the question is empty")
    attachments = _attachments(args.attach, args.pages, args.password)
    draw_to = _draw_target(args.draw, attachments) if args.draw else None
    backend: Backend = _local_backend(args) if args.backend == "local" else _api_backend(args)
    if args.thinking_budget is not None and not backend.capabilities.thinking_budget:
        print(
            "glmv: note: this server takes no thinking budget; the model thinks as long as it needs "
            "(--no-thinking answers without thinking)",
            file=sys.stderr,
        )
    options = GenerationOptions(
        thinking=True if thinking is None else thinking,
        thinking_budget=args.thinking_budget,
        max_tokens=args.max_tokens,
        temperature=args.temperature,
    )
    if args.json:
        view: JsonView | PlainView = JsonView(sys.stdout, lambda: len(_question_images(attachments, backend)))
    else:
        view = PlainView(sys.stdout, sys.stderr)

    last: Event | None = None
    groups: list[Boxes] = []

    def show(event: Event) -> None:
        nonlocal last
        last = event
        if isinstance(event, Boxes):
            groups.append(event)
        view.show(event)

    session = Session(backend, options=options, on_event=show)
    restore = _cancel_on_sigint(session)
    try:
        session.send(prompt, [AttachmentRecord(attachment) for attachment, _ in attachments])
    except KeyboardInterrupt:
        # A second Ctrl-C, or one the stream could not turn into a clean cancel.
        session.stop()
        last = Failed("cancelled", "interrupted; what was printed stays")
        view.show(last)
    except BrokenPipeError:
        session.stop()
        _silence_stdout()
        return EXIT_FAILED
    finally:
        restore()
        session.close()
    if draw_to is not None and (isinstance(last, Done) or groups):
        _draw(draw_to, attachments, groups, backend)
    if isinstance(last, Done):
        return EXIT_OK
    if isinstance(last, Failed):
        return exit_code(last.kind)
    view.show(Failed("server", "the stream ended without a result"))
    return EXIT_FAILED


def _action_question(name: str, typed: str) -> tuple[str, bool | None]:
    """The question of the quick action ``name`` (from the window's settings) with ``typed`` as its input, and
    whether it thinks (None: as --thinking/--no-thinking or the default say)."""
    from app.core import settings as settings_io
    from app.core.backends.base import ThinkingChoice
    from app.core.quick_actions import QuickActionError, find_action

    settings = settings_io.load()
    try:
        action = find_action(settings.actions(), name)
        question = action.question(typed, settings.translate_language)
    except QuickActionError as e:
        raise UsageError(str(e)) from None
    thinking = None if action.thinking == "default" else action.thinking_choice(ThinkingChoice()).on
    return question, thinking


def _draw_target(raw: str, attachments: list[tuple[Attachment, str]]) -> Path:
    """Checked before asking, so a misspelt folder or a question without images costs no request."""
    if not any(kind in IMAGE_KINDS for _, kind in attachments):
        raise UsageError("--draw needs an image to draw on: attach a screenshot, photo, PDF or slides with --attach")
    path = Path(raw).expanduser()
    if path.is_dir():
        raise UsageError(f"--draw {raw}: is a folder; give a file name such as {Path(raw) / 'boxes.png'}")
    if not path.parent.is_dir():
        raise UsageError(f"--draw {raw}: the folder {path.parent} does not exist")
    return path


def _question_images(attachments: list[tuple[Attachment, str]], backend: Backend) -> list[tuple[str, Callable]]:
    """The images of the question in the order the model saw them, as (name, loader) pairs, counted by
    ``grounding.pairing.question_images`` as the window counts them: image files as themselves, pages, slides and video
    frames as the rendered images that were sent."""
    import dataclasses

    from app.core.grounding.pairing import question_images

    found = question_images([dataclasses.replace(a, kind=kind) for a, kind in attachments], backend.media_target)
    return [(image.title, image.load) for image in found.images]


def _draw(out: Path, attachments: list[tuple[Attachment, str]], groups: list[Boxes], backend: Backend) -> None:
    """Draws on the image the first box group refers to, with every group that refers to the same image."""
    from app.core.grounding import GroundingError
    from app.core.grounding.drawing import draw_boxes_on
    from app.core.grounding.pairing import assign_images

    if not groups:
        print(for_terminal(f"glmv: the answer has no boxes; nothing was drawn to {out}"), file=sys.stderr)
        return
    images = _question_images(attachments, backend)
    targets = assign_images(groups, len(images))
    first = next((t for t in targets if t is not None), None)
    if first is None:
        print(
            for_terminal(f"glmv: the boxes refer to an image the question does not have; nothing was drawn to {out}"),
            file=sys.stderr,
        )
        return
    boxes = [box for group, target in zip(groups, targets, strict=True) if target == first for box in group.boxes]
    name, load = images[first]
    tmp = out.with_name(out.name + ".part")
    try:
        drawn = draw_boxes_on(load(), boxes)
        drawn.save(tmp, format=_image_format(out))
        os.replace(tmp, out)
    except GroundingError as e:
        raise UsageError(str(e)) from None
    except (OSError, ValueError) as e:
        tmp.unlink(missing_ok=True)
        raise UsageError(f"--draw {out}: cannot be written ({getattr(e, 'strerror', None) or e})") from None
    others = sorted({t + 1 for t in targets if t is not None and t != first})
    more = f"; boxes for image {', '.join(map(str, others))} were not drawn" if others else ""
    count = f"{len(boxes)} box{'es' if len(boxes) != 1 else ''}"
    print(for_terminal(f"glmv: drew {count} on {name} (image {first + 1}) to {out}{more}"), file=sys.stderr)


def _image_format(path: Path) -> str:
    from PIL import Image

    Image.init()
    return Image.EXTENSION.get(path.suffix.lower(), "PNG")


def _api_backend(args: argparse.Namespace) -> ApiBackend:
    from app.core.backends.api import ApiBackend
    from app.core.secrets import DEFAULT_ENV, SERVICE, account_name, find_api_key, keyring_available

    name = args.preset or DEFAULT_PRESET
    try:
        preset = get_preset(name)
    except UnknownPreset as e:
        raise UsageError(str(e)) from None
    if args.api_key_env and not os.environ.get(args.api_key_env, "").strip():
        print(
            for_terminal(f"glmv: warning: {args.api_key_env} is not set; looking for the key elsewhere"),
            file=sys.stderr,
        )
    from app.core.secrets import KeyVault

    # The window's vault: where no keyring works, the key typed in Settings went to its file.
    vault = KeyVault(use_keyring=False)
    found = find_api_key(name, args.base_url, args.api_key_env)
    key = found.value if found else vault.get(name, args.base_url)
    if key is None and preset.needs_key:
        where = f"{args.api_key_env} or {DEFAULT_ENV}" if args.api_key_env else DEFAULT_ENV
        keyring = (
            f", or save a key in the app's settings (OS keyring service {SERVICE!r}, user "
            f"{account_name(name, args.base_url)!r})"
            if keyring_available()
            else f", or save a key in the app's settings (no OS keyring works here, so it goes to {vault.file})"
        )
        raise UsageError(f"no API key for {preset.label}: set the environment variable {where}{keyring}")
    return ApiBackend(name, base_url=args.base_url, model=args.model, api_key=key, read_timeout=args.timeout)


def _local_backend(args: argparse.Namespace) -> LocalBackend:
    if args.preset or args.base_url or args.api_key_env:
        raise UsageError("--preset, --base-url and --api-key-env apply to --backend api only")
    try:
        from app.core.backends.local import LocalBackend
    except ModuleNotFoundError as e:
        if e.name == "app.core.backends.local":
            raise UsageError("the local backend is not part of this build; use --backend api") from None
        raise UsageError(
            f"the local backend needs the 'local' extra ({e.name} is missing): pip install 'glmv-desktop[local]'"
        ) from None
    return LocalBackend(args.model or DEFAULT_LOCAL_MODEL)


def _cancel_on_sigint(session: Session) -> Callable[[], None]:
    """The first Ctrl-C stops the answer cleanly (what arrived is printed, the connection closed); a second
    one, or one while no answer streams, interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum, frame) -> None:
        run = session.run
        if run is None or run.cancel.is_set():
            raise KeyboardInterrupt
        run.cancel.set()

    previous = signal.signal(signal.SIGINT, handler)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return restore


def _silence_stdout() -> None:
    """After the reader of stdout went away, keep Python from complaining about it on exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class PlainView:
    """Answer on stdout, thinking on stderr (dimmed on a terminal), problems on stderr; what the model and the
    server wrote is printed through ``for_terminal``, so it cannot drive the terminal."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self._dim = err.isatty() and not os.environ.get("NO_COLOR")
        self._thinking_open = False
        self._answer_tail = "\n"

    def show(self, event: Event) -> None:
        if isinstance(event, Thinking):
            text = for_terminal(event.text)
            self._write(self.err, f"\x1b[2m{text}\x1b[0m" if self._dim else text)
            if text:
                self._thinking_open = not text.endswith("\n")
        elif isinstance(event, Answer):
            self._close_thinking()
            text = for_terminal(event.text)
            if text:
                self._write(self.out, text)
                self._answer_tail = text[-1]
        elif isinstance(event, Boxes) and event.cut_short:
            from app.core.grounding.words import cut_short_note

            self._write(self.err, f"glmv: note: {cut_short_note(event)}\n")
        elif isinstance(event, Done):
            self._close_thinking()
            self._end_answer()
            note = _finish_note(event.finish_reason)
            if note:
                self._write(self.err, f"glmv: {note}\n")
        elif isinstance(event, Failed):
            self._close_thinking()
            self._end_answer()
            status = "cancelled" if event.kind == "cancelled" else "error"
            self._write(self.err, f"glmv: {status}: {for_terminal(event.message)}\n")

    def _close_thinking(self) -> None:
        if self._thinking_open:
            self._write(self.err, "\n")
            self._thinking_open = False

    def _end_answer(self) -> None:
        if self._answer_tail != "\n":
            self._write(self.out, "\n")
            self._answer_tail = "\n"

    @staticmethod
    def _write(stream: TextIO, text: str) -> None:
        stream.write(text)
        stream.flush()


class JsonView:
    """One JSON object per line on stdout, flushed as it happens."""

    def __init__(self, out: TextIO, count_images: Callable[[], int]) -> None:
        """``count_images`` gives the number of images the model saw (pages and frames included); it is called
        once, when the first box group arrives, so an answer without boxes costs nothing."""
        self.out = out
        self._count_images = count_images
        self._images: int | None = None
        self._groups = 0

    def show(self, event: Event) -> None:
        if isinstance(event, Thinking):
            self._emit({"type": "thinking", "text": event.text})
        elif isinstance(event, Answer):
            self._emit({"type": "answer", "text": event.text})
        elif isinstance(event, Boxes):
            from app.core.grounding.pairing import image_for_group

            if self._images is None:
                self._images = self._count_images()
            # The same pairing `--draw` and the window use; the groups so far decide it for this one.
            image = image_for_group(self._groups, self._groups + 1, event.image_ref, self._images)
            self._groups += 1
            boxes = [{"box": box.as_list(), "label": box.label} for box in event.boxes]
            group: dict = {"type": "boxes", "boxes": boxes, "image": image}
            if event.cut_short:
                group["cut_short"] = True
            self._emit(group)
        elif isinstance(event, Done):
            self._emit({"type": "done", "finish_reason": event.finish_reason, "usage": event.usage})
        elif isinstance(event, Failed):
            record: dict = {"type": "error", "kind": event.kind, "message": event.message}
            if event.retry_after is not None:
                record["retry_after"] = event.retry_after
            self._emit(record)

    def _emit(self, record: dict) -> None:
        self.out.write(json_for_terminal(json.dumps(record, ensure_ascii=False)) + "\n")
        self.out.flush()


def _finish_note(finish_reason: str | None) -> str | None:
    return {
        "length": "the answer was cut off at the token limit; raise --max-tokens for a longer one",
        "sensitive": "the provider's content filter stopped the answer",
        "model_context_window_exceeded": "the question filled the model's context; attach less or fewer pages",
    }.get(finish_reason or "")


# -- inspect --------------------------------------------------------------------------------------------------


def _inspect(args: argparse.Namespace) -> int:
    from app.core.media import ImagePart, MediaError, TextPart, VideoPart, prepare
    from app.core.media.budget import attachment_cost, check_message
    from app.core.media.parts import estimate_text_tokens

    preset = get_preset(args.preset or DEFAULT_PRESET)
    target = preset.dialect.media_target
    errors = 0
    reports = []
    for raw in args.paths:
        try:
            ((attachment, _),) = _attachments([raw], args.pages, args.password)
            report = prepare(attachment, target)
        except (UsageError, MediaError) as e:
            errors += 1
            message = str(e)
            if args.json:
                _print_json({"type": "error", "path": raw, "kind": e.kind, "message": message})
            else:
                print(for_terminal(f"glmv: {message}"), file=sys.stderr)
            continue
        reports.append(report)
        parts = []
        for part in report.parts:
            if isinstance(part, ImagePart):
                parts.append(
                    {
                        "type": "image",
                        "source": [part.source_width, part.source_height],
                        "sent": [part.width, part.height],
                        "mime": part.mime,
                        "bytes": len(part.data),
                        "tokens": part.tokens,
                        "label": part.label,
                    }
                )
            elif isinstance(part, VideoPart):
                parts.append(
                    {
                        "type": "video",
                        "duration": part.duration,
                        "fps": part.fps,
                        "bytes": part.size_bytes,
                        "tokens": part.tokens,
                    }
                )
            elif isinstance(part, TextPart):
                parts.append({"type": "text", "chars": len(part.text), "tokens": estimate_text_tokens(part.text)})
        record = {
            "type": "attachment",
            "path": raw,
            "kind": report.kind,
            "renderer": report.renderer,
            "pages_total": report.pages_total,
            "pages_used": report.pages_used,
            "tokens": attachment_cost(report).tokens,  # with the words that introduce it to the model
            "parts": parts,
            "warnings": list(report.warnings),
        }
        if args.json:
            _print_json(record)
        else:
            _print_report(record)
    # The same arithmetic as the window's budget line: a share of the context is kept for the answer.
    budget = check_message(reports, "", target, max_images=preset.dialect.capabilities.max_images)
    if args.json:
        _print_json(
            {
                "type": "total",
                "files": len(reports),
                "errors": errors,
                "tokens": budget.total_tokens,
                "context_tokens": budget.context_tokens,
                "answer_reserve": budget.answer_reserve,
                "fits": not budget.over,
                "warnings": budget.warnings,
                "way_out": budget.way_out,
            }
        )
    else:
        share = f"{100 * budget.fraction:.0f}%"
        print(f"total: ~{budget.total_tokens} tokens of a {budget.context_tokens}-token context ({share})")
        for warning in budget.warnings:
            print(f"  warning: {for_terminal(warning)}")
        if budget.way_out:
            print(f"  {for_terminal(budget.way_out)}")
    return EXIT_USAGE if errors else EXIT_OK


def _print_json(record: dict) -> None:
    print(json_for_terminal(json.dumps(record, ensure_ascii=False)), flush=True)


def _print_report(record: dict) -> None:
    from app.core.media.pages import format_pages

    head = f"{for_terminal(record['path'])}: {record['kind']}"
    if record["renderer"]:
        head += f" via {record['renderer']}"
    if record["pages_used"] is not None:
        unit = "slide" if record["kind"] == "slides" else "page"
        plural = "s" if len(record["pages_used"]) != 1 else ""
        head += f", {unit}{plural} {format_pages(record['pages_used'])}"
        if record["pages_total"] is not None:
            head += f" of {record['pages_total']}"
    print(f"{head}, ~{record['tokens']} tokens")
    for part in record["parts"]:
        if part["type"] == "image":
            (sw, sh), (w, h) = part["source"], part["sent"]
            label = f" [{for_terminal(part['label'])}]" if part["label"] else ""
            kind = part["mime"].split("/")[-1].upper()
            print(f"  image{label}: {sw}×{sh} → {w}×{h}, {kind} {_size(part['bytes'])}, {part['tokens']} tokens")
        elif part["type"] == "video":
            print(
                f"  video: {part['duration']:.1f} s at {part['fps']:g} fps, {_size(part['bytes'])}, "
                f"{part['tokens']} tokens"
            )
        else:
            print(f"  text: {part['chars']} characters, ~{part['tokens']} tokens")
    for warning in record["warnings"]:
        print(f"  warning: {for_terminal(warning)}")


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{n / 1024:.0f} KB"


if __name__ == "__main__":
    sys.exit(main())
