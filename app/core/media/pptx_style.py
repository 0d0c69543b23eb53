"""DrawingML colours, fills and fonts for drawing Office files with Pillow (slides and their charts).

Office files name colours through the theme (``accent1``, ``tx1``) and shift them with modifiers (``lumMod``,
``shade``, ``alpha``); shapes without their own fill take one from the theme's style lists. Resolving these is
what makes a deck drawn without Office look like the deck, not like grey boxes.
"""

from __future__ import annotations

import colorsys
import functools
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont

NS = {
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "p": "http://schemas.openxmlformats.org/presentationml/2006/main",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
}
A = "{{{}}}".format(NS["a"])
EMU_PER_PT = 12700

RGBA = tuple[int, int, int, int]

# Office 2007-2013 default theme, for decks whose theme part is missing or incomplete.
DEFAULT_SCHEME = {
    "dk1": "000000",
    "lt1": "FFFFFF",
    "dk2": "1F497D",
    "lt2": "EEECE1",
    "accent1": "4F81BD",
    "accent2": "C0504D",
    "accent3": "9BBB59",
    "accent4": "8064A2",
    "accent5": "4BACC6",
    "accent6": "F79646",
    "hlink": "0000FF",
    "folHlink": "800080",
}
DEFAULT_CLR_MAP = {"bg1": "lt1", "tx1": "dk1", "bg2": "lt2", "tx2": "dk2"}
PRESET_COLORS = {
    "white": "FFFFFF",
    "black": "000000",
    "red": "FF0000",
    "green": "008000",
    "blue": "0000FF",
    "yellow": "FFFF00",
    "gray": "808080",
    "grey": "808080",
    "lightGray": "D3D3D3",
    "darkGray": "A9A9A9",
    "orange": "FFA500",
    "purple": "800080",
    "navy": "000080",
    "silver": "C0C0C0",
}


def _hex(value: str, alpha: int = 255) -> RGBA:
    value = (value or "000000").strip()[-6:].rjust(6, "0")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), alpha


@dataclass
class Theme:
    """Colour scheme, format scheme (fill/line style lists) and clrMap of one slide master."""

    scheme: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SCHEME))
    clr_map: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CLR_MAP))
    fill_styles: list = field(default_factory=list)
    bg_fill_styles: list = field(default_factory=list)
    line_styles: list = field(default_factory=list)

    @classmethod
    def from_xml(cls, theme_el, clr_map_el) -> Theme:
        theme = cls()
        if theme_el is not None:
            scheme = theme_el.find(".//a:clrScheme", NS)
            if scheme is not None:
                for child in scheme:
                    name = child.tag.split("}")[1]
                    color = child[0] if len(child) else None
                    if color is None:
                        continue
                    value = color.get("lastClr") or color.get("val")
                    if value and len(value) == 6:
                        theme.scheme[name] = value
            fmt = theme_el.find(".//a:fmtScheme", NS)
            if fmt is not None:
                for attr, tag in (
                    ("fill_styles", "fillStyleLst"),
                    ("bg_fill_styles", "bgFillStyleLst"),
                    ("line_styles", "lnStyleLst"),
                ):
                    lst = fmt.find(f"a:{tag}", NS)
                    if lst is not None:
                        setattr(theme, attr, list(lst))
        if clr_map_el is not None:
            theme.clr_map.update({k: v for k, v in clr_map_el.attrib.items()})
        return theme

    def scheme_color(self, name: str) -> str:
        name = self.clr_map.get(name, name)
        return self.scheme.get(name, DEFAULT_SCHEME.get(name, "000000"))

    def accent(self, index: int) -> RGBA:
        """The n-th default series colour: accents 1-6, then darker and lighter rounds of them."""
        base = _hex(self.scheme_color(f"accent{index % 6 + 1}"))
        rounds = index // 6
        if rounds == 0:
            return base
        factor = (0.6, 1.4, 0.8, 1.2)[(rounds - 1) % 4]
        return _luminance(base, factor, 0.0)

    # --- colours -------------------------------------------------------------------------------------------
    def color(self, el, ph: RGBA | None = None) -> RGBA | None:
        """The colour a colour element (srgbClr, schemeClr, sysClr, prstClr, scrgbClr, hslClr) names."""
        if el is None:
            return None
        tag = el.tag.split("}")[1]
        if tag == "srgbClr":
            rgba = _hex(el.get("val", "000000"))
        elif tag == "schemeClr":
            val = el.get("val", "tx1")
            rgba = ph if val == "phClr" and ph is not None else _hex(self.scheme_color(val))
        elif tag == "sysClr":
            rgba = _hex(el.get("lastClr") or ("FFFFFF" if el.get("val") == "window" else "000000"))
        elif tag == "prstClr":
            rgba = _hex(PRESET_COLORS.get(el.get("val", "black"), "000000"))
        elif tag == "scrgbClr":
            r, g, b = (_srgb(int(el.get(k, "0")) / 100000) for k in "rgb")
            rgba = (r, g, b, 255)
        elif tag == "hslClr":
            h = int(el.get("hue", "0")) / 21600000
            s = int(el.get("sat", "0")) / 100000
            lum = int(el.get("lum", "0")) / 100000
            red, green, blue = colorsys.hls_to_rgb(h, lum, s)
            rgba = (round(red * 255), round(green * 255), round(blue * 255), 255)
        else:
            return None
        return _apply_mods(rgba, el)

    def color_in(self, parent, ph: RGBA | None = None) -> RGBA | None:
        """The colour of the first colour child of ``parent`` (e.g. a solidFill)."""
        if parent is None:
            return None
        for child in parent:
            color = self.color(child, ph)
            if color is not None:
                return color
        return None


