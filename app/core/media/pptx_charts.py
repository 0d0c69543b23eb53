"""Native PowerPoint charts drawn from their cached data (bar, column, line, area, pie, doughnut, scatter,
bubble, radar; 3-D variants drawn flat).

The series values live in the chart part's XML caches, so a chart can be drawn without Excel or the embedded
workbook. The chart XML is read directly rather than through python-pptx, whose series classes stop at the
common chart types.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from app.core.media.pptx_style import NS, RGBA, Theme, font

C = "{{{}}}".format(NS["c"])
GRID = (217, 217, 217, 255)
AXIS = (134, 134, 134, 255)
TEXT = (64, 64, 64, 255)


@dataclass
class Series:
    name: str
    categories: list[str]
    values: list[float | None]
    xs: list[float | None] = field(default_factory=list)
    sizes: list[float | None] = field(default_factory=list)
    color: RGBA | None = None
    line: RGBA | None = None
    point_colors: dict[int, RGBA] = field(default_factory=dict)
    explosion: float = 0.0
    no_line: bool = False
    marker: bool = True


@dataclass
class Plot:
    kind: str  # bar, line, area, pie, doughnut, scatter, bubble, radar
    series: list[Series]
    horizontal: bool = False
    grouping: str = "clustered"
    vary_colors: bool = False
    gap: float = 1.5
    overlap: float = 0.0
    style: str = ""
    first_angle: float = 0.0
    hole: float = 0.5


def _val(el, path: str, default: str | None = None) -> str | None:
    found = el.find(path, NS)
    return found.get("val", default) if found is not None else default


def _points(el) -> list[str | None]:
    """Cached values of a c:cat / c:val / c:tx reference, by point index."""
    if el is None:
        return []
    cache = None
    for path in (".//c:strCache", ".//c:numCache", ".//c:multiLvlStrCache/c:lvl"):
        cache = el.find(path, NS)
        if cache is not None:
            break
    if cache is None:
        literal = el.find("c:v", NS)
        return [literal.text] if literal is not None else []
    count = int(_val(cache, "c:ptCount", "0") or 0)
    out: list[str | None] = [None] * count
    for pt in cache.findall("c:pt", NS):
        idx = int(pt.get("idx", "0"))
        v = pt.find("c:v", NS)
        if idx >= len(out):
            out.extend([None] * (idx + 1 - len(out)))
        out[idx] = v.text if v is not None else None
    return out


def _numbers(values: list[str | None]) -> list[float | None]:
    out: list[float | None] = []
    for v in values:
        try:
            out.append(float(v) if v is not None else None)
        except ValueError:
            out.append(None)
    return out


def _format_code(el) -> str:
    found = el.find(".//c:formatCode", NS) if el is not None else None
    return found.text if found is not None and found.text else "General"


def _series(ser, theme: Theme, index: int) -> Series:
    name_points = _points(ser.find("c:tx", NS))
    name = name_points[0] if name_points and name_points[0] else f"Series {index + 1}"
    cat_el = ser.find("c:cat", NS)
    cats = _points(cat_el)
    code = _format_code(cat_el)
    categories = [_format_value(c, code) if c is not None else "" for c in cats]
    values = _numbers(_points(ser.find("c:val", NS)) or _points(ser.find("c:yVal", NS)))
    xs = _numbers(_points(ser.find("c:xVal", NS)))
    sizes = _numbers(_points(ser.find("c:bubbleSize", NS)))
    sp_pr = ser.find("c:spPr", NS)
    color = theme.color_in(sp_pr.find("a:solidFill", NS)) if sp_pr is not None else None
    if color is None and sp_pr is not None:
        stop = sp_pr.find("a:gradFill/a:gsLst/a:gs", NS)
        color = theme.color_in(stop) if stop is not None else None
    line = theme.color_in(sp_pr.find("a:ln/a:solidFill", NS)) if sp_pr is not None else None
    no_line = sp_pr is not None and sp_pr.find("a:ln/a:noFill", NS) is not None
    points: dict[int, RGBA] = {}
    for dpt in ser.findall("c:dPt", NS):
        fill = dpt.find("c:spPr/a:solidFill", NS)
        if fill is not None:
            c = theme.color_in(fill)
            if c is not None:
                points[int(_val(dpt, "c:idx", "0") or 0)] = c
    explosion = int(_val(ser, "c:explosion", "0") or 0) / 100
    marker = _val(ser, "c:marker/c:symbol", "auto") != "none"
    return Series(name, categories, values, xs, sizes, color, line, points, explosion, no_line, marker)


_KINDS = {
    "barChart": "bar",
    "bar3DChart": "bar",
    "lineChart": "line",
    "line3DChart": "line",
    "stockChart": "line",
    "areaChart": "area",
    "area3DChart": "area",
    "pieChart": "pie",
    "pie3DChart": "pie",
    "ofPieChart": "pie",
    "doughnutChart": "doughnut",
    "scatterChart": "scatter",
    "bubbleChart": "bubble",
    "radarChart": "radar",
}


def read_plots(plot_area, theme: Theme) -> tuple[list[Plot], list[str]]:
    plots: list[Plot] = []
    skipped: list[str] = []
    index = 0
    for el in plot_area:
        tag = el.tag.split("}")[-1]
        if not tag.endswith("Chart"):
            continue
        kind = _KINDS.get(tag)
        if kind is None:
            skipped.append(tag)
            continue
        series = []
        for ser in el.findall("c:ser", NS):
            series.append(_series(ser, theme, index))
            index += 1
        plot = Plot(kind, series)
        plot.horizontal = _val(el, "c:barDir", "col") == "bar"
        plot.grouping = _val(el, "c:grouping", "clustered" if kind == "bar" else "standard") or "standard"
        plot.vary_colors = _val(el, "c:varyColors", "0") in ("1", "true")
        plot.gap = int(_val(el, "c:gapWidth", "150") or 150) / 100
        plot.overlap = int(_val(el, "c:overlap", "0") or 0) / 100
        plot.style = _val(el, "c:scatterStyle", "") or _val(el, "c:radarStyle", "") or ""
        plot.first_angle = float(_val(el, "c:firstSliceAng", "0") or 0)
        plot.hole = int(_val(el, "c:holeSize", "50") or 50) / 100
        plots.append(plot)
    return plots, skipped


def _format_value(raw: str, code: str) -> str:
    try:
        number = float(raw)
    except ValueError:
        return raw
    lowered = code.lower()
    if any(t in lowered for t in ("yy", "mmm", "d/", "/d", "m/d", "d-")) and "0" not in lowered:
        day = datetime.date(1899, 12, 30) + datetime.timedelta(days=int(number))
        if "mmm" in lowered:
            return f"{day.day}-{day.strftime('%b')}" + (f"-{day.strftime('%y')}" if "yy" in lowered else "")
        return f"{day.month}/{day.day}/{day.strftime('%y')}"
    return _number(number, code)


def _number(v: float, code: str = "General") -> str:
    if "%" in code:
        decimals = code.split(".")[1].count("0") if "." in code else 0
        return f"{v * 100:.{decimals}f}%"
    if "." in code and "0" in code.split(".")[1]:
        return f"{v:.{code.split('.')[1].count('0')}f}"
    if float(v).is_integer():
        return f"{int(v):,}" if "," in code else str(int(v))
    return f"{v:.6g}"


def nice_ticks(lo: float, hi: float, count: int = 8) -> list[float]:
    """Axis ticks at 1, 2 or 5 times a power of ten that cover [lo, hi]."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step + 1e-9) * step
    ticks = []
    v = start
    while v < hi + step * 0.999:
        ticks.append(round(v, 10))
        v += step
        if len(ticks) > 50:
            break
    return ticks


