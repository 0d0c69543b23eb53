"""Grounding: boxes onto the original image (not the budget-resized copy), onto the real screen (HiDPI, mixed
scales, negative origins), drawn with Pillow and cropped, with the capture metadata inside real PNG files."""

from __future__ import annotations

import base64
import io
import json
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.core.backends.base import GenerationOptions
from app.core.capture.geometry import Rect, Screen, selection_to_virtual, virtual_bounds
from app.core.capture.metadata import CAPTURE_KEY, CaptureInfo, capture_png_info, read_capture_metadata
from app.core.conversation import Attachment
from app.core.events import Box, Boxes
from app.core.grounding import GroundingError, groups_from_json, groups_to_json
from app.core.grounding.drawing import color_for, draw_boxes_on, text_color_on
from app.core.grounding.pairing import (
    SeenImage,
    assign_images,
    image_for_group,
    needs_preparing,
    question_images,
    with_pixels,
)
from app.core.grounding.pixels import PixelBox, image_size, load_upright, to_pixels
from app.core.grounding.regions import crop_seen, crop_seen_box
from app.core.grounding.screen import box_on_screen
from app.core.grounding.words import describe_box
from app.core.media import prepare
from app.core.media.parts import ImagePart, MediaTarget
from app.core.reasoning import ReasoningSplitter
from tests.support.documents import PAGE_COLOURS, page_number_of, pdf_with_pages
from tests.support.videos import make_video

# -- image pixels -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("box", "size", "expected"),
    [
        (Box(0, 0, 1000, 1000), (1001, 333), PixelBox(0, 0, 1001, 333)),
        (Box(500, 500, 1000, 1000), (1001, 333), PixelBox(501, 167, 1001, 333)),  # 500.5 and 166.5 round up
        (Box(250, 100, 750, 900), (7, 3), PixelBox(2, 0, 5, 3)),
        (Box(120, 340, 560, 780), (1920, 1080), PixelBox(230, 367, 1075, 842)),
        (Box(560, 780, 120, 340), (1920, 1080), PixelBox(230, 367, 1075, 842)),  # reversed corners
        (Box(-50, -1, 1200, 2000), (640, 480), PixelBox(0, 0, 640, 480)),  # clamped
        (Box(1000, 1000, 1000, 1000), (640, 480), PixelBox(639, 479, 640, 480)),  # a point: one pixel
        (Box(300, 300, 300.2, 300.1), (640, 480), PixelBox(192, 144, 193, 145)),
    ],
)
def test_boxes_map_to_pixels_by_proportion_clamped_and_ordered(box, size, expected):
    assert to_pixels(box, *size) == expected


def test_an_image_without_area_is_refused():
    with pytest.raises(ValueError):
        to_pixels(Box(0, 0, 10, 10), 0, 100)


def _image_with_square(size: tuple[int, int], square: tuple[int, int, int, int]) -> Image.Image:
    image = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(image).rectangle((square[0], square[1], square[2] - 1, square[3] - 1), fill=(0, 0, 255))
    return image


def test_budget_resized_images_map_boxes_to_the_original_not_the_sent_grid(tmp_path):
    """A 3001x1999 photo sent at a quarter of its pixels (rounded to multiples of 28, so the aspect shifts a
    little): the model's box, a proportion of what it saw, lands on the blue square of the ORIGINAL."""
    size, square = (3001, 1999), (1500, 700, 2100, 1300)
    path = tmp_path / "odd.png"
    _image_with_square(size, square).save(path)
    (part,) = prepare(Attachment(path), MediaTarget(max_pixels=1_000_000)).parts
    assert isinstance(part, ImagePart)
    assert (part.source_width, part.source_height) == size and (part.width, part.height) != size
    sent = np.asarray(Image.open(io.BytesIO(part.data)).convert("RGB")).astype(int)
    # What the model would answer: the square as a proportion of the image it saw.
    ys, xs = np.nonzero((sent[:, :, 2] > 200) & (sent[:, :, 0] < 100))
    box = Box(
        xs.min() * 1000 / part.width,
        ys.min() * 1000 / part.height,
        (xs.max() + 1) * 1000 / part.width,
        (ys.max() + 1) * 1000 / part.height,
    )
    on_original = to_pixels(box, part.source_width, part.source_height)
    for got, want in zip(
        (on_original.left, on_original.top, on_original.right, on_original.bottom), square, strict=True
    ):
        assert abs(got - want) <= 4  # within one sent pixel (3001/1148 wide), whichever way it rounded
    wrong = to_pixels(box, part.width, part.height)  # the resized grid: far from the square on the original
    assert abs(wrong.left - square[0]) > 500


