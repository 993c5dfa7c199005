"""Resolve what people type ("Mg-bisglycinaat", "magnesium citrate") to knowledge codes."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from mgadvisor.errors import UnknownNameError
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.models import Compound, MedicineName

_SEPARATORS = re.compile(r"[\s\-_/,.()·]+")
_PREFIXES = ("magnesium ", "magnesium", "mg ")


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Lower-case, accents stripped, separators to single spaces (cached: names recur).

    Example:
        >>> normalize("Mg-Bisglycinaat")
        'mg bisglycinaat'
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS.sub(" ", plain.casefold()).strip()


def _strip_prefix(name: str) -> str:
    for prefix in _PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix) + 2:
            return name[len(prefix) :].strip()
    return name


def compound_aliases(compound: Compound) -> set[str]:
    """Every normalised way to name `compound`, with and without a leading "magnesium"."""
    names = {
        compound.code,
        compound.code.replace("_", " "),
        compound.name.nl,
        compound.name.en,
        compound.chemical_name.nl,
        compound.chemical_name.en,
        *compound.synonyms,
    }
    aliases = {normalize(n) for n in names}
    return aliases | {_strip_prefix(a) for a in aliases}


def compound_index(kb: KnowledgeBase) -> dict[str, str]:
    """Alias -> compound code. Base compounds win over their hydrate variants on a shared alias."""
    cached = kb._cache.get("compound_index")
    if cached is not None:
        return dict(cached)
    index: dict[str, str] = {}
    ordered = sorted(kb.compounds.values(), key=lambda c: c.variant_of is None)
    for compound in ordered:  # variants first, so base compounds overwrite shared aliases
        for alias in compound_aliases(compound):
            index[alias] = compound.code
    kb._cache["compound_index"] = index
    return dict(index)


def resolve_compound(kb: KnowledgeBase, text: str) -> Compound:
    """The compound that `text` names.

    Raises:
        UnknownNameError: nothing matches; carries the closest names as suggestions.
    """
    index = compound_index(kb)
    key = normalize(text)
    code = index.get(key) or index.get(_strip_prefix(key))
    if code:
        return kb.compounds[code]
    from rapidfuzz import fuzz, process

    best = process.extract(key, list(index), scorer=fuzz.WRatio, limit=3, score_cutoff=70)
    suggestions = list(
        dict.fromkeys(kb.compounds[index[alias]].name.en.lower() for alias, *_ in best)
    )
    raise UnknownNameError("compound", text, suggestions)


def generic_name(kb: KnowledgeBase, atc: str, lang: str) -> str | None:
    """A generic name for an ATC code, in the language if the index has one."""
    by_atc = kb._cache.get("generics_by_atc")
    if not isinstance(by_atc, dict):
        by_atc = {}
        for row in kb.medicines:
            if row.kind == "generic":
                by_atc.setdefault(row.atc, []).append(row)
        kb._cache["generics_by_atc"] = by_atc
    rows: list[MedicineName] = by_atc.get(atc, [])
    for wanted in (lang, "any", "en", "nl"):
        for row in rows:
            if row.lang == wanted:
                return row.name
    return None
