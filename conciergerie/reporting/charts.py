"""Small charts drawn on the server as SVG: bars, stacked bars and lines.

The back-office's content security policy allows no inline script nor style, and
nothing is fetched from a CDN: a chart is plain SVG markup with presentation
attributes, which the browser draws as it is and WeasyPrint prints in the monthly
report. Each chart names itself for screen readers (`role="img"`, a `<title>` and
a `<desc>` that lists every value), so a chart never holds information that only
the eye can read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

Number = int | float | Decimal

#: Colours told apart by people with colour-vision deficiencies (Okabe and Ito).
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#999999",
    "#000000",
)
INK = "#1f2933"
GRID = "#d9dee3"
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


@dataclass(frozen=True)
class Series:
    """One named run of values, one per category or label of the chart."""

    name: str
    values: Sequence[Number | None]


def plain_number(value: Number | None) -> str:
    """A value as the reader's locale writes it: 3, 12,5 (French), or a dash."""
    if value is None:
        return "–"
    if isinstance(value, int) or float(value).is_integer():
        return number_format(int(value), force_grouping=True)
    return number_format(float(value), decimal_pos=1, force_grouping=True)


def _chart_id(title: str, kind: str) -> str:
    return "chart-" + hashlib.sha1(f"{kind}:{title}".encode()).hexdigest()[:10]  # noqa: S324 - an element id  # nosec B324


def _svg(
    *,
    title: str,
    description: str,
    facts: list[str],
    width: int,
    height: int,
    body: str,
    kind: str,
) -> SafeString:
    chart_id = _chart_id(title, kind)
    desc = " ".join([description, *facts]).strip()
    return mark_safe(  # noqa: S308 - every text below went through escape()  # nosec B308 B703
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" {FONT} '
        f'font-size="12" fill="{INK}">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _text(
    x: float, y: float, text: str, *, anchor: str = "start", extra: str = ""
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>'
        f"{escape(text)}</text>"
    )


def _scale_max(values: Sequence[float]) -> float:
    """A round top for the axis, at or above the largest value."""
    top = max([*values, 0.0])
    if top <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(top))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if top <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _legend(series: Sequence[Series], *, x: float, y: float) -> str:
    parts = []
    offset = x
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{offset:.1f}" y="{y - 10:.1f}" width="12" height="12" '
            f'fill="{colour}"/>'
        )
        parts.append(_text(offset + 17, y, item.name))
        # About 7 units per character at this size: the next key after the name.
        offset += 17 + 7 * len(item.name) + 20
    return "".join(parts)


def bar_chart(
    *,
    title: str,
    description: str = "",
    bars: Sequence[tuple[str, Number | None]],
    format_value: Callable[[Number | None], str] = plain_number,
    width: int = 560,
) -> SafeString:
    """Horizontal bars, one per (label, value), the value written at the end."""
    label_width, row, top = 190, 26, 8
    height = top * 2 + row * max(len(bars), 1)
    scale = _scale_max([float(value or 0) for _label, value in bars])
    room = width - label_width - 70
    body = []
    facts = []
    for index, (label, value) in enumerate(bars):
        y = top + index * row
        length = room * float(value or 0) / scale
        body.append(_text(label_width - 8, y + 16, label, anchor="end"))
        body.append(
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" '
            f'height="{row - 8}" fill="{PALETTE[0]}"><title>{escape(label)}: '
            f"{escape(format_value(value))}</title></rect>"
        )
        body.append(_text(label_width + length + 6, y + 16, format_value(value)))
        facts.append(f"{label}: {format_value(value)}.")
    body.append(
        f'<line x1="{label_width}" y1="{top}" x2="{label_width}" '
        f'y2="{height - top}" stroke="{INK}"/>'
    )
    return _svg(
        title=title,
        description=description,
        facts=facts,
        width=width,
        height=height,
        body="".join(body),
        kind="bar",
    )