def draw_chart(
    canvas: Image.Image,
    box: tuple[float, float, float, float],
    chart_space,
    theme: Theme,
    px_per_pt: float,
    notes: list[str],
) -> None:
    """Draw the chart in ``chart_space`` (a c:chartSpace element) into ``box`` (pixels) on ``canvas``."""
    x, y, w, h = box
    chart = chart_space.find("c:chart", NS)
    if chart is None or w < 4 or h < 4:
        return
    plot_area = chart.find("c:plotArea", NS)
    plots, skipped = read_plots(plot_area, theme) if plot_area is not None else ([], [])
    for tag in skipped:
        notes.append(f"a {tag} cannot be drawn here and was left out")
    if not plots:
        return
    draw = ImageDraw.Draw(canvas)
    size_el = chart_space.find("c:txPr/a:p/a:pPr/a:defRPr", NS)
    text_pt = int(size_el.get("sz", "1000")) / 100 if size_el is not None and size_el.get("sz") else 10.0
    label_font = font(max(6, round(text_pt * px_per_pt)))
    pad = 6 * px_per_pt
    top = y + pad
    title = _title(chart, plots)
    if title:
        title_font = font(max(8, round(text_pt * 1.2 * px_per_pt)), bold=True)
        draw.text((x + w / 2, top), title, font=title_font, fill=TEXT, anchor="ma")
        top += title_font.size * 1.4
    area = [x + pad, top, x + w - pad, y + h - pad]
    legend = chart.find("c:legend", NS)
    if legend is not None:
        area = _legend(draw, plots, area, _val(legend, "c:legendPos", "r") or "r", label_font, theme)
    kinds = {p.kind for p in plots}
    if kinds & {"pie", "doughnut"}:
        _pie(draw, canvas, next(p for p in plots if p.kind in ("pie", "doughnut")), area, theme, px_per_pt)
    elif "radar" in kinds:
        _radar(draw, next(p for p in plots if p.kind == "radar"), area, theme, label_font, px_per_pt, plot_area)
    elif kinds & {"scatter", "bubble"}:
        _xy(draw, [p for p in plots if p.kind in ("scatter", "bubble")], area, theme, label_font, px_per_pt, plot_area)
    else:
        _category(draw, canvas, plots, area, theme, label_font, px_per_pt, plot_area)


