"""Grounding boxes placed where they belong: on the image they refer to, and on the real screen for screenshots.

GLM-V boxes are 0..1000 of the image as a whole (x of its width, y of its height). The model saw a copy scaled
to its pixel budget, but proportions survive scaling, so a box maps to the ORIGINAL image by proportion; mapping
it onto the resized pixel grid is the "misplaced box" users report from other clients.

A screenshot carries where it came from inside its own PNG (a ``tEXt`` chunk named ``glmv-capture``), so the
file alone, attached today or reopened from history next month, is enough to say where on the real screen a box
is. The chunk holds JSON::

    {"rect": [x, y, w, h],                      # the captured area, native virtual-desktop pixels
     "screens": [{"name": "HDMI-1", "geometry": [x, y, w, h], "scale": 1.5}, ...]}   # as Qt reports them

``geometry`` is the screen's logical (Qt) geometry; its native rectangle follows by ``capture.geometry``'s rule.
Pillow is imported only by the functions that draw, crop or read files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
import struct
import threading
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core import private_files
from app.core.capture.geometry import Rect, Screen, SelectionF, device_to_logical
from app.core.conversation import Attachment
from app.core.events import Box, Boxes

if TYPE_CHECKING:
    from PIL import Image as PILImage
    from PIL.PngImagePlugin import PngInfo

    from app.core.media.parts import ImagePart, MediaReport, MediaTarget

log = logging.getLogger(__name__)

CAPTURE_KEY = "glmv-capture"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

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


class GroundingError(Exception):
    """An image that boxes cannot be drawn on or cropped from; the message says what to do."""


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


# -- which image ------------------------------------------------------------------------------------------------


def image_for_group(
    index: int, group_count: int, image_ref: int | None, image_count: int, *, complete: bool = True
) -> int | None:
    """The image (index into the question's images) box group ``index`` of ``group_count`` belongs to.

    The model's own reference wins (``None`` when it names an image the question does not have: drawing on a
    different one would mislead). Otherwise, with several images and several groups, groups pair with images in
    order (the usual "find X in each picture" answer), extra groups staying on the last image; else every group
    is on the first image. When the images are not ``complete`` (an attachment could not be prepared again, so
    how many images followed it is unknown) a group past the known ones has no image rather than the last."""
    if image_count <= 0:
        return None
    if image_ref is not None:
        return image_ref if 0 <= image_ref < image_count else None
    if group_count > 1 and (image_count > 1 or not complete):
        return index if index < image_count else (image_count - 1 if complete else None)
    return 0


def assign_images(groups: Sequence[Boxes], image_count: int, *, complete: bool = True) -> list[int | None]:
    return [image_for_group(i, len(groups), g.image_ref, image_count, complete=complete) for i, g in enumerate(groups)]


# -- the images the model saw -----------------------------------------------------------------------------------

# Attachment kinds that never become images: nothing to prepare to count them.
TEXT_ONLY_KINDS = frozenset({"text"})


@dataclass(frozen=True)
class SeenImage:
    """One image the model received with a question; box group n refers to the n-th of them.

    An image file (``kind`` "image") is drawn on and cropped from as it is: boxes are proportions of the whole
    image, so the original is the sharpest canvas. A page, slide or video frame exists only as the image that was
    rendered and sent (``data``, ``size``, ``label`` such as "Page 3"); ``data`` is empty where the preparation
    that counted it kept no pixels (the window's attachment strip) until ``with_pixels`` fills it in. ``page`` is
    the number of the page or slide it shows."""

    attachment: Attachment
    attachment_index: int
    kind: str
    label: str | None = None
    size: tuple[int, int] | None = None
    data: bytes = field(default=b"", repr=False)
    page: int | None = None

    @property
    def path(self) -> Path:
        return Path(self.attachment.path)

    @property
    def title(self) -> str:
        """What captions and copied coordinates call it: "report.pdf (Page 3)", or the file name."""
        return f"{self.path.name} ({self.label})" if self.label else self.path.name

    @property
    def is_file(self) -> bool:
        return self.kind == "image"

    @property
    def needs_pixels(self) -> bool:
        return not self.is_file and not self.data

    @property
    def pdf_page(self) -> int | None:
        """The PDF page number this image is a rendering of (pages can be re-rendered sharper for a crop)."""
        return self.page if self.kind == "pdf" else None

    def source_size(self) -> tuple[int, int]:
        """The pixels boxes map to: the original file's upright size, or the rendered image's."""
        if self.is_file:
            return image_size(self.path)
        if self.size is None:
            raise GroundingError(f"{self.title}: its size is not known; ask again to render it")
        return self.size

    def load(self) -> PILImage.Image:
        """The image to draw on, in RGB: the file upright, or the rendered page as it was sent."""
        if self.is_file:
            return load_upright(self.path)
        if not self.data:
            raise GroundingError(f"{self.title}: the rendered image is not loaded")
        import io

        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(self.data)) as image:
                return image.convert("RGB")
        except (OSError, UnidentifiedImageError, ValueError) as e:
            raise GroundingError(f"{self.title}: the rendered image cannot be read ({e})") from None


@dataclass(frozen=True)
class QuestionImages:
    """The images of one question in the order the model received them. ``problem`` says why the list may stop
    short: an attachment that cannot be prepared again (moved, or a PDF whose password is not kept), after which
    it is unknown how many images there were."""

    images: tuple[SeenImage, ...] = ()
    problem: str | None = None

    @property
    def complete(self) -> bool:
        return self.problem is None

    def assign(self, groups: Sequence[Boxes]) -> list[int | None]:
        return assign_images(groups, len(self.images), complete=self.complete)


def attachment_kind(attachment: Attachment) -> str:
    """The kind ``app.core.media.prepare`` will use: the one given, else the content's (``OSError`` when the file
    cannot be read)."""
    if attachment.kind:
        return attachment.kind
    from app.core.media.kinds import detect_kind

    return detect_kind(Path(attachment.path))[0]


def needs_preparing(attachments: Sequence[Attachment], reports: Sequence[MediaReport | None] | None = None) -> bool:
    """Whether ``question_images`` would render something (pages, slides, frames) to count the images, and so
    must run off the UI thread. Image files and text need no more than a look at the file's first bytes."""
    for i, attachment in enumerate(attachments):
        if reports is not None and i < len(reports) and reports[i] is not None:
            continue
        try:
            kind = attachment_kind(attachment)
        except OSError:
            continue  # unreadable: question_images stops there without preparing anything
        if kind != "image" and kind not in TEXT_ONLY_KINDS:
            return True
    return False


