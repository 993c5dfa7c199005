"""A lab value over time as a small, accessible SVG chart (no JavaScript).

The chart has a title and a description (read by screen readers), the reference band, a line
through the points, the first and last date and the band's limits as axis labels, and each
value outside the band drawn as a triangle (pointing down: below, up: above), not only in
another colour. The page shows a table of the same values beside it.

Example:
    >>> from datetime import date
    >>> from mgadvisor.i18n import Translator
    >>> series = Series("Serum magnesium", "mmol/L", 0.75, 0.95,
    ...                 (Point(date(2026, 1, 5), 0.68), Point(date(2026, 3, 2), 0.8)))
    >>> svg = trend_svg(series, Translator("en"))
    >>> svg.startswith("<svg") and "<title" in svg and 'class="band"' in svg
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from mgadvisor.i18n import Translator

WIDTH, HEIGHT = 320, 170
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 34  # margins: room for the axis labels
BAND_FILL, LINE, POINT, OUTSIDE = "#d8eedd", "#33526b", "#33526b", "#b3261e"


@dataclass(frozen=True, slots=True)
class Point:
    """One value in the chart's unit, on the date it was measured."""

    when: date
    value: float
    derived: bool = False  # calculated (eGFR from creatinine), not measured


@dataclass(frozen=True, slots=True)
class Series:
    """A lab value's points (oldest first) with its unit and reference band (either side may
    be open)."""

    name: str
    unit: str
    low: float | None
    high: float | None
    points: tuple[Point, ...]
    code: str = ""  # the analyte's code

    def flag(self, point: Point) -> str | None:
        """'low' or 'high' for a value outside the band, else None."""
        if self.low is not None and point.value < self.low:
            return "low"
        if self.high is not None and point.value > self.high:
            return "high"
        return None


def short_date(t: Translator, day: date) -> str:
    """'5 Jan 2026' / '5 jan 2026': short enough for an axis."""
    from babel.dates import format_date

    return str(format_date(day, "d MMM y", locale="nl_NL" if t.lang == "nl" else "en_GB"))


def _scale(series: Series) -> tuple[float, float]:
    """The value range of the y axis: the points and the band, with a margin."""
    values = [p.value for p in series.points]
    values += [v for v in (series.low, series.high) if v is not None]
    low, high = min(values), max(values)
    pad = (high - low) * 0.12 or abs(high) * 0.1 or 1.0
    return low - pad, high + pad


def _x(series: Series, when: date) -> float:
    first, last = series.points[0].when, series.points[-1].when
    span = (last - first).days
    inner = WIDTH - LEFT - RIGHT
    if span == 0:
        return LEFT + inner / 2
    return LEFT + inner * (when - first).days / span


def _y(value: float, bottom: float, top: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner * (1 - (value - bottom) / (top - bottom))


def _marker(x: float, y: float, flag: str | None, label: str) -> str:
    """A circle inside the band, a triangle pointing the way out of it outside."""
    tip = f"<title>{escape(label)}</title>"
    if flag is None:
        return (
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{POINT}">{tip}</circle>'
        )
    d = 6 if flag == "high" else -6  # up for high, down for low
    path = f"{x:.1f},{y - d:.1f} {x - 6:.1f},{y + d:.1f} {x + 6:.1f},{y + d:.1f}"
    return f'<polygon class="point outside {flag}" points="{path}" fill="{OUTSIDE}">{tip}</polygon>'


def point_label(series: Series, point: Point, t: Translator) -> str:
    """'12 Jan 2026: 0.68 mmol/L (below the range)' in the reader's language."""
    value = t("{value} {unit}", value=t.num(point.value, 2), unit=series.unit)
    flag = series.flag(point)
    where = {"low": t("below the range"), "high": t("above the range")}.get(flag or "", "")
    text = f"{short_date(t, point.when)}: {value}"
    return f"{text} ({where})" if where else text


def _band(series: Series, bottom: float, top: float) -> str:
    if series.low is None and series.high is None:
        return ""
    y_top = _y(series.high if series.high is not None else top, bottom, top)
    y_low = _y(series.low if series.low is not None else bottom, bottom, top)
    width = WIDTH - LEFT - RIGHT
    return (
        f'<rect class="band" x="{LEFT}" y="{y_top:.1f}" width="{width}" '
        f'height="{max(y_low - y_top, 1):.1f}" fill="{BAND_FILL}"/>'
    )


def _axes(series: Series, t: Translator, bottom: float, top: float) -> list[str]:
    """The axes, the band's limits (or the lowest and highest value) and the first and last
    date."""
    base = HEIGHT - BOTTOM
    parts = [
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}" stroke="#555"/>',
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" '
        'stroke="#555"/>',
    ]
    ticks = [v for v in (series.low, series.high) if v is not None] or [
        min(p.value for p in series.points),
        max(p.value for p in series.points),
    ]
    for value in dict.fromkeys(ticks):
        y = _y(value, bottom, top)
        parts.append(
            f'<text class="tick" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11">{escape(t.num(value, 2))}</text>'
        )
    parts.append(
        f'<text class="unit" x="4" y="{TOP + 4}" font-size="11">{escape(series.unit)}</text>'
    )
    first, last = series.points[0].when, series.points[-1].when
    for when, anchor in (
        ((first, "start"), (last, "end")) if first != last else ((first, "middle"),)
    ):
        x = (
            _x(series, when)
            if anchor == "middle"
            else (LEFT if anchor == "start" else WIDTH - RIGHT)
        )
        parts.append(
            f'<text class="date" x="{x:.1f}" y="{HEIGHT - 12}" text-anchor="{anchor}" '
            f'font-size="11">{escape(short_date(t, when))}</text>'
        )
    return parts


def describe(series: Series, t: Translator) -> str:
    """The chart in words: how many values, the range, and which are outside it."""
    band = t(
        "reference range {low} to {high} {unit}",
        low=t.num(series.low, 2) if series.low is not None else "-",
        high=t.num(series.high, 2) if series.high is not None else "-",
        unit=series.unit,
    )
    outside = sum(1 for p in series.points if series.flag(p))
    return t(
        "{count} values from {first} to {last}; {band}; {outside} outside the range.",
        count=len(series.points),
        first=short_date(t, series.points[0].when),
        last=short_date(t, series.points[-1].when),
        band=band,
        outside=outside,
    )


def trend_svg(series: Series, t: Translator, ident: str = "trend") -> Markup:
    """The chart as inline SVG markup (empty for a series without points)."""
    if not series.points:
        return Markup("")
    bottom, top = _scale(series)
    coords = [(_x(series, p.when), _y(p.value, bottom, top)) for p in series.points]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts = [
        f'<svg class="trend" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc">',
        f'<title id="{ident}-title">{escape(series.name)} ({escape(series.unit)})</title>',
        f'<desc id="{ident}-desc">{escape(describe(series, t))}</desc>',
        _band(series, bottom, top),
        *_axes(series, t, bottom, top),
    ]
    if len(coords) > 1:
        parts.append(
            f'<polyline class="line" points="{line}" fill="none" stroke="{LINE}" '
            'stroke-width="1.5"/>'
        )
    for (x, y), point in zip(coords, series.points, strict=True):
        parts.append(_marker(x, y, series.flag(point), point_label(series, point, t)))
    parts.append("</svg>")
    return Markup("".join(parts))