def _title(chart, plots: list[Plot]) -> str:
    """The chart's own title; else, as Office does, the series name of a single-series chart."""
    title = chart.find("c:title", NS)
    if _val(chart, "c:autoTitleDeleted", "0") in ("1", "true"):
        return ""
    text = "".join(t.text or "" for t in title.iterfind(".//a:t", NS)) if title is not None else ""
    if text:
        return text
    series = [s for p in plots for s in p.series]
    if len(series) == 1:
        return series[0].name
    return "Chart Title" if title is not None else ""


def _series_color(theme: Theme, plot: Plot, index: int, series: Series) -> RGBA:
    return series.color or series.line or theme.accent(index)


def _legend(draw, plots: list[Plot], area: list[float], pos: str, fnt, theme: Theme) -> list[float]:
    entries: list[tuple[str, RGBA]] = []
    index = 0
    for plot in plots:
        if plot.kind in ("pie", "doughnut") or (plot.vary_colors and len(plot.series) == 1):
            s = plot.series[0] if plot.series else None
            if s is not None:
                for i, cat in enumerate(s.categories or [str(i + 1) for i in range(len(s.values))]):
                    entries.append((cat, s.point_colors.get(i) or theme.accent(i)))
            continue
        for s in plot.series:
            entries.append((s.name, _series_color(theme, plot, index, s)))
            index += 1
    if not entries:
        return area
    line_h = fnt.size * 1.4
    key = fnt.size * 0.8
    x0, y0, x1, y1 = area
    if pos in ("r", "l", "tr"):
        width = max(fnt.getlength(t) for t, _ in entries) + key * 2
        width = min(width, (x1 - x0) * 0.4)
        lx = x1 - width if pos != "l" else x0
        ly = y0 + ((y1 - y0) - line_h * len(entries)) / 2
        for text, color in entries:
            draw.rectangle([lx, ly + (line_h - key) / 2, lx + key, ly + (line_h + key) / 2], fill=color)
            draw.text((lx + key * 1.5, ly + line_h / 2), text, font=fnt, fill=TEXT, anchor="lm")
            ly += line_h
        return [x0, y0, lx - key, y1] if pos != "l" else [x0 + width + key, y0, x1, y1]
    total = sum(fnt.getlength(t) + key * 3 for t, _ in entries)
    lx = x0 + max(0.0, ((x1 - x0) - total) / 2)
    ly = y1 - line_h if pos == "b" else y0
    for text, color in entries:
        draw.rectangle([lx, ly + (line_h - key) / 2, lx + key, ly + (line_h + key) / 2], fill=color)
        draw.text((lx + key * 1.5, ly + line_h / 2), text, font=fnt, fill=TEXT, anchor="lm")
        lx += fnt.getlength(text) + key * 3
    return [x0, y0, x1, y1 - line_h] if pos == "b" else [x0, y0 + line_h, x1, y1]


def _axis(plot_area, kind: str, index: int = 0):
    found = plot_area.findall(f"c:{kind}", NS)
    return found[index] if len(found) > index else None


