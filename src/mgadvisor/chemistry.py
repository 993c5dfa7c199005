"""Elemental magnesium from molecular formulas.

Percentages are never typed into the knowledge base: they follow from the formula (including
water of hydration) and IUPAC atomic weights, via molmass. A label that says "500 mg magnesium
citrate" means 500 mg of the salt; what the body gets is the elemental share of that.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from molmass import ELEMENTS, Formula

MG_MOLAR_MASS: float = float(ELEMENTS["Mg"].mass)  # g/mol, IUPAC conventional value 24.305


@dataclass(frozen=True)
class Composition:
    """Magnesium content of one salt (one hydrate state)."""

    formula: str  # hydrate written out, e.g. "MgCl2·6H2O"
    molar_mass: float  # g/mol
    mg_atoms: int
    mg_fraction: float  # mass fraction of elemental Mg, 0..1

    @property
    def mg_percent(self) -> float:
        return self.mg_fraction * 100

    @property
    def mmol_per_100mg(self) -> float:
        """mmol of Mg in 100 mg of the salt."""
        return elemental_mg(100.0, self) / MG_MOLAR_MASS

    @property
    def salt_mg_per_100mg_mg(self) -> float:
        """mg of salt that delivers 100 mg of elemental magnesium."""
        return 100.0 / self.mg_fraction


@functools.lru_cache(maxsize=256)
def composition(formula: str, water_of_hydration: int = 0) -> Composition:
    """Composition of `formula` with `water_of_hydration` molecules of water.

    Example:
        >>> round(composition("MgO").mg_percent, 2)
        60.3

    Raises:
        ValueError: the formula cannot be parsed or holds no magnesium.
    """
    full = f"{formula}(H2O){water_of_hydration}" if water_of_hydration else formula
    try:
        parsed = Formula(full)
        parts = parsed.composition()
    except Exception as exc:  # molmass raises its own FormulaError and others
        raise ValueError(f"cannot parse formula {full!r}: {exc}") from exc
    if "Mg" not in parts:
        raise ValueError(f"formula {full!r} contains no magnesium")
    shown = f"{formula}·{water_of_hydration}H2O" if water_of_hydration else formula
    return Composition(
        formula=shown,
        molar_mass=float(parsed.mass),
        mg_atoms=int(parts["Mg"].count),
        mg_fraction=float(parts["Mg"].fraction),
    )


def elemental_mg(salt_mg: float, comp: Composition) -> float:
    """Elemental magnesium (mg) in `salt_mg` of the salt."""
    return salt_mg * comp.mg_fraction


def mg_to_mmol(mg: float) -> float:
    return mg / MG_MOLAR_MASS