def _luminance(rgba: RGBA, mod: float, off: float) -> RGBA:
    h, lum, s = colorsys.rgb_to_hls(*(c / 255 for c in rgba[:3]))
    lum = min(1.0, max(0.0, lum * mod + off))
    r, g, b = colorsys.hls_to_rgb(h, lum, s)
    return round(r * 255), round(g * 255), round(b * 255), rgba[3]


def _linear(c: int) -> float:
    v = c / 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _srgb(v: float) -> int:
    v = min(1.0, max(0.0, v))
    return round(255 * (v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055))


def _apply_mods(rgba: RGBA, el) -> RGBA:
    r, g, b, a = rgba
    lum_mod, lum_off = 1.0, 0.0
    for mod in el:
        name = mod.tag.split("}")[1]
        val = int(mod.get("val", "100000")) / 100000
        if name == "lumMod":
            lum_mod = val
        elif name == "lumOff":
            lum_off = val
        elif name == "shade":  # in linear light, as Office computes it
            r, g, b = (_srgb(_linear(c) * val) for c in (r, g, b))
        elif name == "tint":
            r, g, b = (_srgb(_linear(c) * val + (1 - val)) for c in (r, g, b))
        elif name == "alpha":
            a = round(255 * val)
        elif name == "satMod":
            h, lum, s = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
            r, g, b = (round(c * 255) for c in colorsys.hls_to_rgb(h, lum, min(1.0, s * val)))
    if lum_mod != 1.0 or lum_off != 0.0:
        r, g, b, a = _luminance((r, g, b, a), lum_mod, lum_off)
    return max(0, min(255, r)), max(0, min(255, g)), max(0, min(255, b)), a


# --- fills ---------------------------------------------------------------------------------------------------
@dataclass
class Fill:
    """A resolved fill: solid colour, gradient stops and angle, pattern, or picture."""

    kind: str  # solid | gradient | pattern | picture
    color: RGBA | None = None
    stops: list[tuple[float, RGBA]] = field(default_factory=list)
    angle: float = 90.0
    pattern: str = ""
    background: RGBA | None = None
    picture: Image.Image | None = None
    alpha: float = 1.0


