"""Magnesium and calcium from food: a short food-frequency questionnaire, a diary, or both.

FFQ: times a day (from the answer) × portions × portion grams, spread over the item's
representative foods by share. Diary: grams per entry (or household portions), averaged over
the days. Water adds litres × mg/L. Results: mg/day, % of the reference intake, the Ca : Mg
ratio against the seed's 2 : 1, the top contributing foods, and notes on phytate/oxalate-rich
and refined foods.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from mgadvisor.advice import DietResult, Finding, FoodContribution
from mgadvisor.engine import Context, rule
from mgadvisor.foods.catalog import CatalogFood, FoodCatalog
from mgadvisor.intake import Diet
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Fact

# Food tags whose share of the magnesium gets a note, and the fact each note rests on.
NOTE_TAGS = {"phytate_rich": "absorption_antinutrients", "oxalate_rich": "absorption_antinutrients"}

TOP = 5


@dataclass
class _Tally:
    grams: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, code: str, grams_per_day: float) -> None:
        self.grams[code] += grams_per_day


def _ffq(kb: KnowledgeBase, diet: Diet, tally: _Tally) -> None:
    items = {item.code: item for item in kb.ffq.items}
    per_day = {f.code: f.per_day for f in kb.ffq.frequencies}
    for code, answer in diet.ffq.items():
        item = items[code]
        grams = per_day[answer.frequency] * answer.portions * item.portion_grams
        for part in item.foods:
            tally.add(part.food, grams * part.share)


def _diary(kb: KnowledgeBase, diet: Diet, catalog: FoodCatalog, tally: _Tally) -> list[str]:
    unresolved: list[str] = []
    days = len(diet.diary)
    for day in diet.diary:
        for entry in day.entries:
            food = catalog.resolve(entry.food)
            if food is None:
                unresolved.append(entry.food)
                continue
            grams = (
                entry.grams if entry.grams is not None else kb.portions[entry.portion or ""].grams
            )
            tally.add(food.code, grams * entry.amount / days)
    return list(dict.fromkeys(unresolved))


def _contribution(food: CatalogFood, grams: float) -> FoodContribution:
    return FoodContribution(
        food=food.code,
        name_nl=food.name_nl,
        name_en=food.name_en,
        grams_per_day=round(grams, 1),
        magnesium_mg_per_day=round(grams * food.mg_per_100g / 100, 1),
        calcium_mg_per_day=round(grams * (food.ca_per_100g or 0) / 100, 1),
        source=food.source,
        tags=list(food.tags),
    )


def _sources(kb: KnowledgeBase, parts: list[FoodContribution]) -> list[str]:
    """The tables the foods' values come from, with a bundled food's calcium source."""
    keys = {p.source for p in parts}
    for part in parts:
        food = kb.foods.get(part.food)
        if food is not None and food.ca_source and part.calcium_mg_per_day > 0:
            keys.add(food.ca_source)
    return sorted(k for k in keys if k in kb.references)


def assess_diet(
    kb: KnowledgeBase,
    diet: Diet,
    catalog: FoodCatalog,
    reference_intake: float | None,
    fact: Callable[[str], Fact] | None = None,
) -> DietResult:
    """Magnesium and calcium per day from the diet, with notes citing the facts they rest on.

    Args:
        fact: how the notes read their facts (a rule passes its context's tracer).
    """
    tally = _Tally()
    _ffq(kb, diet, tally)
    unresolved = _diary(kb, diet, catalog, tally)
    parts = [
        _contribution(catalog.foods[code], grams)
        for code, grams in tally.grams.items()
        if grams > 0
    ]
    magnesium = sum(p.magnesium_mg_per_day for p in parts)
    calcium = sum(p.calcium_mg_per_day for p in parts)
    water_mg = 0.0
    if diet.water is not None:
        water_mg = diet.water.liters_per_day * diet.water.magnesium_mg_per_l
        calcium += diet.water.liters_per_day * (diet.water.calcium_mg_per_l or 0)
    magnesium += water_mg
    ratio_factor = kb.risk_factors["high_calcium_magnesium_ratio"]
    target = float(ratio_factor.params["target_ratio"])
    method: Literal["ffq", "diary", "both", "water"] = (
        "both"
        if diet.ffq and diet.diary
        else "ffq"
        if diet.ffq
        else "diary"
        if diet.diary
        else "water"
    )
    notes = _notes(kb, parts, magnesium, fact or kb.facts.__getitem__)
    return DietResult(
        method=method,
        days=len(diet.diary),
        magnesium_mg_per_day=round(magnesium, 1),
        calcium_mg_per_day=round(calcium, 1),
        water_magnesium_mg_per_day=round(water_mg, 1),
        reference_intake_mg=reference_intake,
        pct_of_reference=round(100 * magnesium / reference_intake, 1) if reference_intake else None,
        calcium_magnesium_ratio=round(calcium / magnesium, 2) if magnesium > 0 else None,
        ratio_target=target,
        top=sorted(parts, key=lambda p: -p.magnesium_mg_per_day)[:TOP],
        foods=sorted(parts, key=lambda p: -p.magnesium_mg_per_day),
        unresolved=unresolved,
        notes=notes,
        sources=_sources(kb, parts),
    )


def _notes(
    kb: KnowledgeBase,
    parts: list[FoodContribution],
    total: float,
    fact: Callable[[str], Fact],
) -> list[Finding]:
    """Where phytate/oxalate-rich or refined foods carry much of the magnesium."""
    notes: list[Finding] = []
    if total <= 0:
        return notes
    threshold = kb.param("diet_note_share_pct")
    for tag, basis in NOTE_TAGS.items():
        share = 100 * sum(p.magnesium_mg_per_day for p in parts if tag in p.tags) / total
        if share >= threshold:
            sources = list(fact(basis).sources)
            notes.append(
                Finding(f"diet.{tag}", params={"share_pct": round(share)}, sources=sources)
            )
    refined = sum(p.grams_per_day for p in parts if "refined" in p.tags)
    whole = sum(p.grams_per_day for p in parts if "whole_grain" in p.tags)
    if refined > whole and refined > 0:
        notes.append(
            Finding(
                code="diet.refined",
                params={"refined_g": round(refined), "whole_g": round(whole)},
                sources=[
                    *fact("diet_refining_losses").sources,
                    *fact("diet_grains_nuts_refined_flour").sources,
                ],
            )
        )
    return notes


@rule("diet.intake", gives=("diet",), needs=("reference_intake",))
def diet_intake(c: Context) -> DietResult | None:
    """The diet's magnesium and calcium, when the intake has a diet section."""
    if c.intake.diet is None:
        return None
    catalog = c.foods or FoodCatalog.bundled(c.kb)
    found = assess_diet(c.kb, c.intake.diet, catalog, c.value("reference_intake"), c.fact)
    c.cite(found.sources or c.fact("diet_food_composition_table"))
    return found


@rule("risk.low_dietary_intake", gives=("risk_factors",), needs=("diet",))
def low_intake(c: Context) -> Finding | None:
    """Less than the parameter's share of the reference intake from the diet."""
    found: DietResult | None = c.value("diet")
    if found is None or found.pct_of_reference is None:
        return None
    if found.pct_of_reference >= c.param("diet_low_below_pct"):
        return None
    entry = c.kb.risk_factors["low_dietary_intake"]
    return c.finding(
        "risk.low_dietary_intake",
        points=entry.points,
        cites=[entry.statement],
        mg=found.magnesium_mg_per_day,
        pct=found.pct_of_reference,
    )


@rule("risk.high_calcium_magnesium_ratio", gives=("risk_factors",), needs=("diet",))
def high_ratio(c: Context) -> Finding | None:
    """A calcium : magnesium ratio at or above the Western one."""
    found: DietResult | None = c.value("diet")
    entry = c.kb.risk_factors["high_calcium_magnesium_ratio"]
    ratio = found.calcium_magnesium_ratio if found else None
    if ratio is None or ratio < float(entry.params["western_ratio"]):
        return None
    c.cite(entry.statement)
    return c.finding(
        "risk.high_calcium_magnesium_ratio",
        points=entry.points,
        ratio=ratio,
        target=entry.params["target_ratio"],
    )
