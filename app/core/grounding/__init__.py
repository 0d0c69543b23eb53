"""Grounding boxes placed where they belong: on the image they refer to, and on the real screen for screenshots.

GLM-V boxes are 0..1000 of the image as a whole (x of its width, y of its height). The model saw a copy scaled
to its pixel budget, but proportions survive scaling, so a box maps to the ORIGINAL image by proportion; mapping
it onto the resized pixel grid is the "misplaced box" users report from other clients.

One job per module:

- ``pairing``: which of the question's images each box group belongs to, and the images the model saw
- ``pixels``: a box in pixels of an image, and the image as people see it (upright, in RGB)
- ``screen``: a box on the real screen, from the screenshot's capture metadata (``app.core.capture.metadata``)
- ``words``: what a box is called, and the line copied for it
- ``drawing``: boxes drawn on a picture
- ``regions``: the region a box covers (or one dragged), cropped or rendered again from a PDF page, to attach

This module holds what they share: the error they raise and the form box groups are stored in with a message.
Pillow is imported only by the functions that draw, crop or read files.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from app.core.errors import AppError
from app.core.events import Box, Boxes


class GroundingError(AppError):
    """An image that boxes cannot be drawn on or cropped from; the message says what to do."""


_NUMBERS = (int, float)


def groups_to_json(groups: Iterable[Boxes]) -> list[dict]:
    """Box groups as stored with a message: ``[{"boxes": [[x1, y1, x2, y2, label], ...], "image": ref}]``."""
    return [{"boxes": [[*b.as_list(), b.label] for b in g.boxes], "image": g.image_ref} for g in groups]


def groups_from_json(data: Any) -> list[Boxes]:
    """Groups from the stored form, also the flat ``[[x1, y1, x2, y2, label], ...]`` older saves used (one group).
    Anything malformed is skipped: a damaged row must not keep a conversation from opening."""
    if not isinstance(data, list) or not data:
        return []
    if all(isinstance(item, dict) for item in data):
        groups = []
        for item in data:
            boxes = _boxes_from_rows(item.get("boxes"))
            ref = item.get("image")
            if boxes:
                groups.append(Boxes(boxes, ref if isinstance(ref, int) and not isinstance(ref, bool) else None))
        return groups
    boxes = _boxes_from_rows(data)
    return [Boxes(boxes)] if boxes else []


def _boxes_from_rows(rows: Any) -> tuple[Box, ...]:
    # Written for speed: a reopened answer may hold 10,000 groups. ``type(v) in _NUMBERS`` leaves out bool
    # (True is an int to isinstance).
    found = []
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, list) or not 4 <= len(row) <= 5:
            continue
        x1, y1, x2, y2 = row[0], row[1], row[2], row[3]
        if not (type(x1) in _NUMBERS and type(y1) in _NUMBERS and type(x2) in _NUMBERS and type(y2) in _NUMBERS):
            continue
        if not (math.isfinite(x1) and math.isfinite(y1) and math.isfinite(x2) and math.isfinite(y2)):
            continue
        label = row[4] if len(row) == 5 and type(row[4]) is str else None
        found.append(Box(float(x1), float(y1), float(x2), float(y2), label))
    return tuple(found)
