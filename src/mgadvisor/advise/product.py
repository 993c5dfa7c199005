"""The client's own products: how much magnesium they give, whether together they pass the
upper level, how many units of the client's own magnesium product give the dose, and what to do
with them now (continue, adjust or stop).

The dose is given in the first product with a magnesium compound (the client's magnesium
supplement); every other product (a multivitamin, a calcium-magnesium tablet, an antacid, a
laxative) counts toward the upper level. Which compound the schedule names follows from it: the
client's product when one is given (a hydrate variant counts as its compound), else the
top-ranked compound.
"""

from __future__ import annotations

from dataclasses import dataclass

from mgadvisor.advice import CompoundChoice, Finding, ProductUse
from mgadvisor.advise.dose import (
    POORLY_ABSORBED_NOT_RAISED,
    elemental_per_unit,
    units_per_day,
    withholding,
)
from mgadvisor.engine import Context, rule
from mgadvisor.intake import Product
from mgadvisor.kb.models import Absorption, Authority, Compound
from mgadvisor.kb.names import resolve_compound


@dataclass(frozen=True, slots=True)
class ProductAmount:
    """One product's magnesium: per unit, and per day as taken now (one unit when the client
    did not say)."""

    product: Product
    compound: str | None
    per_unit: float
    doses: bool  # the product the dose is given in

    @property
    def per_day(self) -> float:
        return self.per_unit * (self.product.units_per_day or 1)

    def label(self) -> str:
        return self.product.name or self.product.compound or f"{self.product.amount_mg:g} mg"


@rule("product.amounts", gives=("product_amounts",))
def amounts(c: Context) -> list[ProductAmount]:
    """Each product's elemental magnesium per unit (computed from the compound's formula)."""
    found: list[ProductAmount] = []
    for product in c.intake.all_products:
        code = resolve_compound(c.kb, product.compound).code if product.compound else None
        if code is None:
            per_unit = product.amount_mg
        else:
            per_unit = elemental_per_unit(c.kb, code, product.amount_mg, product.basis)
        doses = code is not None and not any(a.doses for a in found)
        found.append(ProductAmount(product, code, per_unit, doses))
    return found


def _use(amount: ProductAmount, upper: float | None, advised: int | None) -> ProductUse:
    units = amount.product.units_per_day or advised or 1
    per_day = round(amount.per_unit * units, 1)
    return ProductUse(
        name=amount.product.name,
        compound=amount.compound,
        amount_mg=amount.product.amount_mg,
        basis=amount.product.basis,
        elemental_mg_per_unit=round(amount.per_unit, 1),
        units_per_day=units,
        elemental_mg_per_day=per_day,
        exceeds_upper_level=upper is not None and per_day > upper,
        advised_units_per_day=advised,
    )


@rule(
    "product.use",
    gives=("product", "warnings"),
    needs=("dose_target", "upper_level", "authority", "product_amounts"),
)
def product_use(c: Context) -> ProductUse | None:
    """Units per day of the client's magnesium product that give the dose, and its total."""
    own = next((a for a in c.value("product_amounts") if a.doses), None)
    if own is None:
        return None
    upper: float | None = c.value("upper_level")
    target: float = c.value("dose_target")
    advised = units_per_day(target, own.per_unit, None) if target > 0 else 0
    if advised and round(advised * own.per_unit, 1) > target + 0.05:
        advised = 0  # the dose does not come out in whole units of this product
    if any(f.code == POORLY_ABSORBED_NOT_RAISED for f in c.sections["dose_basis"]):
        advised = 0  # the goal's raised dose is given in the top-ranked compound instead
    use = _use(own, upper, advised)
    if use.exceeds_upper_level:
        chosen: Authority = c.value("authority")
        warning = c.finding(
            "warning.product_exceeds_upper_level",
            severity="critical",
            cites=[chosen.upper_level_note],
            dose=use.elemental_mg_per_day,
            upper_level=upper,
            units=use.units_per_day,
        )
        c.emit(warning, "warnings")
    compound = c.kb.compounds[own.compound or ""]
    if compound.absorption.level is Absorption.POOR:
        warning = c.finding(
            "warning.product_poorly_absorbed",
            severity="warning",
            cites=[compound.absorption],
            compound=compound.code,
        )
        c.emit(warning, "warnings")
    return use


@rule(
    "product.all",
    gives=("products", "warnings"),
    needs=("product", "upper_level", "authority", "product_amounts"),
)
def all_products(c: Context) -> list[ProductUse]:
    """Every product the client takes, and a warning when together they pass the upper level."""
    own: ProductUse | None = c.value("product")
    upper: float | None = c.value("upper_level")
    uses = [own if a.doses and own else _use(a, upper, None) for a in c.value("product_amounts")]
    total = round(sum(u.elemental_mg_per_day for u in uses), 1)
    if len(uses) > 1 and upper is not None and total > upper:
        chosen: Authority = c.value("authority")
        warning = c.finding(
            "warning.products_exceed_upper_level",
            severity="critical",
            cites=[chosen.upper_level_note],
            total=total,
            upper_level=upper,
        )
        c.emit(warning, "warnings")
    return uses


