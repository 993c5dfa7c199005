"""Lab unit conversions, derived from molar masses (molmass), never from typed factors.

Magnesium: 1 mmol = 24.305 mg and, being divalent, 2 mEq. Creatinine (C4H7N3O, 113.12 g/mol):
1 mg/dL = 10 mg/L / 113.12 g/mol = 88.4 µmol/L, the factor CKD-EPI publications use.
"""

from __future__ import annotations

import functools

from molmass import Formula

from mgadvisor.chemistry import MG_MOLAR_MASS
from mgadvisor.errors import UserInputError
from mgadvisor.i18n import N_


@functools.lru_cache(maxsize=1)
def creatinine_molar_mass() -> float:
    return float(Formula("C4H7N3O").mass)


def _normal(unit: str) -> str:
    return unit.replace("µ", "u").replace("μ", "u").replace(" ", "").replace("²", "2").lower()


@functools.lru_cache(maxsize=1)
def _factors() -> dict[str, dict[str, float]]:
    """Per quantity: unit -> how many canonical units one of it is."""
    crea = creatinine_molar_mass()
    return {
        # magnesium concentration, canonical mmol/L
        "magnesium": {"mmol/l": 1.0, "mg/dl": 10.0 / MG_MOLAR_MASS, "meq/l": 0.5},
        # magnesium excretion, canonical mmol/24h
        "magnesium_per_day": {"mmol/24h": 1.0, "mg/24h": 1.0 / MG_MOLAR_MASS, "meq/24h": 0.5},
        # creatinine, canonical umol/L
        "creatinine": {"umol/l": 1.0, "mg/dl": 10.0 / crea * 1000.0, "mmol/l": 1000.0},
        "egfr": {"ml/min/1.73m2": 1.0, "ml/min": 1.0},
        "calcium": {"mmol/l": 1.0, "mg/dl": 10.0 / 40.078, "meq/l": 0.5},
        "potassium": {"mmol/l": 1.0, "meq/l": 1.0},
        "phosphate": {"mmol/l": 1.0, "mg/dl": 10.0 / float(Formula("P").mass)},  # as phosphorus
        "albumin": {"g/l": 1.0, "g/dl": 10.0},
        "percent": {"%": 1.0},
    }


QUANTITY_OF_ANALYTE = {
    "serum_magnesium": "magnesium",
    "ionized_magnesium": "magnesium",
    "rbc_magnesium": "magnesium",
    "urine_magnesium_24h": "magnesium_per_day",
    "creatinine": "creatinine",
    "egfr": "egfr",
    "serum_calcium": "calcium",
    "serum_potassium": "potassium",
    "serum_calcium_corrected": "calcium",
    "albumin": "albumin",
    "phosphate": "phosphate",
    "magnesium_loading_test": "percent",
}


def units_for(quantity: str) -> list[str]:
    return list(_factors()[quantity])


def convert(value: float, unit: str, to_unit: str, quantity: str | None = None) -> float:
    """Convert `value` from `unit` to `to_unit`.

    Example:
        >>> round(convert(0.75, "mmol/L", "mg/dL"), 2)
        1.82

    Raises:
        UserInputError: the units are unknown or measure different things.
    """
    source, target = _normal(unit), _normal(to_unit)
    tables = _factors()
    candidates = [quantity] if quantity else list(tables)
    for name in candidates:
        table = tables[name]
        if source in table and target in table:
            return value * table[source] / table[target]
    raise UserInputError(
        N_("cannot convert {unit} to {to_unit}; known units: {known}"),
        unit=unit,
        to_unit=to_unit,
        known=", ".join(sorted({u for t in tables.values() for u in t})),
    )


def to_canonical(analyte: str, value: float, unit: str, canonical: str) -> float:
    return convert(value, unit, canonical, QUANTITY_OF_ANALYTE.get(analyte))
