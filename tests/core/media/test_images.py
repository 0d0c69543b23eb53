"""Images as model input, on real files written by Pillow: formats, orientation, colour modes, limits, damage."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.core.conversation import Attachment
from app.core.media import MediaError, MediaTarget, images, prepare
from app.core.media.images import image_part, image_tokens, load_image, smart_resize
from tests.support.paths import CORPUS

TARGET = MediaTarget()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def prepared(path: Path, target: MediaTarget = TARGET):
    report = prepare(Attachment(path), target)
    assert report.kind == "image"
    assert report.renderer == "pillow"
    assert len(report.parts) == 1
    return report, report.parts[0]


def quadrants(width: int, height: int) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, white bottom-right: orientation is visible in pixels."""
    arr = np.zeros((height, width, 3), np.uint8)
    arr[: height // 2, : width // 2] = (255, 0, 0)
    arr[: height // 2, width // 2 :] = (0, 255, 0)
    arr[height // 2 :, : width // 2] = (0, 0, 255)
    arr[height // 2 :, width // 2 :] = (255, 255, 255)
    return Image.fromarray(arr)


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    """Incompressible pixels: the worst case for any byte limit."""
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


# --- the processor's size rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [(1920, 1080, 2691), (3840, 2160, 6032), (1366, 768, 1323)],
)
def test_tokens_match_the_measured_processor_figures(width, height, tokens):
    assert image_tokens(width, height, TARGET) == tokens


def test_smart_resize_rounds_to_multiples_of_28_and_scales_into_the_budget():
    assert smart_resize(1080, 1920) == (1092, 1932)
    assert smart_resize(2160, 3840) == (1624, 2912)
    assert smart_resize(1, 1) == (84, 84)  # 1568 px after the first scale-up, then up to the minimum
    with pytest.raises(ValueError, match="aspect ratio"):
        smart_resize(10, 2500)


@given(st.integers(1, 20000), st.integers(1, 20000))
@settings(max_examples=400, deadline=None)
def test_the_sent_size_passes_through_the_processor_unchanged(height, width):
    try:
        w, h = images.fit_size(width, height, TARGET)
    except ValueError:
        assert max(height, width) / min(height, width) > 199
        return
    assert h % 28 == 0 and w % 28 == 0
    assert 12544 <= 2 * h * w <= 9633792
    assert smart_resize(h, w) == (h, w)


def test_rounding_past_the_aspect_limit_gives_up_one_step_on_the_long_side():
    with pytest.raises(ValueError):
        smart_resize(*smart_resize(57, 11215))  # the processor's own size, refused by the processor
    assert images.fit_size(11215, 57, TARGET) == (11200, 56)
    assert smart_resize(56, 11200) == (56, 11200)


@pytest.mark.slow
def test_smart_resize_is_the_transformers_processor_rule():
    from transformers.models.glm4v.image_processing_pil_glm4v import smart_resize as glm4v_resize
    from transformers.models.glm46v.image_processing_pil_glm46v import smart_resize as glm46v_resize

    rng = np.random.default_rng(46)
    sizes = [(int(h), int(w)) for h, w in rng.integers(1, 12000, (3000, 2))]
    sizes += [(int(h), int(w)) for h, w in rng.integers(1, 200, (500, 2))]
    sizes += [(1080, 1920), (2160, 3840), (768, 1366), (1, 1), (27, 28), (28, 5600), (28, 5601), (4, 900)]
    bounds = [(12544, 9633792), (112 * 112, 28 * 28 * 15000), (3136, 1003520)]
    compared = 0
    for height, width in sizes:
        for min_pixels, max_pixels in bounds:
            for theirs_fn in (glm46v_resize, glm4v_resize):
                try:
                    theirs = theirs_fn(
                        2, height, width, temporal_factor=2, min_pixels=min_pixels, max_pixels=max_pixels
                    )
                except ValueError:
                    with pytest.raises(ValueError):
                        smart_resize(height, width, min_pixels=min_pixels, max_pixels=max_pixels)
                    continue
                assert smart_resize(height, width, min_pixels=min_pixels, max_pixels=max_pixels) == theirs
                compared += 1
    assert compared > 20000


def test_image_tokens_follow_the_target_and_the_longest_side_limit():
    assert images.fit_size(1920, 1080, MediaTarget(max_image_side=1000)) == (980, 560)
    assert image_tokens(1920, 1080, MediaTarget(max_image_side=1000)) == 700
    assert image_tokens(1920, 1080, MediaTarget(max_pixels=2 * 1000 * 1000)) < 1300


# --- formats ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "fmt", "lossless"),
    [
        (".png", "PNG", True),
        (".jpg", "JPEG", False),
        (".webp", "WEBP", False),
        (".bmp", "BMP", True),
        (".tiff", "TIFF", True),
        (".gif", "GIF", True),
    ],
)
def test_every_format_becomes_an_image_part(tmp_path, suffix, fmt, lossless):
    path = tmp_path / f"picture{suffix}"
    quadrants(560, 420).save(path, fmt)
    report, part = prepared(path)
    assert (part.width, part.height) == (560, 420)
    assert (part.source_width, part.source_height) == (560, 420)
    assert part.tokens == (560 // 14) * (420 // 14) // 4
    assert part.mime == "image/png"
    assert part.source == str(path)
    assert report.warnings == []
    sent = np.asarray(decode(part.data).convert("RGB")).astype(int)
    tolerance = 0 if lossless else 40
    assert np.abs(sent[100, 100] - (255, 0, 0)).max() <= tolerance
    assert np.abs(sent[100, 400] - (0, 255, 0)).max() <= tolerance
    assert np.abs(sent[300, 100] - (0, 0, 255)).max() <= tolerance
    assert np.abs(sent[300, 400] - (255, 255, 255)).max() <= tolerance


def test_gif_sends_its_first_frame_and_says_so(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (112, 112), colour) for colour in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    report, part = prepared(path)
    assert tuple(decode(part.data).convert("RGB").getpixel((50, 50))) == (255, 0, 0)
    assert any("first frame of 3" in w for w in report.warnings)


def test_multi_page_tiff_sends_its_first_page_and_says_so(tmp_path):
    path = tmp_path / "scan.tiff"
    pages = [Image.new("RGB", (280, 140), colour) for colour in ((0, 128, 0), (200, 0, 0))]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    report, part = prepared(path)
    assert (part.width, part.height) == (280, 140)
    assert tuple(decode(part.data).getpixel((10, 10))) == (0, 128, 0)
    assert any("first page of 2" in w for w in report.warnings)


# --- orientation and colour ------------------------------------------------------------------------------------


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    quadrants(560, 280).save(path, "JPEG", quality=95, exif=exif)
    img = load_image(path)
    assert img.size == (280, 560)
    # Clockwise rotation moves the stored bottom-left (blue) to the top-left, top-left (red) to the top-right.
    assert np.abs(np.asarray(img.getpixel((70, 70))) - (0, 0, 255)).max() < 40
    assert np.abs(np.asarray(img.getpixel((210, 70))) - (255, 0, 0)).max() < 40
    assert np.abs(np.asarray(img.getpixel((70, 490))) - (255, 255, 255)).max() < 40
    assert np.abs(np.asarray(img.getpixel((210, 490))) - (0, 255, 0)).max() < 40
    _, part = prepared(path)
    assert (part.width, part.height) == (280, 560)
    assert (part.source_width, part.source_height) == (280, 560)


def test_transparency_is_flattened_onto_white(tmp_path):
    path = tmp_path / "logo.png"
    rgba = np.zeros((112, 112, 4), np.uint8)
    rgba[:, :56] = (255, 0, 0, 255)  # opaque red left half, fully transparent black right half
    rgba[:, 56:] = (0, 0, 0, 0)
    Image.fromarray(rgba, "RGBA").save(path)
    img = load_image(path)
    assert img.mode == "RGB"
    assert img.getpixel((10, 10)) == (255, 0, 0)
    assert img.getpixel((100, 10)) == (255, 255, 255)


def test_half_transparent_pixels_blend_with_white(tmp_path):
    path = tmp_path / "shadow.png"
    Image.new("LA", (56, 56), (0, 128)).save(path)
    assert load_image(path).getpixel((5, 5)) == (127, 127, 127)


def test_palette_with_transparency(tmp_path):
    path = tmp_path / "icon.gif"
    img = Image.new("P", (56, 56), 0)
    img.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    img.paste(1, (0, 0, 28, 56))
    img.save(path, transparency=0)
    loaded = load_image(path)
    assert loaded.getpixel((5, 5)) == (0, 200, 0)
    assert loaded.getpixel((50, 5)) == (255, 255, 255)


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    path = tmp_path / "xray.png"
    samples = np.full((56, 112), 32768, np.uint16)
    samples[:, 56:] = 65535
    Image.fromarray(samples).save(path)
    assert Image.open(path).mode.startswith("I")
    img = load_image(path)
    assert img.getpixel((5, 5)) == (127, 127, 127)
    assert img.getpixel((100, 5)) == (255, 255, 255)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (112, 112), (0, 255, 255, 0)).save(path, "JPEG", quality=95)  # pure red ink
    img = load_image(path)
    assert img.mode == "RGB"
    assert np.abs(np.asarray(img.getpixel((50, 50))) - (255, 0, 0)).max() < 20


def test_grayscale_and_bilevel_become_rgb(tmp_path):
    gray, bilevel = tmp_path / "gray.png", tmp_path / "fax.tiff"
    Image.new("L", (56, 56), 90).save(gray)
    Image.new("1", (56, 56), 1).save(bilevel)
    assert load_image(gray).getpixel((1, 1)) == (90, 90, 90)
    assert load_image(bilevel).getpixel((1, 1)) == (255, 255, 255)


def linear_light_profile() -> bytes:
    """An ICC v2 display profile with sRGB primaries and a gamma-1.0 curve: mid-grey 128 in it is sRGB 188."""

    def s15(x: float) -> bytes:
        return struct.pack(">i", round(x * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + s15(x) + s15(y) + s15(z)

    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0100)
    text = b"Linear light\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(8 + 3 + 67)
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for sig, data in tags:
        data += bytes(-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    header = (
        struct.pack(">I", offset + len(body))
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(28)
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + bytes(48)
    )
    return header + table + body


def test_colour_profiles_are_converted_to_srgb(tmp_path):
    tagged, plain, broken = tmp_path / "wide.png", tmp_path / "plain.png", tmp_path / "broken.jpg"
    Image.new("RGB", (56, 56), (128, 128, 128)).save(tagged, icc_profile=linear_light_profile())
    Image.new("RGB", (56, 56), (128, 128, 128)).save(plain)
    Image.new("RGB", (56, 56), (128, 128, 128)).save(broken, quality=100, icc_profile=b"not a profile" * 10)
    assert load_image(tagged).getpixel((5, 5)) == (188, 188, 188)
    assert load_image(plain).getpixel((5, 5)) == (128, 128, 128)
    assert np.abs(np.asarray(load_image(broken).getpixel((5, 5))) - 128).max() <= 2
    _, part = prepared(tagged)
    sent = decode(part.data)
    assert "icc_profile" not in sent.info
    assert sent.getpixel((5, 5)) == (188, 188, 188)


def test_colour_profile_with_transparency(tmp_path):
    path = tmp_path / "overlay.png"
    Image.new("RGBA", (56, 56), (128, 128, 128, 255)).save(path, icc_profile=linear_light_profile())
    assert load_image(path).getpixel((5, 5)) == (188, 188, 188)


def test_cielab_tiff_becomes_proper_srgb(tmp_path):
    path = tmp_path / "scan.tif"
    Image.new("LAB", (56, 56), (128, 128, 128)).save(path)  # L 50, a 0, b 0: neutral mid-grey
    assert np.abs(np.asarray(load_image(path).getpixel((5, 5))) - 119).max() <= 2


def test_float_tiff_is_scaled(tmp_path):
    path = tmp_path / "depth.tif"
    Image.fromarray(np.linspace(0, 2, 56 * 56, dtype=np.float32).reshape(56, 56)).save(path)
    img = load_image(path)
    assert img.getpixel((0, 0)) == (0, 0, 0)
    assert img.getpixel((55, 55)) == (255, 255, 255)


# --- sizes and bytes -------------------------------------------------------------------------------------------


def test_tiny_image_is_enlarged_to_the_minimum(tmp_path):
    path = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (10, 20, 30)).save(path)
    report, part = prepared(path)
    assert (part.width, part.height) == (84, 84)
    assert part.tokens == 9
    assert decode(part.data).getpixel((40, 40)) == (10, 20, 30)
    assert any("enlarged from 1x1 to 84x84" in w for w in report.warnings)


def test_a_thin_strip_is_enlarged_to_one_patch_a_side(tmp_path):
    path = tmp_path / "strip.png"
    Image.new("RGB", (300, 20), "white").save(path)
    report, part = prepared(path)
    assert (part.width, part.height) == (420, 28)
    assert report.warnings == [
        "enlarged from 300x20 to 420x28: the model reads images of at least 28 pixels a side and 6272 pixels in all"
    ]


def test_a_screenshot_within_the_budget_goes_at_its_own_size(tmp_path):
    """The server's processor rounds 1920x1080 to 1932x1092 itself; resizing here first only costs time."""
    path = tmp_path / "screen.png"
    quadrants(1920, 1080).save(path)
    report, part = prepared(path, MediaTarget(max_image_bytes=5 * 1024 * 1024))
    assert (part.width, part.height, part.tokens, part.mime) == (1920, 1080, 2691, "image/png")
    assert np.array_equal(np.asarray(decode(part.data)), np.asarray(quadrants(1920, 1080)))
    assert report.warnings == []


def test_a_server_that_needs_the_processor_size_gets_the_screenshot_rounded_to_the_patch_grid(tmp_path):
    path = tmp_path / "screen.png"
    quadrants(1920, 1080).save(path)
    report, part = prepared(path, MediaTarget(send_processor_size=True))
    assert (part.width, part.height, part.tokens) == (1932, 1092, 2691)
    assert decode(part.data).size == (1932, 1092)
    assert report.warnings == []


def test_extreme_aspect_ratio_is_a_clear_error(tmp_path):
    path = tmp_path / "ruler.png"
    Image.new("RGB", (6000, 20), "white").save(path)
    with pytest.raises(MediaError, match=r"ruler\.png: .*6000x20.*crop it"):
        prepare(Attachment(path), TARGET)


def test_aspect_ratio_at_the_processor_limit_is_accepted(tmp_path):
    path = tmp_path / "banner.png"
    Image.new("RGB", (5600, 28), "white").save(path)
    _, part = prepared(path)
    assert (part.width, part.height) == (5600, 28)


def test_large_photo_is_downscaled_to_the_pixel_budget(tmp_path):
    path = tmp_path / "camera.jpg"
    quadrants(8000, 6000).save(path, "JPEG", quality=80)
    report, part = prepared(path)
    assert (part.height, part.width) == smart_resize(6000, 8000)
    assert (part.source_width, part.source_height) == (8000, 6000)
    assert 2 * part.width * part.height <= TARGET.max_pixels
    assert any(f"downscaled from 8000x6000 to {part.width}x{part.height}" in w for w in report.warnings)
    assert decode(part.data).size == (part.width, part.height)


def test_large_rotated_photo_keeps_its_upright_source_size(tmp_path):
    path = tmp_path / "portrait.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    quadrants(8000, 6000).save(path, "JPEG", quality=80, exif=exif)
    _, part = prepared(path)
    assert (part.source_width, part.source_height) == (6000, 8000)
    assert (part.height, part.width) == smart_resize(8000, 6000)
    sent = np.asarray(decode(part.data)).astype(int)
    assert np.abs(sent[part.height // 4, part.width // 4] - (0, 0, 255)).max() < 40  # blue came to the top-left


def test_over_the_byte_limit_the_image_is_re_encoded_as_jpeg(tmp_path):
    path = tmp_path / "texture.png"
    smooth = np.linspace(0, 255, 1400 * 1400 * 3).reshape(1400, 1400, 3).astype(np.uint8)
    Image.fromarray(np.clip(smooth + np.asarray(noise(1400, 1400)) // 8, 0, 255).astype(np.uint8)).save(path)
    limit = 1_500_000
    report, part = prepared(path, MediaTarget(max_image_bytes=limit))
    assert part.mime == "image/jpeg"
    assert len(part.data) <= limit
    assert (part.width, part.height) == (1400, 1400)
    assert decode(part.data).format == "JPEG"
    assert any("re-encoded as JPEG" in w and "1.43 MB" in w for w in report.warnings)


def test_huge_noisy_image_is_downscaled_until_it_fits(tmp_path):
    path = tmp_path / "noise.png"
    noise(3000, 2000).save(path, compress_level=1)
    limit = 1024 * 1024
    report, part = prepared(path, MediaTarget(max_image_bytes=limit))
    assert len(part.data) <= limit
    assert part.mime == "image/jpeg"
    assert part.width % 28 == 0 and part.height % 28 == 0
    assert part.width * part.height < 2688 * 1792  # smaller than the pixel budget alone allows
    assert part.width / part.height == pytest.approx(1.5, rel=0.05)
    assert decode(part.data).size == (part.width, part.height)
    assert part.tokens == image_tokens(part.width, part.height, TARGET)
    assert (part.source_width, part.source_height) == (3000, 2000)
    assert any(f"downscaled to {part.width}x{part.height} and re-encoded as JPEG" in w for w in report.warnings)
    assert any("to stay under 1 MB" in w for w in report.warnings)


def test_png_size_estimate_is_close_enough_to_decide(tmp_path):
    text_like = quadrants(1932, 1092)
    for img in (noise(1400, 1000), text_like):
        actual = len(images._png(img))
        assert 0.8 * actual <= images._png_estimate(img) <= 1.3 * actual


def test_longest_side_limit_of_the_server(tmp_path):
    path = tmp_path / "wide.png"
    quadrants(3000, 1000).save(path)
    report, part = prepared(path, MediaTarget(max_image_side=2000))
    assert max(part.width, part.height) <= 2000
    assert part.width % 28 == 0 and part.height % 28 == 0
    assert any("limit of 2000 pixels a side" in w for w in report.warnings)


def test_a_byte_limit_no_image_can_meet_is_a_clear_error():
    with pytest.raises(MediaError, match="limit is too small"):
        image_part(noise(280, 280), MediaTarget(max_image_bytes=100), source="x.png")


def test_image_part_takes_any_mode_and_keeps_its_label():
    part = image_part(Image.new("RGBA", (300, 200), (0, 0, 0, 0)), TARGET, label="page 3", source="doc.pdf")
    assert part.label == "page 3"
    assert part.source == "doc.pdf"
    assert decode(part.data).convert("RGB").getpixel((5, 5)) == (255, 255, 255)
    assert (part.width, part.height, part.tokens) == (300, 200, (196 // 14) * (308 // 14) // 4)


# --- damaged and hostile files ---------------------------------------------------------------------------------


def png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims a size its (tiny) data never fills: what a decompression bomb looks like."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_decompression_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.png"
    png_header_only(path, 100_000, 100_000)
    with pytest.raises(MediaError, match=r"bomb\.png: the image is too large to open safely"):
        prepare(Attachment(path), TARGET)


def test_image_just_over_the_limit_is_refused_with_its_size(tmp_path):
    path = tmp_path / "panorama.png"
    png_header_only(path, 20_000, 12_000)
    with (
        pytest.warns(Image.DecompressionBombWarning),
        pytest.raises(MediaError, match=r"20000x12000, 240 megapixels; the limit is 200"),
    ):
        load_image(path)


def test_lowered_limit_refuses_a_real_image(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("RGB", (2000, 1000)).save(path)
    monkeypatch.setattr(images, "MAX_SOURCE_PIXELS", 1_000_000)
    with pytest.raises(MediaError, match="2000x1000"):
        load_image(path)


def test_truncated_png_is_a_clear_error(tmp_path):
    path = tmp_path / "photo.png"
    noise(400, 400).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(MediaError, match=r"photo\.png: the image is corrupt or truncated .*re-export it"):
        prepare(Attachment(path), TARGET)


def test_truncated_jpeg_is_a_clear_error(tmp_path):
    path = tmp_path / "photo.jpg"
    noise(400, 400).save(path, "JPEG")
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(MediaError, match="corrupt or truncated"):
        load_image(path)


def test_garbage_after_an_image_signature_is_a_clear_error(tmp_path):
    path = tmp_path / "fake.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(MediaError, match=r"fake\.png: not an image this app can read.*convert it to PNG or JPEG"):
        prepare(Attachment(path), TARGET)


def test_heic_photo_gets_advice(tmp_path):
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(500))
    with pytest.raises(MediaError, match=r"HEIC.*export it as JPEG"):
        prepare(Attachment(path), TARGET)


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        prepare(Attachment(path), TARGET)


def test_png_named_jpg_is_an_image_with_a_warning(tmp_path):
    path = tmp_path / "screenshot.jpg"
    quadrants(280, 280).save(path, "PNG")
    report, part = prepared(path)
    assert (part.width, part.height) == (280, 280)
    assert any("name says .jpg but the content is PNG" in w for w in report.warnings)


# --- the real corpus -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["glmv-bench-chart.jpeg", "glmv-rl-figure.jpeg"])
def test_corpus_images_are_counted_at_the_processor_size(name):
    """Within the budget they go as they are, or at the processor's size to a server that needs it."""
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{path} is not here")
    with Image.open(path) as original:
        width, height = original.size
    h, w = smart_resize(height, width)
    for exact, sent in ((False, (width, height)), (True, (w, h))):
        report, part = prepared(path, MediaTarget(max_image_bytes=5 * 1024 * 1024, send_processor_size=exact))
        assert (part.width, part.height) == sent
        assert part.tokens == (h // 14) * (w // 14) // 4
        assert len(part.data) <= 5 * 1024 * 1024
        assert decode(part.data).size == sent
        assert report.warnings == []
