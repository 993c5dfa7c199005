"""Turn a Finding (code + params) into a sentence in Dutch or English.

Codes in the parameters become names from the knowledge base; numbers get the language's
notation. Synergy findings use the synergy entry's own statement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from mgadvisor.advice import Finding
from mgadvisor.i18n import Translator
from mgadvisor.kb.base import KnowledgeBase


def _namer(kb: KnowledgeBase, lang: str) -> Callable[[str], str]:
    cached = kb._cache.get(f"namer_{lang}")
    if callable(cached):
        return cached  # type: ignore[no-any-return]
    namer = _build_namer(kb, lang)
    kb._cache[f"namer_{lang}"] = namer
    return namer


def _build_namer(kb: KnowledgeBase, lang: str) -> Callable[[str], str]:
    tables: list[dict[str, Any]] = [
        kb.symptoms,
        kb.conditions,
        kb.applications,
        kb.compounds,
        kb.depleting,
        kb.interactions,
        kb.labs,
    ]
    authorities = {a.code: a for a in kb.reference_values.authorities}

    def name(code: str) -> str:
        for table in tables:
            entry = table.get(code)
            if entry is not None:
                return str(entry.name.get(lang))
        if code in authorities:
            return authorities[code].name.get(lang)
        return code

    return name


CODE_KEYS = (
    "condition",
    "symptom",
    "goal",
    "application",
    "compound",
    "group",
    "interaction",
    "authority",
    "analyte",
)
LIST_KEYS = ("symptoms", "signs", "because", "applications", "medications", "analytes")
TEXT_LIST_KEYS = ("products",)  # free text as entered (product names): joined, not named
FREQUENCY_KEYS = ("frequency", "name_frequency")  # how often a medicine is taken: in words


def medicine_name(kb: KnowledgeBase, atc: str | None, lang: str) -> str | None:
    """The generic name of a medicine in the language, from its ATC code."""
    from mgadvisor.kb.names import generic_name

    return generic_name(kb, atc, lang) if atc else None


def medicine_label(kb: KnowledgeBase, given: str, atc: str | None, lang: str) -> str:
    """A medicine as the client entered it; an ATC code entered alone becomes the generic
    name in the language."""
    if atc and given == atc:
        return medicine_name(kb, atc, lang) or given
    return given


IN_SENTENCE_KEYS = ("symptom", "condition", "application")  # names used as common nouns


def in_sentence(kb: KnowledgeBase, name: str) -> str:
    """A name inside a sentence: its first letter small, the rest as written, so brand names and
    abbreviations keep their capitals; a name that starts with a brand or an abbreviation is left
    as it is.

    >>> from mgadvisor.kb import load_knowledge
    >>> kb = load_knowledge()
    >>> in_sentence(kb, "Dolutegravir (ook in Triumeq en Dovato)")
    'dolutegravir (ook in Triumeq en Dovato)'
    >>> in_sentence(kb, "Nexium"), in_sentence(kb, "NSAID's"), in_sentence(kb, "Sombere stemming")
    ('Nexium', "NSAID's", 'sombere stemming')
    >>> in_sentence(kb, "A06AD02")  # a code (an ATC code typed as the name) keeps its case
    'A06AD02'
    """
    brands = kb._cache.get("brand_words")
    if not isinstance(brands, frozenset):
        brands = frozenset(r.name.split()[0].casefold() for r in kb.medicines if r.kind == "brand")
        kb._cache["brand_words"] = brands
    first = name.split(" ", 1)[0].strip("(),.;:").casefold()
    if name[1:2].isupper() or name[1:2].isdigit() or first in brands:
        return name
    return name[:1].lower() + name[1:]


def format_params(kb: KnowledgeBase, params: dict[str, Any], t: Translator) -> dict[str, str]:
    name = _namer(kb, t.lang)
    out: dict[str, str] = {}
    atc = params.get("atc")
    for key, value in params.items():
        if key == "medication" and atc and "resolved_as" not in params:
            out[key] = medicine_label(kb, str(value), atc, t.lang)
            continue
        if key == "resolved_as" and atc:
            out[key] = medicine_name(kb, atc, t.lang) or str(value)
            continue
        if key.endswith(("_nl", "_en")):
            if key.endswith(f"_{t.lang}"):
                out[key[:-3]] = str(value)  # e.g. food_nl -> {food} in Dutch
            continue
        if key in CODE_KEYS and isinstance(value, str):
            lower = key in IN_SENTENCE_KEYS
            out[key] = in_sentence(kb, name(value)) if lower else name(value)
        elif key in LIST_KEYS and isinstance(value, list):
            out[key] = ", ".join(in_sentence(kb, name(str(v))) for v in value)
        elif key in TEXT_LIST_KEYS and isinstance(value, list):
            out[key] = ", ".join(str(v) for v in value)
        elif key in FREQUENCY_KEYS and isinstance(value, str):
            from mgadvisor.render.labels import FREQUENCY_LABELS

            label = FREQUENCY_LABELS.get(value)
            out[key] = t(label) if label else value
        elif key == "suggestions":
            out[key] = t(" (did you mean: {names}?)", names=", ".join(value)) if value else ""
        elif isinstance(value, bool):
            out[key] = t("yes") if value else t("no")
        elif isinstance(value, int | float):
            out[key] = t.num(float(value), 2)
        elif value is None:
            out[key] = "?"
        else:
            out[key] = str(value)
    _apart(params, out, t)
    return out


def _apart(params: dict[str, Any], out: dict[str, str], t: Translator) -> None:
    """A value and its limit that differ but round to the same text ("0.37 mmol/L, below
    0.37" for 0.369): the limit with all its decimals, the value with enough to tell them
    apart on the right side ("0.369", "0.37")."""
    value, limit = params.get("value"), params.get("limit")
    if not isinstance(value, int | float) or not isinstance(limit, int | float):
        return
    if isinstance(value, bool) or isinstance(limit, bool) or value == limit:
        return
    if out.get("value") != out.get("limit"):
        return
    decimals = len(repr(float(limit)).partition(".")[2].rstrip("0"))
    for digits in range(3, 7):
        shown = round(value, digits)
        if shown != limit and (shown < limit) == (value < limit):
            out["value"] = t.num(value, digits)
            out["limit"] = t.num(limit, max(decimals, 2))
            return


TEXT_CACHE_SIZE = 4096  # rendered sentences kept per language; the cache empties when full


def finding_text(kb: KnowledgeBase, finding: Finding, t: Translator) -> str:
    """The finding as one sentence in the translator's language.

    Sentences are cached per knowledge base and language: a loaded knowledge base never changes,
    and the same finding (code and parameters) recurs from client to client.
    """
    return texts(kb, t)(finding)


def texts(kb: KnowledgeBase, t: Translator) -> Callable[[Finding], str]:
    """:func:`finding_text` for many findings of one language (the cache looked up once)."""
    cache: dict[tuple[str, bytes], str] = kb._cache.setdefault(f"texts_{t.lang}", {})
    dumps = orjson.dumps

    def text(finding: Finding) -> str:
        try:
            key = (finding.code, dumps(finding.params))
        except TypeError:  # parameters that are not plain JSON data: render without the cache
            return _render(kb, finding, t)
        found = cache.get(key)
        if found is None:
            if len(cache) >= TEXT_CACHE_SIZE:
                cache.clear()
            found = cache[key] = _render(kb, finding, t)
        return found

    return text


def _render(kb: KnowledgeBase, finding: Finding, t: Translator) -> str:
    if finding.code.startswith("synergy."):
        entry = kb.synergy[finding.code.removeprefix("synergy.")]
        return f"{entry.name.get(t.lang)}: {entry.statement.get(t.lang)}"
    message = kb.messages.get(finding.code)
    if message is None:
        return finding.code
    text = message.get(t.lang)
    sentence = text.format(**format_params(kb, finding.params, t))
    return capitalize(sentence)


def capitalize(sentence: str) -> str:
    """Upper-case the first letter of a word, but leave names like "eGFR" or "pH" alone."""
    if len(sentence) > 1 and sentence[0].islower() and not sentence[1].isupper():
        return sentence[0].upper() + sentence[1:]
    return sentence
