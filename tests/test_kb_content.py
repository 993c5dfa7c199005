"""The knowledge base holds what the foundation issue asks for, every fact cited and bilingual."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from mgadvisor.kb import KnowledgeBase
from mgadvisor.kb.evidence import Evidence, application_evidence, evidence_of
from mgadvisor.kb.loader import citations
from mgadvisor.kb.models import CitedIn, Statement

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
ARTICLE = next(SEEDS.glob("004_*.txt"), None) if SEEDS.exists() else None

REQUIRED_COMPOUNDS = [
    "magnesium_oxide",
    "magnesium_hydroxide",
    "magnesium_carbonate",
    "magnesium_chloride",
    "magnesium_chloride_hexahydrate",
    "magnesium_sulfate",
    "magnesium_sulfate_heptahydrate",
    "magnesium_citrate",
    "magnesium_citrate_nonahydrate",
    "magnesium_bisglycinate",
    "magnesium_malate",
    "magnesium_taurate",
    "magnesium_acetyl_taurate",
    "magnesium_glycerophosphate",
    "magnesium_pidolate",
    "magnesium_lactate",
    "magnesium_gluconate",
    "magnesium_l_threonate",
    "magnesium_aspartate",
    "magnesium_orotate",
]

REQUIRED_APPLICATIONS = [
    "relaxation",
    "sleep",
    "energy",
    "heart_vessels",
    "blood_pressure",
    "sport_recovery",
    "muscles",
    "bones_joints",
    "nervous_system",
    "tissue_growth",
    "migraine_prevention",
    "constipation_relief",
    "blood_sugar",
    "hearing",
    "stress",
    "anxiety",
    "depression",
    "cluster_headache",
    "mitral_valve_prolapse",
    "metabolic_syndrome",
    "fibromyalgia",
    "asthma",
    "preeclampsia",
    "perioperative",
]

REQUIRED_SYMPTOMS = [
    "fatigue",
    "restlessness",
    "headache",
    "migraine",
    "stress",
    "anxiety",
    "low_mood",
    "poor_sleep",
    "muscle_cramps",
    "muscle_weakness",
    "muscle_pain",
    "tingling_numbness",
    "palpitations",
    "nausea",
    "poor_appetite",
    "constipation",
    "tinnitus",
    "concentration_problems",
]

REQUIRED_CONDITIONS = [
    "ckd",
    "heart_block",
    "neuromuscular_disease",
    "type1_diabetes",
    "type2_diabetes",
    "bowel_disease",
    "hypertension",
    "heart_failure",
    "arrhythmia",
    "epilepsy",
    "fibromyalgia",
    "osteoporosis",
    "asthma",
    "alcohol_use_disorder",
    "hyperthyroidism",
    "preeclampsia",
]

DUTCH_BRANDS = [
    "Nexium",
    "Pantozol",
    "Lasix",
    "Ciproxin",
    "Thyrax",
    "Euthyrox",
    "Fosamax",
    "Lanoxin",
    "Tivicay",
]


@pytest.mark.parametrize(
    ("kind", "required"),
    [
        ("compounds", REQUIRED_COMPOUNDS),
        ("applications", REQUIRED_APPLICATIONS),
        ("symptoms", REQUIRED_SYMPTOMS),
        ("conditions", REQUIRED_CONDITIONS),
    ],
)
def test_required_codes_exist(kb: KnowledgeBase, kind: str, required: list[str]) -> None:
    missing = sorted(set(required) - set(getattr(kb, kind)))
    assert not missing, f"{kind} lacks {missing}"


def test_at_least_25_applications(kb: KnowledgeBase) -> None:
    assert len(kb.applications) >= 25


@pytest.mark.skipif(ARTICLE is None, reason="the seeds are not beside the repository")
def test_every_seed_reference_is_in_the_bibliography(kb: KnowledgeBase) -> None:
    assert ARTICLE is not None
    text = ARTICLE.read_text(encoding="utf-8")
    listed = text[text.index("Abaamrane, L., Raffin") :]
    entries = [line for line in listed.splitlines() if line.strip()]
    from_article = [r for r in kb.references.values() if CitedIn.ARTICLE in r.cited_in]
    assert len(from_article) == len(entries) == 94
    from_webinar = [r for r in kb.references.values() if CitedIn.WEBINAR in r.cited_in]
    assert len(from_webinar) >= 7


@pytest.mark.skipif(ARTICLE is None, reason="the seeds are not beside the repository")
def test_every_doi_in_the_seed_is_kept(kb: KnowledgeBase) -> None:
    assert ARTICLE is not None
    dois = set(
        re.findall(
            r"https://doi\.org/(10\.\d{4,}/[^\s]+?)\.?(?:\s|$)", ARTICLE.read_text(encoding="utf-8")
        )
    )
    stored = {r.DOI.lower() for r in kb.references.values() if r.DOI}
    remarks = " ".join(r.remark.en for r in kb.references.values() if r.remark)
    # A seed DOI may be left out only when a remark says why (a test prefix, a chapter DOI, ...).
    missing = {d for d in dois if d.lower().rstrip(".") not in stored and d not in remarks}
    assert not missing, missing


def test_every_reference_is_formatted_in_apa(kb: KnowledgeBase) -> None:
    from mgadvisor.render.apa import apa

    formatted = apa(kb)
    assert set(formatted) == set(kb.references)
    abbasi = formatted["abbasi2012"]
    assert abbasi.startswith("Abbasi, B.")
    assert "(2012)" in abbasi


def test_apa_is_in_author_order(kb: KnowledgeBase) -> None:
    from mgadvisor.render.apa import apa

    texts = list(apa(kb, ["who2009", "abbasi2012", "jee2002"]).values())
    assert texts[0].startswith("Abbasi") and texts[1].startswith("Jee")


def test_prerendered_references_match_citeproc(kb: KnowledgeBase) -> None:
    """references.apa.json is what citeproc-py gives today; `make refs` regenerates it."""
    import orjson

    from mgadvisor.render.apa import PRERENDERED, prerender

    shipped = orjson.loads(PRERENDERED.read_bytes())
    assert shipped == prerender(kb), "run `make refs` after editing references.json"


def test_an_edited_reference_is_rendered_afresh(kb: KnowledgeBase) -> None:
    """A reference that differs from its pre-rendered text is not shown with the old text."""
    from dataclasses import replace

    from mgadvisor.render.apa import apa

    old = kb.references["abbasi2012"]
    edited = old.model_copy(update={"title": "A corrected title"})
    changed = replace(kb, references={**kb.references, "abbasi2012": edited}, _cache={})
    texts = apa(changed, ["who2009", "abbasi2012", "jee2002"])
    assert "A corrected title" in texts["abbasi2012"]
    assert str(old.title) not in texts["abbasi2012"]
    assert texts["jee2002"] == apa(kb, ["jee2002"])["jee2002"]
    assert list(texts) == ["abbasi2012", "jee2002", "who2009"]


def _models(kb: KnowledgeBase) -> list[BaseModel]:
    out: list[BaseModel] = []
    for kind in (
        "compounds",
        "applications",
        "symptoms",
        "conditions",
        "risk_factors",
        "interactions",
        "depleting",
        "facts",
        "synergy",
    ):
        out.extend(getattr(kb, kind).values())
    return [*out, kb.reference_values, kb.safety]


def _walk(obj: object) -> list[object]:
    found: list[object] = [obj]
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            found += _walk(getattr(obj, name))
    elif isinstance(obj, list | tuple):
        for item in obj:
            found += _walk(item)
    return found


def test_every_statement_is_cited_and_every_citation_resolves(kb: KnowledgeBase) -> None:
    statements = [s for m in _models(kb) for s in _walk(m) if isinstance(s, Statement)]
    assert len(statements) > 300
    assert all(s.sources for s in statements)
    keys = {key for m in _models(kb) for _, key in citations(m)}
    assert keys <= set(kb.references)


def test_texts_are_translated_not_copied(kb: KnowledgeBase) -> None:
    texts = [t for m in _models(kb) for t in _walk(m) if isinstance(t, Statement)]
    # Long statements identical in both languages are almost always an untranslated copy
    # (names such as "Dolutegravir/rilpivirine (Juluca)" may rightly be the same).
    copies = [t.nl for t in texts if t.nl == t.en and len(t.nl) > 25]
    assert not copies, copies[:5]


def test_medicine_index_covers_names_and_dutch_brands(kb: KnowledgeBase) -> None:
    names = {m.name.casefold() for m in kb.medicines}
    assert len(names) >= 80
    assert {b.casefold() for b in DUTCH_BRANDS} <= names
    assert sum(m.kind == "brand" for m in kb.medicines) >= 20


def test_interactions_carry_spacing_or_a_reason_not_to_combine(kb: KnowledgeBase) -> None:
    for inter in kb.interactions.values():
        if inter.route == "oral" and inter.effect == "absorption_of_medicine_reduced":
            assert inter.spacing is not None, inter.code


def test_ciprofloxacin_rule_is_2_hours_before_or_6_after(kb: KnowledgeBase) -> None:
    cipro = [i for i in kb.interactions.values() if "J01MA02" in i.atc]
    assert cipro and cipro[0].spacing is not None
    assert (cipro[0].spacing.medicine_first_h, cipro[0].spacing.magnesium_first_h) == (2, 6)


def test_seed_interaction_medicines_are_all_covered(kb: KnowledgeBase) -> None:
    # Seed: tetracyclines, digoxin, "penicilline", iron, ciprofloxacin. The seed's "penicilline"
    # is penicillamine (M01CC01), as in the magnesium medicine labels; penicillins have none.
    atc = [a for i in kb.interactions.values() for a in i.atc]
    for needed in ("J01AA", "C01AA05", "M01CC01", "B03A", "J01MA02"):
        assert any(needed.startswith(a) or a.startswith(needed) for a in atc), needed


def test_digoxin_goes_to_a_doctor(kb: KnowledgeBase) -> None:
    digoxin = [i for i in kb.interactions.values() if "C01AA05" in i.atc]
    assert digoxin and digoxin[0].severity.value == "referral"


def test_depleting_medicines_feed_the_depletion_score(kb: KnowledgeBase) -> None:
    components = {d.mds_component for d in kb.depleting.values()}
    assert {"ppi", "diuretic"} <= components


def test_kidney_heart_block_and_neuromuscular_need_a_doctor(kb: KnowledgeBase) -> None:
    for code in ("ckd", "heart_block", "neuromuscular_disease"):
        assert kb.conditions[code].safety.value in ("medical_supervision", "contraindicated"), code


def test_medical_only_applications(kb: KnowledgeBase) -> None:
    assert kb.applications["preeclampsia"].medical_only
    assert kb.applications["perioperative"].medical_only


def test_seed_study_doses(kb: KnowledgeBase) -> None:
    def doses(code: str) -> list[tuple[float, float | None]]:
        return [(d.amount_mg, d.amount_mg_max) for d in kb.applications[code].study_doses]

    assert (600, None) in doses("migraine_prevention")
    assert (500, None) in doses("sleep")
    assert (300, 600) in doses("fibromyalgia")
    assert any(
        d.compound == "magnesium_citrate" and d.amount_mg == 300
        for d in kb.applications["fibromyalgia"].study_doses
    )


def test_sleep_trial_lasted_eight_weeks(kb: KnowledgeBase) -> None:
    assert any(d.duration_weeks == 8 for d in kb.applications["sleep"].study_doses)


def test_the_upper_level_conflict_is_kept_with_both_sources(kb: KnowledgeBase) -> None:
    conflicts = {c.code: c for c in kb.safety.conflicts}
    upper = next(c for c in conflicts.values() if "250" in c.authority.en)
    assert upper.safer == "authority"
    assert upper.seed.sources and upper.authority.sources
    assert set(upper.seed.sources).isdisjoint(upper.authority.sources)


def test_gezondheidsraad_is_the_default_authority(kb: KnowledgeBase) -> None:
    default = [a for a in kb.reference_values.authorities if a.default]
    assert [a.code for a in default] == ["gezondheidsraad"]
    assert {a.code for a in kb.reference_values.authorities} >= {"gezondheidsraad", "efsa", "iom"}


def test_seed_intake_statements_are_kept_in_context(kb: KnowledgeBase) -> None:
    seeds = {s.code: s for s in kb.reference_values.seed_statements}
    assert any(s.mg == 300 for s in seeds.values())
    assert any(s.mg == 600 and s.mg_max == 700 for s in seeds.values())


def test_seed_food_table_is_present(kb: KnowledgeBase) -> None:
    seed_foods = [f for f in kb.foods.values() if f.source == "bohn2003"]
    assert len(seed_foods) == 9
    assert max(seed_foods, key=lambda f: f.mg_per_100g).mg_per_100g == 414  # cocoa powder


def test_evidence_follows_study_type(kb: KnowledgeBase) -> None:
    assert evidence_of(kb, ["poleszak2004"]) is Evidence.PRECLINICAL  # a study in mice
    assert evidence_of(kb, ["abaamrane2009"]) is Evidence.PRECLINICAL  # guinea pigs
    assert evidence_of(kb, ["abbasi2012"]) is Evidence.MODERATE  # an RCT
    assert evidence_of(kb, ["jee2002"]) is Evidence.STRONG  # a meta-analysis
    assert evidence_of(kb, ["poleszak2004", "abbasi2012"]) is Evidence.MODERATE


def test_animal_only_applications_read_as_preclinical(kb: KnowledgeBase) -> None:
    from mgadvisor.kb.evidence import application_sources
    from mgadvisor.kb.models import StudyType

    preclinical = {StudyType.ANIMAL, StudyType.IN_VITRO}
    for app in kb.applications.values():
        types = {kb.references[k].study_type for k in application_sources(app)}
        human = (
            types
            - preclinical
            - {
                StudyType.NARRATIVE_REVIEW,
                StudyType.TEXTBOOK,
                StudyType.GUIDELINE_AUTHORITY,
                StudyType.OTHER,
            }
        )
        if types & preclinical and not human:
            assert application_evidence(kb, app) is Evidence.PRECLINICAL, app.code
