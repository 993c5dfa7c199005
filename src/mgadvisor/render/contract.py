"""The advice as JSON (the public contract): the engine's Advice plus a `text` on every finding.

The engine's values are plain dataclasses; :data:`AdviceDocument` is a pydantic model built
from them (each Finding replaced by its rendered form), so `docs/schema/advice.schema.json` is
generated from the very fields the engine fills. Documents are not validated per request: the
test suite validates them on generated intakes.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, create_model

from mgadvisor.advice import (
    Advice,
    CompoundChoice,
    DietResult,
    Dose,
    Finding,
    Indicator,
    InteractionHit,
    LabResult,
    Referral,
    Risk,
    ScheduleItem,
    plain,
)
from mgadvisor.i18n import Translator
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.views import compound_composition
from mgadvisor.render.apa import apa
from mgadvisor.render.bounds import lab_bounds, show_bounds
from mgadvisor.render.findings import finding_text, medicine_label, medicine_name, texts
from mgadvisor.render.medicines import rule_text


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindingOut(_Out):
    code: str
    severity: Indicator
    text: str
    params: dict[str, Any]
    sources: list[str]
    points: int | None = None


class ReferenceOut(_Out):
    key: str
    apa: str


def _out(
    cls: type[Any], model_name: str, drop: tuple[str, ...] = (), **extra: Any
) -> type[BaseModel]:
    """A pydantic model of an engine dataclass: Findings rendered, fields dropped or added."""
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name in drop:
            continue
        kind = hints[field.name]
        kind = {
            Finding: FindingOut,
            Finding | None: FindingOut | None,
            list[Finding]: list[FindingOut],
        }.get(kind, kind)
        if field.default is not dataclasses.MISSING:
            fields[field.name] = (kind, field.default)
        elif field.default_factory is not dataclasses.MISSING:
            fields[field.name] = (kind, field.default_factory())
        else:
            fields[field.name] = (kind, ...)
    fields.update(extra)
    return create_model(model_name, __base__=_Out, **fields)


def _document_model() -> type[BaseModel]:
    nested = {
        "risk": _out(Risk, "RiskOut"),
        "referral": _out(Referral, "ReferralOut"),
        "compounds": list[  # type: ignore[misc]
            _out(CompoundChoice, "CompoundOut", elemental_mg_percent=(float, ...), name=(str, ...))
        ],
        "dose": _out(Dose, "DoseOut"),
        "schedule": list[_out(ScheduleItem, "ScheduleOut", name=(str, ...))],  # type: ignore[misc]
        "interactions": list[  # type: ignore[misc]
            _out(
                InteractionHit,
                "InteractionOut",
                rule=(str, ...),
                mechanism=(str, ...),
                advice=(str | None, ...),
            )
        ],
        "diet": _out(DietResult, "DietOut") | None,
        "lab_results": list[_out(LabResult, "LabResultOut", name=(str, ...))],  # type: ignore[misc]
    }
    fields: dict[str, Any] = {name: (kind, ...) for name, kind in nested.items()}
    fields["diet"] = (nested["diet"], None)
    fields["lab_results"] = (nested["lab_results"], [])
    return _out(
        Advice,
        "AdviceDocument",
        lang=(Literal["nl", "en"], ...),
        authority_name=(str, ...),
        references=(list[ReferenceOut], ...),
        **fields,
    )


AdviceDocument = _document_model()
AdviceDocument.__doc__ = "The advice as delivered by the CLI (`--format json`) and the HTTP API."


# -- building the document -------------------------------------------------------------------


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


def advice_dict(advice: Advice, kb: KnowledgeBase, lang: str) -> dict[str, Any]:
    """The advice document as JSON-ready data in `lang` (the shape of :data:`AdviceDocument`)."""
    t = Translator(lang)
    text = texts(kb, t)

    def many(items: list[Finding]) -> list[dict[str, Any]]:
        # finding_dict, inlined: the document renders some 40 findings
        out = []
        for f in items:
            data: dict[str, Any] = {
                "code": f.code,
                "severity": f.severity,
                "text": text(f),
                "params": f.params,
                "sources": f.sources,
            }
            if f.points is not None:
                data["points"] = f.points
            out.append(data)
        return out

    dose = plain(advice.dose)
    dose["basis"] = many(advice.dose.basis)
    diet = None
    if advice.diet is not None:
        diet = plain(advice.diet)
        diet["notes"] = many(advice.diet.notes)
    lab_results = [
        {**plain(row), "name": kb.labs[row.analyte].name.get(lang)} for row in advice.lab_results
    ]
    document = {
        "kb_version": advice.kb_version,
        "kb_hash": advice.kb_hash,
        "engine_version": advice.engine_version,
        "as_of": advice.as_of,
        "lang": lang,
        "authority": advice.authority,
        "authority_name": next(
            a.name.get(lang) for a in kb.reference_values.authorities if a.code == advice.authority
        ),
        "actions": many(advice.actions),
        "risk": {
            "level": advice.risk.level,
            "score": advice.risk.score,
            "factors": many(advice.risk.factors),
            "status": advice.risk.status,
        },
        "referral": {
            "needed": advice.referral.needed,
            "reasons": many(advice.referral.reasons),
            "urgency": advice.referral.urgency,
        },
        "compounds": _compounds(advice, kb, lang, many),
        "dose": dose,
        "schedule": _schedule(advice, kb, lang),
        "interactions": _interactions(advice, kb, t),
        "medications": [
            {**plain(m), "name": medicine_name(kb, m.atc, lang) or m.name}
            for m in advice.medications
        ],
        "labs": many(advice.labs),
        "warnings": many(advice.warnings),
        "synergy": many(advice.synergy),
        "follow_up": many(advice.follow_up),
        "follow_up_weeks": advice.follow_up_weeks,
        "lab_results": lab_results,
        "calculations": plain(advice.calculations),
        "trace": [
            {"rule": s.rule, "facts": s.facts, "result": s.result, "sources": s.sources}
            for s in advice.trace
        ],
        "diet": diet,
        "food_advice": many(advice.food_advice),
        "references": _references(advice, kb),
    }
    # a lab given as a bound ("<0.5") is quoted as that bound, not as the value read (0.499)
    return show_bounds(document, lab_bounds(lab_results))


def _compounds(advice: Advice, kb: KnowledgeBase, lang: str, many: Any) -> list[dict[str, Any]]:
    out = []
    for choice in advice.compounds:
        entry = kb.compounds[choice.code]
        out.append(
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
    return out


def _schedule(advice: Advice, kb: KnowledgeBase, lang: str) -> list[dict[str, Any]]:
    t = Translator(lang)
    out = []
    for item in advice.schedule:
        if item.kind == "magnesium":
            name = kb.compounds[item.label].name.get(lang)
        else:
            name = medicine_label(kb, item.label, item.atc, lang)
        out.append(
            {
                "time": item.time,
                "kind": item.kind,
                "label": item.label,
                "elemental_mg": item.elemental_mg,
                "atc": item.atc,
                "name": name,
                "frequency": item.frequency,
                "note": finding_dict(kb, item.note, t) if item.note is not None else None,
            }
        )
    return out


def _interactions(advice: Advice, kb: KnowledgeBase, t: Translator) -> list[dict[str, Any]]:
    out = []
    for hit in advice.interactions:
        entry = kb.interactions[hit.interaction]
        row = plain(hit)
        row["name"] = medicine_name(kb, hit.atc, t.lang) or hit.name
        row["rule"] = rule_text(kb, hit, t)
        row["mechanism"] = entry.mechanism.get(t.lang)
        row["advice"] = entry.advice.get(t.lang) if entry.advice else None
        out.append(row)
    return out


def _references(advice: Advice, kb: KnowledgeBase) -> list[dict[str, str]]:
    lists = [finding.sources for finding in advice.all_findings()]
    lists += [hit.sources for hit in advice.interactions]
    lists += [step.sources for step in advice.trace]  # a rule's sources (e.g. the MDS) too
    cited: set[str] = set().union(*lists)  # one call for the ~70 lists of an advice
    return [{"key": key, "apa": text} for key, text in apa(kb, sorted(cited)).items()]
