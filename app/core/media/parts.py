"""What an attachment becomes on its way to a model: a list of parts.

Parts are backend-neutral. The API backend encodes them for its dialect (base64 or data URI, video URL), the
local backend hands them to the processor. ``ImagePart.data`` is already within the model's pixel budget and
encoded (PNG or JPEG) within the target's byte limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class ImagePart:
    """An encoded image ready to send.

    ``width``/``height`` are the sent size; ``source_width``/``source_height`` the original one, which grounding
    boxes (0..1000 of the image) map back to. ``label`` goes before the image as text when set (a page number,
    a video timestamp). ``page`` is the number (from 1) of the page or slide the image shows, for whoever needs
    it again (speaker notes, a region rendered anew from the page) without reading it out of the label.
    """

    data: bytes
    mime: str
    width: int
    height: int
    source_width: int
    source_height: int
    tokens: int
    label: str | None = None
    source: str = ""
    page: int | None = None


@dataclass(frozen=True)
class VideoPart:
    """A video file sent whole to a backend that accepts video."""

    path: Path
    mime: str
    duration: float
    fps: float
    size_bytes: int
    tokens: int = 0


Part = TextPart | ImagePart | VideoPart


@dataclass(frozen=True)
class MediaTarget:
    """The limits an attachment must fit: from the model's processor (pixels) and the backend's dialect (bytes,
    sides, video). ``None`` means no limit.

    The pixel defaults are GLM-4.6V's image processor (shortest_edge 12544, longest_edge 9633792 pixels,
    patch 14, merge 2); a checkpoint's own processor config overrides them where known.

    ``send_processor_size`` is for servers that do not resize as the processor does: every image then goes at
    the processor's size, not only those it would scale down.
    """

    min_pixels: int = 12544
    max_pixels: int = 9633792
    patch_size: int = 14
    merge_size: int = 2
    max_image_bytes: int | None = None
    max_image_side: int | None = None
    accepts_video: bool = False
    max_video_bytes: int | None = None
    image_tokens_budget: int | None = None
    context_tokens: int = 131072
    send_processor_size: bool = False

    @property
    def factor(self) -> int:
        return self.patch_size * self.merge_size


@dataclass
class MediaReport:
    """What ``glmv inspect`` and the attachments strip show for one attachment, and what the model is told of
    it (``told``): ``pages_chosen`` are the pages or slides the person selected (None: all), ``pages_used`` those
    that went; ``screenshot`` says what a screenshot of ours shows ("screen", "screens" or "region")."""

    path: str
    kind: str
    parts: list[Part] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    renderer: str | None = None
    pages_total: int | None = None
    pages_used: list[int] | None = None
    pages_chosen: list[int] | None = None
    screenshot: str | None = None

    @property
    def tokens(self) -> int:
        total = 0
        for part in self.parts:
            if isinstance(part, (ImagePart, VideoPart)):
                total += part.tokens
            else:
                total += estimate_text_tokens(part.text)
        return total


def estimate_text_tokens(text: str) -> int:
    """A cheap estimate: GLM's tokenizer averages about 3.5 characters a token on mixed English and code."""
    return (len(text) * 2 + 6) // 7
