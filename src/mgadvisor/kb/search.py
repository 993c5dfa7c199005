"""Find entries: by exact code, or full-text over the Dutch and English texts (SQLite FTS5).

The index is built in memory once per knowledge base. Ranking is BM25 with names and synonyms
weighted above body text; words match as prefixes ("slaap" finds "slaapkwaliteit"). A Dutch
compound or inflected word the texts do not hold as such is matched through the index's own
words (`dutch_words.py`): "kuitkrampen" finds "kuitkramp", "belastingstest" finds
"magnesiumbelastingstest", "hoofdpijnklachten" finds "hoofdpijn" and "klachten". Interactions and
depleting medicines also answer to every medicine name (generic or brand) of their ATC codes.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.dutch_words import Vocabulary
from mgadvisor.kb.models import Text

# Kinds that hold entries by code, in the order `find_entry` tries them.
KINDS: tuple[str, ...] = (
    "compounds",
    "applications",
    "symptoms",
    "conditions",
    "risk_factors",
    "interactions",
    "depleting",
    "synergy",
    "facts",
    "foods",
    "references",
)


@dataclass(frozen=True)
class Hit:
    kind: str
    code: str
    name: Text
    snippet: str
    score: float


def find_entry(kb: KnowledgeBase, code: str) -> tuple[str, Any] | None:
    """(kind, entry) for an exact code or citation key, else None."""
    for kind in KINDS:
        entry = getattr(kb, kind).get(code)
        if entry is not None:
            return kind, entry
    for conflict in kb.safety.conflicts:
        if conflict.code == code:
            return "conflicts", conflict
    for effect in kb.safety.side_effects:
        if effect.code == code:
            return "side_effects", effect
    return None


def all_codes(kb: KnowledgeBase) -> list[str]:
    codes = [code for kind in KINDS for code in getattr(kb, kind)]
    codes += [c.code for c in kb.safety.conflicts] + [s.code for s in kb.safety.side_effects]
    return codes


def _texts(obj: Any) -> Iterator[str]:
    """Every Dutch and English text inside a model, at any depth."""
    if isinstance(obj, Text):
        yield obj.nl
        yield obj.en
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            if name not in ("name",):
                yield from _texts(getattr(obj, name))
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from _texts(item)


def _name_of(kind: str, entry: Any) -> Text:
    if kind == "references":
        return Text(nl=entry.title, en=entry.title)
    if kind == "foods":
        return Text(nl=entry.name_nl, en=entry.name_en)
    if kind == "facts":
        return Text(nl=entry.nl, en=entry.en)
    name = getattr(entry, "name", None) or getattr(entry, "topic", None)
    return name if isinstance(name, Text) else Text(nl=entry.code, en=entry.code)


def _medicine_names(kb: KnowledgeBase, prefixes: list[str]) -> list[str]:
    """The names in medicines.csv (generic and brand) under any of these ATC codes."""
    return sorted({row.name for row in kb.medicines if row.atc.startswith(tuple(prefixes))})


def _documents(kb: KnowledgeBase) -> Iterator[tuple[str, str, Text, str, str]]:
    """(kind, code, name, synonyms, body) for every searchable entry."""
    for kind in KINDS:
        for code, entry in getattr(kb, kind).items():
            name = _name_of(kind, entry)
            synonyms = " ".join(getattr(entry, "synonyms", []) or [])
            if kind in ("interactions", "depleting"):
                synonyms += " " + " ".join(_medicine_names(kb, entry.atc))
            if kind == "references":
                people = " ".join(a.family or a.literal or "" for a in entry.author)
                body = f"{people} {entry.container_title or ''} {entry.issued.date_parts[0][0]}"
            elif kind == "foods":
                body = entry.group.replace("_", " ")
            else:
                body = " ".join(_texts(entry))
            yield kind, code, name, synonyms, body
    for conflict in kb.safety.conflicts:
        yield "conflicts", conflict.code, conflict.topic, "", " ".join(_texts(conflict))
    for effect in kb.safety.side_effects:
        yield "side_effects", effect.code, effect.name, "", " ".join(_texts(effect))


class SearchIndex:
    """In-memory FTS5 index over every entry's texts in both languages."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE doc USING fts5("
            "kind UNINDEXED, key UNINDEXED, code, name, synonyms, body,"
            " tokenize = 'unicode61 remove_diacritics 2')"
        )
        self._names: dict[tuple[str, str], Text] = {}
        rows = []
        for kind, code, name, synonyms, body in _documents(kb):
            self._names[(kind, code)] = name
            rows.append(
                (kind, code, code.replace("_", " "), f"{name.nl} {name.en}", synonyms, body)
            )
        self._db.executemany("INSERT INTO doc VALUES (?, ?, ?, ?, ?, ?)", rows)
        self._db.execute("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, doc, 'row')")
        self._words = Vocabulary(row[0] for row in self._db.execute("SELECT term FROM words"))

    def search(self, text: str, limit: int = 10) -> list[Hit]:
        words = re.findall(r"\w+", text.lower())
        if not words:
            return []
        terms = [self._words.match_expression(w) for w in words]
        for joiner in (" AND ", " OR "):  # precise first; fall back to any word
            hits = self._query(joiner.join(terms), limit)
            if hits:
                return hits
        return []

    def _query(self, match: str, limit: int) -> list[Hit]:
        sql = (
            "SELECT kind, key, snippet(doc, 5, '[', ']', '…', 12),"
            " bm25(doc, 0.0, 0.0, 6.0, 8.0, 4.0, 1.0) AS score"
            " FROM doc WHERE doc MATCH ? ORDER BY score LIMIT ?"
        )
        out = []
        for kind, key, snippet, score in self._db.execute(sql, (match, limit)):
            out.append(Hit(kind, key, self._names[(kind, key)], snippet, -float(score)))
        return out


def search_index(kb: KnowledgeBase) -> SearchIndex:
    index = kb._cache.get("search_index")
    if not isinstance(index, SearchIndex):
        index = SearchIndex(kb)
        kb._cache["search_index"] = index
    return index
