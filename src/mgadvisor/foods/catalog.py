"""One catalogue of foods for diet estimates: bundled rows first, then imported tables.

The engine receives a catalogue as a value (it never opens the user's database itself); the CLI
and web app build one from the knowledge base plus the user's imported tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.names import normalize


@dataclass(frozen=True)
class CatalogFood:
    code: str
    name_nl: str
    name_en: str
    group: str
    mg_per_100g: float
    ca_per_100g: float | None
    source: str  # citation key, or the imported table's id (e.g. "nevo:2025 9.0")
    source_food_id: str = ""
    tags: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        return self.name_nl if lang == "nl" else self.name_en


@dataclass
class FoodCatalog:
    foods: dict[str, CatalogFood]
    tables: list[str] = field(default_factory=list)  # imported table ids, in priority order
    _index: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def bundled(cls, kb: KnowledgeBase) -> FoodCatalog:
        cached = kb._cache.get("food_catalog")
        if isinstance(cached, FoodCatalog):
            return cached
        foods = {
            f.code: CatalogFood(
                f.code,
                f.name_nl,
                f.name_en,
                f.group,
                f.mg_per_100g,
                f.ca_per_100g,
                f.source,
                f.source_food_id,
                tuple(f.tags),
            )
            for f in kb.foods.values()
        }
        catalog = cls(foods)
        kb._cache["food_catalog"] = catalog
        return catalog

    def with_imported(self, rows: Iterable[CatalogFood], tables: Iterable[str]) -> FoodCatalog:
        merged = dict(self.foods)
        for row in rows:
            merged.setdefault(row.code, row)
        return FoodCatalog(merged, [*self.tables, *tables])

    def index(self) -> dict[str, str]:
        """Normalised Dutch and English names -> food code (bundled names win)."""
        if not self._index:
            for food in self.foods.values():
                for name in (food.code, food.name_nl, food.name_en):
                    self._index.setdefault(normalize(name), food.code)
        return self._index

    def resolve(self, text: str) -> CatalogFood | None:
        """A food by code or by (nearly) exact name, else None."""
        if text in self.foods:
            return self.foods[text]
        code = self.index().get(normalize(text))
        if code:
            return self.foods[code]
        from rapidfuzz import fuzz, process

        best = process.extractOne(
            normalize(text), list(self.index()), scorer=fuzz.ratio, score_cutoff=90
        )
        return self.foods[self.index()[best[0]]] if best else None

    def search(self, text: str, limit: int = 10) -> list[tuple[CatalogFood, float]]:
        """Best matches for a Dutch or English name, with a 0-100 score."""
        from rapidfuzz import fuzz, process

        index = self.index()
        found = process.extract(normalize(text), list(index), scorer=fuzz.WRatio, limit=limit * 3)
        out: list[tuple[CatalogFood, float]] = []
        seen: set[str] = set()
        for alias, score, _ in found:
            code = index[alias]
            if code not in seen and score >= 60:
                seen.add(code)
                out.append((self.foods[code], float(score)))
        return out[:limit]