def question_images(
    attachments: Sequence[Attachment],
    target: MediaTarget | None = None,
    *,
    reports: Sequence[MediaReport | None] | None = None,
    cancel: threading.Event | None = None,
) -> QuestionImages:
    """Every image the model received with ``attachments``, in the order it received them: what box groups are
    paired with. The one place that counts them, for ``glmv ask`` and the window alike.

    An image file is one image, itself. Anything else is prepared for ``target`` as the request prepared it (the
    same pages; pages that went as their text layer are not images), unless ``reports[i]`` already holds that
    preparation (the window's attachment strip made it; its images may come without pixels). Preparing renders
    pages: call this off the UI thread when ``needs_preparing`` says so."""
    from app.core.media import MediaCancelled, MediaError, prepare
    from app.core.media.parts import MediaTarget

    found: list[SeenImage] = []
    for i, attachment in enumerate(attachments):
        name = Path(attachment.path).name
        report = reports[i] if reports is not None and i < len(reports) else None
        try:
            kind = report.kind if report is not None else attachment_kind(attachment)
        except OSError as e:
            return QuestionImages(tuple(found), f"{name} cannot be read ({e.strerror or e})")
        if kind == "image":
            found.append(SeenImage(attachment, i, "image"))
            continue
        if kind in TEXT_ONLY_KINDS:
            continue
        if report is None:
            try:
                report = prepare(attachment, target or MediaTarget(), cancel=cancel)
            except MediaCancelled:
                raise
            except MediaError as e:
                return QuestionImages(tuple(found), str(e))
        found.extend(_images_of(attachment, i, report))
    return QuestionImages(tuple(found))


