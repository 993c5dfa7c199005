"""Lab values given as a bound ("<0.5") shown as that bound, never as the number the rules read.

The intake keeps a lab's comparator (`intake.Lab.comparator`); the rules read an open bound
just beyond it (0.499 for "<0.5"). The lab table shows the bound from `lab_results`
(`lab_value`); a finding text that quotes the value read ("Serum magnesium 0.5 mmol/L is too
low", the 0.499 rounded) shows the bound instead ("<0.5 mmol/L"): `show_bounds` on the
document, `bound_text` on one text (the handout's client texts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mgadvisor.i18n import Translator
from mgadvisor.intake import BOUND_SIGNS, bound_sign

__all__ = ["BOUND_SIGNS", "bound_sign", "bound_text", "lab_bounds", "lab_value", "show_bounds"]

# How far a finding's number may be from the value a bound was read as and still be that value
# (the engine rounds a lab value to 2 decimals in texts; an eGFR down to a whole number, so
# "<60" read as 59.999 is shown 59).
_ROUNDING = {"egfr": 1.0, "value": 0.006}

Bounds = Mapping[str, tuple[str, float, float]]  # analyte → (comparator, bound, value read)


def lab_value(row: Mapping[str, Any], t: Translator) -> str:
    """A row of `lab_results` as entered: "<0.5 mmol/L", "0.82 mmol/L"."""
    return f"{bound_sign(row.get('comparator'))}{t.num(row['value'], 2)} {row['unit']}"


def lab_bounds(rows: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, float, float]]:
    """analyte → (comparator, bound, value read), both in the canonical unit, of each row of
    `lab_results` given as a bound."""
    from mgadvisor.units import to_canonical

    out = {}
    for row in rows:
        comparator = row.get("comparator")
        if comparator and not row.get("derived"):
            canonical = row["unit_canonical"]
            bound = to_canonical(row["analyte"], row["value"], row["unit"], canonical)
            out[str(row["analyte"])] = (str(comparator), bound, float(row["value_canonical"]))
    return out


def show_bounds(document: dict[str, Any], bounds: Bounds) -> dict[str, Any]:
    """`document` (changed in place) with each finding text that shows a lab value read from a
    bound showing the bound as given ("eGFR <30 is below 30")."""
    if not bounds:
        return document
    t = Translator(str(document.get("lang", "en")))

    def rewrite(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                rewrite(item)
            return
        if not isinstance(node, dict):
            return
        params, text = node.get("params"), node.get("text")
        if isinstance(params, dict) and isinstance(text, str):
            node["text"] = bound_text(t, text, params, bounds)
        for key, value in node.items():
            if key != "params" and isinstance(value, list | dict):
                rewrite(value)

    rewrite(document)
    return document


def bound_text(t: Translator, text: str, params: Mapping[str, Any], bounds: Bounds) -> str:
    """`text` with the (first) number of its `value` or `egfr` parameter that is a value read
    from a bound shown as that bound: only the bound of the finding's own analyte (its
    `analyte` parameter, eGFR for `egfr`), so "<0.4" of ionised magnesium never lands on a
    phosphate of 0.40."""
    own = params.get("analyte")
    for key, tolerance in _ROUNDING.items():
        number = params.get(key)
        if not isinstance(number, int | float) or isinstance(number, bool):
            continue
        for analyte, (comparator, bound, used) in bounds.items():
            if (key == "egfr") != (analyte == "egfr") or abs(number - used) > tolerance:
                continue
            if key == "value" and own is not None and own != analyte:
                continue
            shown = f"{bound_sign(comparator)}{t.num(bound, 4)}"
            for digits in (4, 3, 2, 1, 0):
                token = re.escape(t.num(number, digits))
                found = re.search(rf"(?<![\d.,<>≤≥]){token}(?![\d]|[.,]\d)", text)
                if found:
                    return text[: found.start()] + shown + text[found.end() :]
    return text
