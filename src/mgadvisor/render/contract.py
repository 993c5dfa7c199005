"""The advice as JSON (the public contract): the engine's Advice plus a `text` on every finding.

The document is a pydantic model, so `docs/schema/advice.schema.json` is generated from the very
thing that produces the JSON (see `mgadvisor.schemas`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mgadvisor.advice import (
    Advice,
    Calculations,
    DietResult,
    Dose,
    Finding,
    Indicator,
    InteractionHit,
    MedicationMatch,
    Referral,
    Risk,
    TraceStep,
)
from mgadvisor.i18n import Translator
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.views import compound_composition
from mgadvisor.render.apa import apa
from mgadvisor.render.findings import finding_text


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindingOut(_Out):
    code: str
    severity: Indicator
    text: str
    params: dict[str, Any]
    sources: list[str]
    points: int | None = None


# The engine's models, with each Finding replaced by its rendered form (text added).
class RiskOut(Risk):
    factors: list[FindingOut]  # type: ignore[assignment]


class ReferralOut(Referral):
    reasons: list[FindingOut]  # type: ignore[assignment]


class CompoundOut(_Out):
    code: str
    name: str
    rank: int
    score: float
    elemental_mg_percent: float
    reasons: list[FindingOut]
    sources: list[str]


class DoseOut(Dose):
    basis: list[FindingOut]  # type: ignore[assignment]


class ScheduleOut(_Out):
    time: str
    kind: Literal["magnesium", "medication"]
    label: str
    name: str
    elemental_mg: float | None


class InteractionOut(InteractionHit):
    rule: str
    mechanism: str
    advice: str | None


class DietOut(DietResult):
    notes: list[FindingOut]  # type: ignore[assignment]


class ReferenceOut(_Out):
    key: str
    apa: str


class AdviceDocument(_Out):
    """The advice as delivered by the CLI (`--format json`) and the HTTP API."""

    kb_version: str
    kb_hash: str
    engine_version: str
    as_of: str
    lang: Literal["nl", "en"]
    authority: str
    authority_name: str
    risk: RiskOut
    referral: ReferralOut
    compounds: list[CompoundOut]
    dose: DoseOut
    schedule: list[ScheduleOut]
    interactions: list[InteractionOut]
    medications: list[MedicationMatch]
    labs: list[FindingOut]
    warnings: list[FindingOut]
    synergy: list[FindingOut]
    follow_up: list[FindingOut]
    calculations: Calculations
    trace: list[TraceStep]
    diet: DietOut | None
    food_advice: list[FindingOut]
    references: list[ReferenceOut]


def finding_dict(kb: KnowledgeBase, finding: Finding, t: Translator) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": finding.code,
        "severity": finding.severity,
        "text": finding_text(kb, finding, t),
        "params": finding.params,
        "sources": finding.sources,
    }
    if finding.points is not None:
        data["points"] = finding.points
    return data


def advice_dict(
    advice: Advice, kb: KnowledgeBase, lang: str, validate: bool = True
) -> dict[str, Any]:
    """The advice document as JSON-ready data, validated against :class:`AdviceDocument`.

    Args:
        validate: check the document against the model. The HTTP API skips it per request:
            the contract is validated by the test suite on generated intakes instead.
    """
    document = _document(advice, kb, lang)
    if not validate:
        return document
    return AdviceDocument.model_validate(document).model_dump(mode="json")


def _document(advice: Advice, kb: KnowledgeBase, lang: str) -> dict[str, Any]:
    t = Translator(lang)

    def many(items: list[Finding]) -> list[dict[str, Any]]:
        return [finding_dict(kb, f, t) for f in items]

    compounds = []
    for choice in advice.compounds:
        entry = kb.compounds[choice.code]
        compounds.append(
            {
                "code": choice.code,
                "name": entry.name.get(lang),
                "rank": choice.rank,
                "score": choice.score,
                "elemental_mg_percent": round(compound_composition(entry).mg_percent, 2),
                "reasons": many(choice.reasons),
                "sources": choice.sources,
            }
        )
    interactions = []
    for hit in advice.interactions:
        inter = kb.interactions[hit.interaction]
        if hit.medicine_first_h is not None:
            rule = finding_text(
                kb,
                Finding(
                    code="interaction.rule",
                    params={
                        "medication": hit.name or hit.medication,
                        "medicine_first_h": hit.medicine_first_h,
                        "magnesium_first_h": hit.magnesium_first_h,
                    },
                ),
                t,
            )
        else:
            rule = finding_text(
                kb,
                Finding(
                    code="interaction.no_spacing", params={"medication": hit.name or hit.medication}
                ),
                t,
            )
        interactions.append(
            {
                **hit.model_dump(),
                "rule": rule,
                "mechanism": inter.mechanism.get(lang),
                "advice": inter.advice.get(lang) if inter.advice else None,
            }
        )
    dose = advice.dose.model_dump()
    dose["basis"] = many(advice.dose.basis)
    schedule = []
    for item in advice.schedule:
        label = kb.compounds[item.label].name.get(lang) if item.kind == "magnesium" else item.label
        schedule.append({**item.model_dump(exclude={"note"}), "name": label})
    cited = sorted(
        {key for f in advice.all_findings() for key in f.sources}
        | {key for hit in advice.interactions for key in hit.sources}
    )
    return {
        "kb_version": advice.kb_version,
        "kb_hash": advice.kb_hash,
        "engine_version": advice.engine_version,
        "as_of": advice.as_of,
        "lang": lang,
        "authority": advice.authority,
        "authority_name": next(
            a.name.get(lang) for a in kb.reference_values.authorities if a.code == advice.authority
        ),
        "risk": {
            "level": advice.risk.level,
            "score": advice.risk.score,
            "factors": many(advice.risk.factors),
        },
        "referral": {"needed": advice.referral.needed, "reasons": many(advice.referral.reasons)},
        "compounds": compounds,
        "dose": dose,
        "schedule": schedule,
        "interactions": interactions,
        "medications": [m.model_dump() for m in advice.medications],
        "labs": many(advice.labs),
        "warnings": many(advice.warnings),
        "synergy": many(advice.synergy),
        "follow_up": many(advice.follow_up),
        "calculations": advice.calculations.model_dump(),
        "trace": [step.model_dump() for step in advice.trace],
        "diet": {**advice.diet.model_dump(), "notes": many(advice.diet.notes)}
        if advice.diet
        else None,
        "food_advice": many(advice.food_advice),
        "references": [{"key": key, "apa": text} for key, text in apa(kb, cited).items()],
    }