def _images_of(attachment: Attachment, index: int, report: MediaReport) -> list[SeenImage]:
    from app.core.media.parts import ImagePart

    return [
        SeenImage(
            attachment, index, report.kind, part.label, (part.source_width, part.source_height), part.data, part.page
        )
        for part in report.parts
        if isinstance(part, ImagePart)
    ]


def with_pixels(
    found: QuestionImages,
    wanted: Collection[int],
    target: MediaTarget | None = None,
    *,
    cancel: threading.Event | None = None,
) -> QuestionImages:
    """``found`` with the rendered pixels of the images at positions ``wanted`` filled in, and dropped from the
    others (a long PDF's pages are megabytes; only those with boxes on them are kept). Only the attachments those
    images came from are prepared again, as the request prepared them. An attachment that now renders a
    different number of images (the file changed) leaves its images without pixels."""
    from app.core.media import MediaCancelled, MediaError, prepare
    from app.core.media.parts import MediaTarget

    wanted = {i for i in wanted if 0 <= i < len(found.images)}
    images = [
        image if i in wanted or image.is_file else dataclasses.replace(image, data=b"")
        for i, image in enumerate(found.images)
    ]
    redo = sorted({images[i].attachment_index for i in wanted if images[i].needs_pixels})
    for index in redo:
        positions = [i for i, image in enumerate(images) if image.attachment_index == index]
        attachment = images[positions[0]].attachment
        try:
            report = prepare(attachment, target or MediaTarget(), cancel=cancel)
        except MediaCancelled:
            raise
        except MediaError as e:
            log.info("pages of %s cannot be rendered again: %s", attachment.path, e)
            continue
        fresh = _images_of(attachment, index, report)
        if [f.label for f in fresh] != [images[i].label for i in positions]:
            log.info("%s renders differently from when it was sent; its boxes are not drawn", attachment.path)
            continue
        for position, image in zip(positions, fresh, strict=True):
            if position in wanted:
                images[position] = image
    return dataclasses.replace(found, images=tuple(images))


# -- persisted form ---------------------------------------------------------------------------------------------


def cut_short_note(group: Boxes) -> str:
    """What to say of a group the model went on listing past what is kept of one."""
    return f"The model listed more boxes than are kept of one group; the first {len(group.boxes):,} are used."


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
    found = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, list) or len(row) not in (4, 5):
            continue
        values = row[:4]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            continue
        label = row[4] if len(row) == 5 and isinstance(row[4], str) else None
        x1, y1, x2, y2 = (float(v) for v in values)
        found.append(Box(x1, y1, x2, y2, label))
    return tuple(found)


