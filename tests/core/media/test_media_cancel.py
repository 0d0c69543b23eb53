"""Cancelling while an attachment is prepared stops within one page, slide or frame and says it was cancelled."""

from __future__ import annotations

import threading

import pytest

from app.core.conversation import Attachment
from app.core.media import MediaCancelled, MediaTarget, prepare
from tests.support.documents import text_deck, text_pdf
from tests.support.videos import make_video


class CancelAfter(threading.Event):
    """An event that reads as set from its (n+1)-th check on: counts how often the handler looked."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.checks = 0

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks > self.n


@pytest.mark.parametrize("text_layer", [False, True])
def test_pdf_stops_at_the_next_page(tmp_path, text_layer):
    cancel = CancelAfter(3)
    with pytest.raises(MediaCancelled, match=r"book\.pdf: preparing the attachment was cancelled"):
        prepare(Attachment(text_pdf(tmp_path / "book.pdf", 20), text_layer=text_layer), MediaTarget(), cancel=cancel)
    assert cancel.checks == 4


def test_slides_drawn_by_python_pptx_stop_at_the_next_slide(tmp_path, monkeypatch):
    monkeypatch.setenv("GLMV_SOFFICE", "")  # no LibreOffice: the python-pptx renderer
    cancel = CancelAfter(2)
    with pytest.raises(MediaCancelled):
        prepare(Attachment(text_deck(tmp_path / "deck.pptx", 6)), MediaTarget(), cancel=cancel)
    assert cancel.checks == 3


def test_video_frames_stop_at_the_next_frame(tmp_path):
    cancel = CancelAfter(5)
    with pytest.raises(MediaCancelled):
        prepare(Attachment(make_video(tmp_path / "clip.mp4", 4)), MediaTarget(accepts_video=False), cancel=cancel)
    assert cancel.checks == 6


def test_an_unset_event_changes_nothing(tmp_path):
    report = prepare(Attachment(text_pdf(tmp_path / "short.pdf", 3)), MediaTarget(), cancel=threading.Event())
    assert report.pages_used == [1, 2, 3]
