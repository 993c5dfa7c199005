"""The client's own product: how many units give the dose, and whether it is a good choice.

Which compound the schedule names follows from it: the client's product when one is given
(a hydrate variant counts as its compound), else the top-ranked compound.
"""

from __future__ import annotations

from mgadvisor.advice import CompoundChoice, ProductUse
from mgadvisor.advise.dose import elemental_per_unit, units_per_day
from mgadvisor.engine import Context, rule
from mgadvisor.kb.models import Absorption, Authority, Compound
from mgadvisor.kb.names import resolve_compound


@rule(
    "product.use",
    gives=("product", "warnings"),
    needs=("dose_target", "upper_level", "authority"),
)
def product_use(c: Context) -> ProductUse | None:
    """Units per day of the client's product nearest the dose, and its daily elemental total."""
    given = c.intake.product
    if given is None:
        return None
    compound = resolve_compound(c.kb, given.compound)
    upper: float | None = c.value("upper_level")
    per_unit = elemental_per_unit(c.kb, compound.code, given.amount_mg, given.basis)
    units = given.units_per_day or units_per_day(c.value("dose_target"), per_unit, upper)
    per_day = round(per_unit * units, 1)
    exceeds = upper is not None and per_day > upper
    if exceeds:
        chosen: Authority = c.value("authority")
        warning = c.finding(
            "warning.product_exceeds_upper_level",
            severity="critical",
            cites=[chosen.upper_level_note],
            dose=per_day,
            upper_level=upper,
            units=units,
        )
        c.emit(warning, "warnings")
    if compound.absorption.level is Absorption.POOR:
        warning = c.finding(
            "warning.product_poorly_absorbed",
            severity="warning",
            cites=[compound.absorption],
            compound=compound.code,
        )
        c.emit(warning, "warnings")
    return ProductUse(
        compound.code, given.amount_mg, given.basis, round(per_unit, 1), units, per_day, exceeds
    )


@rule("dose.compound", gives=("main_compound",), needs=("ranked", "product"))
def main_compound(c: Context) -> Compound:
    """The client's product's compound when given, else the best-ranked one."""
    product: ProductUse | None = c.value("product")
    if product is not None:
        compound = c.kb.compounds[product.compound]
        return c.kb.compounds[compound.variant_of or compound.code]
    ranked: list[CompoundChoice] = c.value("ranked")
    return c.kb.compounds[ranked[0].code] if ranked else next(iter(c.kb.compounds.values()))