# -- image pixels -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PixelBox:
    """A box in pixels of one image; ``right``/``bottom`` exclusive, inside the image, at least one pixel."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def center(self) -> tuple[int, int]:
        return (self.left + self.right) // 2, (self.top + self.bottom) // 2


def _round(value: float) -> int:
    return math.floor(value + 0.5)


def to_pixels(box: Box, width: int, height: int) -> PixelBox:
    """``box`` on an image of ``width`` x ``height`` pixels: x*W/1000, y*H/1000, clamped and ordered. Edges round
    to the nearest pixel boundary so two boxes sharing an edge share it in pixels."""
    if width <= 0 or height <= 0:
        raise ValueError(f"an image of {width}x{height} pixels has no area")
    xs = sorted(min(max(v, 0.0), 1000.0) * width / 1000 for v in (box.x1, box.x2))
    ys = sorted(min(max(v, 0.0), 1000.0) * height / 1000 for v in (box.y1, box.y2))
    left, right = _round(xs[0]), _round(xs[1])
    top, bottom = _round(ys[0]), _round(ys[1])
    if right <= left:
        left, right = (left, left + 1) if left < width else (width - 1, width)
    if bottom <= top:
        top, bottom = (top, top + 1) if top < height else (height - 1, height)
    return PixelBox(left, top, right, bottom)


def to_source_pixels(box: Box, part: ImagePart) -> PixelBox:
    """``box`` on the original image an ``ImagePart`` was made from (never on the budget-resized copy)."""
    return to_pixels(box, part.source_width, part.source_height)


def from_pixels(rect: PixelBox, width: int, height: int, label: str | None = None) -> Box:
    """The 0..1000 box of a pixel rectangle (a region someone dragged), the inverse of ``to_pixels``."""
    return Box(
        rect.left * 1000 / width,
        rect.top * 1000 / height,
        rect.right * 1000 / width,
        rect.bottom * 1000 / height,
        label,
    )


# -- capture metadata -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaptureInfo:
    """Where a screenshot's pixels were on the virtual desktop, and the screens as they were."""

    rect: Rect
    screens: tuple[Screen, ...]


def capture_metadata(rect: Rect, screens: Sequence[Screen]) -> dict:
    """The JSON a screenshot carries in its ``glmv-capture`` chunk (see the module docstring)."""
    return {
        "rect": [rect.x, rect.y, rect.width, rect.height],
        "screens": [
            {
                "name": s.name,
                "geometry": [s.geometry.x, s.geometry.y, s.geometry.width, s.geometry.height],
                "scale": s.scale,
            }
            for s in screens
        ],
    }


def _chunk_text(metadata: dict) -> bytes:
    return json.dumps(metadata, ensure_ascii=True, separators=(",", ":")).encode("latin-1")


def capture_png_info(rect: Rect, screens: Sequence[Screen], info: PngInfo | None = None) -> PngInfo:
    """A ``PngInfo`` for ``Image.save(..., pnginfo=...)`` that carries the capture metadata."""
    from PIL.PngImagePlugin import PngInfo

    info = info or PngInfo()
    info.add_text(CAPTURE_KEY, _chunk_text(capture_metadata(rect, screens)).decode("latin-1"))
    return info


def write_capture_png_info(path: Path, rect: Rect, screens: Sequence[Screen]) -> None:
    """Adds (or replaces) the capture chunk of a PNG already on disk, right after its header, without decoding
    or re-encoding the pixels: costs a file copy, not a PNG encode, on a 4K screenshot."""
    path = Path(path)
    data = path.read_bytes()
    chunks = _png_chunks(data, str(path))
    text = CAPTURE_KEY.encode("latin-1") + b"\0" + _chunk_text(capture_metadata(rect, screens))
    new = struct.pack(">I", len(text)) + b"tEXt" + text + struct.pack(">I", zlib.crc32(b"tEXt" + text))
    out = [PNG_SIGNATURE]
    for kind, start, end in chunks:
        if kind == b"tEXt" and data[start + 8 : end - 4].split(b"\0", 1)[0] == CAPTURE_KEY.encode("latin-1"):
            continue
        out.append(data[start:end])
        if kind == b"IHDR":
            out.append(new)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(b"".join(out))
    tmp.replace(path)


def _png_chunks(data: bytes, name: str) -> list[tuple[bytes, int, int]]:
    if not data.startswith(PNG_SIGNATURE):
        raise GroundingError(f"{name}: not a PNG file; capture details can only be stored in PNG screenshots")
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        chunks.append((kind, pos, end))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise GroundingError(f"{name}: the PNG file is damaged (no header or no end); take the screenshot again")
    return chunks


