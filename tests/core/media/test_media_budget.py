"""A message's attachments, question and answer reserve against the model's context."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from app.core.conversation import Attachment
from app.core.media import MediaTarget, prepare
from app.core.media.budget import DEFAULT_ANSWER_RESERVE, check_message, image_budget, text_budget
from app.core.media.parts import ImagePart, MediaReport, TextPart
from app.core.media.told import told_text_tokens


def pdf(path: Path, pages: int) -> Path:
    doc = pymupdf.open()
    for i in range(pages):
        doc.new_page().insert_text((72, 72), f"page {i + 1}")
    doc.save(path)
    return path


def image(tokens: int, label: str | None = None) -> ImagePart:
    return ImagePart(b"x", "image/png", 28, 28, 28, 28, tokens, label)


def test_default_budgets_follow_the_context():
    assert image_budget(MediaTarget()) == 131072 // 2
    assert image_budget(MediaTarget(image_tokens_budget=24000)) == 24000
    assert text_budget(MediaTarget(context_tokens=8000)) == 6000


def test_a_message_that_fits_has_no_warning():
    report = MediaReport("a.png", "image", parts=[image(1000)])
    budget = check_message([report], "What is this?", MediaTarget())
    assert not budget.over and budget.warnings == [] and budget.way_out is None
    # The image, and the words that introduce it to the model.
    told = told_text_tokens(report)
    assert 0 < told < 20 and budget.total_tokens == 1000 + told + budget.prompt_tokens
    assert budget.attachments[0].images == 1


def test_labels_count_towards_the_total():
    report = MediaReport("d.pdf", "pdf", parts=[image(100, "Page 1"), image(100, "Page 2")])
    assert check_message([report], "", MediaTarget()).total_tokens > 200


def test_over_the_context_names_the_total_and_a_way_out(tmp_path):
    target = MediaTarget(image_tokens_budget=100_000)
    book = prepare(Attachment(pdf(tmp_path / "book.pdf", 200)), target)
    notes = MediaReport(str(tmp_path / "notes.txt"), "text", parts=[TextPart("word " * 40_000)])
    budget = check_message([book, notes], "Summarise both", target)
    assert budget.over
    assert budget.total_tokens > target.context_tokens - DEFAULT_ANSWER_RESERVE
    (warning,) = budget.warnings
    assert "will not fit" in warning and f"{target.context_tokens:,}" in warning
    assert budget.way_out is not None
    assert "fewer pages of book.pdf" in budget.way_out and "--pages" in budget.way_out
    assert "text layer" in budget.way_out
    assert "notes.txt" in budget.way_out


def test_close_to_the_limit_is_a_gentle_warning():
    report = MediaReport("d.pdf", "pdf", parts=[image(100_000)], pages_used=[1])
    budget = check_message([report], "", MediaTarget())
    assert not budget.over
    assert "little room" in budget.warnings[0]


def test_too_many_images_for_the_backend():
    report = MediaReport("d.pdf", "pdf", parts=[image(10) for _ in range(5)], pages_used=[1, 2, 3, 4, 5])
    budget = check_message([report], "", MediaTarget(), max_images=3)
    assert any("at most 3" in w for w in budget.warnings)
    assert budget.way_out is not None


def test_history_and_answer_reserve_count():
    report = MediaReport("a.png", "image", parts=[image(1000)])
    target = MediaTarget(context_tokens=20_000)
    assert not check_message([report], "", target, answer_reserve=1000).over
    assert check_message([report], "", target, answer_reserve=1000, history_tokens=18_500).over