def _deleted(axis) -> bool:
    """Whether an axis shows no labels: deleted, or its tick labels switched off."""
    return axis is None or _val(axis, "c:delete", "0") in ("1", "true") or _val(axis, "c:tickLblPos") == "none"


def _category(draw, canvas, plots: list[Plot], area, theme: Theme, fnt, px_per_pt: float, plot_area) -> None:
    """Bar, column, line and area charts sharing one category axis and one value axis."""
    n = max((max(len(s.values), len(s.categories)) for p in plots for s in p.series), default=0)
    if n == 0:
        return
    categories = next((s.categories for p in plots for s in p.series if s.categories), [str(i + 1) for i in range(n)])
    horizontal = any(p.kind == "bar" and p.horizontal for p in plots)
    percent = any(p.grouping == "percentStacked" for p in plots)
    lo, hi = 0.0, 0.0
    for p in plots:
        stacked = p.grouping in ("stacked", "percentStacked")
        for i in range(n):
            if stacked:
                pos = sum(max(0.0, s.values[i] or 0) for s in p.series if i < len(s.values))
                neg = sum(min(0.0, s.values[i] or 0) for s in p.series if i < len(s.values))
                if p.grouping == "percentStacked":
                    pos, neg = (1.0 if pos else 0.0), (-1.0 if neg else 0.0)
                hi, lo = max(hi, pos), min(lo, neg)
            else:
                for s in p.series:
                    v = s.values[i] if i < len(s.values) else None
                    if v is not None:
                        hi, lo = max(hi, v), min(lo, v)
    val_axis = _axis(plot_area, "valAx")
    cat_axis = _axis(plot_area, "catAx")
    if cat_axis is None:
        cat_axis = _axis(plot_area, "dateAx")
    # Like Office, leave some headroom above the largest value before rounding to a tick.
    span = hi - lo
    hi, lo = (hi + span * 0.05 if hi > 0 else hi), (lo - span * 0.05 if lo < 0 else lo)
    if val_axis is not None:
        lo = float(_val(val_axis, "c:scaling/c:min", str(lo)) or lo)
        hi = float(_val(val_axis, "c:scaling/c:max", str(hi)) or hi)
    code = "0%" if percent else "General"
    num_fmt = val_axis.find("c:numFmt", NS) if val_axis is not None else None
    if num_fmt is not None and not percent:
        code = num_fmt.get("formatCode", code)
    length = (area[2] - area[0]) if horizontal else (area[3] - area[1])
    count = 8
    while True:
        ticks = nice_ticks(0, 1, count) if percent else nice_ticks(lo, hi, count)
        labels = [_number(t, code) for t in ticks]
        need = sum(fnt.getlength(t) + fnt.size for t in labels) if horizontal else len(ticks) * fnt.size * 1.6
        if need <= length or count <= 2:
            break
        count -= 1
    lo, hi = ticks[0], ticks[-1]
    show_val = not _deleted(val_axis)
    show_cat = not _deleted(cat_axis)
    x0, y0, x1, y1 = area
    gap = fnt.size * 0.5
    if horizontal:
        if show_val:
            y1 -= fnt.size * 1.4
        if show_cat:
            x0 += min((x1 - x0) * 0.3, max((fnt.getlength(c) for c in categories), default=0) + gap)
    else:
        if show_val:
            x0 += max(fnt.getlength(t) for t in labels) + gap
        if show_cat:
            y1 -= fnt.size * 1.4
    if x1 - x0 < 4 or y1 - y0 < 4:
        return

    def vpos(v: float) -> float:
        t = (v - lo) / (hi - lo) if hi > lo else 0
        return x0 + t * (x1 - x0) if horizontal else y1 - t * (y1 - y0)

    gridlines = val_axis is None or val_axis.find("c:majorGridlines", NS) is not None
    for t, label in zip(ticks, labels, strict=True):
        at = vpos(t)
        if gridlines:
            line = [at, y0, at, y1] if horizontal else [x0, at, x1, at]
            draw.line(line, fill=GRID, width=max(1, round(px_per_pt * 0.75)))
        if show_val:
            if horizontal:
                draw.text((at, y1 + gap / 2), label, font=fnt, fill=TEXT, anchor="ma")
            else:
                draw.text((x0 - gap, at), label, font=fnt, fill=TEXT, anchor="rm")
    band = ((y1 - y0) if horizontal else (x1 - x0)) / n
    zero = vpos(max(lo, min(hi, 0.0)))
    index = 0
    for plot in sorted(plots, key=lambda p: p.kind != "area"):
        colors = [_series_color(theme, plot, index + k, s) for k, s in enumerate(plot.series)]
        index += len(plot.series)
        if plot.kind == "bar":
            _bars(draw, plot, colors, n, band, vpos, zero, horizontal, (x0, y0, x1, y1))
        elif plot.kind == "area":
            _areas(canvas, plot, colors, n, vpos, (x0, y0, x1, y1))
        else:
            _lines(draw, plot, colors, n, band, vpos, (x0, y0, x1, y1), px_per_pt)
    axis_line = [x0, y0, x0, y1] if horizontal else [x0, zero, x1, zero]
    draw.line(axis_line, fill=AXIS, width=max(1, round(px_per_pt * 0.75)))
    if show_cat:
        step = 1
        widest = max((fnt.getlength(c) for c in categories), default=0)
        if not horizontal:
            while step < n and widest > band * step * 0.95:
                step += 1
        for i, cat in enumerate(categories[:n]):
            if i % step:
                continue
            if horizontal:
                draw.text((x0 - gap, y1 - (i + 0.5) * band), cat, font=fnt, fill=TEXT, anchor="rm")
            else:
                draw.text((x0 + (i + 0.5) * band, y1 + gap / 2), cat, font=fnt, fill=TEXT, anchor="ma")


