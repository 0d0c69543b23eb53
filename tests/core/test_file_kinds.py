"""The one table of file kinds: the file picker offers every file the readers take, through Qt's own file dialog,
and nothing else reads a list of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QFileDialog, QListView

from app.core import file_kinds
from app.core.media import HANDLERS
from app.core.media.kinds import expected_kind

pytestmark = pytest.mark.gui


def shown_in_picker(qtbot, folder: Path, name_filter: str) -> set[str]:
    """The file names Qt's file dialog lists in ``folder`` with ``name_filter`` chosen in the picker."""
    dialog = QFileDialog(None, "Attach files", str(folder), file_kinds.picker_filter())
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
    qtbot.addWidget(dialog)
    dialog.selectNameFilter(name_filter)
    view = dialog.findChild(QListView, "listView")
    model = view.model()

    def names() -> set[str]:
        root = view.rootIndex()
        return {model.index(row, 0, root).data() for row in range(model.rowCount(root))}

    qtbot.waitUntil(lambda: bool(names()), timeout=10000)
    return names()


def test_the_picker_offers_every_file_the_readers_take(qtbot, tmp_path):
    names = {f"sample{suffix}" for suffix in file_kinds.BY_SUFFIX}
    # Each name is one the readers take: its kind has a handler in app.core.media.
    assert all(HANDLERS.get(expected_kind(Path(name)) or "") for name in names)
    # Word-processor files (media/documents.py) were once missing from the picker.
    assert {"sample.docx", "sample.doc", "sample.odt", "sample.rtf"} <= names
    for name in [*names, "SHOUTED.PNG", "notes.unknown"]:
        (tmp_path / name).write_bytes(b"x")
    supported = shown_in_picker(qtbot, tmp_path, file_kinds.picker_filter().split(";;")[0])
    assert names | {"SHOUTED.PNG"} == supported
    everything = shown_in_picker(qtbot, tmp_path, "All files (*)")
    assert "notes.unknown" in everything


def test_each_suffix_names_one_kind_with_its_own_picker_line(qtbot, tmp_path):
    every = [suffix for kind in file_kinds.FILE_KINDS for suffix in kind.suffixes]
    assert len(every) == len(set(every)) == len(file_kinds.BY_SUFFIX)
    (tmp_path / "deck.pptx").write_bytes(b"x")
    (tmp_path / "clip.mp4").write_bytes(b"x")
    slides = next(line for line in file_kinds.picker_filter().split(";;") if line.startswith("Slides"))
    assert shown_in_picker(qtbot, tmp_path, slides) == {"deck.pptx"}
