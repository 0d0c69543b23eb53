"""Slides drawn from python-pptx with Pillow, for machines without LibreOffice.

What a model needs from a slide is where things are and what they say: positioned text at its size and colour,
pictures, tables, filled shapes and charts drawn from their data. Everything is drawn at twice the target size
and reduced once, which is Pillow's cheapest anti-aliasing.
"""

from __future__ import annotations

import io
import itertools
import math
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from app.core.media.pptx_charts import draw_chart
from app.core.media.pptx_style import (
    EMU_PER_PT,
    NS,
    RGBA,
    Fill,
    Theme,
    crop_fraction,
    font,
    own_fill_el,
    paint,
    polygon_mask,
    read_fill,
)

SUPERSAMPLE = 2
P = "{{{}}}".format(NS["p"])
A = "{{{}}}".format(NS["a"])
R_EMBED = "{{{}}}embed".format(NS["r"])
R_ID = "{{{}}}id".format(NS["r"])
MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

_TITLE_TYPES = {"title", "ctrTitle"}
_BODY_TYPES = {"body", "subTitle", "obj", None}


@dataclass(frozen=True)
class Xform:
    """EMU -> pixel mapping: x' = a*x + b, y' = c*y + d (group shapes nest these)."""

    a: float
    b: float
    c: float
    d: float

    def x(self, v: float) -> float:
        return self.a * v + self.b

    def y(self, v: float) -> float:
        return self.c * v + self.d


@dataclass
class ShapeFrame:
    """Where a shape sits on the slide (its ``a:xfrm``) in the drawing's pixels, rotation in degrees."""

    x: float
    y: float
    w: float
    h: float
    rot: float = 0.0
    flip_h: bool = False
    flip_v: bool = False