def stacked_bar_chart(
    *,
    title: str,
    description: str = "",
    categories: Sequence[str],
    series: Sequence[Series],
    format_value: Callable[[Number | None], str] = plain_number,
    width: int = 560,
) -> SafeString:
    """One horizontal bar per category, split into the series' parts, with the
    total at its end and a legend below."""
    label_width, row, top = 190, 26, 8
    height = top + row * max(len(categories), 1) + 34
    totals = [
        sum(float(item.values[index] or 0) for item in series)
        for index in range(len(categories))
    ]
    scale = _scale_max(totals)
    room = width - label_width - 70
    body = []
    facts = []
    for index, category in enumerate(categories):
        y = top + index * row
        x = float(label_width)
        body.append(_text(label_width - 8, y + 16, category, anchor="end"))
        parts = []
        for number, item in enumerate(series):
            value = item.values[index]
            length = room * float(value or 0) / scale
            if length > 0:
                body.append(
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{length:.1f}" '
                    f'height="{row - 8}" fill="{PALETTE[number % len(PALETTE)]}">'
                    f"<title>{escape(category)}, {escape(item.name)}: "
                    f"{escape(format_value(value))}</title></rect>"
                )
            x += length
            parts.append(f"{item.name} {format_value(value)}")
        body.append(_text(x + 6, y + 16, format_value(totals[index])))
        facts.append(f"{category}: {', '.join(parts)}.")
    body.append(_legend(series, x=label_width, y=height - 10))
    return _svg(
        title=title,
        description=description,
        facts=facts,
        width=width,
        height=height,
        body="".join(body),
        kind="stacked",
    )


def line_chart(
    *,
    title: str,
    description: str = "",
    labels: Sequence[str],
    series: Sequence[Series],
    format_value: Callable[[Number | None], str] = plain_number,
    y_range: tuple[float, float] | None = None,
    width: int = 560,
    height: int = 240,
) -> SafeString:
    """Lines over labelled points (months); a missing value breaks the line."""
    left, right, top, bottom = 56, 36, 12, 54
    plot_width, plot_height = width - left - right, height - top - bottom
    values = [float(v) for item in series for v in item.values if v is not None]
    low, high = y_range or (min([*values, 0.0]), _scale_max(values))
    if high <= low:
        high = low + 1
    step = plot_width / max(len(labels) - 1, 1)

    def x_of(index: int) -> float:
        return left + (index * step if len(labels) > 1 else plot_width / 2)

    def y_of(value: float) -> float:
        return top + plot_height * (1 - (value - low) / (high - low))

    body = []
    for tick in range(5):
        tick_value = low + (high - low) * tick / 4
        y = y_of(tick_value)
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
        )
        body.append(
            _text(left - 6, y + 4, format_value(round(tick_value, 1)), anchor="end")
        )
    for index, label in enumerate(labels):
        body.append(_text(x_of(index), top + plot_height + 18, label, anchor="middle"))
    facts = []
    for number, item in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        runs: list[list[str]] = [[]]
        for index, value in enumerate(item.values):
            if value is None:
                runs.append([])
                continue
            point = f"{x_of(index):.1f},{y_of(float(value)):.1f}"
            runs[-1].append(point)
            body.append(
                f'<circle cx="{x_of(index):.1f}" cy="{y_of(float(value)):.1f}" r="3.5" '
                f'fill="{colour}"><title>{escape(item.name)}, {escape(labels[index])}: '
                f"{escape(format_value(value))}</title></circle>"
            )
        for run in runs:
            if len(run) > 1:
                body.append(
                    f'<polyline points="{" ".join(run)}" fill="none" '
                    f'stroke="{colour}" stroke-width="2"/>'
                )
        listed = ", ".join(
            f"{label} {format_value(value)}"
            for label, value in zip(labels, item.values, strict=True)
        )
        facts.append(f"{item.name}: {listed}.")
    body.append(_legend(series, x=left, y=height - 8))
    return _svg(
        title=title,
        description=description,
        facts=facts,
        width=width,
        height=height,
        body="".join(body),
        kind="line",
    )