def read_fill(theme: Theme, el, ph: RGBA | None = None, blip_loader=None) -> Fill | None:
    """The fill an element (solidFill, gradFill, pattFill, blipFill) describes; None for noFill."""
    if el is None:
        return None
    tag = el.tag.split("}")[1]
    if tag == "solidFill":
        color = theme.color_in(el, ph)
        return Fill("solid", color=color) if color is not None else None
    if tag == "gradFill":
        stops = []
        for gs in el.findall("a:gsLst/a:gs", NS):
            color = theme.color_in(gs, ph)
            if color is not None:
                stops.append((int(gs.get("pos", "0")) / 100000, color))
        if not stops:
            return None
        stops.sort(key=lambda s: s[0])
        lin = el.find("a:lin", NS)
        angle = int(lin.get("ang", "0")) / 60000 if lin is not None else 90.0
        return Fill("gradient", stops=stops, angle=angle)
    if tag == "pattFill":
        if el.find("a:fgClr", NS) is None and el.find("a:bgClr", NS) is None:
            return None  # an empty pattern draws nothing (as in Office and LibreOffice)
        fg = theme.color_in(el.find("a:fgClr", NS), ph) or (0, 0, 0, 255)
        bg = theme.color_in(el.find("a:bgClr", NS), ph) or (255, 255, 255, 255)
        return Fill("pattern", color=fg, background=bg, pattern=el.get("prst", "pct50"))
    if tag == "blipFill" and blip_loader is not None:
        blip = el.find("a:blip", NS)
        if blip is None:
            return None
        picture = blip_loader(blip.get("{{{}}}embed".format(NS["r"])))
        if picture is None:
            return None
        alpha_el = blip.find("a:alphaModFix", NS)
        alpha = int(alpha_el.get("amt", "100000")) / 100000 if alpha_el is not None else 1.0
        src = el.find("a:srcRect", NS)
        if src is not None:
            picture = crop_fraction(picture, *(int(src.get(k, "0")) / 100000 for k in ("l", "t", "r", "b")))
        return Fill("picture", picture=picture, alpha=alpha)
    return None


FILL_TAGS = {A + t for t in ("noFill", "solidFill", "gradFill", "pattFill", "blipFill", "grpFill")}


def own_fill_el(sp_pr):
    """The fill element directly in an spPr (noFill included), or None when the fill is inherited."""
    if sp_pr is None:
        return None
    for child in sp_pr:
        if child.tag in FILL_TAGS:
            return child
    return None


