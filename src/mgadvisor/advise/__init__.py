"""The engine: every registered rule, run in dependency order, assembled into an :class:`Advice`.

Rules live by topic in :mod:`mgadvisor.assess` (person, labs, kidney, medicines, diet, risk,
referral) and here (compounds, dose, product, schedule, warnings, synergy and follow-up, food).
Pure: values in, values out; no language, no clock, no files.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import mgadvisor.assess  # noqa: F401  (registers the assessment rules)
from mgadvisor.advice import (
    Advice,
    Calculations,
    Dose,
    Finding,
    InteractionHit,
    ProductUse,
    Referral,
)
from mgadvisor.advise import (
    compounds,
    dose,
    followup,
    food,
    product,
    schedule,
    synergy,
    warnings,
)
from mgadvisor.assess.kidney import kdigo_stage
from mgadvisor.engine import REGISTRY, Context, rule
from mgadvisor.foods.catalog import FoodCatalog
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase

RULES_VERSION = "2.0.0"

__all__ = [
    "RULES_VERSION",
    "advise_intake",
    "compounds",
    "dose",
    "followup",
    "food",
    "product",
    "schedule",
    "synergy",
    "warnings",
]


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return round(value, digits) if value is not None else None


@rule(
    "kidney.calculations",
    gives=("calculations",),
    needs=("egfr", "lab_readings", "mds", "loading_retention_pct", "lab_results", "child"),
)
def calculations(c: Context) -> Calculations:
    """The numbers behind the advice: eGFR and its stage, MDS, canonical lab values."""
    egfr: float | None = c.value("egfr")
    readings: dict[str, Any] = c.value("lab_readings")
    values = {code: reading.value for code, reading in readings.items()}
    mds = c.value("mds")
    source: Literal["given", "ckd_epi_2021", "schwartz_bedside"] | None = None
    if egfr is not None:
        child = c.value("child")
        given = "egfr" in values and egfr == values["egfr"]  # else the creatinine's was lower
        source = "given" if given else "schwartz_bedside" if child else "ckd_epi_2021"
    return Calculations(
        egfr=round(egfr, 1) if egfr is not None else None,
        egfr_source=source,
        ckd_stage=kdigo_stage(egfr) if egfr is not None else None,
        mds=mds.score,
        mds_components=mds.components,
        serum_magnesium_mmol_l=_rounded(values.get("serum_magnesium")),
        rbc_magnesium_mmol_l=_rounded(values.get("rbc_magnesium")),
        urine_magnesium_mmol_24h=_rounded(values.get("urine_magnesium_24h")),
        creatinine_umol_l=_rounded(values.get("creatinine"), 0),
        corrected_calcium_mmol_l=_corrected_calcium(c.value("lab_results")),
        loading_test_retention_pct=c.value("loading_retention_pct"),
        age=c.intake.person.age,
        sex=c.intake.person.sex,
    )


def _corrected_calcium(rows: list[Any]) -> float | None:
    found = [row.value_canonical for row in rows if row.analyte == "serum_calcium_corrected"]
    return found[0] if found else None


def advise_intake(
    intake: Intake, kb: KnowledgeBase, as_of: date, foods: FoodCatalog | None = None
) -> Advice:
    """The advice for a checked intake: every rule run, in dependency order.

    Args:
        intake: a checked intake (:func:`mgadvisor.intake.parse_intake`).
        kb: the knowledge base (:func:`mgadvisor.kb.load_knowledge`).
        as_of: the date the advice is given for (the engine never reads a clock).
        foods: the food catalogue for a diet estimate; the bundled one when None.

    Returns:
        The language-neutral advice: codes, numbers, sources and the trace of every rule
        that produced something.
    """
    ctx = Context(intake, kb, as_of, foods)
    for entry in REGISTRY.ordered():
        ctx.run(entry)
    return _assemble(ctx)


def _assemble(ctx: Context) -> Advice:
    values, sections, kb = ctx.values, ctx.sections, ctx.kb
    withheld: bool = values["withheld"]
    reasons = [*sections["referral"], *sections["dose_referral"]]
    target: float = values["dose_target"]
    upper: float | None = values["upper_level"]
    plan: schedule.Plan = values["plan"]
    authority = values["authority"].code
    medications = values["medications"]
    return Advice(
        kb_version=kb.version,
        kb_hash=kb.content_hash,
        engine_version=RULES_VERSION,
        as_of=ctx.as_of.isoformat(),
        authority=authority,
        risk=values["risk"],
        referral=Referral(bool(reasons), _by_urgency(kb, reasons), values["urgency"]),
        compounds=[] if withheld or values["dose_status"] == "on_hold" else values["ranked"],
        dose=Dose(
            status=values["dose_status"],
            elemental_mg_per_day=target,
            reference_intake_mg=values["reference_intake"],
            upper_level_mg=upper,
            exceeds_upper_level=upper is not None and target > upper,
            authority=authority,
            basis=[] if withheld else sections["dose_basis"],
            intakes=plan.intakes,
            product=values["product"],
            products=values["products"],
            products_elemental_mg_per_day=_products_total(values["products"]),
            current_products_action=values["products_action"],
        ),
        schedule=plan.schedule,
        interactions=_one_row_per_medicine(medications.interactions),
        medications=medications.matches,
        labs=sections["labs"],
        warnings=[*sections["warnings"], *sections["schedule_notes"]],
        synergy=sections["synergy"],
        follow_up=sections["follow_up"],
        calculations=values["calculations"],
        trace=ctx.trace,
        diet=values["diet"],
        food_advice=sections["food_advice"],
        actions=sections["actions"],
        lab_results=values["lab_results"],
        follow_up_weeks=values["follow_up_weeks"],
    )


def _by_urgency(kb: KnowledgeBase, reasons: list[Finding]) -> list[Finding]:
    """The most urgent referrals first (a stable sort: the rules' order within a level)."""
    rank = {level: i for i, level in enumerate(followup.URGENCY_ORDER)}
    return sorted(reasons, key=lambda f: rank.get(kb.messages[f.code].urgency or "", 9))


def _one_row_per_medicine(hits: list[InteractionHit]) -> list[InteractionHit]:
    """One interaction row per medicine and rule, with every dose time it was entered with (the
    rules keep one hit per dose to place the day schedule)."""
    rows: dict[tuple[str, str], InteractionHit] = {}
    for hit in hits:
        key = (hit.medication, hit.interaction)
        row = rows.get(key)
        if row is None:  # a copy with its own list of times (dataclasses.replace is slow)
            row = rows[key] = InteractionHit(
                medication=hit.medication,
                name=hit.name,
                time=hit.time,
                times=[],
                frequency=hit.frequency,
                atc=hit.atc,
                interaction=hit.interaction,
                effect=hit.effect,
                severity=hit.severity,
                min_gap_hours=hit.min_gap_hours,
                medicine_first_h=hit.medicine_first_h,
                magnesium_first_h=hit.magnesium_first_h,
                sources=hit.sources,
            )
        if hit.time is not None and hit.time not in row.times:
            row.times.append(hit.time)
    return list(rows.values())


def _products_total(uses: list[ProductUse]) -> float | None:
    return round(sum(u.elemental_mg_per_day for u in uses), 1) if uses else None