def parse_capture_metadata(data: Any) -> CaptureInfo:
    """Validated capture metadata; ``ValueError`` says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("capture metadata is not an object")
    rect = _int_rect(data.get("rect"), "rect")
    if rect.empty:
        raise ValueError("the captured rectangle is empty")
    screens: list[Screen] = []
    for item in data.get("screens") or []:
        if not isinstance(item, dict):
            raise ValueError("a screen entry is not an object")
        geometry = _int_rect(item.get("geometry"), "screen geometry")
        scale = item.get("scale")
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or not 0.1 <= scale <= 16:
            raise ValueError(f"screen scale {scale!r} is not a plausible device pixel ratio")
        if geometry.empty:
            raise ValueError("a screen has no area")
        screens.append(Screen.from_qt(str(item.get("name") or f"screen {len(screens) + 1}"), geometry, float(scale)))
    return CaptureInfo(rect, tuple(screens))


def _int_rect(value: Any, what: str) -> Rect:
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{what} is not four whole numbers")
    return Rect(*value)


def read_capture_metadata(path: Path) -> CaptureInfo | None:
    """The capture metadata of a screenshot, or ``None`` for any other image (or one whose metadata is damaged:
    the boxes are then shown on the image only)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            raw = image.info.get(CAPTURE_KEY) if image.format == "PNG" else None
    except (OSError, UnidentifiedImageError, ValueError):
        return None
    if not raw:
        return None
    try:
        return parse_capture_metadata(json.loads(raw))
    except ValueError:
        return None


# -- the real screen --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenBox:
    """A box on the real screen: ``device`` in native virtual-desktop pixels (what mss, xdotool and Windows
    use), ``logical`` in Qt's coordinates; ``screen`` holds the box's centre (``number`` counts from 1)."""

    device: Rect
    logical: SelectionF
    screen: Screen | None
    number: int | None

    @property
    def device_center(self) -> tuple[int, int]:
        return self.device.x + self.device.width // 2, self.device.y + self.device.height // 2

    @property
    def logical_center(self) -> tuple[float, float]:
        return self.logical.x + self.logical.width / 2, self.logical.y + self.logical.height / 2


def box_on_screen(box: Box, info: CaptureInfo) -> ScreenBox:
    """Where ``box`` is on the real screen. The PNG's own size does not matter (a portal may hand back logical
    pixels): the box is a proportion of the captured rectangle, which is in native pixels."""
    pixels = to_pixels(box, info.rect.width, info.rect.height)
    device = Rect(info.rect.x + pixels.left, info.rect.y + pixels.top, pixels.width, pixels.height)
    cx, cy = device.x + device.width / 2, device.y + device.height / 2
    number, screen = _screen_at(info.screens, device, cx, cy)
    if screen is None:
        logical = SelectionF(device.x, device.y, device.width, device.height)
    else:
        logical = device_to_logical(device, screen)
    return ScreenBox(device, logical, screen, number)


def _screen_at(screens: Sequence[Screen], device: Rect, cx: float, cy: float) -> tuple[int | None, Screen | None]:
    for i, screen in enumerate(screens):
        if screen.native.contains(cx, cy):
            return i + 1, screen
    best: tuple[int | None, Screen | None] = (None, None)
    best_area = 0
    for i, screen in enumerate(screens):
        part = screen.native.intersection(device)
        if part.width * part.height > best_area:
            best, best_area = (i + 1, screen), part.width * part.height
    return best


# -- words to copy ----------------------------------------------------------------------------------------------


def box_name(index: int, box: Box) -> str:
    """What a box is called on the picture and in copied text: its number, and its label when it has one."""
    return f"{index + 1} {box.label}" if box.label else str(index + 1)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def describe_box(
    index: int, box: Box, width: int, height: int, image_name: str, capture: CaptureInfo | None = None
) -> str:
    """One line to paste elsewhere: pixel position and centre on the image, and on the real screen for a
    screenshot (device pixels, plus Qt's logical coordinates where the screen is scaled)."""
    name = box_name(index, box)
    if capture is not None:
        on = box_on_screen(box, capture)
        d = on.device
        where = f" on screen {on.number} ({on.screen.name})" if on.screen is not None else ""
        cx, cy = on.device_center
        line = f"{name}: x={d.x}, y={d.y}, w={d.width}, h={d.height}{where}, center ({cx}, {cy}) in screen pixels"
        if on.screen is not None and on.screen.scale != 1:
            lg = on.logical
            lx, ly = on.logical_center
            line += (
                f"; logical x={_num(lg.x)}, y={_num(lg.y)}, w={_num(lg.width)}, h={_num(lg.height)}, "
                f"center ({_num(lx)}, {_num(ly)}) at scale {on.screen.scale:g}"
            )
        return line
    p = to_pixels(box, width, height)
    cx, cy = p.center
    return (
        f"{name}: x={p.left}, y={p.top}, w={p.width}, h={p.height}, center ({cx}, {cy}) "
        f"in pixels of {image_name} ({width}×{height})"
    )


