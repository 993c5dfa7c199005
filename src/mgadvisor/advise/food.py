"""Food advice: which foods would close the gap between the diet and the reference intake.

The webinar asks the practitioner to look at vegetables, nuts, legumes and whole grains; for
each such group the bundled food with the most magnesium per household portion is proposed.
Food magnesium has no upper level (only supplemental magnesium does): the advice says so.
"""

from __future__ import annotations

from mgadvisor.advice import Finding
from mgadvisor.assess import Assessment
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Food, Portion

GROUPS = ("nuts_seeds", "legumes", "grains_bread", "vegetables", "cocoa_chocolate")
WHY = ["soe_webinar_maan", "jahnendechent2012"]


def portion_for(kb: KnowledgeBase, food: Food) -> Portion | None:
    specific = [p for p in kb.portions.values() if p.food == food.code]
    if specific:
        return specific[0]
    general = [p for p in kb.portions.values() if p.food is None and p.group == food.group]
    return general[0] if general else None


def best_foods(kb: KnowledgeBase) -> list[tuple[Food, Portion, float]]:
    """Per group the food with the most magnesium per portion (bundled, sourced foods only)."""
    chosen = []
    for group in GROUPS:
        options = []
        for food in kb.foods.values():
            if food.group != group or food.source not in kb.references or "refined" in food.tags:
                continue
            if group == "grains_bread" and "whole_grain" not in food.tags:
                continue
            portion = portion_for(kb, food)
            if portion is not None:
                options.append((food, portion, portion.grams * food.mg_per_100g / 100))
        if options:
            chosen.append(max(options, key=lambda item: item[2]))
    return sorted(chosen, key=lambda item: -item[2])


def food_advice(
    kb: KnowledgeBase, assessment: Assessment, ri: float | None, withheld: bool
) -> list[Finding]:
    diet = assessment.diet
    if diet is None:
        return []
    found = [Finding(code="diet.food_has_no_upper_level", sources=["iom1997", "scf2001"])]
    if ri is None or diet.magnesium_mg_per_day >= ri:
        return found
    gap = ri - diet.magnesium_mg_per_day
    found.append(
        Finding(
            code="diet.gap",
            params={
                "gap": round(gap),
                "reference_intake": ri,
                "diet": round(diet.magnesium_mg_per_day),
            },
            sources=WHY,
        )
    )
    limit = int(kb.param("diet_suggestions"))
    for food, portion, mg in best_foods(kb)[:limit]:
        found.append(
            Finding(
                code="diet.food_suggestion",
                params={
                    "food_nl": food.name_nl,
                    "food_en": food.name_en,
                    "portion_nl": portion.name_nl,
                    "portion_en": portion.name_en,
                    "grams": portion.grams,
                    "mg": round(mg),
                },
                sources=list(dict.fromkeys([food.source, portion.source, *WHY])),
            )
        )
    return found