# 136.6 -> 137, 153.4 -> 153, 409.8 -> 410, 306.8 -> 307, 683, 460.2 -> 460, 956.2 -> 956, 613.6 -> 614
PIXELS_1366x767 = {(100, 200, 300, 400): (137, 153, 410, 307), (500, 600, 700, 800): (683, 460, 956, 614)}

SPLIT_CASES = [
    ("[[100, 200, 300, 400]]", [Box(100, 200, 300, 400)]),
    ("[100, 200, 300, 400]", [Box(100, 200, 300, 400)]),
    ("(100, 200, 300, 400)", [Box(100, 200, 300, 400)]),
    ("<100 200 300 400>", [Box(100, 200, 300, 400)]),
    ("<bbox>100 200 300 400</bbox>", [Box(100, 200, 300, 400)]),
    ("[[100,200,300,400],[500,600,700,800]]", [Box(100, 200, 300, 400), Box(500, 600, 700, 800)]),
    (
        '[{"label": "cat", "bbox_2d": [100, 200, 300, 400]}, {"label": "dog", "bbox_2d": [500, 600, 700, 800]}]',
        [Box(100, 200, 300, 400, "cat"), Box(500, 600, 700, 800, "dog")],
    ),
    (
        "cat: [100, 200, 300, 400], dog: [500, 600, 700, 800]",
        [Box(100, 200, 300, 400, "cat"), Box(500, 600, 700, 800, "dog")],
    ),
]


@pytest.mark.parametrize(("inner", "expected"), SPLIT_CASES)
@pytest.mark.parametrize("piece", [1, 5, 1000])
def test_every_bracket_style_goes_through_the_splitter_to_the_right_pixels(inner, expected, piece):
    raw = f"<think>where?</think>It is here: <|begin_of_box|>{inner}<|end_of_box|>."
    splitter = ReasoningSplitter()
    events = []
    for i in range(0, len(raw), piece):
        events += splitter.feed(raw[i : i + piece])
    events += splitter.finish()
    groups = [e for e in events if isinstance(e, Boxes)]
    assert len(groups) == 1 and list(groups[0].boxes) == expected
    pixels = [to_pixels(b, 1366, 767) for b in groups[0].boxes]
    assert [(p.left, p.top, p.right, p.bottom) for p in pixels] == [
        PIXELS_1366x767[tuple(b.as_list())] for b in expected
    ]


# -- which image ------------------------------------------------------------------------------------------------


def test_groups_pair_with_images_in_order_unless_the_model_names_one():
    one, two = Boxes((Box(1, 2, 3, 4),)), Boxes((Box(5, 6, 7, 8),))
    assert assign_images([one], 3) == [0]  # one group: the first image
    assert assign_images([one, two], 1) == [0, 0]  # one image: everything on it
    assert assign_images([one, two], 2) == [0, 1]  # several and several: in order
    assert assign_images([one, two, one], 2) == [0, 1, 1]  # extra groups stay on the last image
    assert assign_images([Boxes(one.boxes, image_ref=1), two], 3) == [1, 1]
    assert image_for_group(0, 1, 5, 3) is None  # a reference to an image the question does not have
    assert image_for_group(0, 1, None, 0) is None  # no images at all


def test_groups_survive_the_stored_form_and_older_flat_saves():
    groups = [Boxes((Box(1, 2, 3, 4, "a"), Box(5, 6, 7, 8))), Boxes((Box(9, 10, 11, 12),), image_ref=1)]
    assert groups_from_json(json.loads(json.dumps(groups_to_json(groups)))) == groups
    assert groups_from_json([[1, 2, 3, 4, "cat"], [5, 6, 7, 8, None]]) == [
        Boxes((Box(1, 2, 3, 4, "cat"), Box(5, 6, 7, 8)))
    ]
    damaged = [[1, 2, "x", 4], [1, 2, 3], "junk", [True, 2, 3, 4], [1, 2, 3, 4, 5]]
    assert groups_from_json(damaged) == [Boxes((Box(1, 2, 3, 4),))]
    assert groups_from_json(None) == [] and groups_from_json({"boxes": []}) == [] and groups_from_json([]) == []
    assert groups_from_json([{"boxes": [[1, 2, 3, 4]], "image": True}]) == [Boxes((Box(1, 2, 3, 4),), None)]


