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


def _name_extras(kb: KnowledgeBase) -> frozenset[str]:
    """The words of strength, form and frequency that may follow a medicine's name."""
    cached = kb._cache.get("medicine_name_extras")
    if not isinstance(cached, frozenset):
        cached = frozenset(kb.facts["practice_medicine_name_extras"].codes)
        kb._cache["medicine_name_extras"] = cached
    return cached


def medicine_keys(kb: KnowledgeBase, text: str) -> list[str]:
    """The normalised keys to look a medicine up by, most literal first: the name as written,
    then without the strength, form and frequency at its end, then without them anywhere.

    Numbers ("500", "0,1", "500mg", "2x") and the words of the knowledge base's fact
    `practice_medicine_name_extras` ("mg", "tablet", "sachet", "daags") are dropped, so that
    "Thyrax 0,1 mg", "Ciproxin 500mg" and "metformine 500 mg 2x daags" find their medicine,
    while a brand whose name holds such a word ("Doxy Disp") still matches as written.

    Example:
        >>> from mgadvisor.kb import load_knowledge
        >>> medicine_keys(load_knowledge(), "Thyrax Duotab 0,1 mg tablet")
        ['thyrax duotab 0 1 mg tablet', 'thyrax duotab']
    """
    extras = _name_extras(kb)

    def extra(token: str) -> bool:  # "500", "500mg", "2x" (not "d3" of "Calci-Chew D3")
        return token in extras or token[:1].isdigit()

    key = normalize(text)
    tokens = key.split()
    trailing = list(tokens)
    while len(trailing) > 1 and extra(trailing[-1]):
        trailing.pop()
    anywhere = [t for t in tokens if not extra(t)] or trailing
    keys = [key, " ".join(trailing), " ".join(anywhere)]
    return [k for k in dict.fromkeys(keys) if k]


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
