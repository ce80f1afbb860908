"""Server-rendered SVG charts: horizontal grouped bars with a legend and a value scale.

No JavaScript and no inline style attributes (the site's CSP forbids both): colours and sizes are
SVG presentation attributes; fonts come from the site CSS (supervision.css). The geometry is
computed here and drawn by the template supervision/_chart.svg.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .selectors import COLORS, Figure, format_value

WIDTH = 720
LABEL_WIDTH = 190
VALUE_WIDTH = 110
BAR_HEIGHT = 14
BAR_GAP = 2
ROW_GAP = 10
TOP = 34
BOTTOM = 26
MAX_LABEL_CHARS = 14


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
    label = str(label)
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def _nice_max(value: float) -> float:
    """A round upper bound for the scale (1, 2, 2.5 or 5 × 10^n)."""
    if value <= 0:
        return 1
    exponent = len(str(int(value))) - 1 if value >= 1 else 0
    base = 10 ** exponent
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * base:
            return step * base
    return 10 * base


def bar_chart(figure: Figure) -> Chart:
    """Horizontal grouped bars: one group per table row, one bar per series."""
    kinds = {c.key: c.kind for c in figure.columns}
    series = figure.series
    values = [[float(row.get(key) or 0) for key, _label in series] for row in figure.rows]
    largest = max([v for vs in values for v in vs] + [0])
    smallest = min([v for vs in values for v in vs] + [0])
    top = _nice_max(largest)
    bottom = -_nice_max(-smallest) if smallest < 0 else 0
    plot_left, plot_right = LABEL_WIDTH, WIDTH - VALUE_WIDTH
    span = plot_right - plot_left

    def x_of(v: float) -> float:
        return plot_left + (v - bottom) / (top - bottom) * span

    group_height = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    rows: list[Row] = []
    y = TOP
    for row, vals in zip(figure.rows, values):
        label = str(row.get(figure.label_key, ""))
        r = Row(label=_short(label), full_label=label, y=y + group_height / 2 + 4)
        for i, ((key, series_label), v) in enumerate(zip(series, vals)):
            x0, x1 = sorted((x_of(0), x_of(v)))
            by = y + i * (BAR_HEIGHT + BAR_GAP)
            text = format_value(row.get(key), kinds.get(key, "int"))
            r.bars.append(Bar(x=round(x0, 1), y=by, width=round(max(x1 - x0, 0.5 if v else 0), 1), height=BAR_HEIGHT,
                              fill=COLORS[i % len(COLORS)], title=f"{label} · {series_label}: {text}", value_text=text,
                              text_x=round(max(x1, x_of(0)) + 4, 1), text_y=by + BAR_HEIGHT - 3))
        rows.append(r)
        y += group_height + ROW_GAP
    plot_bottom = max(y - ROW_GAP, TOP + BAR_HEIGHT)
    ticks = []
    steps = 4
    scale_kind = kinds.get(series[0][0], "int") if series else "int"
    for i in range(steps + 1):
        v = bottom + (top - bottom) * i / steps
        text = format_value(v, scale_kind) if scale_kind != "fen" else _compact_yuan(v)
        ticks.append(Tick(x=round(x_of(v), 1), text=text))
    legend = []
    lx = float(plot_left)
    for i, (_key, label) in enumerate(series):
        legend.append((round(lx, 1), round(lx + 16, 1), COLORS[i % len(COLORS)], str(label)))
        lx += 18 + text_width(str(label)) + 16
    return Chart(key=figure.key, title=str(figure.title), width=WIDTH, height=int(plot_bottom + BOTTOM),
                 plot_left=plot_left, plot_right=plot_right, plot_top=TOP, plot_bottom=int(plot_bottom), rows=rows,
                 legend=legend, ticks=ticks, empty=not figure.rows)


def text_width(text: str) -> int:
    """Rough width in pixels at the chart's font size: wide (CJK) characters count double."""
    return sum(13 if ord(ch) > 0x2E80 else 7 for ch in text)


def _compact_yuan(fen: float) -> str:
    """Axis labels for money: yuan, shortened (万 = 10,000; 亿 = 100,000,000)."""
    yuan = fen / 100
    if abs(yuan) >= 1e8:
        return f"{yuan / 1e8:g}亿"
    if abs(yuan) >= 1e4:
        return f"{yuan / 1e4:g}万"
    return f"{yuan:g}"