def _bars(draw, plot: Plot, colors, n: int, band: float, vpos, zero: float, horizontal: bool, area) -> None:
    stacked = plot.grouping in ("stacked", "percentStacked")
    count = 1 if stacked else max(1, len(plot.series))
    overlap = 1.0 if stacked else plot.overlap
    bar = band / (count - (count - 1) * overlap + plot.gap)
    group = bar * (count - (count - 1) * overlap)
    for i in range(n):
        pos_base, neg_base = 0.0, 0.0
        total = sum(abs(s.values[i] or 0) for s in plot.series if i < len(s.values)) or 1.0
        for k, s in enumerate(plot.series):
            v = s.values[i] if i < len(s.values) else None
            if v is None:
                continue
            if plot.grouping == "percentStacked":
                v = v / total
            if stacked:
                start = pos_base if v >= 0 else neg_base
                end = start + v
                if v >= 0:
                    pos_base = end
                else:
                    neg_base = end
                offset = (band - group) / 2
            else:
                start, end = 0.0, v
                offset = (band - group) / 2 + k * bar * (1 - overlap)
            a, b = vpos(start) if stacked else zero, vpos(end)
            color = s.point_colors.get(i) or (colors[k] if not plot.vary_colors or len(plot.series) > 1 else None)
            color = color or colors[k]
            if horizontal:  # categories and series run bottom-up
                bottom = area[3] - i * band - offset
                rect = [min(a, b), bottom - bar, max(a, b), bottom]
            else:
                left = area[0] + i * band + offset
                rect = [left, min(a, b), left + bar, max(a, b)]
            draw.rectangle(rect, fill=color)


def _areas(canvas, plot: Plot, colors, n: int, vpos, area) -> None:
    x0, _y0, x1, _y1 = area
    step = (x1 - x0) / max(1, n - 1)
    stacked = plot.grouping in ("stacked", "percentStacked")
    base = [0.0] * n
    totals = [sum(abs(s.values[i] or 0) for s in plot.series if i < len(s.values)) or 1.0 for i in range(n)]
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    shapes = []
    for k, s in enumerate(plot.series):
        vals = [(s.values[i] or 0.0) if i < len(s.values) else 0.0 for i in range(n)]
        if plot.grouping == "percentStacked":
            vals = [v / totals[i] for i, v in enumerate(vals)]
        top = [base[i] + vals[i] if stacked else vals[i] for i in range(n)]
        bottom = base if stacked else [0.0] * n
        pts = [(x0 + i * step, vpos(top[i])) for i in range(n)]
        pts += [(x0 + i * step, vpos(bottom[i])) for i in reversed(range(n))]
        shapes.append((pts, colors[k]))
        if stacked:
            base = top
    # Unstacked areas overlap: Office draws the first series in front.
    for pts, color in shapes if stacked else reversed(shapes):
        draw.polygon(pts, fill=color)
    canvas.alpha_composite(layer)