class SlideRenderer:
    """Draws one slide; ``notes`` collects what could not be drawn."""

    def __init__(self, prs, slide, width: int, height: int, themes: dict | None = None) -> None:
        self.prs = prs
        self.slide = slide
        self.layout = slide.slide_layout
        self.master = self.layout.slide_master
        self.theme = _theme(self.master, themes)
        self.size = (width, height)
        w, h = width * SUPERSAMPLE, height * SUPERSAMPLE
        self.canvas = Image.new("RGBA", (w, h), (255, 255, 255, 255))
        self.base = Xform(w / prs.slide_width, 0.0, h / prs.slide_height, 0.0)
        self.px_per_pt = EMU_PER_PT * h / prs.slide_height
        self.notes: list[str] = []
        self._images: dict[tuple[str, str], Image.Image | None] = {}

    # --- entry ---------------------------------------------------------------------------------------------
    def render(self) -> Image.Image:
        self._background()
        slide_el, layout_el = self.slide.element, self.layout.element
        if slide_el.get("showMasterSp", "1") not in ("0", "false"):
            if layout_el.get("showMasterSp", "1") not in ("0", "false"):
                self._tree(self.master.element.find("p:cSld/p:spTree", NS), self.base, self.master.part, True)
            self._tree(layout_el.find("p:cSld/p:spTree", NS), self.base, self.layout.part, True)
        self._tree(slide_el.find("p:cSld/p:spTree", NS), self.base, self.slide.part, False)
        out = self.canvas.convert("RGB")
        return out.reduce(SUPERSAMPLE) if SUPERSAMPLE > 1 else out

    def _background(self) -> None:
        for owner in (self.slide, self.layout, self.master):
            bg = owner.element.find("p:cSld/p:bg", NS)
            if bg is None:
                continue
            fill: Fill | None = None
            bg_pr = bg.find("p:bgPr", NS)
            if bg_pr is not None:
                el = own_fill_el(bg_pr)
                fill = read_fill(self.theme, el, blip_loader=self._loader(owner.part)) if el is not None else None
            else:
                ref = bg.find("p:bgRef", NS)
                if ref is not None:
                    fill = self._style_fill(ref, background=True)
            if fill is not None:
                w, h = self.canvas.size
                paint(self.canvas, None, (0, 0, w, h), fill)
            return

    # --- tree walking --------------------------------------------------------------------------------------
    def _tree(self, tree, xf: Xform, part, skip_placeholders: bool, group_fill: Fill | None = None) -> None:
        if tree is None:
            return
        for el in tree:
            tag = el.tag.split("}")[-1]
            if skip_placeholders and el.find(".//p:nvPr/p:ph", NS) is not None:
                continue
            try:
                if tag == "sp":
                    self._shape(el, xf, part, group_fill)
                elif tag == "cxnSp":
                    self._shape(el, xf, part, group_fill, connector=True)
                elif tag == "pic":
                    self._picture(el, xf, part)
                elif tag == "graphicFrame":
                    self._frame(el, xf, part)
                elif tag == "grpSp":
                    self._group(el, xf, part, skip_placeholders)
                elif el.tag == "{http://schemas.openxmlformats.org/markup-compatibility/2006}AlternateContent":
                    fallback = el.find(MC_FALLBACK)
                    if fallback is not None:
                        self._tree(fallback, xf, part, skip_placeholders, group_fill)
            except (ValueError, KeyError, ZeroDivisionError, OSError, AttributeError) as e:
                name = el.find(".//p:cNvPr", NS)
                label = name.get("name") if name is not None else tag
                self.notes.append(f"{label!r} could not be drawn ({e.__class__.__name__}: {e})")

    def _group(self, el, xf: Xform, part, skip_placeholders: bool) -> None:
        grp_pr = el.find("p:grpSpPr", NS)
        xfrm = grp_pr.find("a:xfrm", NS) if grp_pr is not None else None
        inner = xf
        if xfrm is not None:
            off, ext = xfrm.find("a:off", NS), xfrm.find("a:ext", NS)
            ch_off, ch_ext = xfrm.find("a:chOff", NS), xfrm.find("a:chExt", NS)
            if None not in (off, ext, ch_off, ch_ext):
                rx = int(ext.get("cx")) / max(1, int(ch_ext.get("cx")))
                ry = int(ext.get("cy")) / max(1, int(ch_ext.get("cy")))
                ox = int(off.get("x")) - int(ch_off.get("x")) * rx
                oy = int(off.get("y")) - int(ch_off.get("y")) * ry
                inner = Xform(xf.a * rx, xf.a * ox + xf.b, xf.c * ry, xf.c * oy + xf.d)
        fill_el = own_fill_el(grp_pr)
        group_fill = read_fill(self.theme, fill_el, blip_loader=self._loader(part)) if fill_el is not None else None
        self._tree(el, inner, part, skip_placeholders, group_fill)

    # --- placeholders and inheritance ----------------------------------------------------------------------
    def _ph(self, el):
        return el.find(".//p:nvPr/p:ph", NS)

    def _inherited(self, el) -> list:
        """The layout and master placeholders a slide placeholder inherits position and text style from."""
        ph = self._ph(el)
        if ph is None:
            return []
        idx, kind = ph.get("idx"), ph.get("type")
        found = []
        for owner, by_idx in ((self.layout, True), (self.master, False)):
            match = None
            for cand in owner.element.iterfind("p:cSld/p:spTree/p:sp", NS):
                cph = self._ph(cand)
                if cph is None:
                    continue
                if by_idx and idx is not None and cph.get("idx") == idx:
                    match = cand
                    break
                if cph.get("type") == kind or (kind in _BODY_TYPES and cph.get("type") in ("body", None)):
                    match = match if match is not None else cand
            if match is not None:
                found.append(match)
        return found

    def _box(self, el, xf: Xform, xfrm_path: str = "p:spPr/a:xfrm") -> ShapeFrame | None:
        xfrm = el.find(xfrm_path, NS)
        if xfrm is None or xfrm.find("a:off", NS) is None:
            for base in self._inherited(el):
                xfrm = base.find("p:spPr/a:xfrm", NS)
                if xfrm is not None and xfrm.find("a:off", NS) is not None:
                    break
            else:
                return None
        off, ext = xfrm.find("a:off", NS), xfrm.find("a:ext", NS)
        x0, y0 = int(off.get("x", "0")), int(off.get("y", "0"))
        cx, cy = (int(ext.get("cx", "0")), int(ext.get("cy", "0"))) if ext is not None else (0, 0)
        return ShapeFrame(
            xf.x(x0),
            xf.y(y0),
            xf.a * cx,
            xf.c * cy,
            int(xfrm.get("rot", "0")) / 60000,
            xfrm.get("flipH") in ("1", "true"),
            xfrm.get("flipV") in ("1", "true"),
        )

    # --- shapes --------------------------------------------------------------------------------------------
    def _style_fill(self, ref, background: bool = False) -> Fill | None:
        idx = int(ref.get("idx", "0"))
        ph = self.theme.color_in(ref)
        if idx == 0:
            return None
        if idx >= 1001 or background:
            styles = self.theme.bg_fill_styles
            i = idx - 1001 if idx >= 1001 else idx - 1
        else:
            styles, i = self.theme.fill_styles, idx - 1
        if 0 <= i < len(styles):
            return read_fill(self.theme, styles[i], ph)
        return Fill("solid", color=ph) if ph is not None else None

    def _fill(self, el, part, group_fill: Fill | None) -> Fill | None:
        sp_pr = el.find("p:spPr", NS)
        own = own_fill_el(sp_pr)
        if own is not None:
            if own.tag == A + "grpFill":
                return group_fill
            return read_fill(self.theme, own, blip_loader=self._loader(part))
        ref = el.find("p:style/a:fillRef", NS)
        return self._style_fill(ref) if ref is not None else None

    def _line(self, el) -> tuple[RGBA, float] | None:
        ln = el.find("p:spPr/a:ln", NS)
        ref = el.find("p:style/a:lnRef", NS)
        style_ln = None
        if ref is not None:
            i = int(ref.get("idx", "0")) - 1
            if 0 <= i < len(self.theme.line_styles):
                style_ln = self.theme.line_styles[i]
        ph = self.theme.color_in(ref) if ref is not None else None
        color = None
        for candidate in (ln, style_ln):
            if candidate is None:
                continue
            if candidate.find("a:noFill", NS) is not None:
                return None
            solid = candidate.find("a:solidFill", NS)
            if solid is not None:
                color = self.theme.color_in(solid, ph)
                break
            grad = candidate.find("a:gradFill/a:gsLst/a:gs", NS)
            if grad is not None:
                color = self.theme.color_in(grad, ph)
                break
        if color is None:
            return None
        width_emu = next((int(c.get("w")) for c in (ln, style_ln) if c is not None and c.get("w")), 9525)
        return color, max(1.0, width_emu * self.base.a)

    def _shape(self, el, xf: Xform, part, group_fill: Fill | None, connector: bool = False) -> None:
        box = self._box(el, xf)
        if box is None:
            return
        geom = el.find("p:spPr/a:prstGeom", NS)
        prst = geom.get("prst", "rect") if geom is not None else "rect"
        adj = _adjustments(geom)
        cust = el.find("p:spPr/a:custGeom", NS)
        paths = _custom_paths(cust, box) if cust is not None else [_preset(prst if not connector else "line", adj, box)]
        paths = [(_transform(points, box), closed) for points, closed in paths]
        fill = None if connector else self._fill(el, part, group_fill)
        if fill is not None:
            for points, closed in paths:
                if closed:
                    self._paint_polygon(points, fill)
        line = self._line(el)
        if line is not None:
            draw = ImageDraw.Draw(self.canvas)
            color, width = line
            for points, closed in paths:
                pts = [*points, points[0]] if closed else points
                if len(pts) >= 2:
                    draw.line(pts, fill=color, width=max(1, round(width)), joint="curve")
            if connector or prst == "line":
                self._arrowheads(el, paths[0][0], color, width)
        body = el.find("p:txBody", NS)
        if body is not None:
            self._text(body, box, el)

    def _arrowheads(self, el, points, color: RGBA, width: float) -> None:
        if len(points) < 2:
            return
        ln = el.find("p:spPr/a:ln", NS)
        if ln is None:
            return
        draw = ImageDraw.Draw(self.canvas)
        for tag, tip, tail in (("a:tailEnd", points[-1], points[-2]), ("a:headEnd", points[0], points[1])):
            end = ln.find(tag, NS)
            if end is None or end.get("type", "none") == "none":
                continue
            angle = math.atan2(tip[1] - tail[1], tip[0] - tail[0])
            size = max(6.0, width * 3)
            left = (tip[0] - size * math.cos(angle - 0.45), tip[1] - size * math.sin(angle - 0.45))
            right = (tip[0] - size * math.cos(angle + 0.45), tip[1] - size * math.sin(angle + 0.45))
            draw.polygon([tip, left, right], fill=color)

    def _paint_polygon(self, points: list[tuple[float, float]], fill: Fill) -> None:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = (math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)) + 1, math.ceil(max(ys)) + 1)
        size = (box[2] - box[0], box[3] - box[1])
        if size[0] < 1 or size[1] < 1 or size[0] * size[1] > 64_000_000:
            return
        paint(self.canvas, polygon_mask(size, points, (box[0], box[1])), box, fill, round(6 * self.px_per_pt))

    # --- pictures ------------------------------------------------------------------------------------------
    def _loader(self, part):
        def load(rid: str | None) -> Image.Image | None:
            if not rid:
                return None
            key = (str(part.partname), rid)
            if key not in self._images:
                try:
                    blob = part.related_part(rid).blob
                    img = Image.open(io.BytesIO(blob))
                    img.load()
                    self._images[key] = img
                except (KeyError, OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
                    self._images[key] = None
            return self._images[key]

        return load

    def _picture(self, el, xf: Xform, part) -> None:
        box = self._box(el, xf)
        if box is None or box.w < 1 or box.h < 1:
            return
        fill = read_fill(self.theme, el.find("p:blipFill", NS), blip_loader=self._loader(part))
        if fill is None or fill.picture is None:
            self._missing_picture(box, el)
            return
        src = el.find("p:blipFill/a:srcRect", NS)
        picture = fill.picture
        if src is not None:
            picture = crop_fraction(picture, *(int(src.get(k, "0")) / 100000 for k in ("l", "t", "r", "b")))
        w, h = max(1, round(box.w)), max(1, round(box.h))
        img = picture.convert("RGBA").resize((w, h), Image.Resampling.BILINEAR)
        if box.flip_h:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if box.flip_v:
            img = img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        geom = el.find("p:spPr/a:prstGeom", NS)
        prst = geom.get("prst", "rect") if geom is not None else "rect"
        if prst != "rect":
            points, _ = _preset(prst, _adjustments(geom), ShapeFrame(0, 0, w, h))
            mask = polygon_mask((w, h), points, (0, 0))
            img.putalpha(Image.fromarray(_multiply(img.getchannel("A"), mask)))
        if fill.alpha < 1.0:
            img.putalpha(img.getchannel("A").point(lambda v: round(v * fill.alpha)))
        if box.rot:
            img = img.rotate(-box.rot, expand=True, resample=Image.Resampling.BILINEAR)
        cx, cy = box.x + box.w / 2, box.y + box.h / 2
        x0, y0 = round(cx - img.width / 2), round(cy - img.height / 2)
        _composite(self.canvas, img, x0, y0)
        line = self._line(el)
        if line is not None:
            points = _transform(_preset(prst, {}, box)[0], box)
            ImageDraw.Draw(self.canvas).line([*points, points[0]], fill=line[0], width=max(1, round(line[1])))

    def _missing_picture(self, box: ShapeFrame, el) -> None:
        name = el.find(".//p:cNvPr", NS)
        label = (name.get("descr") or name.get("name") or "picture") if name is not None else "picture"
        draw = ImageDraw.Draw(self.canvas)
        draw.rectangle([box.x, box.y, box.x + box.w, box.y + box.h], fill=(235, 235, 235, 255), outline=(160,) * 3)
        size = max(8, round(min(box.h / 6, 12 * self.px_per_pt)))
        draw.text((box.x + 4, box.y + 4), f"[{label}]", fill=(90, 90, 90, 255), font=font(size))
        self.notes.append(f"the picture {label!r} is in a format that cannot be drawn here; a placeholder was drawn")

    # --- graphic frames: tables, charts --------------------------------------------------------------------
    def _frame(self, el, xf: Xform, part) -> None:
        box = self._box(el, xf, "p:xfrm")
        if box is None:
            return
        data = el.find("a:graphic/a:graphicData", NS)
        if data is None:
            return
        uri = data.get("uri", "")
        if uri.endswith("/table"):
            tbl = data.find("a:tbl", NS)
            if tbl is not None:
                self._table(tbl, box)
        elif uri.endswith("/chart"):
            ref = data.find("c:chart", NS)
            if ref is None:
                return
            chart_part = part.related_part(ref.get(R_ID))
            space = getattr(chart_part, "_element", None)
            if space is None:
                from lxml import etree

                space = etree.fromstring(chart_part.blob)
            draw_chart(
                self.canvas,
                (box.x, box.y, box.w, box.h),
                space,
                self.theme,
                self.px_per_pt,
                self.notes,
            )
        else:
            kind = "diagram (SmartArt)" if "diagram" in uri else "embedded object"
            fallback = el.find(".//p:pic", NS)
            if fallback is not None:
                self._picture(fallback, xf, part)
            else:
                self.notes.append(f"a {kind} could not be drawn")

    def _table(self, tbl, box: ShapeFrame) -> None:
        cols = [int(g.get("w", "0")) * self.base.a for g in tbl.findall("a:tblGrid/a:gridCol", NS)]
        rows = tbl.findall("a:tr", NS)
        heights = [int(r.get("h", "0")) * self.base.c for r in rows]
        tbl_pr = tbl.find("a:tblPr", NS)
        first_row = tbl_pr is not None and tbl_pr.get("firstRow") in ("1", "true")
        band_row = tbl_pr is not None and tbl_pr.get("bandRow") in ("1", "true")
        styled = tbl_pr is not None and tbl_pr.find("a:tableStyleId", NS) is not None
        accent = self.theme.color(_scheme("accent1"))
        light = self.theme.color(_scheme("accent1", lum_mod=20000, lum_off=80000))
        lighter = self.theme.color(_scheme("accent1", lum_mod=40000, lum_off=60000))
        draw = ImageDraw.Draw(self.canvas)
        y = box.y
        for r, row in enumerate(rows):
            # Rows grow to fit their text in PowerPoint; the stored height is the minimum.
            height = max(heights[r], self._row_text_height(row, cols))
            x = box.x
            for c, tc in enumerate(row.findall("a:tc", NS)):
                width = sum(cols[c : c + int(tc.get("gridSpan", "1"))]) if c < len(cols) else 0
                if tc.get("hMerge") in ("1", "true") or tc.get("vMerge") in ("1", "true"):
                    x += cols[c] if c < len(cols) else 0
                    continue
                span_rows = int(tc.get("rowSpan", "1"))
                cell_h = height + sum(heights[r + 1 : r + span_rows])
                tc_pr = tc.find("a:tcPr", NS)
                own = own_fill_el(tc_pr)
                header = first_row and r == 0
                if own is not None:
                    fill = read_fill(self.theme, own)
                elif styled:
                    fill = Fill("solid", color=accent if header else (lighter if band_row and r % 2 == 1 else light))
                else:
                    fill = None
                rect = [x, y, x + width, y + cell_h]
                if fill is not None and fill.color is not None:
                    draw.rectangle(rect, fill=fill.color)
                border = (255, 255, 255, 255) if styled else (0, 0, 0, 255)
                draw.rectangle(rect, outline=border, width=max(1, round(self.px_per_pt)))
                body = tc.find("a:txBody", NS)
                if body is not None:
                    default = (255, 255, 255, 255) if header and styled and own is None else None
                    self._text(body, ShapeFrame(x, y, width, cell_h), None, cell=tc_pr, bold=header, color=default)
                x += width
            y += height

    def _row_text_height(self, row, cols: list[float]) -> float:
        tallest = 0.0
        for c, tc in enumerate(row.findall("a:tc", NS)):
            body = tc.find("a:txBody", NS)
            if body is None or c >= len(cols):
                continue
            width = sum(cols[c : c + int(tc.get("gridSpan", "1"))])
            lines = self._layout_text(body, width - 2 * 91440 * self.base.a, None)
            tallest = max(tallest, sum(line.height for line in lines) + 2 * 45720 * self.base.c)
        return tallest

    # --- text ----------------------------------------------------------------------------------------------
    def _level_chain(self, el, level: int) -> list:
        """lvlNpPr elements a paragraph's defaults come from, nearest first."""
        tag = f"a:lvl{level + 1}pPr"
        chain = []
        sources = [el, *self._inherited(el)] if el is not None else []
        for src in sources:
            found = src.find(f"p:txBody/a:lstStyle/{tag}", NS)
            if found is not None:
                chain.append(found)
        ph = self._ph(el) if el is not None else None
        styles = self.master.element.find("p:txStyles", NS)
        if styles is not None:
            if ph is not None and ph.get("type") in _TITLE_TYPES:
                which = "p:titleStyle"
            elif ph is not None and ph.get("type") in _BODY_TYPES | {"body"}:
                which = "p:bodyStyle"
            else:
                which = "p:otherStyle"
            found = styles.find(f"{which}/{tag}", NS)
            if found is not None:
                chain.append(found)
        default = self.prs.part._element.find(f"p:defaultTextStyle/{tag}", NS)
        if default is not None:
            chain.append(default)
        return chain

    def _layout_text(self, body, avail_w: float, el, *, bold: bool = False, color: RGBA | None = None) -> list:
        body_pr = body.find("a:bodyPr", NS)
        scale = 1.0
        autofit = body_pr.find("a:normAutofit", NS) if body_pr is not None else None
        if autofit is not None:
            scale = int(autofit.get("fontScale", "100000")) / 100000
        wrap = body_pr is None or body_pr.get("wrap") != "none"
        style_color = None
        if el is not None:
            font_ref = el.find("p:style/a:fontRef", NS)
            style_color = self.theme.color_in(font_ref) if font_ref is not None else None
        lines: list[_Line] = []
        numbering: dict[int, int] = {}
        for p in body.findall("a:p", NS):
            p_pr = p.find("a:pPr", NS)
            level = int(p_pr.get("lvl", "0")) if p_pr is not None else 0
            chain = ([p_pr] if p_pr is not None else []) + self._level_chain(el, level)
            align = next((c.get("algn") for c in chain if c.get("algn")), "l")
            margin = next((int(c.get("marL")) for c in chain if c.get("marL")), 0) * self.base.a
            indent = next((int(c.get("indent")) for c in chain if c.get("indent")), 0) * self.base.a
            bullet = _bullet(chain, numbering, level)
            segments: list[_Seg] = []
            end = p.find("a:endParaRPr", NS)
            base_size = self._size(end, chain, scale)
            for child in p:
                kind = child.tag.split("}")[-1]
                if kind in ("r", "fld"):
                    r_pr = child.find("a:rPr", NS)
                    text = "".join(t.text or "" for t in child.findall("a:t", NS))
                    segments.append(self._segment(text, r_pr, chain, scale, bold, color or style_color))
                elif kind == "br":
                    segments.append(_Seg("\n", None, (0, 0, 0, 255), base_size))
            if bullet and segments:
                first = segments[0]
                segments.insert(0, _Seg(bullet + " ", first.font, first.color, first.size))
            lines.extend(_wrap(segments, max(1.0, avail_w - margin), wrap, base_size, align, margin, indent))
        return lines

    def _size(self, r_pr, chain: list, scale: float) -> float:
        size = r_pr.get("sz") if r_pr is not None else None
        if size is None:
            size = next((d.get("sz") for c in chain for d in c.findall("a:defRPr", NS) if d.get("sz")), "1800")
        return int(size) / 100 * scale * self.px_per_pt

    def _segment(self, text: str, r_pr, chain: list, scale: float, bold: bool, color: RGBA | None) -> _Seg:
        size = self._size(r_pr, chain, scale)

        def attr(name: str) -> str | None:
            if r_pr is not None and r_pr.get(name) is not None:
                return r_pr.get(name)
            return next((d.get(name) for c in chain for d in c.findall("a:defRPr", NS) if d.get(name)), None)

        is_bold = attr("b") in ("1", "true") or (bold and attr("b") is None)
        italic = attr("i") in ("1", "true")
        rgba = None
        fill = r_pr.find("a:solidFill", NS) if r_pr is not None else None
        if fill is not None:
            rgba = self.theme.color_in(fill)
        if rgba is None and color is not None:
            rgba = color
        if rgba is None:
            for c in chain:
                found = c.find("a:defRPr/a:solidFill", NS)
                if found is not None:
                    rgba = self.theme.color_in(found)
                    break
        if rgba is None:
            rgba = self.theme.color(_scheme("tx1"))
        cap = attr("cap")
        if cap == "all":
            text = text.upper()
        return _Seg(text, font(max(1, round(size)), is_bold, italic), rgba or (0, 0, 0, 255), size)

    def _text(self, body, box: ShapeFrame, el, *, cell=None, bold: bool = False, color: RGBA | None = None) -> None:
        body_pr = body.find("a:bodyPr", NS)
        inherited = [b.find("p:txBody/a:bodyPr", NS) for b in self._inherited(el)] if el is not None else []
        props = [p for p in [cell, body_pr, *inherited] if p is not None]

        def inset(name: str, default: int) -> float:
            attr = {"lIns": "marL", "rIns": "marR", "tIns": "marT", "bIns": "marB"}[name] if cell is not None else name
            value = next((p.get(attr) for p in props if p.get(attr) is not None), None)
            return (int(value) if value is not None else default) * self.base.a

        left, right = inset("lIns", 91440), inset("rIns", 91440)
        top, bottom = inset("tIns", 45720), inset("bIns", 45720)
        anchor = next((p.get("anchor") for p in props if p.get("anchor")), "t")
        lines = self._layout_text(body, box.w - left - right, el, bold=bold, color=color)
        if not lines:
            return
        total = sum(line.height for line in lines)
        inner_h = box.h - top - bottom
        if anchor == "ctr":
            y = box.y + top + (inner_h - total) / 2
        elif anchor == "b":
            y = box.y + box.h - bottom - total
        else:
            y = box.y + top
        draw = ImageDraw.Draw(self.canvas)
        inner_w = box.w - left - right
        for line in lines:
            x0 = box.x + left + line.margin
            room = inner_w - line.margin
            if line.align == "ctr":
                x = x0 + (room - line.width) / 2
            elif line.align == "r":
                x = x0 + room - line.width
            else:
                x = x0
            baseline = y + line.ascent
            for seg in line.segments:
                if seg.font is None or not seg.text:
                    continue
                draw.text((x, baseline), seg.text, font=seg.font, fill=seg.color, anchor="ls")
                x += seg.font.getlength(seg.text)
            y += line.height


@dataclass
class _Seg:
    text: str
    font: ImageFont.FreeTypeFont | None  # None for a line break
    color: RGBA
    size: float


@dataclass
class _Line:
    segments: list[_Seg]
    width: float
    height: float
    ascent: float
    align: str
    margin: float


def _bullet(chain: list, numbering: dict[int, int], level: int) -> str:
    for c in chain:
        if c.find("a:buNone", NS) is not None:
            numbering.pop(level, None)
            return ""
        char = c.find("a:buChar", NS)
        if char is not None:
            return char.get("char", "•").replace("\uf0b7", "•").replace("\uf0a7", "▪").replace("Ø", "•")
        if c.find("a:buAutoNum", NS) is not None:
            numbering[level] = numbering.get(level, 0) + 1
            return f"{numbering[level]}."
    return ""


def _wrap(
    segments: list[_Seg], width: float, wrap: bool, base_size: float, align: str, margin: float, indent: float
) -> list[_Line]:
    """Greedy word wrap across runs of different fonts; a paragraph without text still takes its line."""
    lines: list[_Line] = []
    current: list[_Seg] = []
    used = 0.0

    def flush() -> None:
        nonlocal current, used
        sizes = [s.size for s in current if s.text.strip()] or [base_size]
        size = max(sizes)
        text_segs = [s for s in current if s.text]
        while text_segs and not text_segs[-1].text.strip():
            text_segs.pop()
        if text_segs:  # a wrapped line's trailing space does not count when centring or right-aligning it
            last = text_segs[-1]
            text_segs[-1] = _Seg(last.text.rstrip(" "), last.font, last.color, last.size)
        width = sum(s.font.getlength(s.text) for s in text_segs if s.font is not None)
        lines.append(_Line(text_segs, width, size * 1.2, size * 0.95, align, margin + (indent if not lines else 0)))
        current, used = [], 0.0

    for seg in segments:
        if seg.text == "\n":
            flush()
            continue
        for word in _tokens(seg.text):
            w = seg.font.getlength(word) if seg.font is not None else 0.0
            if wrap and used + w > width and current and word.strip():
                flush()
            if not current and not word.strip():
                continue
            if current and current[-1].font is seg.font and current[-1].color == seg.color:
                current[-1] = _Seg(current[-1].text + word, seg.font, seg.color, seg.size)
            else:
                current.append(_Seg(word, seg.font, seg.color, seg.size))
            used += w
    flush()
    return lines


def _tokens(text: str) -> list[str]:
    """Words with their following spaces kept, so widths add up the way they are drawn."""
    out: list[str] = []
    word = ""
    for ch in text:
        word += ch
        if ch == " ":
            out.append(word)
            word = ""
    if word:
        out.append(word)
    return out


def _scheme(name: str, *, lum_mod: int | None = None, lum_off: int | None = None):
    from lxml import etree

    el = etree.Element(A + "schemeClr", val=name)
    if lum_mod is not None:
        etree.SubElement(el, A + "lumMod", val=str(lum_mod))
    if lum_off is not None:
        etree.SubElement(el, A + "lumOff", val=str(lum_off))
    return el


def _theme(master, cache: dict | None) -> Theme:
    key = str(master.part.partname)
    if cache is not None and key in cache:
        return cache[key]
    from lxml import etree
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT

    try:
        theme_el = etree.fromstring(master.part.part_related_by(RT.THEME).blob)
    except (KeyError, etree.XMLSyntaxError):
        theme_el = None
    theme = Theme.from_xml(theme_el, master.element.find("p:clrMap", NS))
    if cache is not None:
        cache[key] = theme
    return theme


def _multiply(a: Image.Image, b: Image.Image):
    import numpy as np

    return (np.asarray(a, np.uint16) * np.asarray(b, np.uint16) // 255).astype(np.uint8)


def _composite(canvas: Image.Image, img: Image.Image, x0: int, y0: int) -> None:
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(canvas.width, x0 + img.width), min(canvas.height, y0 + img.height)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    canvas.alpha_composite(img.crop((cx0 - x0, cy0 - y0, cx1 - x0, cy1 - y0)), (cx0, cy0))


# --- geometry ------------------------------------------------------------------------------------------------
def _adjustments(geom) -> dict[str, float]:
    out: dict[str, float] = {}
    if geom is None:
        return out
    for gd in geom.findall("a:avLst/a:gd", NS):
        formula = gd.get("fmla", "")
        if formula.startswith("val "):
            try:
                out[gd.get("name", "adj")] = int(formula[4:]) / 100000
            except ValueError:
                continue
    return out


def _transform(points: list[tuple[float, float]], box: ShapeFrame) -> list[tuple[float, float]]:
    """Flip and rotate shape points about the box centre (DrawingML rotates clockwise)."""
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    out = []
    cos, sin = math.cos(math.radians(box.rot)), math.sin(math.radians(box.rot))
    for x, y in points:
        if box.flip_h:
            x = 2 * cx - x
        if box.flip_v:
            y = 2 * cy - y
        if box.rot:
            dx, dy = x - cx, y - cy
            x, y = cx + dx * cos - dy * sin, cy + dx * sin + dy * cos
        out.append((x, y))
    return out


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, steps: int = 12) -> list:
    return [
        (
            cx + rx * math.cos(math.radians(start + (end - start) * i / steps)),
            cy + ry * math.sin(math.radians(start + (end - start) * i / steps)),
        )
        for i in range(steps + 1)
    ]


def _preset(prst: str, adj: dict[str, float], b: ShapeFrame) -> tuple[list[tuple[float, float]], bool]:
    """Outline points of a preset shape in its box; unknown presets are drawn as their box."""
    x, y, w, h = b.x, b.y, b.w, b.h
    ss = min(w, h)
    a1 = adj.get("adj", adj.get("adj1"))
    if prst in ("line", "straightConnector1", "bentConnector2", "bentConnector3", "curvedConnector3"):
        return [(x, y), (x + w, y + h)], False
    if prst in ("ellipse", "donut", "flowChartConnector", "wedgeEllipseCallout", "cloud", "pie", "chord"):
        return _arc(x + w / 2, y + h / 2, w / 2, h / 2, 0, 360, 64), True
    if prst in ("roundRect", "flowChartAlternateProcess", "flowChartTerminator", "wedgeRoundRectCallout"):
        r = ss * (a1 if a1 is not None else 0.16667)
        if prst == "flowChartTerminator":
            r = ss / 2
        r = min(r, w / 2, h / 2)
        pts = []
        pts += _arc(x + w - r, y + r, r, r, -90, 0)
        pts += _arc(x + w - r, y + h - r, r, r, 0, 90)
        pts += _arc(x + r, y + h - r, r, r, 90, 180)
        pts += _arc(x + r, y + r, r, r, 180, 270)
        return pts, True
    if prst in ("triangle", "flowChartExtract"):
        apex = a1 if a1 is not None else 0.5
        return [(x + w * apex, y), (x + w, y + h), (x, y + h)], True
    if prst == "rtTriangle":
        return [(x, y), (x + w, y + h), (x, y + h)], True
    if prst in ("diamond", "flowChartDecision"):
        return [(x + w / 2, y), (x + w, y + h / 2), (x + w / 2, y + h), (x, y + h / 2)], True
    if prst in ("parallelogram", "flowChartInputOutput"):
        o = ss * (a1 if a1 is not None else 0.25)
        return [(x + o, y), (x + w, y), (x + w - o, y + h), (x, y + h)], True
    if prst == "trapezoid":
        o = ss * (a1 if a1 is not None else 0.25)
        return [(x + o, y), (x + w - o, y), (x + w, y + h), (x, y + h)], True
    if prst in ("pentagon", "hexagon", "heptagon", "octagon", "decagon", "dodecagon"):
        n = {"pentagon": 5, "hexagon": 6, "heptagon": 7, "octagon": 8, "decagon": 10, "dodecagon": 12}[prst]
        start = -90 if n % 2 else 180 / n - 90 if n == 8 else 0
        return _arc(x + w / 2, y + h / 2, w / 2, h / 2, start, start + 360, n)[:-1], True
    if prst == "homePlate":
        o = ss * (a1 if a1 is not None else 0.5)
        return [(x, y), (x + w - o, y), (x + w, y + h / 2), (x + w - o, y + h), (x, y + h)], True
    if prst == "chevron":
        o = ss * (a1 if a1 is not None else 0.5)
        return [(x, y), (x + w - o, y), (x + w, y + h / 2), (x + w - o, y + h), (x, y + h), (x + o, y + h / 2)], True
    if prst in ("rightArrow", "leftArrow", "upArrow", "downArrow"):
        shaft = adj.get("adj1", 0.5)
        head = ss * adj.get("adj2", 0.5)
        if prst in ("rightArrow", "leftArrow"):
            t0, t1 = y + h * (1 - shaft) / 2, y + h * (1 + shaft) / 2
            pts = [
                (x, t0),
                (x + w - head, t0),
                (x + w - head, y),
                (x + w, y + h / 2),
                (x + w - head, y + h),
                (x + w - head, t1),
                (x, t1),
            ]
            if prst == "leftArrow":
                pts = [(2 * x + w - px, py) for px, py in pts]
        else:
            t0, t1 = x + w * (1 - shaft) / 2, x + w * (1 + shaft) / 2
            pts = [
                (t0, y + h),
                (t0, y + head),
                (x, y + head),
                (x + w / 2, y),
                (x + w, y + head),
                (t1, y + head),
                (t1, y + h),
            ]
            if prst == "downArrow":
                pts = [(px, 2 * y + h - py) for px, py in pts]
        return pts, True
    if prst in ("star5", "star4", "star6", "star8"):
        n = int(prst[4:])
        inner = 0.38 if n == 5 else 0.5
        pts = []
        for i in range(2 * n):
            r = 1.0 if i % 2 == 0 else inner
            ang = math.radians(-90 + i * 180 / n)
            pts.append((x + w / 2 + w / 2 * r * math.cos(ang), y + h / 2 + h / 2 * r * math.sin(ang)))
        return pts, True
    if prst in ("plus", "mathPlus"):
        t = ss * (a1 if a1 is not None else 0.25)
        return [
            (x + t, y),
            (x + w - t, y),
            (x + w - t, y + t),
            (x + w, y + t),
            (x + w, y + h - t),
            (x + w - t, y + h - t),
            (x + w - t, y + h),
            (x + t, y + h),
            (x + t, y + h - t),
            (x, y + h - t),
            (x, y + t),
            (x + t, y + t),
        ], True
    if prst == "snip1Rect":
        o = ss * (a1 if a1 is not None else 0.16667)
        return [(x, y), (x + w - o, y), (x + w, y + o), (x + w, y + h), (x, y + h)], True
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)], True