def _taking_now(uses: list[ProductUse]) -> float:
    return round(sum(u.elemental_mg_per_day for u in uses), 1)


@rule(
    "product.action",
    gives=("products_action", "actions"),
    needs=(
        "products",
        "withheld",
        "dose_target",
        "upper_level",
        "authority",
        "referral",
        "medications",
        "magnesium_medicines_daily",
        "dose_status",
    ),
)
def action(c: Context) -> str | None:
    """What to do with the products taken now: stop them, and the medicines that are
    magnesium, when magnesium harms now (a referral whose message `stops_products`: a
    contraindication, too much magnesium in the blood); pause them while the plan is on hold
    (a magnesium medicine's amount unknown, or no time of day that keeps every medicine's
    gap); adjust them when together they pass the upper level or the client's own magnesium
    product is taken in other units than advised; else continue (also when the plan waits for
    a doctor for another reason)."""
    uses: list[ProductUse] = c.value("products")
    review = c.value("medications")
    medicines = [m.input for m, e in review.entries if e.contains_magnesium]
    if not uses and not medicines:
        return None
    names = [u.name or u.compound or f"{u.amount_mg:g} mg" for u in uses]
    if _stop(c, [*names, *dict.fromkeys(medicines)]):
        return "stop"
    if not uses:
        return None
    if c.value("withheld"):
        return "continue"  # no new plan, but nothing makes the products harmful now
    if c.value("dose_status") == "on_hold":
        return _pause(c, names)
    target: float = c.value("dose_target")
    upper: float | None = c.value("upper_level")
    now = _taking_now(uses)
    over = upper is not None and now > upper
    own = next((u for u in uses if u.advised_units_per_day is not None), None)
    differs = own is not None and own.units_per_day != own.advised_units_per_day
    if over or differs:
        others = sum(u.elemental_mg_per_day for u in uses if u is not own)
        advised = target + others if upper is None else min(upper, target + others)
        chosen: Authority = c.value("authority")
        finding: Finding = c.finding(
            "action.adjust_products",
            severity="warning",
            cites=[chosen.upper_level_note, chosen.intake_sources],
            products=names,
            current=now,
            advised=round(advised, 1),
        )
        c.emit(finding, "actions")
        return "adjust"
    return "continue"


def _stop(c: Context, names: list[str]) -> bool:
    """Stop every product and magnesium medicine when a referral says magnesium harms now."""
    harmful = [f for f in withholding(c) if c.kb.messages[f.code].stops_products]
    if harmful:
        stop = c.finding("action.stop_products", severity="critical", cites=harmful, products=names)
        c.emit(stop, "actions")
    return bool(harmful)


def _pause(c: Context, names: list[str]) -> str:
    """The products wait with the plan: for the magnesium medicine's amount (they may pass the
    upper level together), or for a time of day that keeps every medicine's gap."""
    waiting: list[str] = c.value("magnesium_medicines_daily")
    if waiting:
        chosen: Authority = c.value("authority")
        finding = c.finding(
            "action.pause_products_medicine",
            severity="warning",
            cites=[chosen.upper_level_note],
            products=names,
            medications=waiting,
        )
    else:
        gaps = [f for f in c.sections["warnings"] if f.code == "schedule.no_valid_time"]
        finding = c.finding(
            "action.pause_products_no_time", severity="warning", cites=gaps, products=names
        )
    c.emit(finding, "actions")
    return "stop"


@rule("dose.compound", gives=("main_compound", "schedule_notes"), needs=("ranked", "product"))
def main_compound(c: Context) -> Compound:
    """The client's product's compound when given, else the best-ranked one; the schedule
    says when it uses the client's product instead of the best-ranked compound."""
    product: ProductUse | None = c.value("product")
    ranked: list[CompoundChoice] = c.value("ranked")
    if product is not None and product.compound is not None and product.advised_units_per_day:
        compound = c.kb.compounds[product.compound]
        own = c.kb.compounds[compound.variant_of or compound.code]
        if ranked and ranked[0].code != own.code:
            note = c.finding(
                "schedule.own_product",
                cites=[own.formula_sources, c.kb.compounds[ranked[0].code].absorption],
                compound=own.code,
            )
            c.emit(note, "schedule_notes")
        return own
    return c.kb.compounds[ranked[0].code] if ranked else next(iter(c.kb.compounds.values()))