def _lines(draw, plot: Plot, colors, n: int, band: float, vpos, area, px_per_pt: float) -> None:
    x0 = area[0]
    stacked = plot.grouping in ("stacked", "percentStacked")
    base = [0.0] * n
    totals = [sum(abs(s.values[i] or 0) for s in plot.series if i < len(s.values)) or 1.0 for i in range(n)]
    width = max(1, round(2.25 * px_per_pt))
    for k, s in enumerate(plot.series):
        vals = [s.values[i] if i < len(s.values) else None for i in range(n)]
        if plot.grouping == "percentStacked":
            vals = [(v / totals[i]) if v is not None else None for i, v in enumerate(vals)]
        if stacked:
            vals = [(base[i] + v) if v is not None else None for i, v in enumerate(vals)]
            base = [v if v is not None else base[i] for i, v in enumerate(vals)]
        pts = [(x0 + (i + 0.5) * band, vpos(v)) for i, v in enumerate(vals) if v is not None]
        color = s.line or colors[k]
        if len(pts) > 1 and not s.no_line:
            draw.line(pts, fill=color, width=width, joint="curve")
        if s.marker and plot.style != "standard":
            r = 2.5 * px_per_pt
            for px, py in pts:
                draw.rectangle([px - r, py - r, px + r, py + r], fill=color)


def _xy(draw, plots: list[Plot], area, theme: Theme, fnt, px_per_pt: float, plot_area) -> None:
    xs_all = [x for p in plots for s in p.series for x in (s.xs or range(1, len(s.values) + 1)) if x is not None]
    ys_all = [v for p in plots for s in p.series for v in s.values if v is not None]
    if not xs_all or not ys_all:
        return
    xt = nice_ticks(min(0.0, min(xs_all)), max(xs_all), 6)
    yt = nice_ticks(min(0.0, min(ys_all)), max(ys_all), 6)
    x_axis, y_axis = _axis(plot_area, "valAx", 0), _axis(plot_area, "valAx", 1)
    x0, y0, x1, y1 = area
    gap = fnt.size * 0.5
    y_labels = [_number(t) for t in yt]
    if not _deleted(y_axis):
        x0 += max(fnt.getlength(t) for t in y_labels) + gap
    if not _deleted(x_axis):
        y1 -= fnt.size * 1.4

    def px(v: float) -> float:
        return x0 + (v - xt[0]) / (xt[-1] - xt[0]) * (x1 - x0)

    def py(v: float) -> float:
        return y1 - (v - yt[0]) / (yt[-1] - yt[0]) * (y1 - y0)

    thin = max(1, round(px_per_pt * 0.75))
    for t, label in zip(yt, y_labels, strict=True):
        draw.line([x0, py(t), x1, py(t)], fill=GRID, width=thin)
        if not _deleted(y_axis):
            draw.text((x0 - gap, py(t)), label, font=fnt, fill=TEXT, anchor="rm")
    if not _deleted(x_axis):
        for t in xt:
            draw.text((px(t), y1 + gap / 2), _number(t), font=fnt, fill=TEXT, anchor="ma")
    draw.line([x0, y1, x1, y1], fill=AXIS, width=thin)
    index = 0
    biggest = max((abs(z) for p in plots for s in p.series for z in s.sizes if z is not None), default=1.0) or 1.0
    for plot in plots:
        for s in plot.series:
            color = s.color or s.line or theme.accent(index)
            index += 1
            xs = s.xs or [float(i + 1) for i in range(len(s.values))]
            pts = [(px(x), py(v)) for x, v in zip(xs, s.values, strict=False) if x is not None and v is not None]
            if plot.kind == "bubble":
                for (cx, cy), z in zip(pts, s.sizes or [1.0] * len(pts), strict=False):
                    r = 0.125 * min(x1 - x0, y1 - y0) * math.sqrt(abs(z or 0) / biggest)
                    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=s.color or theme.accent(index - 1))
                continue
            lines = plot.style in ("line", "lineMarker", "smooth", "smoothMarker") and not s.no_line
            if lines and len(pts) > 1:
                path = _smooth(pts) if plot.style.startswith("smooth") else pts
                draw.line(path, fill=s.line or color, width=max(1, round(2.25 * px_per_pt)), joint="curve")
            if s.marker and plot.style in ("lineMarker", "marker", "smoothMarker", ""):
                r = 2.5 * px_per_pt
                for cx, cy in pts:
                    draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=color)