# -- capture metadata in the PNG --------------------------------------------------------------------------------

TWO_SCREENS = (
    Screen.from_qt("DP-1", Rect(-1920, 0, 1920, 1080), 1.0),
    Screen.from_qt("HDMI-1", Rect(0, 0, 1280, 720), 1.5),
)


def test_capture_metadata_goes_into_the_png_as_documented_and_reads_back(tmp_path):
    path = tmp_path / "shot.png"
    pixels = Image.effect_noise((301, 199), 60).convert("RGB")
    rect = Rect(-100, 20, 301, 199)
    pixels.save(path, pnginfo=capture_png_info(rect, TWO_SCREENS))
    with Image.open(path) as image:
        assert json.loads(image.info[CAPTURE_KEY]) == {
            "rect": [-100, 20, 301, 199],
            "screens": [
                {"name": "DP-1", "geometry": [-1920, 0, 1920, 1080], "scale": 1.0},
                {"name": "HDMI-1", "geometry": [0, 0, 1280, 720], "scale": 1.5},
            ],
        }
        assert image.tobytes() == pixels.tobytes()
    assert read_capture_metadata(path) == CaptureInfo(rect, TWO_SCREENS)


def test_capture_metadata_through_pnginfo_and_a_real_shot(tmp_path):
    from app.core.capture.screenshotters import Shot

    shot = Shot(np.full((40, 60, 4), 128, dtype=np.uint8), Rect(1920, 0, 60, 40))
    path = shot.save_png(tmp_path / "shot.png", screens=TWO_SCREENS)
    assert read_capture_metadata(path) == CaptureInfo(Rect(1920, 0, 60, 40), TWO_SCREENS)
    other = tmp_path / "saved.png"
    Image.new("RGB", (10, 10)).save(other, pnginfo=capture_png_info(Rect(5, 5, 10, 10), TWO_SCREENS))
    assert read_capture_metadata(other) == CaptureInfo(Rect(5, 5, 10, 10), TWO_SCREENS)


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        json.dumps({"rect": [0, 0, 0, 10], "screens": []}),
        json.dumps({"rect": [0, 0, "w", 10], "screens": []}),
        json.dumps({"rect": [0, 0, 10, 10], "screens": [{"geometry": [0, 0, 10, 10], "scale": 0}]}),
        json.dumps({"rect": [0, 0, 10, 10], "screens": ["x"]}),
        json.dumps([1, 2]),
    ],
)
def test_damaged_capture_metadata_reads_as_a_plain_image(tmp_path, text):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(CAPTURE_KEY, text)
    path = tmp_path / "x.png"
    Image.new("RGB", (10, 10)).save(path, pnginfo=info)
    assert read_capture_metadata(path) is None


def test_only_a_sound_png_screenshot_has_capture_metadata(tmp_path):
    jpeg = tmp_path / "photo.jpg"
    Image.new("RGB", (10, 10)).save(jpeg)
    assert read_capture_metadata(jpeg) is None
    truncated = tmp_path / "cut.png"
    Image.new("RGB", (50, 50)).save(truncated, pnginfo=capture_png_info(Rect(0, 0, 50, 50), TWO_SCREENS))
    truncated.write_bytes(truncated.read_bytes()[:30])
    assert read_capture_metadata(truncated) is None
    assert read_capture_metadata(tmp_path / "missing.png") is None


# -- the real screen --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1.0, 1.25, 1.5, 2.0])
def test_a_box_maps_to_device_and_logical_pixels_at_each_scale(scale):
    screen = Screen.from_qt("eDP-1", Rect(0, 0, round(1920 / scale), round(1080 / scale)), scale)
    capture = CaptureInfo(Rect(200, 100, 1000, 800), (screen,))  # a region, in native pixels
    on = box_on_screen(Box(100, 250, 300, 500), capture)
    assert on.device == Rect(300, 300, 200, 200)
    assert on.number == 1 and on.screen is screen
    fx = screen.native.width / screen.geometry.width
    assert on.logical.x == pytest.approx(300 / fx) and on.logical.width == pytest.approx(200 / fx)
    assert selection_to_virtual(on.logical, screen) == on.device  # Qt's mapping brings it back exactly
    assert on.device_center == (400, 400)


