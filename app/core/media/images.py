"""Images as model input: decoded safely, sized by the model processor's own rule, encoded within byte limits.

The size rule is GLM-4.6V's (Qwen2-VL lineage) ``smart_resize``, and the token count shown before sending is that of
the size it picks. An image the processor would only round to its 28-pixel grid goes as it is (the server's
processor rounds it, and resizing a screenshot here costs 60 ms); one over the pixel budget or the server's side
limit is resized here, as is every image for a server that does not resize as the processor does.

Pillow's decompression-bomb limit is process-wide; this module sets it to ``MAX_SOURCE_PIXELS`` so that large
camera and scanner images (100+ megapixels) open, and refuses anything larger itself with a clear message.
"""

from __future__ import annotations

import io
import math
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from app.core.conversation import Attachment
from app.core.media import MediaError
from app.core.media.kinds import HEIF_BRANDS
from app.core.media.parts import ImagePart, MediaReport, MediaTarget

MAX_SOURCE_PIXELS = 200_000_000
Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS

MAX_ASPECT_RATIO = 200  # the processor refuses anything more elongated
JPEG_QUALITIES = (90, 80, 70, 60)
# zlib level 3: as small as the default 6 on screenshots, under a tenth larger on photos, four times faster.
PNG_COMPRESS_LEVEL = 3

# Pillow raises any of these while decoding a damaged file, depending on the format and where the damage is.
# What Pillow's parsers raise for damaged data besides OSError: a TIFF frame without dimensions is a TypeError,
# a PNG text chunk that inflates past its limit or a frame offset past the end a ValueError.
_PARSE_ERRORS = (SyntaxError, ValueError, TypeError, EOFError, IndexError, struct.error, zlib.error)
_DECODE_ERRORS = (OSError, *_PARSE_ERRORS)

_FORMATS_BY_EXTENSION = {
    ".png": {"PNG"},
    ".jpg": {"JPEG", "MPO"},
    ".jpeg": {"JPEG", "MPO"},
    ".webp": {"WEBP"},
    ".bmp": {"BMP", "DIB"},
    ".tif": {"TIFF"},
    ".tiff": {"TIFF"},
    ".gif": {"GIF"},
    ".avif": {"AVIF"},
}
_ORIENTATION = 0x0112
_SRGB = ImageCms.createProfile("sRGB")
_LAB = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))