def _smooth(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Catmull-Rom through the points, as Office's smoothed lines look."""
    out: list[tuple[float, float]] = []
    ext = [pts[0], *pts, pts[-1]]
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        for j in range(10):
            t = j / 10
            t2, t3 = t * t, t * t * t
            x, y = (
                0.5
                * (
                    2 * p1[k]
                    + (-p0[k] + p2[k]) * t
                    + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t2
                    + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t3
                )
                for k in range(2)
            )
            out.append((x, y))
    out.append(pts[-1])
    return out


def _pie(draw, canvas, plot: Plot, area, theme: Theme, px_per_pt: float) -> None:
    if not plot.series:
        return
    s = plot.series[0]
    values = [max(0.0, v or 0.0) for v in s.values]
    total = sum(values)
    if total <= 0:
        return
    x0, y0, x1, y1 = area
    r = min(x1 - x0, y1 - y0) / 2 * 0.95
    explode = r * s.explosion / (1 + s.explosion) if s.explosion else 0.0
    r -= explode
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    angle = plot.first_angle - 90
    for i, v in enumerate(values):
        sweep = v / total * 360
        mid = math.radians(angle + sweep / 2)
        ox, oy = cx + explode * math.cos(mid), cy + explode * math.sin(mid)
        color = s.point_colors.get(i) or (theme.accent(i) if plot.vary_colors or plot.kind == "doughnut" else None)
        color = color or s.color or theme.accent(0)
        if sweep > 0:
            draw.pieslice(
                [ox - r, oy - r, ox + r, oy + r],
                angle,
                angle + sweep,
                fill=color,
                outline=(255, 255, 255, 255),
                width=max(1, round(px_per_pt)),
            )
        angle += sweep
    if plot.kind == "doughnut":
        hole = r * plot.hole
        draw.ellipse([cx - hole, cy - hole, cx + hole, cy + hole], fill=(255, 255, 255, 255))


def _radar(draw, plot: Plot, area, theme: Theme, fnt, px_per_pt: float, plot_area) -> None:
    n = max((len(s.values) for s in plot.series), default=0)
    if n < 3:
        return
    categories = next((s.categories for s in plot.series if s.categories), [str(i + 1) for i in range(n)])
    values = [v for s in plot.series for v in s.values if v is not None]
    ticks = nice_ticks(min(0.0, min(values, default=0)), max(values, default=1), 3)
    x0, y0, x1, y1 = area
    label_w = max((fnt.getlength(c) for c in categories), default=0)
    r = max(4.0, min((x1 - x0) / 2 - label_w - fnt.size, (y1 - y0) / 2 - fnt.size * 1.6))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2

    def point(i: int, v: float) -> tuple[float, float]:
        t = (v - ticks[0]) / (ticks[-1] - ticks[0])
        a = math.radians(-90 + i * 360 / n)
        return cx + r * t * math.cos(a), cy + r * t * math.sin(a)

    thin = max(1, round(px_per_pt * 0.75))
    for t in ticks[1:]:
        ring = [point(i, t) for i in range(n)]
        draw.line([*ring, ring[0]], fill=GRID, width=thin)
    for i in range(n):
        draw.line([(cx, cy), point(i, ticks[-1])], fill=GRID, width=thin)
        lx, ly = point(i, ticks[-1] + (ticks[-1] - ticks[0]) * 0.12)
        anchor = "mm" if abs(lx - cx) < 2 else ("lm" if lx > cx else "rm")
        draw.text((lx, ly), categories[i] if i < len(categories) else "", font=fnt, fill=TEXT, anchor=anchor)
    if not _deleted(_axis(plot_area, "valAx")):
        for t in ticks:
            px, py = point(0, t)
            draw.text((px + fnt.size * 0.3, py), _number(t), font=fnt, fill=TEXT, anchor="lm")
    for k, s in enumerate(plot.series):
        color = s.color or s.line or theme.accent(k)
        pts = [point(i, v) for i, v in enumerate(s.values) if v is not None]
        if len(pts) < 2:
            continue
        if plot.style == "filled":
            draw.polygon(pts, fill=color)
        else:
            draw.line([*pts, pts[0]], fill=s.line or color, width=max(1, round(2.25 * px_per_pt)), joint="curve")
