"""Preparing says where it stands, stops when told, and what was prepared once is not prepared again (issue 12,
point 3: a question with a long PDF waited seconds after Enter while its files were prepared a second time)."""

from __future__ import annotations

import os
import threading
import time

import pymupdf
import pytest

from app.core.backends.api import ApiBackend
from app.core.backends.base import GenerationOptions
from app.core.conversation import Attachment, Conversation, Message
from app.core.events import Answer, Failed, Preparing
from app.core.media import MediaCancelled, MediaTarget, prepare
from app.core.media.prepared import SHARED, PreparedCache, size_of
from tests.support.documents import text_deck, text_pdf
from tests.support.openai_server import OpenAIServer


def test_a_pdf_names_each_page_as_it_is_rendered(tmp_path):
    heard: list[str] = []
    report = prepare(Attachment(text_pdf(tmp_path / "book.pdf", 5)), MediaTarget(), progress=heard.append)
    assert heard == ["Preparing book.pdf…"] + [f"Preparing book.pdf, page {n} of 5…" for n in range(1, 6)]
    assert report.pages_used == [1, 2, 3, 4, 5]


def test_chosen_pages_say_which_page_and_how_far(tmp_path):
    heard: list[str] = []
    prepare(Attachment(text_pdf(tmp_path / "book.pdf", 9), pages="7-9"), MediaTarget(), progress=heard.append)
    assert heard[1:] == [f"Preparing book.pdf, page {n} ({n - 6} of 3)…" for n in (7, 8, 9)]


def test_slides_drawn_by_python_pptx_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("GLMV_SOFFICE", "")
    heard: list[str] = []
    prepare(Attachment(text_deck(tmp_path / "deck.pptx", 3)), MediaTarget(), progress=heard.append)
    assert heard[1:] == [f"Preparing deck.pptx, slide {n} of 3…" for n in (1, 2, 3)]


def test_a_cancel_while_a_page_is_named_stops_before_the_next(tmp_path):
    cancel = threading.Event()
    heard: list[str] = []

    def listen(text: str) -> None:
        heard.append(text)
        if "page 3 of" in text:
            cancel.set()  # as the window's Stop does, from another thread, while page 3 renders

    with pytest.raises(MediaCancelled, match=r"book\.pdf: preparing the attachment was cancelled"):
        prepare(Attachment(text_pdf(tmp_path / "book.pdf", 40)), MediaTarget(), cancel=cancel, progress=listen)
    assert heard[-1] == "Preparing book.pdf, page 3 of 40…"


def test_what_was_prepared_comes_back_without_preparing_again(tmp_path):
    cache = PreparedCache()
    path = text_pdf(tmp_path / "book.pdf", 4)
    first = prepare(Attachment(path), MediaTarget(), cache=cache)
    heard: list[str] = []
    again = prepare(Attachment(path), MediaTarget(), cache=cache, progress=heard.append)
    assert heard == []
    assert again.parts == first.parts and again.pages_used == first.pages_used
    again.parts.clear()  # the caller's lists are its own
    assert prepare(Attachment(path), MediaTarget(), cache=cache).parts == first.parts
    assert cache.bytes == size_of(first)


def test_a_changed_file_or_choice_or_target_is_prepared_again(tmp_path):
    cache = PreparedCache()
    path = text_pdf(tmp_path / "book.pdf", 4)
    prepare(Attachment(path), MediaTarget(), cache=cache)
    heard: list[str] = []
    prepare(Attachment(path, pages="2"), MediaTarget(), cache=cache, progress=heard.append)
    prepare(Attachment(path), MediaTarget(max_pixels=200_000), cache=cache, progress=heard.append)
    assert sum(text.startswith("Preparing book.pdf…") for text in heard) == 2
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "a new first page " * 20)
    doc.save(tmp_path / "new.pdf")
    os.replace(tmp_path / "new.pdf", path)
    heard.clear()
    report = prepare(Attachment(path), MediaTarget(), cache=cache, progress=heard.append)
    assert heard and report.pages_total == 1


def test_the_kept_bytes_stay_under_the_bound(tmp_path):
    one = prepare(Attachment(text_pdf(tmp_path / "a.pdf", 3)), MediaTarget())
    cache = PreparedCache(max_bytes=int(size_of(one) * 2.5))
    for name in "abcd":
        prepare(Attachment(text_pdf(tmp_path / f"{name}.pdf", 3)), MediaTarget(), cache=cache)
    assert cache.bytes <= cache.max_bytes
    heard: list[str] = []
    prepare(Attachment(tmp_path / "d.pdf"), MediaTarget(), cache=cache, progress=heard.append)
    assert heard == []  # the latest is kept
    prepare(Attachment(tmp_path / "a.pdf"), MediaTarget(), cache=cache, progress=heard.append)
    assert heard  # the oldest went first


