"""Token budgets: how much of the model's context one attachment may take, and whether a whole message fits.

Per attachment the renderers size themselves against ``image_budget``/``text_budget``; they cannot see the other
attachments, so ``check_message`` adds everything up against the context and says what to do when it is over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.core.media.parts import ImagePart, MediaReport, MediaTarget, VideoPart, estimate_text_tokens
from app.core.media.told import told_text_tokens

# Room kept free for the answer (and its reasoning) when checking a message against the context.
DEFAULT_ANSWER_RESERVE = 16384


def image_budget(target: MediaTarget) -> int:
    """Image tokens one attachment may use: the target's own budget, else half the context."""
    if target.image_tokens_budget is not None:
        return max(1, target.image_tokens_budget)
    return max(1, target.context_tokens // 2)


def text_budget(target: MediaTarget) -> int:
    """Text tokens one attachment may use: three quarters of the context, the rest left to the question and the
    answer. Text is the way a long book fits at all, so it gets more than images."""
    return max(1, target.context_tokens * 3 // 4)


def text_char_cap(target: MediaTarget) -> int:
    """``text_budget`` in characters, by the same ratio ``estimate_text_tokens`` uses."""
    return text_budget(target) * 7 // 2


@dataclass(frozen=True)
class AttachmentCost:
    path: str
    kind: str
    tokens: int
    images: int
    videos: int
    text_tokens: int


@dataclass
class MessageBudget:
    """A message's estimated cost against the model's context, as ``glmv inspect`` and the GUI show it."""

    attachments: list[AttachmentCost]
    prompt_tokens: int
    total_tokens: int
    context_tokens: int
    answer_reserve: int
    warnings: list[str] = field(default_factory=list)
    way_out: str | None = None

    @property
    def over(self) -> bool:
        return self.total_tokens + self.answer_reserve > self.context_tokens

    @property
    def fraction(self) -> float:
        return self.total_tokens / self.context_tokens if self.context_tokens else 0.0


def attachment_cost(report: MediaReport) -> AttachmentCost:
    """What one attachment costs as it goes to the model: its images and videos, and its text with the words
    that introduce it."""
    images = sum(1 for p in report.parts if isinstance(p, ImagePart))
    videos = sum(1 for p in report.parts if isinstance(p, VideoPart))
    # The words the model is told with the attachment (its introduction, page labels, notes) and its own text.
    text = told_text_tokens(report)
    media = sum(p.tokens for p in report.parts if isinstance(p, (ImagePart, VideoPart)))
    return AttachmentCost(report.path, report.kind, media + text, images, videos, text)


def _way_out(reports: list[MediaReport], costs: list[AttachmentCost], excess: int) -> str:
    """The concrete things that would bring the message under the limit, largest attachment first."""
    steps: list[str] = []
    for report, cost in sorted(zip(reports, costs, strict=True), key=lambda rc: -rc[1].tokens):
        name = Path(report.path).name
        if report.kind in ("pdf", "slides", "document") and report.pages_used:
            unit = "slides" if report.kind == "slides" else "pages"
            per_page = max(1, cost.tokens // len(report.pages_used))
            fewer = max(1, len(report.pages_used) - -(-excess // per_page))
            tip = f"send fewer {unit} of {name} (about {fewer} of the {len(report.pages_used)} now sent fit; --pages)"
            if report.kind != "slides" and cost.images:
                tip += " or send its text layer instead of page images"
            steps.append(tip)
        elif report.kind == "video":
            steps.append(f"trim {name} to a shorter clip")
        elif report.kind in ("text", "document"):
            steps.append(f"attach only the part of {name} that matters")
        else:
            steps.append(f"remove {name} or attach a smaller image")
        if len(steps) == 3:
            break
    steps.append("or split the question over several messages")
    return "To fit: " + "; ".join(steps) + "."


def check_message(
    reports: list[MediaReport],
    prompt_text: str,
    target: MediaTarget,
    *,
    answer_reserve: int = DEFAULT_ANSWER_RESERVE,
    history_tokens: int = 0,
    max_images: int | None = None,
) -> MessageBudget:
    """Add up a message's attachments, question and history against the model's context.

    Over the limit, the warning names the total and the context and ``way_out`` says what to change; a request
    that cannot fit fails at the server anyway, so the person hears it before sending.
    """
    costs = [attachment_cost(r) for r in reports]
    prompt = estimate_text_tokens(prompt_text)
    total = prompt + history_tokens + sum(c.tokens for c in costs)
    budget = MessageBudget(costs, prompt, total, target.context_tokens, answer_reserve)
    limit = target.context_tokens - answer_reserve
    if total > limit:
        budget.warnings.append(
            f"this message needs about {total:,} tokens but the model's context holds {target.context_tokens:,} "
            f"and {answer_reserve:,} are kept for the answer: it will not fit"
        )
        budget.way_out = _way_out(reports, costs, total - limit)
    elif total > limit * 0.8:
        budget.warnings.append(
            f"this message uses about {total:,} of {target.context_tokens:,} context tokens; "
            "little room is left for follow-up questions"
        )
    images = sum(c.images for c in costs)
    if max_images is not None and images > max_images:
        budget.warnings.append(f"{images} images in one message, but this backend takes at most {max_images}")
        if budget.way_out is None:
            budget.way_out = f"To fit: choose fewer pages or slides (at most {max_images} images in all)."
    return budget
