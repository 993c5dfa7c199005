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

import functools
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mgadvisor.foods.catalog import FoodCatalog
from mgadvisor.intake import Intake
from mgadvisor.kb.base import KnowledgeBase

if TYPE_CHECKING:
    from mgadvisor.advice import Advice

__all__ = ["advice_document", "choose_lang", "run", "user_foods"]

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
    return _catalog_at(kb, store.path, stamp)


@functools.lru_cache(maxsize=4)
def _catalog_at(kb: KnowledgeBase, path: Path, stamp: int) -> FoodCatalog:
    from mgadvisor.foods.store import FoodStore

    return FoodStore(path).catalog(FoodCatalog.bundled(kb))


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
    """
    from mgadvisor.render.contract import advice_dict

    chosen = choose_lang(lang, intake, default_lang)
    return advice_dict(run(intake, kb, as_of=as_of, foods=foods), kb, chosen, validate=False)
