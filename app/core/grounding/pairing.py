"""Which image each box group belongs to, among the images the model received with the question, counted
once for ``glmv ask`` and the window alike."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.conversation import Attachment
from app.core.events import Boxes
from app.core.file_kinds import FILE_KINDS
from app.core.grounding import GroundingError
from app.core.grounding.pixels import image_size, load_upright

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from app.core.media.parts import MediaReport, MediaTarget

log = logging.getLogger(__name__)


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


# Attachment kinds that never become images: nothing to prepare to count them.
TEXT_ONLY_KINDS = frozenset(kind.name for kind in FILE_KINDS if not kind.as_images)


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
