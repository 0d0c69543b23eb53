"""A conversation exported to a Markdown file, with its attachments copied beside it.

The history store is read, never written: the export is for the person to keep or share elsewhere.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from app.core.file_kinds import mime_type
from app.core.store import Store, safe_name

# Pictures a Markdown viewer shows in the page (the rest, TIFF or HEIC photos among them, are linked).
SHOWN_INLINE = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp"})


def export_markdown(store: Store, conversation_id: str, folder: Path) -> Path:
    """Writes ``<title>.md`` into ``folder`` with the attachments copied beside it in ``<title>_files`` (images
    shown inline, other files linked). Returns the Markdown file's path."""
    summary = store.conversation(conversation_id)
    if summary is None:
        raise KeyError(f"no conversation {conversation_id}")
    folder = Path(folder)
    stem = safe_name(summary.title or "conversation", keep_suffix=False)
    files = folder / f"{stem}_files"
    lines = [f"# {summary.title or 'Conversation'}", ""]
    for message in store.messages(conversation_id):
        if message.role == "user":
            lines += ["## Question", "", message.text, ""]
            for a in message.attachments:
                if not a.path.exists():
                    lines.append(f"*(attachment {a.name} is missing)*")
                    continue
                files.mkdir(parents=True, exist_ok=True)
                target = files / f"{a.id}_{safe_name(a.name)}"
                shutil.copyfile(a.path, target)
                link = f"{files.name}/{target.name}".replace(" ", "%20")
                bang = "!" if mime_type(target) in SHOWN_INLINE else ""
                lines.append(f"{bang}[{a.name}]({link})")
            lines.append("")
        elif message.role == "assistant":
            heading = "## Answer" + (f" ({message.model})" if message.model else "")
            lines += [heading, ""]
            if message.thinking.strip():
                lines += [
                    "<details><summary>Thinking</summary>",
                    "",
                    message.thinking.strip(),
                    "",
                    "</details>",
                    "",
                ]
            lines += [message.text, ""]
            if message.status in ("stopped", "failed"):
                lines += [f"*({message.status}: {message.error_message or message.finish_reason or ''})*", ""]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
