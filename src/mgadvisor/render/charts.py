"""SVG charts of the diet: intake against the reference, and the top contributing foods.

Plain SVG with a <title> and aria-label, so the terminal report can save it, and the web page and
PDF can inline the same file.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from mgadvisor.advice import DietResult
from mgadvisor.i18n import Translator

WIDTH = 560
BAR_H = 26
GAP = 10
LABEL_W = 210
COLORS = {"diet": "#2f6f8f", "reference": "#9aa5ad", "water": "#6fa8c8", "food": "#3f8f5f"}


def _bars(
    title: str,
    rows: Sequence[tuple[str, float, str]],
    unit: str,
    marker: float | None = None,
    marker_label: str = "",
) -> str:
    top = max([v for _, v, _ in rows] + [marker or 0, 1.0])
    scale = (WIDTH - LABEL_W - 70) / top
    height = 40 + len(rows) * (BAR_H + GAP) + (24 if marker else 0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<text x="0" y="18" font-family="sans-serif" font-size="15" font-weight="bold">'
        f"{escape(title)}</text>",
    ]
    y = 32
    for label, value, color in rows:
        width = max(value * scale, 1)
        parts.append(
            f'<text x="0" y="{y + 18}" font-family="sans-serif" font-size="13">'
            f"{escape(label)}</text>"
        )
        parts.append(
            f'<rect x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{BAR_H}" fill="{color}"/>'
        )
        parts.append(
            f'<text x="{LABEL_W + width + 6:.1f}" y="{y + 18}" font-family="sans-serif" '
            f'font-size="13">{escape(f"{value:g} {unit}")}</text>'
        )
        y += BAR_H + GAP
    if marker:
        x = LABEL_W + marker * scale
        parts.append(
            f'<line x1="{x:.1f}" y1="28" x2="{x:.1f}" y2="{y}" stroke="#b03a2e" stroke-width="2" '
            'stroke-dasharray="5,3"/>'
        )
        parts.append(
            f'<text x="{min(x, WIDTH - 150):.1f}" y="{y + 16}" font-family="sans-serif" '
            f'font-size="12" fill="#b03a2e">{escape(marker_label)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def intake_chart(diet: DietResult, t: Translator, supplement_mg: float = 0) -> str:
    """Magnesium from food (and water, and the advised supplement) against the reference intake."""
    food = float(round(diet.magnesium_mg_per_day - diet.water_magnesium_mg_per_day))
    rows: list[tuple[str, float, str]] = [(t("Food"), food, COLORS["diet"])]
    if diet.water_magnesium_mg_per_day:
        rows.append(
            (t("Drinking water"), float(round(diet.water_magnesium_mg_per_day)), COLORS["water"])
        )
    if supplement_mg:
        rows.append((t("Supplement (advised)"), float(round(supplement_mg)), COLORS["reference"]))
    reference = diet.reference_intake_mg
    label = t("recommended {mg} mg", mg=f"{reference:g}") if reference else ""
    return _bars(t("Magnesium per day"), rows, "mg", reference, label)


def contributors_chart(diet: DietResult, t: Translator) -> str:
    rows = [
        (f.name_nl if t.lang == "nl" else f.name_en, round(f.magnesium_mg_per_day), COLORS["food"])
        for f in diet.top
    ]
    return _bars(t("Top sources of magnesium in the diet"), rows, "mg")
