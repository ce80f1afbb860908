"""Server-rendered SVG charts: horizontal grouped bars with a legend and a value scale.

No JavaScript and no inline style attributes (the site's CSP forbids both): colours and sizes are
SVG presentation attributes; fonts come from the site CSS (supervision.css). The geometry is
computed here and drawn by the template supervision/_chart.svg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.utils.translation import get_language

from .selectors import COLORS, Figure, format_value

WIDTH = 600
LABEL_WIDTH = 150
VALUE_WIDTH = 70
BAR_HEIGHT = 14
BAR_GAP = 2
ROW_GAP = 10
TOP = 34
BOTTOM = 26


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str
    value_text: str
    text_x: float
    text_y: float


@dataclass
class Row:
    label: str
    full_label: str
    y: float
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Tick:
    x: float
    text: str


@dataclass
class Chart:
    key: str
    title: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    rows: list[Row]
    legend: list[tuple[float, float, str, str]]  # x, text x, colour, label
    ticks: list[Tick]
    empty: bool


def _short(label: str) -> str:
    """The label cut to fit the label column (the full label is the SVG <title> and in the table)."""
    label = str(label)
    room = LABEL_WIDTH - 14
    if text_width(label, size=12) <= room:
        return label
    out = ""
    for ch in label:
        if text_width(out + ch + "…", size=12) > room:
            break
        out += ch
    return out + "…"


def _nice_max(value: float) -> float:
    """A round upper bound for the scale (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 or 10 × 10^n)."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value))
    base = 10 ** exponent
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * base * (1 + 1e-9):
            return step * base
    return 10 * base


def money_label(fen: float) -> str:
    """Short yuan for axes and bar ends: 万/亿 in Chinese, K/M/B otherwise (the table has exact figures)."""
    yuan = fen / 100
    if (get_language() or "").startswith("zh"):
        units = ((1e8, "亿"), (1e4, "万"))
    else:
        units = ((1e9, "B"), (1e6, "M"), (1e3, "K"))
    for size, unit in units:
        if abs(yuan) >= size:
            return f"{yuan / size:.3g}{unit}"
    return f"{yuan:.3g}" if yuan else "0"


def _label(value, kind: str) -> str:
    return money_label(float(value or 0)) if kind == "fen" else format_value(value, kind)


def bar_chart(figure: Figure) -> Chart:
    """Horizontal bars, one group per table row: side by side, or stacked when the series add up."""
    kinds = {c.key: c.kind for c in figure.columns}
    series = figure.series
    rows_data = figure.display_rows
    values = [[max(float(row.get(key) or 0), 0) if figure.stacked else float(row.get(key) or 0) for key, _l in series]
              for row in rows_data]
    totals = [sum(vs) for vs in values] if figure.stacked else [v for vs in values for v in vs]
    largest = max(totals + [0])
    smallest = min(totals + [0])
    top = _nice_max(largest)
    bottom = -_nice_max(-smallest) if smallest < 0 else 0
    plot_left, plot_right = LABEL_WIDTH, WIDTH - VALUE_WIDTH
    span = plot_right - plot_left

    def x_of(v: float) -> float:
        return plot_left + (v - bottom) / (top - bottom) * span

    lanes = 1 if figure.stacked else len(series)
    group_height = lanes * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    rows: list[Row] = []
    y = TOP
    for row, vals in zip(rows_data, values):
        label = str(row.get(figure.label_key, ""))
        r = Row(label=_short(label), full_label=label, y=y + group_height / 2 + 4)
        start = 0.0
        for i, ((key, series_label), v) in enumerate(zip(series, vals)):
            lane = 0 if figure.stacked else i
            base = start if figure.stacked else 0.0
            x0, x1 = sorted((x_of(base), x_of(base + v)))
            by = y + lane * (BAR_HEIGHT + BAR_GAP)
            kind = kinds.get(key, "int")
            last = not figure.stacked or i == len(series) - 1
            end_text = _label(sum(vals), kind) if figure.stacked else _label(row.get(key), kind)
            r.bars.append(Bar(x=round(x0, 1), y=by, width=round(max(x1 - x0, 0.5 if v else 0), 1), height=BAR_HEIGHT,
                              fill=COLORS[i % len(COLORS)],
                              title=f"{label} · {series_label}: {format_value(row.get(key), kind)}",
                              value_text=end_text if last else "",
                              text_x=round(max(x1, x_of(0)) + 4, 1), text_y=by + BAR_HEIGHT - 3))
            if figure.stacked:
                start += v
        rows.append(r)
        y += group_height + ROW_GAP
    plot_bottom = max(y - ROW_GAP, TOP + BAR_HEIGHT)
    ticks = []
    steps = 4
    scale_kind = kinds.get(series[0][0], "int") if series else "int"
    for i in range(steps + 1):
        v = bottom + (top - bottom) * i / steps
        if scale_kind == "int" and v != int(v):
            continue  # whole numbers only on a count scale
        ticks.append(Tick(x=round(x_of(v), 1), text=_label(v, scale_kind)))
    legend = []
    lx = float(plot_left)
    for i, (_key, label) in enumerate(series):
        legend.append((round(lx, 1), round(lx + 16, 1), COLORS[i % len(COLORS)], str(label)))
        lx += 18 + text_width(str(label)) + 16
    return Chart(key=figure.key, title=str(figure.title), width=WIDTH, height=int(plot_bottom + BOTTOM),
                 plot_left=plot_left, plot_right=plot_right, plot_top=TOP, plot_bottom=int(plot_bottom), rows=rows,
                 legend=legend, ticks=ticks, empty=not rows_data)


def text_width(text: str, size: int = 12) -> float:
    """Rough width in pixels at a font size: wide (CJK) characters are about twice as wide."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.58 for ch in text)