def test_negative_origins_and_mixed_scales_pick_the_screen_under_the_box():
    # DP-1 left of the primary at scale 1, HDMI-1 at 1.5 (3840 native pixels wide), a 2x panel above with a
    # negative y: Qt keeps native origins, so the desktop spans x -1920..1920, y -1080..1080.
    screens = (*TWO_SCREENS, Screen.from_qt("eDP-1", Rect(0, -1080, 960, 540), 2.0))
    desktop = virtual_bounds(s.native for s in screens)
    assert desktop == Rect(-1920, -1080, 3840, 2160)
    capture = CaptureInfo(desktop, screens)
    left = box_on_screen(Box(250, 600, 500, 700), capture)  # x -960..0, y 216..432: on DP-1
    assert (left.number, left.device) == (1, Rect(-960, 216, 960, 216))
    assert left.logical.x == -960 and left.logical.width == 960
    right = box_on_screen(Box(600, 600, 700, 700), capture)  # x 384..768, y 216..432: on HDMI-1 at 1.5
    assert (right.number, right.screen.name, right.device) == (2, "HDMI-1", Rect(384, 216, 384, 216))
    assert (right.logical.x, right.logical.y, right.logical.width) == pytest.approx((256, 144, 256))
    top = box_on_screen(Box(500, 0, 750, 250), capture)  # x 0..960, y -1080..-540: the 2x panel
    assert (top.number, top.device) == (3, Rect(0, -1080, 960, 540))
    assert (top.logical.x, top.logical.y, top.logical.width, top.logical.height) == pytest.approx((0, -1080, 480, 270))
    for on in (left, right, top):
        assert selection_to_virtual(on.logical, on.screen) == on.device


def test_a_box_off_every_screen_keeps_device_pixels_as_logical():
    capture = CaptureInfo(Rect(0, 0, 100, 100), (Screen.from_qt("far", Rect(5000, 0, 10, 10), 2.0),))
    on = box_on_screen(Box(0, 0, 500, 500), capture)
    assert on.screen is None and on.number is None and (on.logical.x, on.logical.width) == (0, 50)


def test_copied_coordinates_say_where_on_which_screen_and_the_center():
    screens = (*TWO_SCREENS,)
    capture = CaptureInfo(Rect(-1920, 0, 3840, 1080), screens)
    text = describe_box(1, Box(600, 600, 700, 700, "Export"), 3840, 1080, "shot.png", capture)
    assert text == (
        "2 Export: x=384, y=648, w=384, h=108 on screen 2 (HDMI-1), center (576, 702) in screen pixels; "
        "logical x=256, y=432, w=256, h=72, center (384, 468) at scale 1.5"
    )
    plain = describe_box(0, Box(0, 0, 500, 500), 1001, 333, "photo.jpg")
    assert plain == "1: x=0, y=0, w=501, h=167, center (250, 83) in pixels of photo.jpg (1001×333)"
    unscaled = describe_box(0, Box(0, 0, 100, 100), 3840, 1080, "s.png", capture)
    assert unscaled.endswith("in screen pixels") and "on screen 1 (DP-1)" in unscaled


# -- drawing and cropping ---------------------------------------------------------------------------------------


def image_file(path) -> SeenImage:
    """An attached image file as the model saw it: itself (as the window's large view opens one)."""
    return SeenImage(Attachment(path, kind="image"), 0, "image")