# -- drawing and cropping ---------------------------------------------------------------------------------------


def load_upright(path: Path) -> PILImage.Image:
    """The image as people see it (EXIF rotation applied), in RGB; transparency over white."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as opened:
            opened.seek(0)
            image = ImageOps.exif_transpose(opened)
            image.load()
    except FileNotFoundError:
        raise GroundingError(f"{path}: no such file; it may have been moved or deleted") from None
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as e:
        raise GroundingError(f"{path.name}: cannot be read as an image ({e}); attach a PNG or JPEG") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def image_size(path: Path) -> tuple[int, int]:
    """The upright size of an image file, from its header (no decoding)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as e:
        raise GroundingError(f"{Path(path).name}: cannot be read as an image ({e})") from None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def draw_boxes(image_path: Path, boxes: Sequence[Box]) -> PILImage.Image:
    """The image with ``boxes`` drawn on it: numbered and labelled, lines and text scaled to the image."""
    return draw_boxes_on(load_upright(image_path), boxes)


def draw_boxes_on(image: PILImage.Image, boxes: Sequence[Box], first_index: int = 0) -> PILImage.Image:
    """Draws on a copy. Each stroke is a colour between two dark lines and each label a coloured tag with a dark
    rim, so boxes read on white documents and dark screenshots alike."""
    from PIL import ImageDraw, ImageFont

    out = image.convert("RGB")
    width, height = out.size
    short = min(width, height)
    thickness = max(2, _round(short / 250))
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


def regions_folder() -> Path:
    """Where cropped regions wait until they are sent (the history store copies attachments when they are)."""
    return private_files.cache_folder("regions")


def crop_region(image_path: Path, rect: PixelBox, folder: Path | None = None) -> Path:
    """Saves the part ``rect`` (pixels of the upright original) of an image as a PNG and returns its path. A
    screenshot's crop carries its own capture metadata, so boxes on the crop map to the screen too."""
    image_path = Path(image_path)
    image = load_upright(image_path)
    width, height = image.size
    left, top = min(max(rect.left, 0), width - 1), min(max(rect.top, 0), height - 1)
    right, bottom = min(max(rect.right, left + 1), width), min(max(rect.bottom, top + 1), height)
    crop = image.crop((left, top, right, bottom))
    folder = private_files.private_folder(Path(folder)) if folder is not None else regions_folder()
    stem = image_path.stem[:60] or "image"
    out = folder / f"{stem}-region-{left}-{top}-{right - left}x{bottom - top}.png"
    pnginfo = None
    capture = read_capture_metadata(image_path)
    if capture is not None:
        sx, sy = capture.rect.width / width, capture.rect.height / height
        sub = Rect(
            capture.rect.x + _round(left * sx),
            capture.rect.y + _round(top * sy),
            max(1, _round(right * sx) - _round(left * sx)),
            max(1, _round(bottom * sy) - _round(top * sy)),
        )
        pnginfo = capture_png_info(sub, capture.screens)
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb", opener=private_files.opener) as file:
        crop.save(file, format="PNG", pnginfo=pnginfo)
    tmp.replace(out)
    return out


def crop_box(image_path: Path, box: Box, folder: Path | None = None) -> Path:
    """The region a box covers, cropped from the original image."""
    width, height = image_size(image_path)
    return crop_region(image_path, to_pixels(box, width, height), folder)