def crop_fraction(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = img.size
    box = (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    if box[2] - box[0] < 1 or box[3] - box[1] < 1:
        return img
    return img.crop(box)


def paint(
    canvas: Image.Image, mask: Image.Image | None, box: tuple[int, int, int, int], fill: Fill, cell: int = 8
) -> None:
    """Paint ``fill`` onto the opaque ``canvas`` through ``mask`` (L, the size of ``box``; None for all of it) at
    ``box``'s corner; ``cell`` is a pattern's repeat in pixels (8 screen pixels in Office, so it scales).

    Pasting through a mask is alpha compositing on an opaque canvas, and several times faster than
    ``alpha_composite`` on a full slide.
    """
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < 1 or h < 1:
        return
    if fill.kind == "solid" and fill.color is not None:
        color = fill.color
        if color[3] < 255:
            base = mask if mask is not None else Image.new("L", (w, h), 255)
            mask = base.point(lambda v: v * color[3] // 255)
        _paste(canvas, (*color[:3], 255), box, mask)
        return
    if fill.kind == "gradient":
        layer = _gradient(w, h, fill.stops, fill.angle)
    elif fill.kind == "pattern":
        fg, bg = fill.color or (0, 0, 0, 255), fill.background or (255, 255, 255, 255)
        layer = _pattern(w, h, fill.pattern, fg, bg, max(4, cell))
    elif fill.kind == "picture" and fill.picture is not None:
        layer = fill.picture.convert("RGBA").resize((w, h), Image.Resampling.BILINEAR)
        if fill.alpha < 1.0:
            layer.putalpha(layer.getchannel("A").point(lambda v: round(v * fill.alpha)))
    else:
        return
    alpha = layer.getchannel("A")
    _paste(canvas, layer, box, ImageChops.multiply(alpha, mask) if mask is not None else alpha)


def _paste(canvas: Image.Image, what, box: tuple[int, int, int, int], mask: Image.Image | None) -> None:
    """``canvas.paste`` clipped to the canvas (shapes may reach past the slide's edge)."""
    x0, y0, x1, y1 = box
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(canvas.width, x1), min(canvas.height, y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    inner = (cx0 - x0, cy0 - y0, cx1 - x0, cy1 - y0)
    if mask is not None and inner != (0, 0, x1 - x0, y1 - y0):
        mask = mask.crop(inner)
    if isinstance(what, Image.Image):
        if inner != (0, 0, x1 - x0, y1 - y0):
            what = what.crop(inner)
        canvas.paste(what, (cx0, cy0), mask)
    else:
        canvas.paste(what, (cx0, cy0, cx1, cy1), mask)


def _gradient(w: int, h: int, stops: list[tuple[float, RGBA]], angle: float) -> Image.Image:
    theta = math.radians(angle)
    xs = np.arange(w, dtype=np.float32)[None, :] * math.cos(theta)
    ys = np.arange(h, dtype=np.float32)[:, None] * math.sin(theta)
    t = xs + ys
    lo, hi = float(t.min()), float(t.max())
    t = (t - lo) / (hi - lo) if hi > lo else np.zeros_like(t)
    positions = np.array([s[0] for s in stops], np.float32)
    out = np.empty((h, w, 4), np.uint8)
    for channel in range(4):
        values = np.array([s[1][channel] for s in stops], np.float32)
        out[..., channel] = np.interp(t, positions, values).astype(np.uint8)
    return Image.fromarray(out, "RGBA")


def _pattern(w: int, h: int, preset: str, fg: RGBA, bg: RGBA, step: int) -> Image.Image:
    """An approximation of the preset patterns: percentages as dot densities, line patterns as lines."""
    y, x = np.mgrid[0:h, 0:w]
    if preset.startswith("pct"):
        share = int(preset[3:] or "50") / 100
        on = ((x * 7 + y * 13) % 100) < share * 100
    elif "Horz" in preset or preset == "horz":
        on = y % step == 0
    elif "Vert" in preset or preset == "vert":
        on = x % step == 0
    elif "DnDiag" in preset or preset == "dnDiag":
        on = (x - y) % step == 0
    elif "UpDiag" in preset or preset == "upDiag":
        on = (x + y) % step == 0
    elif preset in ("cross", "smGrid", "lgGrid", "dotGrid"):
        on = (x % step == 0) | (y % step == 0)
    elif preset in ("smCheck", "lgCheck"):
        on = ((x // step) + (y // step)) % 2 == 0
    elif preset in ("wave", "zigZag"):
        on = (y + np.round(2 * np.sin(x * 2 * math.pi / step)).astype(int)) % step == 0
    else:  # diagCross, divot, trellis, dashes and friends
        on = ((x - y) % (2 * step) == 0) | ((x + y) % (2 * step) == 0)
    out = np.empty((h, w, 4), np.uint8)
    out[:] = bg
    out[on] = fg
    return Image.fromarray(out, "RGBA")


# --- fonts ---------------------------------------------------------------------------------------------------
_FONT_FILES = {
    (False, False): ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf", "arial.ttf", "Helvetica.ttc"),
    (True, False): ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf", "Arial Bold.ttf", "arialbd.ttf"),
    (False, True): ("DejaVuSans-Oblique.ttf", "LiberationSans-Italic.ttf", "Arial Italic.ttf", "ariali.ttf"),
    (True, True): ("DejaVuSans-BoldOblique.ttf", "LiberationSans-BoldItalic.ttf", "arialbi.ttf"),
}


@functools.lru_cache(maxsize=256)
def font(size_px: int, bold: bool = False, italic: bool = False) -> ImageFont.FreeTypeFont:
    """A sans-serif font at ``size_px``; Pillow's own scalable default when no system font is found."""
    size_px = max(4, min(1000, size_px))
    for name in _FONT_FILES[(bold, italic)] + _FONT_FILES[(False, False)]:
        try:
            return ImageFont.truetype(name, size_px)
        except OSError:
            continue
    default = ImageFont.load_default(size_px)
    assert isinstance(default, ImageFont.FreeTypeFont)  # given a size, Pillow always loads its scalable Aileron
    return default


def polygon_mask(size: tuple[int, int], points: list[tuple[float, float]], offset: tuple[int, int]) -> Image.Image:
    mask = Image.new("L", size, 0)
    if len(points) >= 3:
        ImageDraw.Draw(mask).polygon([(x - offset[0], y - offset[1]) for x, y in points], fill=255)
    return mask
