"""Food advice: which foods would close the gap between the diet and the reference intake.

For each food group the knowledge base advises (`diet_food_groups_advised`), the bundled food
with the most magnesium per household portion is proposed. Food magnesium has no upper level
(only supplemental magnesium does): the advice says so.
"""

from __future__ import annotations

from mgadvisor.advice import DietResult, Finding
from mgadvisor.engine import Context, rule
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Food, Portion


def portion_for(kb: KnowledgeBase, food: Food) -> Portion | None:
    specific = [p for p in kb.portions.values() if p.food == food.code]
    if specific:
        return specific[0]
    general = [p for p in kb.portions.values() if p.food is None and p.group == food.group]
    return general[0] if general else None


def best_foods(kb: KnowledgeBase, groups: list[str]) -> list[tuple[Food, Portion, float]]:
    """Per group the food with the most magnesium per portion (bundled, sourced foods only).

    It depends on the knowledge base alone (every food against every portion), so it is
    worked out once per knowledge base and set of groups; callers must not change the list."""
    key = "best_foods:" + ",".join(groups)
    cached: list[tuple[Food, Portion, float]] | None = kb._cache.get(key)
    if cached is None:
        cached = kb._cache[key] = _best_foods(kb, groups)
    return cached


def _best_foods(kb: KnowledgeBase, groups: list[str]) -> list[tuple[Food, Portion, float]]:
    chosen = []
    for group in groups:
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


@rule("diet.food_has_no_upper_level", gives=("food_advice",), needs=("diet",))
def no_upper_level(c: Context) -> Finding | None:
    """With a diet estimate: the upper level is about supplements, not food."""
    if c.value("diet") is None:
        return None
    c.fact("diet_food_no_upper_level")
    return c.finding("diet.food_has_no_upper_level")


@rule("diet.gap", gives=("food_advice",), needs=("diet", "reference_intake"))
def gap(c: Context) -> list[Finding]:
    """Below the reference intake: the gap, and one food per advised group that closes most."""
    diet: DietResult | None = c.value("diet")
    ri: float | None = c.value("reference_intake")
    if diet is None or ri is None or diet.magnesium_mg_per_day >= ri:
        return []
    groups = c.fact("diet_food_groups_advised").codes
    eaten = round(diet.magnesium_mg_per_day)
    found = [
        c.finding(
            "diet.gap", gap=round(ri - diet.magnesium_mg_per_day), reference_intake=ri, diet=eaten
        )
    ]
    limit = int(c.param("diet_suggestions", cite=False))
    for food, portion, mg in best_foods(c.kb, list(groups))[:limit]:
        found.append(
            c.finding(
                "diet.food_suggestion",
                cites=[[food.source, portion.source]],
                food_nl=food.name_nl,
                food_en=food.name_en,
                portion_nl=portion.name_nl,
                portion_en=portion.name_en,
                grams=portion.grams,
                mg=round(mg),
            )
        )
    return found