# A region of a PDF page asked about is rendered again from the page itself: its text and lines stay sharp at a
# size the model reads well, where a crop of the sent page would be a few hundred blurry pixels.
REGION_LONG_SIDE = 1568
REGION_MIN_ZOOM = 300 / 72
REGION_MAX_ZOOM = 8.0
REGION_MAX_PIXELS = 16_000_000


def crop_seen(image: SeenImage, rect: PixelBox, folder: Path | None = None) -> Path:
    """The part ``rect`` (pixels of ``image.source_size()``) of an image the model saw, as a PNG to attach: cut
    from the original file, rendered again sharper from a PDF page, or cut from the page, slide or frame that
    was sent."""
    if image.is_file:
        return crop_region(image.path, rect, folder)
    width, height = image.source_size()
    page = image.pdf_page
    if page is not None:
        try:
            return _render_pdf_region(image, page, rect, width, height, folder)
        except GroundingError as e:
            log.info("%s; cropping the page as it was sent", e)
    rendered = image.load()
    left, top = min(max(rect.left, 0), width - 1), min(max(rect.top, 0), height - 1)
    right, bottom = min(max(rect.right, left + 1), width), min(max(rect.bottom, top + 1), height)
    if rendered.size != (width, height):
        sx, sy = rendered.width / width, rendered.height / height
        box = (_round(left * sx), _round(top * sy), max(_round(right * sx), 1), max(_round(bottom * sy), 1))
    else:
        box = (left, top, right, bottom)
    return _save_region(rendered.crop(box), image, f"{left}-{top}-{right - left}x{bottom - top}", folder)


def crop_seen_box(image: SeenImage, box: Box, folder: Path | None = None) -> Path:
    """The region a box covers on an image the model saw."""
    return crop_seen(image, to_pixels(box, *image.source_size()), folder)


def _render_pdf_region(
    image: SeenImage, page_number: int, rect: PixelBox, width: int, height: int, folder: Path | None
) -> Path:
    import pymupdf

    from app.core.media.pdf import mupdf_errors, render

    failures: tuple[type[Exception], ...] = (OSError, *mupdf_errors())
    try:
        with pymupdf.open(image.path, filetype="pdf") as doc:
            if doc.needs_pass and not (image.attachment.password and doc.authenticate(image.attachment.password)):
                raise GroundingError(f"{image.title}: the PDF is locked and its password is not kept")
            page = doc[page_number - 1]
            bounds = page.rect
            clip = pymupdf.Rect(
                bounds.x0 + rect.left * bounds.width / width,
                bounds.y0 + rect.top * bounds.height / height,
                bounds.x0 + rect.right * bounds.width / width,
                bounds.y0 + rect.bottom * bounds.height / height,
            )
            long_side = max(clip.width, clip.height, 1e-3)
            zoom = min(max(REGION_LONG_SIDE / long_side, REGION_MIN_ZOOM), REGION_MAX_ZOOM)
            zoom = min(zoom, math.sqrt(REGION_MAX_PIXELS / max(clip.width * clip.height, 1e-3)))
            region = render(page, pymupdf.Matrix(zoom, zoom), clip)
    except failures as e:
        raise GroundingError(f"{image.title}: the page cannot be rendered again ({e})") from None
    where = f"{rect.left}-{rect.top}-{rect.width}x{rect.height}"
    return _save_region(region, image, where, folder)


def _save_region(region: PILImage.Image, image: SeenImage, where: str, folder: Path | None) -> Path:
    folder = private_files.private_folder(Path(folder)) if folder is not None else regions_folder()
    label = re.sub(r"[^a-z0-9.]+", "-", (image.label or "").lower()).strip("-")
    stem = "-".join(p for p in (image.path.stem[:60] or "image", label) if p)
    out = folder / f"{stem}-region-{where}.png"
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "wb", opener=private_files.opener) as file:
        region.save(file, format="PNG")
    tmp.replace(out)
    return out
