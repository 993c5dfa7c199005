"""Plain-data views of the knowledge base, shared by the CLI, the JSON output and the web app.

Each function returns dicts and lists of simple values (JSON-ready); renderers decide the looks.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mgadvisor.chemistry import Composition, composition, elemental_mg, mg_to_mmol
from mgadvisor.errors import UserInputError
from mgadvisor.i18n import N_
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.evidence import application_evidence, application_sources
from mgadvisor.kb.models import Compound, Interaction
from mgadvisor.kb.names import resolve_compound


def compound_composition(compound: Compound) -> Composition:
    return composition(compound.formula, compound.water_of_hydration)


def compound_row(kb: KnowledgeBase, compound: Compound, lang: str) -> dict[str, Any]:
    comp = compound_composition(compound)
    return {
        "code": compound.code,
        "name": compound.name.get(lang),
        "chemical_name": compound.chemical_name.get(lang),
        "formula": comp.formula,
        "molar_mass_g_mol": round(comp.molar_mass, 2),
        "elemental_mg_percent": round(comp.mg_percent, 2),
        "mmol_mg_per_100mg_salt": round(comp.mmol_per_100mg, 3),
        "salt_mg_per_100mg_elemental": round(comp.salt_mg_per_100mg_mg),
        "kind": compound.kind,
        "chelate": compound.chelate,
        "variant_of": compound.variant_of,
        "atc": list(compound.atc),
        "absorption": compound.absorption.level.value,
        "laxative": compound.laxative.level.value,
        "uses": [u.application for u in compound.uses],
        "use_names": [kb.applications[u.application].name.get(lang) for u in compound.uses],
        "sources": sorted({k for k in compound.absorption.sources + compound.laxative.sources}),
    }


def compound_table(kb: KnowledgeBase, lang: str) -> list[dict[str, Any]]:
    """All compounds, base forms first then their hydrates, by elemental share (high first)."""
    rows = [compound_row(kb, c, lang) for c in kb.compounds.values()]
    return sorted(rows, key=lambda r: (-r["elemental_mg_percent"], r["code"]))


def elemental(kb: KnowledgeBase, compound_name: str, salt_mg: float, lang: str) -> dict[str, Any]:
    """Elemental magnesium in `salt_mg` mg of the named compound.

    Raises:
        UserInputError: the mass is not a positive number.
        UnknownNameError: the compound is unknown.
    """
    if not 0 < salt_mg < float("inf"):  # also rejects NaN
        raise UserInputError(
            N_("MG: expected a positive mass in mg, got {given}"), given=f"{salt_mg:g}"
        )
    compound = resolve_compound(kb, compound_name)
    comp = compound_composition(compound)
    mg = elemental_mg(salt_mg, comp)
    return {
        "input": compound_name,
        "compound": compound.code,
        "name": compound.name.get(lang),
        "chemical_name": compound.chemical_name.get(lang),
        "formula": comp.formula,
        "elemental_mg_percent": round(comp.mg_percent, 2),
        "salt_mg": salt_mg,
        "elemental_mg": round(mg, 1),
        "elemental_mmol": round(mg_to_mmol(mg), 2),
        "formula_sources": list(compound.formula_sources),
    }


def interaction_row(interaction: Interaction, lang: str) -> dict[str, Any]:
    spacing = interaction.spacing
    return {
        "code": interaction.code,
        "name": interaction.name.get(lang),
        "atc": list(interaction.atc),
        "severity": interaction.severity.value,
        "effect": interaction.effect,
        "medicine_first_h": spacing.medicine_first_h if spacing else None,
        "magnesium_first_h": spacing.magnesium_first_h if spacing else None,
        "min_gap_hours": spacing.min_gap_hours if spacing else None,
        "mechanism": interaction.mechanism.get(lang),
        "sources": sorted(
            set(interaction.mechanism.sources)
            | set(interaction.advice.sources if interaction.advice else [])
        ),
    }


def application_row(kb: KnowledgeBase, code: str, lang: str) -> dict[str, Any]:
    app = kb.applications[code]
    return {
        "code": code,
        "name": app.name.get(lang),
        "summary": app.summary.get(lang),
        "evidence": application_evidence(kb, app).code,
        "medical_only": app.medical_only,
        "compounds": [c.compound for c in app.compounds],
        "sources": application_sources(app),
    }


def info(kb: KnowledgeBase) -> dict[str, Any]:
    """Version, content hash, counts per kind and the bibliography by study type and origin."""
    by_type = Counter(ref.study_type.value for ref in kb.references.values())
    by_origin = Counter(origin.value for ref in kb.references.values() for origin in ref.cited_in)
    return {
        "version": kb.version,
        "content_hash": kb.content_hash,
        "counts": kb.counts(),
        "references_by_study_type": dict(sorted(by_type.items(), key=lambda kv: -kv[1])),
        "references_by_origin": dict(sorted(by_origin.items())),
    }