def smart_resize(
    height: int,
    width: int,
    *,
    factor: int = 28,
    min_pixels: int = 12544,
    max_pixels: int = 9633792,
    num_frames: int = 2,
    temporal_factor: int = 2,
) -> tuple[int, int]:
    """(height, width) the GLM-4.6V image processor resizes an image to; raises ValueError where it does.

    A still image is processed as ``temporal_factor`` identical frames, so the pixel bounds apply to twice the
    image's area: a single image gets at most ``max_pixels / 2`` pixels. Mirrors
    ``transformers.models.glm46v.image_processing_pil_glm46v.smart_resize`` exactly.
    """
    if num_frames < temporal_factor:
        raise ValueError(f"t:{num_frames} must be larger than temporal_factor:{temporal_factor}")
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height = int(height * scale)
        width = int(width * scale)
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ValueError(
            f"absolute aspect ratio must be smaller than {MAX_ASPECT_RATIO}, "
            f"got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    t_bar = round(num_frames / temporal_factor) * temporal_factor
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt((num_frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (num_frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def fit_size(width: int, height: int, target: MediaTarget) -> tuple[int, int]:
    """(width, height) an image is sent at: the processor's size, within the server's longest side.

    Rounding can leave a very elongated image just over the processor's aspect-ratio limit (57x11215 rounds to
    56x11228, 200.5:1), which a server running the processor would then refuse; the long side gives up one
    step instead. Raises ValueError, as the processor does, for images more than 200 times longer than wide.
    """
    factor = target.factor
    h, w = smart_resize(height, width, factor=factor, min_pixels=target.min_pixels, max_pixels=target.max_pixels)
    side = target.max_image_side
    if side is not None and max(w, h) > side:
        w, h = _scaled(w, h, side / max(w, h), factor)
    while max(w, h) > MAX_ASPECT_RATIO * min(w, h):
        w, h = (w - factor, h) if w > h else (w, h - factor)
    return w, h


def image_tokens(width: int, height: int, target: MediaTarget) -> int:
    """Tokens the model spends on an image of this size: one per merged patch after the processor's resize."""
    w, h = fit_size(width, height, target)
    return (h // target.patch_size) * (w // target.patch_size) // (target.merge_size**2)


def load_image(path: Path | str) -> Image.Image:
    """The image at ``path`` as RGB, upright, alpha on white; ``MediaError`` for anything unusable."""
    return _open(Path(path))[0]


def image_part(
    img: Image.Image, target: MediaTarget, *, label: str | None = None, source: str = "", page: int | None = None
) -> ImagePart:
    """``img`` within the model's pixel budget and encoded (PNG, else JPEG) within ``target``'s byte limit;
    ``page`` is the page or slide it shows."""
    return _build(img, target, label=label, source=source, page=page)[0]


def prepare(
    attachment: Attachment, target: MediaTarget, report: MediaReport, *, cancel: threading.Event | None = None
) -> None:
    """One image is quick to prepare; ``cancel`` is part of the handler signature and not checked here."""
    path = Path(attachment.path)
    img, size, notes = _open(path, target)
    part, more = _build(img, target, source=str(path), source_size=size)
    report.parts.append(part)
    report.renderer = "pillow"
    report.screenshot = screenshot_of(path)
    report.warnings.extend(notes + more)


def screenshot_of(path: Path) -> str | None:
    """What one of our screenshots shows ("screen", "screens" or "region", from the capture metadata in its PNG);
    None for any other image."""
    from app.core.capture.metadata import read_capture_metadata

    info = read_capture_metadata(path)
    return info.shows() if info is not None else None


def _open(path: Path, target: MediaTarget | None = None) -> tuple[Image.Image, tuple[int, int], list[str]]:
    """(upright RGB first frame, its size in the file, warnings).

    With ``target`` a large JPEG is decoded at a reduced scale that still covers the size it will be sent at,
    which is several times faster; the returned size is then still the file's own, which boxes map back to.
    """
    name = path.name
    notes: list[str] = []
    try:
        img = Image.open(path)
    except Image.DecompressionBombError as e:
        raise MediaError(
            f"{name}: the image is too large to open safely ({e}); scale it down and attach it again"
        ) from e
    except UnidentifiedImageError as e:
        raise MediaError(_unreadable_message(path)) from e
    except _PARSE_ERRORS as e:
        raise MediaError(
            f"{name}: the image is corrupt or truncated ({e}); re-export it or take a new screenshot"
        ) from e
    except OSError as e:
        if e.errno is None:  # Pillow's own parsers raise OSError without an errno for a damaged header
            raise MediaError(
                f"{name}: the image is corrupt or truncated ({e}); re-export it or take a new screenshot"
            ) from e
        raise MediaError(
            f"{name}: cannot be read ({e.strerror or e}); check that the file is there and readable"
        ) from e
    with img:
        width, height = img.size
        if width * height > MAX_SOURCE_PIXELS:
            raise MediaError(
                f"{name}: the image is too large to open safely ({width}x{height}, {width * height / 1e6:.0f} "
                f"megapixels; the limit is {MAX_SOURCE_PIXELS / 1e6:.0f}); scale it down and attach it again"
            )
        if width == 0 or height == 0:
            raise MediaError(f"{name}: the image has no pixels ({width}x{height}); re-export it")
        expected = _FORMATS_BY_EXTENSION.get(path.suffix.lower())
        if expected is not None and img.format not in expected:
            notes.append(f"the name says {path.suffix} but the content is {img.format}")
        try:
            frames = getattr(img, "n_frames", 1)  # reads every frame's header: a damaged one raises here
            if frames > 1 and img.format != "MPO":  # a camera's MPO adds previews or a depth map, not content
                what = "page" if img.format == "TIFF" else "frame"
                notes.append(f"only the first {what} of {frames} is sent")
            if target is not None and img.format in ("JPEG", "MPO"):
                img.draft(None, fit_size(width, height, target))
            img.load()
            if img.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8):
                width, height = height, width
            upright = ImageOps.exif_transpose(img)
            rgb = _to_rgb(upright)
        except Image.DecompressionBombError as e:
            raise MediaError(f"{name}: the image is too large to open safely ({e}); scale it down") from e
        except _DECODE_ERRORS as e:
            raise MediaError(
                f"{name}: the image is corrupt or truncated ({e}); re-export it or take a new screenshot"
            ) from e
    return rgb, (width, height), notes


def _unreadable_message(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(32)
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return (
            f"{path.name}: HEIC/HEIF photos cannot be read here; export it as JPEG or PNG "
            "(on an iPhone: Settings > Camera > Formats > Most Compatible) and attach it again"
        )
    return (
        f"{path.name}: not an image this app can read (supported: PNG, JPEG, WebP, BMP, TIFF, GIF); "
        "it may be damaged or in another format: convert it to PNG or JPEG and attach it again"
    )


def _to_srgb(img: Image.Image) -> Image.Image:
    """Colours converted from the embedded ICC profile to sRGB, which is what a model was trained on.

    Phone photos and macOS screenshots are tagged Display P3, print files carry CMYK profiles; dropping the
    profile when re-encoding would shift their colours. A profile lcms cannot use is ignored.
    """
    icc: bytes = img.info.get("icc_profile") or b""
    if img.mode != "LAB" and (not icc or img.mode not in ("RGB", "RGBA", "CMYK")):
        return img
    try:
        if img.mode == "LAB":  # Pillow's own LAB -> RGB conversion copies the channels as they are
            profile = _LAB
        else:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if "sRGB" in ImageCms.getProfileDescription(profile):
                return img
        converted = ImageCms.profileToProfile(img, profile, _SRGB, outputMode="RGBA" if img.mode == "RGBA" else "RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img
    if converted is None:  # only with inPlace=True, which is not asked for
        return img
    converted.info.pop("icc_profile", None)
    return converted


def _to_rgb(img: Image.Image) -> Image.Image:
    """8-bit sRGB: transparency composited onto white, 16-bit and float samples scaled rather than clipped."""
    img = _to_srgb(img)
    if img.mode == "RGB":
        return img
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return Image.fromarray(_to_uint8(np.asarray(img)), mode="L").convert("RGB")
    if img.mode == "P" and "transparency" not in img.info and img.palette is not None and img.palette.mode == "RGB":
        return img.convert("RGB")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa", "P") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _to_uint8(samples: np.ndarray) -> np.ndarray:
    """16-bit integers are scaled by their full range; float samples by [0, 1] when they fit, else min..max."""
    if samples.dtype.kind == "f":
        finite = np.nan_to_num(samples.astype(np.float64))
        lo, hi = float(finite.min()), float(finite.max())
        if lo >= 0.0 and hi <= 1.0:
            return np.round(finite * 255).astype(np.uint8)
        span = hi - lo or 1.0
        return np.round((finite - lo) * (255 / span)).astype(np.uint8)
    wide = samples.astype(np.int64)
    hi = int(wide.max()) if wide.size else 0
    if wide.min() >= 0 and hi <= 255:
        return wide.astype(np.uint8)
    if wide.min() >= 0 and hi <= 65535:
        return (wide // 257).astype(np.uint8)
    lo = int(wide.min())
    return ((wide - lo) * 255 // max(hi - lo, 1)).astype(np.uint8)


def _scaled(width: int, height: int, scale: float, factor: int) -> tuple[int, int]:
    return (
        max(factor, math.floor(width * scale / factor) * factor),
        max(factor, math.floor(height * scale / factor) * factor),
    )


def _build(
    img: Image.Image,
    target: MediaTarget,
    *,
    label: str | None = None,
    source: str = "",
    source_size: tuple[int, int] | None = None,
    page: int | None = None,
) -> tuple[ImagePart, list[str]]:
    """The part and its warnings; ``source_size`` is the original's when ``img`` was decoded smaller."""
    name = Path(source).name if source else "the image"
    source_width, source_height = source_size or img.size
    ratio = max(source_width, source_height) / max(1, min(source_width, source_height))
    if ratio > MAX_ASPECT_RATIO:
        raise MediaError(
            f"{name}: the image is {source_width}x{source_height}, more than {MAX_ASPECT_RATIO} times longer than "
            "wide, which the model cannot take; crop it or cut it into shorter pieces and attach those"
        )
    rgb = _to_rgb(img)
    try:
        width, height = fit_size(source_width, source_height, target)
    except ValueError as e:  # a side under one patch, scaled up past the aspect guard
        raise MediaError(
            f"{name}: the image is {source_width}x{source_height}, too thin for the model ({e}); crop it or pad it"
        ) from e
    notes = _size_notes(source_width, source_height, width, height, target)
    if rgb.size == (source_width, source_height) and _only_rounded(source_width, source_height, width, height, target):
        width, height = rgb.size
    limit = target.max_image_bytes
    data, mime, quality = _encode(_resize(rgb, width, height), limit)
    if mime == "image/jpeg" and limit is not None and len(data) <= limit:
        notes.append(f"re-encoded as JPEG (quality {quality}) to stay under {_megabytes(limit)}")
    while limit is not None and len(data) > limit:
        # JPEG size is about proportional to the pixel count: aim just under the limit in one step.
        smaller = _scaled(width, height, min(0.9, math.sqrt(limit / len(data)) * 0.95), target.factor)
        if smaller == (width, height):
            raise MediaError(
                f"{name}: cannot be made smaller than {_megabytes(limit)} even at {width}x{height}; "
                "the server's image size limit is too small for any image"
            )
        width, height = smaller
        data, mime, quality = _encode(_resize(rgb, width, height), limit, png=False)
        if len(data) <= limit:
            notes.append(
                f"downscaled to {width}x{height} and re-encoded as JPEG (quality {quality}) "
                f"to stay under {_megabytes(limit)}"
            )
    part = ImagePart(
        data=data,
        mime=mime,
        width=width,
        height=height,
        source_width=source_width,
        source_height=source_height,
        tokens=image_tokens(width, height, target),
        label=label,
        source=source,
        page=page,
    )
    return part, notes


def _only_rounded(source_width: int, source_height: int, width: int, height: int, target: MediaTarget) -> bool:
    """Whether the processor's size for the source is the source rounded to the grid, which a server running the
    processor does itself: no downscale for the budget or the side limit, no enlargement, no aspect trim."""
    if target.send_processor_size:
        return False
    factor, side = target.factor, target.max_image_side
    if side is not None and max(source_width, source_height) > side:
        return False
    rounded = (max(factor, round(source_width / factor) * factor), max(factor, round(source_height / factor) * factor))
    return (width, height) == rounded


def _size_notes(source_width: int, source_height: int, width: int, height: int, target: MediaTarget) -> list[str]:
    factor, side = target.factor, target.max_image_side
    h, w = smart_resize(
        source_height, source_width, factor=factor, min_pixels=target.min_pixels, max_pixels=target.max_pixels
    )
    rounded_w = max(factor, round(source_width / factor) * factor)
    rounded_h = max(factor, round(source_height / factor) * factor)
    change = f"from {source_width}x{source_height} to {width}x{height}"
    if side is not None and max(w, h) > side:
        return [f"downscaled {change} to fit this server's limit of {side} pixels a side"]
    if w < rounded_w or h < rounded_h:
        return [f"downscaled {change} to fit the model's pixel budget"]
    if w > rounded_w or h > rounded_h:
        return [
            f"enlarged {change}: the model reads images of at least {factor} pixels a side "
            f"and {target.min_pixels // 2} pixels in all"
        ]
    return []


def _resize(img: Image.Image, width: int, height: int) -> Image.Image:
    if img.size == (width, height):
        return img
    return img.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(img: Image.Image, limit: int | None, *, png: bool = True) -> tuple[bytes, str, int | None]:
    """(data, mime, JPEG quality): lossless PNG when it fits, else the best JPEG quality that does, else the
    lowest-quality JPEG, over the limit, for the caller to downscale."""
    if png and (limit is None or _png_estimate(img) <= 1.5 * limit):
        data = _png(img)
        if limit is None or len(data) <= limit:
            return data, "image/png", None
    data, quality = b"", JPEG_QUALITIES[0]
    for quality in JPEG_QUALITIES:
        data = _jpeg(img, quality)
        if limit is None or len(data) <= limit:
            break
    return data, "image/jpeg", quality


def _png_estimate(img: Image.Image, bands: int = 8, rows: int = 16) -> float:
    """PNG size extrapolated from evenly spaced bands of rows, at under a tenth of the cost of encoding it all.

    A 5 MP photo never fits a 5 MB limit as PNG but takes half a second to find that out. The estimate runs
    up to a quarter high on screenshots (bands through text), hence the caller's margin."""
    width, height = img.size
    if height < 4 * bands * rows:
        return 0.0
    step = height // bands
    tops = range((step - rows) // 2, height - rows, step)
    sampled = sum(len(_png(img.crop((0, top, width, top + rows)))) for top in tops)
    return sampled * height / (rows * len(tops))


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def _megabytes(n: int) -> str:
    for unit, size in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"