@pytest.mark.parametrize("background", [(255, 255, 255), (0, 0, 0), (30, 30, 30)])
def test_boxes_are_drawn_where_they_belong_in_distinct_colours(tmp_path, background):
    path = tmp_path / "page.png"
    Image.new("RGB", (1001, 667), background).save(path)
    boxes = [Box(100, 300, 400, 700, "button"), Box(500, 200, 900, 900)]
    drawn = draw_boxes_on(load_upright(path), boxes)
    assert drawn.size == (1001, 667)
    px = np.asarray(drawn).astype(int)
    for index, box in enumerate(boxes):
        p = to_pixels(box, 1001, 667)
        colour = color_for(index)
        # The coloured stroke lies just outside the box edge on all four sides, the inside stays untouched.
        thickness = max(2, round(667 / 250))
        mid_x, mid_y = (p.left + p.right) // 2, (p.top + p.bottom) // 2
        for x, y in (
            (p.left - thickness // 2 - 1, mid_y),
            (p.right + thickness // 2, mid_y),
            (mid_x, p.bottom + thickness // 2),
        ):
            assert tuple(px[y, x]) == colour, (index, x, y)
        assert tuple(px[mid_y, mid_x]) == background
    assert color_for(0) != color_for(1)
    # The first box is labelled above its top-left corner on a tag of its colour.
    p = to_pixels(boxes[0], 1001, 667)
    tag = px[max(p.top - 30, 0) : p.top - 4, p.left : p.left + 60].reshape(-1, 3)
    assert (np.abs(tag - color_for(0)).sum(axis=1) == 0).sum() > 100
    assert (np.abs(tag - text_color_on(color_for(0))).sum(axis=1) == 0).sum() > 10


def test_lines_and_labels_grow_with_the_image(tmp_path):
    small, large = tmp_path / "s.png", tmp_path / "l.png"
    Image.new("RGB", (320, 200), (255, 255, 255)).save(small)
    Image.new("RGB", (3200, 2000), (255, 255, 255)).save(large)
    box = [Box(250, 400, 750, 900, "x")]

    def coloured_run(image: Image.Image) -> int:
        row = np.asarray(image)[int(image.height * 0.65)].astype(int)
        return int((np.abs(row - color_for(0)).sum(axis=1) == 0).sum())

    assert coloured_run(draw_boxes_on(load_upright(large), box)) >= 4 * coloured_run(
        draw_boxes_on(load_upright(small), box)
    )


def test_a_label_at_the_top_edge_goes_inside_the_box(tmp_path):
    path = tmp_path / "t.png"
    Image.new("RGB", (400, 300), (255, 255, 255)).save(path)
    px = np.asarray(draw_boxes_on(load_upright(path), [Box(0, 0, 500, 500, "top")])).astype(int)
    inside = px[4:24, 4:40].reshape(-1, 3)
    assert (np.abs(inside - color_for(0)).sum(axis=1) == 0).sum() > 50


def test_exif_rotated_photos_are_drawn_upright(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    Image.new("RGB", (400, 200), (255, 255, 255)).save(path, exif=exif)
    assert image_size(path) == (200, 400)
    assert draw_boxes_on(load_upright(path), [Box(0, 0, 500, 500)]).size == (200, 400)


def test_a_crop_is_the_region_of_the_original_and_keeps_its_screen_position(tmp_path):
    path = tmp_path / "shot.png"
    image = _image_with_square((1920, 1080), (960, 540, 1152, 648))
    image.save(path, pnginfo=capture_png_info(Rect(-1920, 0, 1920, 1080), TWO_SCREENS[:1]))
    out = crop_seen_box(image_file(path), Box(500, 500, 600, 600), tmp_path / "regions")
    with Image.open(out) as crop:
        assert crop.size == (192, 108)
        assert crop.convert("RGB").getpixel((10, 10)) == (0, 0, 255)
    info = read_capture_metadata(out)
    assert info is not None and info.rect == Rect(-960, 540, 192, 108)
    # A box on the crop maps to the same place on the real screen as on the whole shot.
    assert (
        box_on_screen(Box(0, 0, 1000, 1000), info).device
        == box_on_screen(Box(500, 500, 600, 600), read_capture_metadata(path)).device
    )


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 40])
def test_unreadable_images_say_so(tmp_path, content):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(GroundingError, match="cannot be read"):
        draw_boxes_on(load_upright(path), [Box(0, 0, 10, 10)])
    with pytest.raises(GroundingError, match="cannot be read"):
        crop_seen_box(image_file(path), Box(0, 0, 10, 10), tmp_path)


def test_a_missing_image_says_it_was_moved(tmp_path):
    with pytest.raises(GroundingError, match="moved or deleted"):
        draw_boxes_on(load_upright(tmp_path / "gone.png"), [Box(0, 0, 10, 10)])


def test_transparent_images_are_drawn_over_white(tmp_path):
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (100, 100), (0, 0, 0, 0)).save(path)
    drawn = draw_boxes_on(load_upright(path), [Box(400, 400, 600, 600)])
    assert drawn.mode == "RGB" and drawn.getpixel((50, 50)) == (255, 255, 255)


# -- the images the model saw -----------------------------------------------------------------------------------


# Each page of the test PDFs is filled with its own colour, so a rendered image says which page it is.
def test_a_pdf_and_a_screenshot_are_the_images_the_request_sent_in_its_order(tmp_path):
    from app.core.backends.api import ApiBackend
    from app.core.conversation import Conversation

    pdf = pdf_with_pages(tmp_path / "report.pdf")
    shot = tmp_path / "shot.png"
    _image_with_square((1280, 720), (0, 0, 100, 100)).save(shot)
    attachments = [Attachment(pdf), Attachment(shot)]
    backend = ApiBackend("vllm", base_url="http://127.0.0.1:9", model="m", api_key="k")
    found = question_images(attachments, backend.media_target)
    assert found.complete
    assert [i.title for i in found.images] == [
        "report.pdf (Page 1)",
        "report.pdf (Page 2)",
        "report.pdf (Page 3)",
        "shot.png",
    ]
    # The same images, in the same order, as the request body carries them.
    body = backend.request_body(Conversation().ask("?", attachments), GenerationOptions())
    content = json.loads(b"".join(body))["messages"][0]["content"]  # as it goes over the wire
    urls = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    assert len(urls) == len(found.images)
    for image, url in zip(found.images[:3], urls, strict=False):
        assert base64.b64decode(url.split(",", 1)[1]) == image.data
    assert [page_number_of(i.load()) for i in found.images[:3]] == [1, 2, 3]
    assert found.images[3].is_file and found.images[3].load().size == (1280, 720)
    assert found.images[2].page == 3 and found.images[3].page is None
    # Two groups: the first on page 1, the second on page 2 (n-th group, n-th image).
    groups = [Boxes((Box(1, 2, 3, 4),)), Boxes((Box(5, 6, 7, 8),))]
    assert found.assign(groups) == [0, 1]


def test_chosen_pages_and_the_text_layer_decide_which_pages_are_images(tmp_path):
    pdf = pdf_with_pages(tmp_path / "report.pdf", text_on=(1,))
    shot = tmp_path / "shot.png"
    Image.new("RGB", (64, 48)).save(shot)
    chosen = question_images([Attachment(pdf, pages="2-3"), Attachment(shot)], MediaTarget())
    assert [i.label for i in chosen.images] == ["Page 2", "Page 3", None]
    assert page_number_of(chosen.images[0].load()) == 2
    as_text = question_images([Attachment(pdf, text_layer=True), Attachment(shot)], MediaTarget())
    assert [i.title for i in as_text.images] == ["report.pdf (Page 2)", "report.pdf (Page 3)", "shot.png"]
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert [i.title for i in question_images([Attachment(text), Attachment(shot)]).images] == ["shot.png"]


def test_reports_prepared_earlier_count_without_rendering_and_pixels_come_later(tmp_path):
    import dataclasses as dc

    from app.core.media import prepare

    pdf = pdf_with_pages(tmp_path / "report.pdf")
    shot = tmp_path / "shot.png"
    Image.new("RGB", (64, 48)).save(shot)
    attachments = [Attachment(pdf, pages="2-3", kind="pdf"), Attachment(shot, kind="image")]
    target = MediaTarget()
    report = prepare(attachments[0], target)
    # What the window's attachment strip keeps: sizes and labels, no pixels.
    bare = dc.replace(report, parts=[dc.replace(p, data=b"") for p in report.parts])
    assert needs_preparing(attachments) and not needs_preparing(attachments, [bare, None])
    counted = question_images(attachments, target, reports=[bare, None])
    assert [i.title for i in counted.images] == ["report.pdf (Page 2)", "report.pdf (Page 3)", "shot.png"]
    assert counted.images[0].needs_pixels and counted.images[0].size == (report.parts[0].width, report.parts[0].height)
    with pytest.raises(GroundingError, match="not loaded"):
        counted.images[0].load()
    filled = with_pixels(counted, {1}, target)
    assert filled.images[0].needs_pixels and not filled.images[1].needs_pixels
    assert filled.images[1].data == report.parts[1].data  # the very page the request sent
    assert page_number_of(filled.images[1].load()) == 3


def test_an_attachment_that_cannot_be_prepared_again_leaves_later_images_unknown(tmp_path):
    pdf = pdf_with_pages(tmp_path / "report.pdf")
    shot = tmp_path / "shot.png"
    Image.new("RGB", (64, 48)).save(shot)
    gone = tmp_path / "gone.pdf"
    found = question_images([Attachment(shot), Attachment(gone, kind="pdf"), Attachment(pdf)])
    assert [i.title for i in found.images] == ["shot.png"] and not found.complete
    assert "gone.pdf" in (found.problem or "")
    groups = [Boxes((Box(1, 2, 3, 4),)), Boxes((Box(5, 6, 7, 8),))]
    assert found.assign(groups) == [0, None]  # the second image is not known: no guessing it is the first
    assert found.assign(groups[:1]) == [0]


def test_a_region_of_a_pdf_page_is_rendered_again_sharper(tmp_path):
    pdf = pdf_with_pages(tmp_path / "report.pdf", text_on=(2,))
    found = question_images([Attachment(pdf)], MediaTarget())
    page = found.images[1]
    width, height = page.source_size()
    box = Box(0, 380, 1000, 620)  # the stripe with the text
    sent = to_pixels(box, width, height)
    out = crop_seen_box(page, box, tmp_path / "regions")
    assert out.name.startswith("report-page-2-region-")
    with Image.open(out) as region:
        assert region.width > 2 * sent.width  # rendered from the page, not cut from the sent image
        assert abs(region.width / region.height - 595 / (842 * 0.24)) < 0.05
        assert region.convert("RGB").getpixel((2, 2)) == pytest.approx(PAGE_COLOURS[1], abs=10)


def test_a_region_of_a_frame_or_an_unrenderable_page_is_cut_from_what_was_sent(tmp_path):
    pdf = pdf_with_pages(tmp_path / "report.pdf")
    page = question_images([Attachment(pdf)], MediaTarget()).images[2]
    broken = SeenImage(Attachment(tmp_path / "moved.pdf"), 0, "pdf", "Page 3", page.size, page.data)
    width, height = page.size
    out = crop_seen(broken, PixelBox(0, 0, width // 2, height // 4), tmp_path / "regions")
    with Image.open(out) as region:
        assert region.size == (width // 2, height // 4)
        assert region.convert("RGB").getpixel((5, 5)) == pytest.approx(PAGE_COLOURS[2], abs=10)
    empty = SeenImage(Attachment(tmp_path / "clip.mp4"), 0, "video", "at 1.0 seconds", (64, 48))
    with pytest.raises(GroundingError, match="not loaded"):
        crop_seen(empty, PixelBox(0, 0, 10, 10), tmp_path)


def test_video_frames_are_images_only_where_the_video_went_as_frames(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", 2)
    shot = tmp_path / "shot.png"
    Image.new("RGB", (64, 48)).save(shot)
    attachments = [Attachment(clip), Attachment(shot)]
    as_frames = question_images(attachments, MediaTarget(accepts_video=False))
    titles = [i.title for i in as_frames.images]
    assert titles[0] == "clip.mp4 (at 0.0 seconds)" and titles[-1] == "shot.png" and len(titles) > 3
    assert all(i.kind == "video" and i.data for i in as_frames.images[:-1])
    as_video = question_images(attachments, MediaTarget(accepts_video=True))
    assert [i.title for i in as_video.images] == ["shot.png"]  # the model saw a video, then one image


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_cropped_regions_wait_in_a_private_folder_of_the_app_s_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "shot.png"
    Image.new("RGB", (200, 100), (10, 20, 30)).save(path)
    out = crop_seen_box(image_file(path), Box(0, 0, 500, 500))
    assert out.parent == tmp_path / "cache" / "glmv-desktop" / "regions"
    assert (out.stat().st_mode & 0o777, out.parent.stat().st_mode & 0o777) == (0o600, 0o700)
