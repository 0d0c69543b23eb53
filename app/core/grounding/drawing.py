"""Boxes drawn on a picture: numbered, labelled, in colours that stay apart, readable on light and dark images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.core.events import Box
from app.core.grounding.pixels import round_half_up, to_pixels
from app.core.grounding.words import box_name

if TYPE_CHECKING:
    from PIL import Image as PILImage

# Distinct, saturated colours (Kelly/Tableau lineage) that stay apart for colour-blind readers in this order.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),
    (0, 130, 200),
    (60, 180, 75),
    (245, 130, 48),
    (145, 30, 180),
    (0, 190, 190),
    (240, 50, 230),
    (170, 110, 40),
    (128, 128, 0),
    (0, 0, 128),
)


def color_for(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def text_color_on(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``rgb`` (relative luminance, WCAG)."""

    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return (0, 0, 0) if luminance > 0.179 else (255, 255, 255)


def draw_boxes_on(image: PILImage.Image, boxes: Sequence[Box], first_index: int = 0) -> PILImage.Image:
    """Draws on a copy. Each stroke is a colour between two dark lines and each label a coloured tag with a dark
    rim, so boxes read on white documents and dark screenshots alike."""
    from PIL import ImageDraw, ImageFont

    out = image.convert("RGB")
    width, height = out.size
    short = min(width, height)
    thickness = max(2, round_half_up(short / 250))
    rim = max(1, thickness // 3)
    font_size = int(min(max(short / 32, 11), 48))
    font = ImageFont.load_default(size=font_size)
    pad = max(2, font_size // 5)
    draw = ImageDraw.Draw(out)
    placed = [(i, to_pixels(box, width, height)) for i, box in enumerate(boxes)]
    for i, p in placed:
        color = color_for(first_index + i)
        outer = rim + thickness
        draw.rectangle(
            (p.left - outer, p.top - outer, p.right - 1 + outer, p.bottom - 1 + outer), outline=(0, 0, 0), width=rim
        )
        draw.rectangle(
            (p.left - thickness, p.top - thickness, p.right - 1 + thickness, p.bottom - 1 + thickness),
            outline=color,
            width=thickness,
        )
        draw.rectangle((p.left, p.top, p.right - 1, p.bottom - 1), outline=(0, 0, 0), width=rim)
    for i, p in placed:
        color = color_for(first_index + i)
        text = box_name(first_index + i, boxes[i])
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tw, th = right - left + 2 * pad, bottom - top + 2 * pad
        x = min(max(p.left - thickness - rim, 0), max(width - tw, 0))
        y = p.top - thickness - rim - th
        if y < 0:
            y = min(p.top + thickness, max(height - th, 0))
        draw.rectangle((x, y, x + tw - 1, y + th - 1), fill=color, outline=(0, 0, 0), width=rim)
        draw.text((x + pad - left, y + pad - top), text, font=font, fill=text_color_on(color))
    return out