def _question(*paths) -> Conversation:
    return Conversation([Message("user", "What is in these?", [Attachment(p) for p in paths])])


def test_the_stream_says_what_it_prepares_before_the_request_goes(tmp_path, openai_server: OpenAIServer):
    backend = ApiBackend("vllm", base_url=openai_server.url, model="glm-4.6v")
    events = list(backend.stream(_question(text_pdf(tmp_path / "long.pdf", 60)), GenerationOptions()))
    said = [e.text for e in events if isinstance(e, Preparing)]
    assert said[0].startswith("Preparing long.pdf") and said[-1] == ""
    assert any(", page " in text and " of 60…" in text for text in said)
    assert any(isinstance(e, Answer) for e in events)
    assert len(openai_server.chat_requests) == 1


def test_a_file_the_chips_prepared_is_not_prepared_again(tmp_path, openai_server: OpenAIServer):
    backend = ApiBackend("vllm", base_url=openai_server.url, model="glm-4.6v")
    path = text_pdf(tmp_path / "long.pdf", 30)
    prepare(Attachment(path), backend.media_target, cache=SHARED)  # what a chip does when the file is attached
    events = list(backend.stream(_question(path), GenerationOptions()))
    assert not [e for e in events if isinstance(e, Preparing)]
    sent = openai_server.last.body["messages"][-1]["content"]
    assert sum(part["type"] == "image_url" for part in sent) == 30


def test_a_cancel_while_preparing_ends_the_answer_at_once_and_sends_nothing(tmp_path, openai_server: OpenAIServer):
    backend = ApiBackend("vllm", base_url=openai_server.url, model="glm-4.6v")
    cancel = threading.Event()
    events = []
    started = None
    for event in backend.stream(_question(text_pdf(tmp_path / "long.pdf", 200)), GenerationOptions(), cancel):
        events.append(event)
        if isinstance(event, Preparing) and ", page " in event.text and started is None:
            started = time.monotonic()
            cancel.set()
    assert started is not None and time.monotonic() - started < 0.5
    assert isinstance(events[-1], Failed) and events[-1].kind == "cancelled"
    time.sleep(0.3)  # the preparation thread stops at its next page; nothing goes out after it
    assert openai_server.chat_requests == []


def _started_elsewhere(path, cache: PreparedCache) -> tuple[threading.Thread, list]:
    """A chip's preparation of ``path`` on its own thread, under way once it names its first page."""
    first_page = threading.Event()
    out: list = []

    def hear(text: str) -> None:
        if ", page " in text:
            first_page.set()

    thread = threading.Thread(
        target=lambda: out.append(prepare(Attachment(path), MediaTarget(), cache=cache, progress=hear))
    )
    thread.start()
    assert first_page.wait(10)
    return thread, out


def test_a_file_still_being_prepared_is_waited_for_not_prepared_twice(tmp_path, monkeypatch):
    from app.core.media import pdf

    runs = []
    real = pdf.render_pdf
    monkeypatch.setattr(pdf, "render_pdf", lambda *a, **k: (runs.append(1), real(*a, **k))[1])
    cache = PreparedCache()
    path = text_pdf(tmp_path / "book.pdf", 80)
    thread, first = _started_elsewhere(path, cache)
    heard: list[str] = []
    report = prepare(Attachment(path), MediaTarget(), cache=cache, progress=heard.append)
    thread.join()
    assert len(runs) == 1
    assert report.parts == first[0].parts
    assert heard and all(text.startswith("Preparing book.pdf, page ") for text in heard)


def test_a_cancel_while_waiting_leaves_the_other_preparation_to_finish(tmp_path):
    cache = PreparedCache()
    path = text_pdf(tmp_path / "book.pdf", 80)
    thread, first = _started_elsewhere(path, cache)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(MediaCancelled):
        prepare(Attachment(path), MediaTarget(), cache=cache, cancel=cancel)
    thread.join()
    heard: list[str] = []
    assert prepare(Attachment(path), MediaTarget(), cache=cache, progress=heard.append).parts == first[0].parts
    assert heard == []  # what the other one prepared is kept


def test_the_cache_says_how_many_preparations_are_under_way(tmp_path):
    """What a test of the running app waits for before clearing the cache: a chip's preparation outlives a
    stopped answer and would otherwise land in the cache after the clear."""
    cache = PreparedCache()
    assert cache.preparing() == 0
    thread, _ = _started_elsewhere(text_pdf(tmp_path / "book.pdf", 80), cache)
    assert cache.preparing() == 1
    thread.join()
    assert cache.preparing() == 0
