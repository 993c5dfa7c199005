"""How much: elemental magnesium per day, against the reference intake and the upper level.

1. Reference intake for the person (authority, age, sex, pregnancy, lactation).
2. Without dietary data, the supplement covers the share the diet is assumed not to; with it,
   the supplement fills the gap to the reference intake.
3. Athletes: + the sourced extra need. A chosen goal's study dose (elemental) replaces the result
   when higher, because that is the dose that was tested.
4. Compared with the upper level for supplemental magnesium: above it is allowed only flagged,
   with a referral and a warning that says what to watch. Above the split threshold: at least
   two intakes.
5. A referral marked `withholds_dose` (messages.yaml) means no dose at all.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mgadvisor.advice import Finding
from mgadvisor.assess.person import band_for
from mgadvisor.chemistry import composition
from mgadvisor.engine import Context, rule
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Absorption, Authority, DoseBasis

if TYPE_CHECKING:
    from mgadvisor.advise.product import ProductAmount

__all__ = ["band_for", "elemental_per_unit", "round_to", "units_per_day"]


def round_to(value: float, step: float) -> float:
    return float(step * round(value / step))


def units_per_day(target: float, per_unit: float, upper: float | None) -> int:
    """Whole units nearest the target; rounded down where rounding up would pass the upper level."""
    if target <= 0:
        return 0
    units = max(1, round(target / per_unit))
    if upper is not None and units * per_unit > upper and target <= upper:
        units = max(1, math.floor(upper / per_unit))
    return units


def elemental_per_unit(
    kb: KnowledgeBase, compound_code: str, amount_mg: float, basis: str
) -> float:
    if basis == "elemental":
        return amount_mg
    compound = kb.compounds[compound_code]
    return amount_mg * composition(compound.formula, compound.water_of_hydration).mg_fraction


# The dose basis step that says a goal's raised dose is not given in the client's poorly
# absorbed product (read by product.use, which then advises no units of it).
POORLY_ABSORBED_NOT_RAISED = "dose.not_in_poorly_absorbed_product"

URGENT = ("emergency", "same_day")  # the urgencies (messages.yaml) that stop every plan


def withholding(c: Context) -> list[Finding]:
    """The referrals that stop every plan: their message withholds the dose (e.g. eGFR < 30,
    raltegravir), or they must be seen today or at once (emergency or same day)."""
    found = []
    for finding in c.sections["referral"]:
        message = c.kb.messages[finding.code]
        if message.withholds_dose or message.urgency in URGENT:
            found.append(finding)
    return found


@rule("dose.withheld", gives=("withheld",), needs=("referral",))
def withheld(c: Context) -> bool:
    """No dose with a referral that withholds it (see `withholding`)."""
    return bool(withholding(c))


def _from_diet(c: Context, ri: float, diet_mg: float, step: float) -> float:
    chosen: Authority = c.value("authority")
    dose = max(0.0, ri - diet_mg)
    code = "dose.from_diet_gap" if dose > 0 else "dose.diet_covers_need"
    c.cite(chosen.intake_sources)
    params: dict[str, Any] = {
        "reference_intake": ri,
        "diet": round(diet_mg),
        "dose": round_to(dose, step),
    }
    c.emit(c.finding(code, authority=chosen.code, **params), "dose_basis")
    return dose


def _from_reference(c: Context, ri: float, step: float) -> float:
    chosen: Authority = c.value("authority")
    with c.scope():
        c.cite(chosen.intake_sources)
        share = c.param("diet_share_assumed_pct")
        dose = ri * (1 - share / 100)
        params: dict[str, Any] = {
            "reference_intake": ri,
            "diet_share_pct": share,
            "dose": round_to(dose, step),
        }
        c.emit(
            c.finding("dose.from_reference_intake", authority=chosen.code, **params), "dose_basis"
        )
    if c.value("athlete"):
        with c.scope():
            extra = c.param("athlete_extra_need_pct")
            added = ri * extra / 100
            dose += added
            extra_params: dict[str, Any] = {"extra_pct": extra, "added": round_to(added, step)}
            c.emit(c.finding("dose.athlete_extra", **extra_params), "dose_basis")
    return dose


def _study_doses(c: Context, dose: float, upper: float | None) -> tuple[float, bool]:
    """A chosen goal's elemental study dose above the dose so far replaces it, capped at the
    upper level unless the practitioner opted in. Returns (dose, a study dose was followed)."""
    chosen: Authority = c.value("authority")
    followed = False
    person = c.intake.person
    child: bool = c.value("child")
    opted_in = c.intake.preferences.follow_study_dose
    if opted_in and (child or person.pregnant or person.lactating):
        with c.scope():
            c.cite(chosen.upper_level_note)
            c.emit(c.finding("dose.study_dose_refused", severity="warning"), "dose_basis")
        opted_in = False
    for goal in c.intake.goals:
        app = c.kb.applications[goal]
        if app.medical_only:
            continue
        for study in app.study_doses:
            if study.basis is not DoseBasis.ELEMENTAL or study.amount_mg <= dose:
                continue
            params: dict[str, Any] = {
                "goal": goal,
                "dose": study.amount_mg,
                "weeks": study.duration_weeks,
            }
            if c.value("kidney_reduced"):
                # the kidneys must clear any extra magnesium: a goal never raises the dose here
                with c.scope():
                    c.param("egfr_supervision_below")
                    finding = c.finding(
                        "dose.study_dose_kidney", severity="warning", cites=[study], **params
                    )
                c.emit(finding, "dose_basis")
                continue
            if child or person.pregnant or person.lactating:
                # studied in (mostly older) adults: not for children, pregnancy or lactation
                with c.scope():
                    c.param("adult_from_age")
                    code = (
                        "dose.study_dose_adult_only"
                        if child
                        else "dose.study_dose_not_in_pregnancy"
                    )
                    finding = c.finding(code, cites=[study], **params)
                c.emit(finding, "dose_basis")
                continue
            capped = upper is not None and study.amount_mg > upper
            if capped and not opted_in:
                dose = max(dose, upper or 0.0)
                cites = [study, chosen.upper_level_note]
                finding = c.finding(
                    "dose.study_dose_capped",
                    severity="warning",
                    cites=cites,
                    upper_level=upper,
                    **params,
                )
            else:
                dose, followed = study.amount_mg, True
                finding = c.finding("dose.study_dose", cites=[study], upper_level=upper, **params)
            c.emit(finding, "dose_basis")
    return dose, followed


def _kidney_cap(c: Context, dose: float) -> float:
    """Kidney disease named without an eGFR or creatinine: the stage is unknown, so the dose
    stays under a cautious cap until a value is known."""
    if c.value("egfr") is not None or dose <= 0:
        return dose
    listed = any(c.kb.conditions[code].monitor_kidney for code in c.intake.conditions)
    child_creatinine = "creatinine" in c.value("lab_readings") and c.value("child")
    if not (listed or child_creatinine):
        return dose
    with c.scope():  # said even below the cap: the practitioner should ask for the value
        cap = c.param("ckd_unknown_stage_cap_mg")
        finding = c.finding("dose.ckd_unknown_stage_cap", severity="warning", cap=cap)
        c.emit(finding, "dose_basis")
    return min(dose, cap)


def _fit_products(c: Context, dose: float, upper: float | None, raised: bool) -> float:
    """What the client's other products already give counts toward the upper level; the dose
    is then given in whole units of the client's own magnesium product, when there is one,
    unless a goal raised the dose and that product's form is poorly absorbed: the raised dose
    is then given in the top-ranked compound, not in more of the poorly absorbed one."""
    amounts: list[ProductAmount] = c.value("product_amounts")
    background = sum(a.per_day for a in amounts if not a.doses)
    if background > 0 and upper is not None and dose > 0:
        with c.scope():
            c.cite(c.value("authority").upper_level_note)
            dose = min(dose, max(0.0, upper - background))
            params: dict[str, Any] = {"background": round(background), "upper_level": upper}
            c.emit(c.finding("dose.products_counted", **params), "dose_basis")
    own = next((a for a in amounts if a.doses), None)
    if own is None or dose <= 0:
        return dose
    compound = c.kb.compounds[own.compound or ""]
    if raised and compound.absorption.level is Absorption.POOR:
        finding = c.finding(
            POORLY_ABSORBED_NOT_RAISED,
            severity="warning",
            cites=[compound.absorption],
            compound=compound.code,
        )
        c.emit(finding, "dose_basis")
        return dose
    room = None if upper is None else max(0.0, upper - background)
    if room is not None and own.per_unit > room:
        return dose  # one unit is already too much: the product is not used (product.action)
    units = units_per_day(dose, own.per_unit, room)
    mg = round(units * own.per_unit, 1)
    formula = c.kb.compounds[own.compound or ""].formula_sources
    params = {"units": units, "amount": own.product.amount_mg, "dose": mg}
    finding = c.finding("dose.in_product", cites=[formula], **params)
    c.emit(finding, "dose_basis")
    return mg


@rule(
    "dose.target",
    gives=("dose_target", "dose_basis"),
    needs=(
        "authority",
        "reference_intake",
        "upper_level",
        "athlete",
        "diet",
        "withheld",
        "egfr",
        "product_amounts",
        "lab_readings",
        "child",
        "kidney_reduced",
        "magnesium_medicines_daily",
    ),
)
def target(c: Context) -> float:
    """The supplemental elemental magnesium (mg/day), with the steps that led to it."""
    if c.value("withheld"):
        return 0.0
    waiting: list[str] = c.value("magnesium_medicines_daily")
    if waiting:  # their magnesium is unknown: no plan on top of it until it is entered
        cites = [c.value("authority").upper_level_note]
        c.emit(
            c.finding("dose.on_hold_magnesium_medicine", cites=cites, medications=waiting),
            "dose_basis",
        )
        return 0.0
    ri: float | None = c.value("reference_intake")
    upper: float | None = c.value("upper_level")
    diet = c.value("diet")
    step = c.param("dose_round_mg", cite=False)
    dose = 0.0
    if ri is not None and diet is not None:
        dose = _from_diet(c, ri, diet.magnesium_mg_per_day, step)
    elif ri is not None:
        dose = _from_reference(c, ri, step)
    base = dose
    dose, followed = _study_doses(c, dose, upper)
    raised = dose > base
    if upper is not None and dose > upper and not followed:
        # Reference intake plus athletes' extra need never pushes past the upper level by itself.
        dose = upper
        cites = [c.value("authority").upper_level_note]
        c.emit(
            c.finding("dose.capped_at_upper_level", cites=cites, upper_level=upper), "dose_basis"
        )
    dose = _kidney_cap(c, round_to(dose, step))
    return _fit_products(c, dose, upper, raised)


@rule("dose.split", gives=("dose_count", "dose_basis"), needs=("dose_target",))
def split_doses(c: Context) -> int:
    """From the split threshold (the 250 mg maximum) the dose is spread over at least two
    intakes, more when each would still pass it (BfR)."""
    dose: float = c.value("dose_target")
    if dose <= 0:
        return 0
    threshold = c.param("split_doses_above_mg")
    count = max(2, math.ceil(dose / threshold)) if dose >= threshold else 1
    if count > 1:
        c.emit(c.finding("dose.split", intakes=count, threshold=threshold), "dose_basis")
    return count


def _above_upper(c: Context) -> tuple[float, float] | None:
    dose: float = c.value("dose_target")
    upper: float | None = c.value("upper_level")
    return (dose, upper) if upper is not None and dose > upper else None


def _conflict(c: Context, code: str) -> list[object]:
    """The seed's and the authority's statements of a recorded conflict."""
    for conflict in c.kb.safety.conflicts:
        if conflict.code == code:
            return [conflict.seed, conflict.authority]
    return []


def _side_effect(c: Context, code: str) -> list[object]:
    return [e.statement for e in c.kb.safety.side_effects if e.code == code]


@rule(
    "referral.above_upper_level",
    gives=("dose_referral",),
    needs=("dose_target", "upper_level", "authority"),
)
def above_upper_level(c: Context) -> Finding | None:
    """A dose above the upper level is outside established self-care safety: a doctor."""
    above = _above_upper(c)
    if above is None:
        return None
    basis = _conflict(c, "daily_need_600_700") or [c.value("authority").upper_level_note]
    return c.finding(
        "referral.above_upper_level",
        severity="warning",
        cites=basis,
        dose=above[0],
        upper_level=above[1],
    )


@rule(
    "warning.exceeds_upper_level",
    gives=("warnings",),
    needs=("dose_target", "upper_level", "authority"),
)
def exceeds_upper_level(c: Context) -> Finding | None:
    """Never above the upper level silently: say what to watch."""
    above = _above_upper(c)
    if above is None:
        return None
    chosen: Authority = c.value("authority")
    cites = [chosen.upper_level_note, *_side_effect(c, "osmotic_diarrhoea")]
    return c.finding(
        "warning.exceeds_upper_level",
        severity="critical",
        cites=cites,
        dose=above[0],
        upper_level=above[1],
        authority=chosen.code,
    )


@rule(
    "warning.seed_versus_upper_level",
    gives=("warnings",),
    needs=("dose_target", "upper_level", "authority"),
)
def seed_versus_upper_level(c: Context) -> Finding | None:
    """Where the seed's doses and the authority's upper level differ, the safer side is shown;
    not on an advice above the upper level, which would belie "mgadvisor keeps to it" (the
    warning and the referral above the upper level speak there)."""
    if c.value("dose_target") <= 0 or _above_upper(c) is not None:
        return None
    basis = _conflict(c, "upper_level") or [c.value("authority").upper_level_note]
    return c.finding(
        "warning.seed_versus_upper_level", cites=basis, upper_level=c.value("upper_level")
    )


@rule(
    "dose.status",
    gives=("dose_status",),
    needs=(
        "withheld",
        "referral",
        "dose_referral",
        "magnesium_medicines_daily",
        "dose_target",
        "plan",
    ),
)
def status(c: Context) -> str:
    """Withheld (a referral stops the plan); on hold (a magnesium medicine taken every day must
    be entered with its amount first, or no time of day keeps every medicine's gap); under
    medical supervision (any other referral); or advised."""
    if c.value("withheld"):
        return "withheld"
    if c.value("magnesium_medicines_daily"):
        return "on_hold"
    if c.value("dose_target") > 0 and not c.value("plan").intakes:
        return "on_hold"
    if c.sections["referral"] or c.sections["dose_referral"]:
        return "medical_supervision"
    return "advised"
