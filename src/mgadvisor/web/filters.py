"""Jinja filters for the pages: option lists, labels, and an entry's statements."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import Environment, pass_context
from markupsafe import Markup, escape
from pydantic import BaseModel

from mgadvisor.kb.evidence import Evidence
from mgadvisor.kb.models import Statement, Text
from mgadvisor.render.labels import (
    BASIS_LABELS,
    EVIDENCE_LABELS,
    FIELD_LABELS,
    LAB_FLAG,
    PRODUCT_ACTION,
    RISK_STATUS,
    STATUS,
    URGENCY,
)
from mgadvisor.render.report import schedule_when as _schedule_when


def zip_self(values: Iterable[str]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


def freq_options(frequencies: Iterable[Any], lang: str) -> list[tuple[str, str]]:
    return [(f.code, f.label.get(lang)) for f in frequencies]


def authority_options(authorities: Iterable[Any], lang: str) -> list[tuple[str, str]]:
    ordered = sorted(authorities, key=lambda a: not a.default)
    return [(a.code, a.name.get(lang)) for a in ordered]


def status_label(status: str) -> str:
    return STATUS[status]


def evidence_label(level: Evidence) -> str:
    return EVIDENCE_LABELS[level]


def statements(entry: BaseModel, lang: str) -> list[tuple[str, dict[str, Any]]]:
    """(field label msgid, {text, sources}) for every text of an entry, in field order."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(entry, Statement) and not isinstance(getattr(entry, "name", None), Text):
        out.append(("Statement", {"text": entry.get(lang), "sources": entry.sources}))
    for name in type(entry).model_fields:
        label = FIELD_LABELS.get(name)
        value = getattr(entry, name)
        if label is None:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, Statement):
                out.append((label, {"text": item.get(lang), "sources": item.sources}))
            elif isinstance(item, Text):
                out.append((label, {"text": item.get(lang), "sources": []}))
    return out


def cite(sources: Iterable[str]) -> Markup:
    """The citation keys of a statement: `<span class="cite">[key1, key2]</span>`."""
    return Markup(f'<span class="cite">[{escape(", ".join(sources))}]</span>')


def findings(
    items: Iterable[Mapping[str, Any]], severity: bool = False, points: bool = False
) -> Markup:
    """One `<li>` per finding of the advice document: its text and its citation keys.

    With `points` (risk factors) each item starts with the points it adds; with `severity` each
    item gets its severity as class (info, warning, critical). Text and keys are escaped; the
    advice page shows some forty findings, so this loop runs in Python, not as template code.
    """
    out = []
    for item in items:
        css = f' class="{escape(item["severity"])}"' if severity else ""
        added = f"+{int(item['points'])} " if points and item.get("points") is not None else ""
        out.append(f"<li{css}>{added}{escape(item['text'])} {cite(item['sources'])}</li>")
    return Markup("".join(out))


def trace_items(steps: Iterable[Mapping[str, Any]]) -> Markup:
    """One `<li>` per rule that fired: its code, its result and its citation keys, escaped.

    Some twenty-five rules fire per advice: the loop runs in Python, not as template code."""
    return Markup(
        "".join(
            f"<li><code>{escape(s['rule'])}</code>: {escape(s['result'])} {cite(s['sources'])}</li>"
            for s in steps
        )
    )


def reference_items(references: Iterable[Mapping[str, str]]) -> Markup:
    """One `<li id="ref-KEY">` per reference of the advice document, key and APA text escaped.

    An advice cites some thirty references and the same ones recur from client to client: each
    item is built once (the bibliography does not change while the app runs).
    """
    return Markup("".join(_reference_item(r["key"], r["apa"]) for r in references))


@functools.lru_cache(maxsize=1024)
def _reference_item(key: str, text: str) -> str:
    key = escape(key)
    return f'<li id="ref-{key}"><span class="cite">[{key}]</span> {escape(text)}</li>'


# The day-schedule timeline runs from 06:00 to 24:00 over x = 20..460 (see _advice.html).
_DAY_START, _DAY_HOURS, _X0, _WIDTH = 6, 18, 20, 440


def timeline_x(clock: str) -> float:
    """Where a time (HH:MM) sits on the day-schedule timeline; before 06:00 at its start."""
    hours = int(clock[:2]) + int(clock[3:5]) / 60
    return round(_X0 + max(hours - _DAY_START, 0) * _WIDTH / _DAY_HOURS, 1)


TIMELINE_TICKS = Markup(
    "".join(
        f'<text x="{_X0 + (h - _DAY_START) * _WIDTH / _DAY_HOURS:g}" y="60" class="small" '
        f'text-anchor="middle">{h % 24:02d}:00</text>'
        for h in range(_DAY_START, _DAY_START + _DAY_HOURS + 1, 3)
    )
)


_ALLOWED = re.compile(r"&lt;(/?)(i|b)&gt;")


def safe_apa(html: str) -> Markup:
    """citeproc's HTML allowing only <i> and <b>: everything else stays escaped."""
    text = str(escape(Markup(html).striptags() if "<script" in html.lower() else html))
    return Markup(_ALLOWED.sub(r"<\1\2>", text))


@pass_context
def schedule_when(ctx: Any, item: Mapping[str, Any]) -> str:
    """A day-schedule row's time in the page's language (time not given, when needed)."""
    return _schedule_when(dict(item), ctx["t"])


@pass_context
def compound_name(ctx: Any, code: str | None) -> str:
    """A compound code's name in the page's language ('' for none)."""
    entry = ctx["kb"].compounds.get(code) if code else None
    return str(entry.name.get(ctx["t"].lang)) if entry is not None else ""


def register(env: Environment) -> None:
    env.filters.update(
        zip_self=zip_self,
        freq_options=freq_options,
        authority_options=authority_options,
        status_label=status_label,
        evidence_label=evidence_label,
        statements=statements,
        safe_apa=safe_apa,
        cite=cite,
        findings=findings,
        trace_items=trace_items,
        reference_items=reference_items,
        timeline_x=timeline_x,
        schedule_when=schedule_when,
        compound_name=compound_name,
        urgency_label=URGENCY.__getitem__,
        risk_status_label=RISK_STATUS.__getitem__,
        product_action_label=PRODUCT_ACTION.__getitem__,
        lab_flag_label=LAB_FLAG.__getitem__,
        basis_label=BASIS_LABELS.__getitem__,
    )
    env.globals["timeline_ticks"] = TIMELINE_TICKS
