"""The one use case every adapter calls: an intake in, the advice document out.

The CLI (`advise`, `diet`, `batch`), the HTTP API, the web pages and the client PDF all go
through :func:`advice_document`, so the language, the date of the advice and the food tables
are chosen the same way everywhere:

- language: the adapter's explicit choice (``--lang``, ``?lang=``, the page's language switch),
  else the intake's ``preferences.lang``, else the adapter's default (``LANG``, the browser's
  ``Accept-Language``, Dutch);
- date: ``as_of`` is passed in; adapters default it to today (the core never reads a clock);
- foods: the bundled table plus every table the user imported (NEVO, USDA), unless a catalogue
  is passed in.

This layer may do I/O (the user's imported food tables); the core below it does none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from mgadvisor.advice import Advice
from mgadvisor.foods.catalog import FoodCatalog
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase

__all__ = ["AdviceRun", "advice_document", "advise_and_render", "choose_lang", "run", "user_foods"]

DEFAULT_LANG = "nl"


def choose_lang(explicit: str | None, intake: Intake | None, default: str = DEFAULT_LANG) -> str:
    """The language of an advice: explicit choice, then the intake's preference, then default.

    Example:
        >>> choose_lang("en", None)
        'en'
        >>> choose_lang(None, None, default="en")
        'en'
    """
    if explicit:
        return explicit
    if intake is not None and intake.preferences.lang:
        return intake.preferences.lang
    return default


def user_foods(kb: KnowledgeBase, store_path: Path | None = None) -> FoodCatalog:
    """The bundled foods plus every table the user imported, re-read when the store changes."""
    from mgadvisor.foods.store import FoodStore

    store = FoodStore(store_path)
    try:
        stamp = store.path.stat().st_mtime_ns
    except FileNotFoundError:
        return FoodCatalog.bundled(kb)
    key = ("user_foods", str(store.path), stamp)
    cached = kb._cache.get("user_foods")
    if isinstance(cached, tuple) and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    catalog = store.catalog(FoodCatalog.bundled(kb))
    kb._cache["user_foods"] = (key, catalog)
    return catalog


def run(
    intake: Intake,
    kb: KnowledgeBase,
    *,
    as_of: date,
    foods: FoodCatalog | None = None,
) -> Advice:
    """The engine's advice (language-neutral) for a checked intake."""
    from mgadvisor.advise import advise_intake

    if foods is None and intake.diet is not None:
        foods = user_foods(kb)
    return advise_intake(intake, kb, as_of, foods=foods)


@dataclass(frozen=True, slots=True)
class AdviceRun:
    """One advice with its document, and the language it was rendered in."""

    advice: Advice
    document: dict[str, Any]
    lang: str


def advise_and_render(
    intake: Intake,
    kb: KnowledgeBase,
    *,
    as_of: date,
    lang: str | None = None,
    default_lang: str = DEFAULT_LANG,
    foods: FoodCatalog | None = None,
) -> AdviceRun:
    """The advice and its document (for adapters that also draw from the advice itself)."""
    from mgadvisor.render.contract import advice_dict

    chosen = choose_lang(lang, intake, default_lang)
    advice = run(intake, kb, as_of=as_of, foods=foods)
    return AdviceRun(advice, advice_dict(advice, kb, chosen), chosen)


def advice_document(
    intake: Intake,
    kb: KnowledgeBase,
    *,
    as_of: date,
    lang: str | None = None,
    default_lang: str = DEFAULT_LANG,
    foods: FoodCatalog | None = None,
) -> dict[str, Any]:
    """The advice as the JSON-ready document of the public contract (``docs/schema``).

    Args:
        intake: a checked intake (:func:`mgadvisor.parse_intake`).
        kb: the knowledge base (:func:`mgadvisor.load_knowledge`).
        as_of: the date of the advice.
        lang: the adapter's explicit language choice, or None to follow the intake.
        default_lang: the language when neither the adapter nor the intake chooses one.
        foods: the food catalogue; None means bundled plus the user's imported tables.

    Returns:
        The document as plain data (``document["lang"]`` is the language chosen).

    Example:
        >>> from datetime import date
        >>> from mgadvisor.intake import parse_intake
        >>> from mgadvisor.kb import load_knowledge
        >>> kb = load_knowledge()
        >>> intake = parse_intake({"person": {"age": 40, "sex": "female"}}, kb)
        >>> doc = advice_document(intake, kb, as_of=date(2026, 1, 1), lang="en")
        >>> doc["lang"], doc["dose"]["status"], doc["referral"]["needed"]
        ('en', 'advised', False)
    """
    return advise_and_render(
        intake, kb, as_of=as_of, lang=lang, default_lang=default_lang, foods=foods
    ).document
