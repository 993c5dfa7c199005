"""The practitioner's changed decision applied to a stored advice document: what the client
is to take, for the documents of a stored visit (the client handout, the GP letter, the
report). A pure function of the stored document, the stored changes and the knowledge base;
the stored advice itself is never altered (the visit page shows it as the engine gave it).

    apply_decision(document, changes, kb) -> document

A changed dose (elemental mg a day) is spread evenly over the advice's own intake moments (the
times keep the medicines' gaps; only the amounts change), and the schedule's magnesium rows
follow; a changed compound is named on the intakes and those rows; `exceeds_upper_level` is
recomputed against `upper_level_mg`; the client's own product's advised units no longer apply
(they gave the engine's dose), so the documents speak in mg.

An advice without intake moments (the dose withheld or on hold, or no time of day keeps every
medicine's gap) gives no times to spread a changed dose, compound or schedule over, and none are
invented: `NoMomentsError` is raised, and the page says so instead of printing a handout.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from mgadvisor.kb.base import KnowledgeBase

SHOWN_ON_TIMES = ("compound", "elemental_mg", "schedule")  # changes that need intake moments


class NoMomentsError(ValueError):
    """The decision changes what is taken or when, but the advice has no intake moments."""


def spread(total: float, n: int) -> list[float]:
    """`total` mg over `n` moments as evenly as possible, in whole mg when the total is whole
    (else in tenths); the first moments take the remainder, so the parts add up to the total."""
    step = 1 if float(total).is_integer() else 10
    base, extra = divmod(round(total * step), n)
    return [(base + (1 if i < extra else 0)) / step for i in range(n)]


def needs_moments(changes: Mapping[str, Any]) -> bool:
    """Whether the changes are about what is taken or when (not only a note)."""
    return any(changes.get(k) not in (None, "") for k in SHOWN_ON_TIMES)


def has_moments(document: Mapping[str, Any]) -> bool:
    """Whether the advice gives intake moments a dose can be spread over."""
    dose = document.get("dose")
    if not isinstance(dose, Mapping) or dose.get("status") in ("withheld", "on_hold"):
        return False
    intakes = dose.get("intakes")
    return isinstance(intakes, list) and bool(intakes)


def apply_decision(
    document: Mapping[str, Any], changes: Mapping[str, Any], kb: KnowledgeBase
) -> dict[str, Any]:
    """A copy of the advice `document` with the practitioner's `changes` applied (see the
    module's text); the document as it is without changes. NoMomentsError when a change needs
    intake moments the advice does not have."""
    out: dict[str, Any] = copy.deepcopy(dict(document))
    if not changes or not needs_moments(changes):
        return out
    if not has_moments(out):
        raise NoMomentsError("the advice has no intake moments for the changed dose")
    dose: dict[str, Any] = out["dose"]
    intakes: list[dict[str, Any]] = [i for i in dose["intakes"] if isinstance(i, dict)]
    rows = [
        r for r in out.get("schedule") or [] if isinstance(r, dict) and r.get("kind") == "magnesium"
    ]
    mg = changes.get("elemental_mg")
    if isinstance(mg, int | float) and not isinstance(mg, bool) and mg > 0:
        total = float(mg)
        parts = spread(total, len(intakes))
        by_time: dict[Any, float] = {}
        for intake, part in zip(intakes, parts, strict=True):
            by_time[intake.get("time")] = by_time.get(intake.get("time"), 0.0) + part
            intake["elemental_mg"] = part
        if len(rows) == len(intakes):  # one row per intake, in the same order
            for row, part in zip(rows, parts, strict=True):
                row["elemental_mg"] = part
        else:
            for row in rows:
                row["elemental_mg"] = by_time.get(row.get("time"), row.get("elemental_mg"))
        dose["elemental_mg_per_day"] = total
        upper = dose.get("upper_level_mg")
        dose["exceeds_upper_level"] = isinstance(upper, int | float) and total > float(upper)
    code = str(changes.get("compound") or "")
    entry = kb.compounds.get(code) if code else None
    if entry is not None:
        name = entry.name.get(str(out.get("lang") or "en"))
        for intake in intakes:
            intake["compound"] = code
        for row in rows:
            row["label"], row["name"] = code, name
    if (mg is not None or entry is not None) and isinstance(dose.get("product"), dict):
        # the advised tablets of the client's own product gave the engine's dose, not this one
        dose["product"] = {**dose["product"], "advised_units_per_day": None}
    return out
