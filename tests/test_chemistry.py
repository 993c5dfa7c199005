"""Elemental magnesium computed from formulas agrees with independently published values."""

from __future__ import annotations

import pytest

from mgadvisor.chemistry import MG_MOLAR_MASS, composition, elemental_mg, mg_to_mmol
from mgadvisor.kb import KnowledgeBase
from mgadvisor.kb.views import compound_composition

# (compound code, published %Mg, tolerance, where it is published)
PUBLISHED_PERCENT = [
    ("magnesium_oxide", 60.3, 0.05, "MgO, standard reference value"),
    ("magnesium_citrate", 16.16, 0.02, "Merck Index: trimagnesium dicitrate, Mg 16.16 %"),
    ("magnesium_bisglycinate", 14.1, 0.05, "supplier literature: ~14.1 %"),
    ("magnesium_taurate", 8.9, 0.05, "magnesium taurate reference: ~8.9 %"),
    ("magnesium_glycerophosphate", 12.5, 0.05, "Neomag SmPC: 97.2 mg Mg in 777.6 mg salt"),
    ("magnesium_lactate", 12.01, 0.02, "Magnesioboi SmPC: 48.62 mg Mg in 404.85 mg"),
    ("magnesium_chloride_hexahydrate", 11.96, 0.02, "MgCl2·6H2O, MW 203.30"),
    ("magnesium_hydroxide", 41.68, 0.05, "Mg(OH)2, MW 58.32"),
]

# Molar masses published for the exact hydrate.
PUBLISHED_MOLAR_MASS = [
    ("magnesium_citrate_nonahydrate", 613.25, "supplier sheet, CAS 153531-96-5"),
    ("magnesium_sulfate", 120.37, "PubChem 24083"),
    ("magnesium_sulfate_heptahydrate", 246.47, "Epsom salt, MW 246.47"),
    ("magnesium_gluconate", 414.60, "USP monograph, anhydrous"),
    ("magnesium_orotate_dihydrate", 370.52, "Rom J Intern Med 2004;42:491"),
    ("magnesium_l_threonate", 312.51, "UK SI 2026/56 specification (monohydrate)"),
]


@pytest.mark.parametrize(("code", "percent", "tol", "where"), PUBLISHED_PERCENT)
def test_elemental_percent_matches_published(
    kb: KnowledgeBase, code: str, percent: float, tol: float, where: str
) -> None:
    computed = compound_composition(kb.compounds[code]).mg_percent
    assert computed == pytest.approx(percent, abs=tol), where


@pytest.mark.parametrize(("code", "mass", "where"), PUBLISHED_MOLAR_MASS)
def test_molar_mass_matches_published(
    kb: KnowledgeBase, code: str, mass: float, where: str
) -> None:
    assert compound_composition(kb.compounds[code]).molar_mass == pytest.approx(mass, abs=0.02), (
        where
    )


def test_l_threonate_is_within_the_uk_assay_specification(kb: KnowledgeBase) -> None:
    # UK SI 2026/56: assay 7.2-8.3 % Mg.
    assert 7.2 <= compound_composition(kb.compounds["magnesium_l_threonate"]).mg_percent <= 8.3


def test_epsom_salt_meets_its_purity_specification(kb: KnowledgeBase) -> None:
    # Pharmacopoeial specification: Mg >= 9.8 %.
    assert compound_composition(kb.compounds["magnesium_sulfate_heptahydrate"]).mg_percent >= 9.8


def test_hydrates_hold_less_magnesium_than_their_base(kb: KnowledgeBase) -> None:
    variants = [c for c in kb.compounds.values() if c.variant_of]
    assert variants
    for variant in variants:
        base = kb.compounds[variant.variant_of or ""]
        assert compound_composition(variant).mg_percent < compound_composition(base).mg_percent


def test_neomag_tablet_is_four_mmol() -> None:
    # Neomag SmPC: 777.6 mg magnesium glycerophosphate = 97.2 mg = 4 mmol magnesium.
    mg = elemental_mg(777.6, composition("C3H7MgO6P"))
    assert mg == pytest.approx(97.2, abs=0.3)
    assert mg_to_mmol(mg) == pytest.approx(4.0, abs=0.02)


def test_magnesium_molar_mass_is_iupac() -> None:
    assert pytest.approx(24.305, abs=0.001) == MG_MOLAR_MASS


def test_hydrate_notation_is_written_out() -> None:
    assert composition("MgCl2", 6).formula == "MgCl2·6H2O"


@pytest.mark.parametrize("bad", ["CaCO3", "Mg(", "Xx2"])
def test_unusable_formulas_are_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="formula"):
        composition(bad)