def _custom_paths(cust, b: ShapeFrame) -> list[tuple[list[tuple[float, float]], bool]]:
    out = []
    for path in cust.findall("a:pathLst/a:path", NS):
        pw = int(path.get("w", "0")) or b.w or 1
        ph = int(path.get("h", "0")) or b.h or 1
        sx, sy = b.w / pw, b.h / ph
        pts: list[tuple[float, float]] = []
        closed = False

        for cmd in path:
            kind = cmd.tag.split("}")[-1]
            anchors = [
                (b.x + float(p.get("x", "0")) * sx, b.y + float(p.get("y", "0")) * sy) for p in cmd.findall("a:pt", NS)
            ]
            if kind == "moveTo" and anchors:
                if len(pts) > 1:
                    out.append((pts, closed))
                pts, closed = [anchors[0]], False
            elif kind == "lnTo" and anchors:
                pts.append(anchors[0])
            elif kind in ("cubicBezTo", "quadBezTo") and anchors and pts:
                start = pts[-1]
                controls = [start, *anchors]
                for i in range(1, 9):
                    pts.append(_bezier(controls, i / 8))
            elif kind == "close":
                closed = True
        if len(pts) > 1:
            out.append((pts, closed or path.get("fill") != "none"))
    return out or [_preset("rect", {}, b)]


def _bezier(points: list[tuple[float, float]], t: float) -> tuple[float, float]:
    while len(points) > 1:
        points = [(a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t) for a, b in itertools.pairwise(points)]
    return points[0]
