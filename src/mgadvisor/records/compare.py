"""What changed between two visits of a client: complaints, conditions, medicines, lab values
(value and direction), the dose (compound, elemental mg a day), the risk level and the
referral. A pure function of the two stored visits; names are given to the codes by the page.

The dose and compound are what the client was to take: the practitioner's changed values when
the advice was changed, else the advice's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.records.models import Visit
from mgadvisor.records.trends import intake_values

SAME_WITHIN = 1e-9  # lab values closer than this count as unchanged


@dataclass(frozen=True, slots=True)
class SetChange:
    """Codes or names only in the later visit (added), only in the earlier (removed), in both."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """Whether anything differs."""
        return bool(self.added or self.removed)


@dataclass(frozen=True, slots=True)
class ValueChange:
    """A value in the earlier (before) and the later visit (after); None: not given."""

    before: Any
    after: Any

    @property
    def changed(self) -> bool:
        """Whether anything differs."""
        return bool(self.before != self.after)


@dataclass(frozen=True, slots=True)
class LabChange:
    """A lab value in both visits, in the analyte's canonical unit, and which way it went:
    up, down, same, new (only later) or gone (only earlier)."""

    analyte: str
    unit: str
    before: float | None
    after: float | None
    direction: str


@dataclass(frozen=True, slots=True)
class Comparison:
    complaints: SetChange
    conditions: SetChange
    medicines: SetChange
    labs: tuple[LabChange, ...]
    compound: ValueChange  # a compound's name
    dose_mg: ValueChange  # elemental magnesium a day
    risk: ValueChange  # the risk level
    referral: ValueChange  # the referral's urgency, None without a referral
    referral_reasons: SetChange  # the referral reasons' codes


def _set(before: Iterable[str], after: Iterable[str]) -> SetChange:
    a, b = list(dict.fromkeys(before)), list(dict.fromkeys(after))
    return SetChange(
        added=tuple(x for x in b if x not in a),
        removed=tuple(x for x in a if x not in b),
        kept=tuple(x for x in b if x in a),
    )


def _codes(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key)
    return [str(x) for x in value] if isinstance(value, list) else []


def _medicines(advice: Mapping[str, Any]) -> list[str]:
    found = advice.get("medications")
    names = []
    for m in found if isinstance(found, list) else []:
        if isinstance(m, Mapping):
            names.append(str(m.get("name") if m.get("resolved") else m.get("input")))
    return names


def _labs(a: dict[str, float], b: dict[str, float], kb: KnowledgeBase) -> tuple[LabChange, ...]:
    out = []
    for code, analyte in kb.labs.items():  # the knowledge base's order
        before, after = a.get(code), b.get(code)
        if before is None and after is None:
            continue
        if before is None:
            direction = "new"
        elif after is None:
            direction = "gone"
        elif abs(after - before) <= SAME_WITHIN:
            direction = "same"
        else:
            direction = "up" if after > before else "down"
        out.append(LabChange(code, analyte.canonical_unit, before, after, direction))
    return tuple(out)


def decided_dose(visit: Visit, advice: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """(compound name, elemental mg a day) as decided for this visit."""
    found = advice.get("dose")
    dose: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    compounds = advice.get("compounds") or []
    name = compounds[0].get("name") if compounds and isinstance(compounds[0], Mapping) else None
    planned = dose.get("status") not in ("withheld", "on_hold")  # no plan, no dose to show
    mg = dose.get("elemental_mg_per_day") if planned else None
    if visit.decision == "changed" and visit.decision_changes_json:
        changes = json.loads(visit.decision_changes_json)
        name = changes.get("compound_name") or changes.get("compound") or name
        mg = changes.get("elemental_mg") if changes.get("elemental_mg") is not None else mg
    return name, float(mg) if isinstance(mg, int | float) else None


def _referral(advice: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    referral = advice.get("referral")
    if not isinstance(referral, Mapping) or not referral.get("needed"):
        return None, []
    reasons = referral.get("reasons") or []
    codes = [str(r.get("code")) for r in reasons if isinstance(r, Mapping)]
    return referral.get("urgency"), codes


def _risk(advice: Mapping[str, Any]) -> str | None:
    risk = advice.get("risk")
    return str(risk.get("level")) if isinstance(risk, Mapping) and risk.get("level") else None


def compare_visits(earlier: Visit, later: Visit, kb: KnowledgeBase) -> Comparison:
    """What changed from `earlier` to `later` (two visits of one client)."""
    ia, ib = json.loads(earlier.intake_json), json.loads(later.intake_json)
    aa, ab = json.loads(earlier.advice_json), json.loads(later.advice_json)
    (compound_a, mg_a), (compound_b, mg_b) = decided_dose(earlier, aa), decided_dose(later, ab)
    (urgency_a, reasons_a), (urgency_b, reasons_b) = _referral(aa), _referral(ab)
    risk_a, risk_b = (_risk(a) for a in (aa, ab))
    return Comparison(
        complaints=_set(_codes(ia, "complaints"), _codes(ib, "complaints")),
        conditions=_set(_codes(ia, "conditions"), _codes(ib, "conditions")),
        medicines=_set(_medicines(aa), _medicines(ab)),
        labs=_labs(intake_values(ia, kb), intake_values(ib, kb), kb),
        compound=ValueChange(compound_a, compound_b),
        dose_mg=ValueChange(mg_a, mg_b),
        risk=ValueChange(risk_a, risk_b),
        referral=ValueChange(urgency_a, urgency_b),
        referral_reasons=_set(reasons_a, reasons_b),
    )
