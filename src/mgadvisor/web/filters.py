"""Jinja filters for the pages: option lists, labels, and an entry's statements."""

from __future__ import annotations

import functools
import re
from collections.abc import Container, Iterable, Mapping
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from markupsafe import Markup, escape
from pydantic import BaseModel

from mgadvisor.i18n import N_, Translator
from mgadvisor.kb.evidence import Evidence
from mgadvisor.kb.models import Statement, Text
from mgadvisor.render.apa import apa_markup
from mgadvisor.render.bounds import lab_value
from mgadvisor.render.labels import (
    BASIS_LABELS,
    EVIDENCE_LABELS,
    FIELD_LABELS,
    KIND_LABELS,
    LAB_FLAG,
    PRODUCT_ACTION,
    RISK_STATUS,
    STATUS,
    URGENCY,
    hold_reason,
)
from mgadvisor.render.report import schedule_when as _schedule_when
from mgadvisor.web.forms import summary_line


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


def cite(sources: Iterable[str], to: str = "") -> Markup:
    """The citation keys of a statement, each a link to its reference in the page's list
    (`#ref-KEY`), or in the list at `to` (such as "/references"):
    `<span class="cite">[<a href="#ref-key1">key1</a>, ...]</span>`."""
    return Markup(f'<span class="cite">[{", ".join(_cite_link(k, to) for k in sources)}]</span>')


@functools.lru_cache(maxsize=4096)
def _cite_link(key: str, to: str) -> str:
    return f'<a href="{escape(to)}#ref-{escape(key)}">{escape(key)}</a>'


# A short label of an evidence level, shown beside a reason that carries one.
EVIDENCE_BADGES = {
    "strong": N_("evidence: strong"),
    "moderate": N_("evidence: moderate"),
    "limited": N_("evidence: limited"),
    "preclinical": N_("evidence: preclinical"),
    "expert_opinion": N_("evidence: expert opinion"),
}


def findings(
    items: Iterable[Mapping[str, Any]],
    severity: bool = False,
    points: bool = False,
    t: Translator | None = None,
) -> Markup:
    """One `<li>` per finding of the advice document: its text and its citation keys.

    With `points` (risk factors) each item starts with the points it adds; with `severity` each
    item gets its severity as class (info, warning, critical); with `t` a finding that carries an
    evidence level (a compound's reasons) ends with a label of that level. Text and keys are
    escaped; the advice page shows some forty findings, so this loop runs in Python, not as
    template code.
    """
    lang = t.lang if t is not None else None
    out = []
    for item in items:
        level = (item.get("params") or {}).get("evidence")
        out.append(
            _finding(
                item["severity"] if severity else None,
                int(item["points"]) if points and item.get("points") is not None else None,
                item["text"],
                tuple(item["sources"]),
                level if lang is not None and level in EVIDENCE_BADGES else None,
                lang,
            )
        )
    return Markup("".join(out))


# A finding's `<li>`, built once for the same inputs: the advice page shows some forty findings
# and nearly all recur from client to client (the same texts, keys and levels); building each
# one (escaping, citation links) was about a tenth of the page's rendering. The inputs are
# strings and numbers, and the texts of a language do not change while the app runs.
@functools.lru_cache(maxsize=8192)
def _finding(
    severity: str | None,
    points: int | None,
    text: str,
    sources: tuple[str, ...],
    level: str | None,
    lang: str | None,
) -> str:
    css = f' class="{escape(severity)}"' if severity is not None else ""
    added = f"+{points} " if points is not None else ""
    badge = (
        f' <span class="evidence ev-{escape(level)}">'
        f"{escape(Translator(lang)(EVIDENCE_BADGES[level]))}</span>"
        if level is not None and lang is not None
        else ""
    )
    return f"<li{css}>{added}{escape(text)}{badge} {cite(sources)}</li>"


@pass_context
def _findings_filter(
    ctx: Any, items: Iterable[Mapping[str, Any]], severity: bool = False, points: bool = False
) -> Markup:
    """`findings` as the pages' filter: evidence labels in the page's language."""
    return findings(items, severity=severity, points=points, t=ctx.get("t"))


# The topic of a rule (the part of its code before the dot), in words for the rule trace.
TRACE_TOPICS = {
    "action": N_("What to do first"),
    "compound": N_("Compound"),
    "diet": N_("Diet"),
    "dose": N_("Dose"),
    "followup": N_("Follow-up"),
    "interaction": N_("Interactions"),
    "kidney": N_("Kidneys"),
    "lab": N_("Lab values"),
    "labs": N_("Lab values"),
    "medicines": N_("Medicines"),
    "person": N_("Person"),
    "product": N_("Products"),
    "referral": N_("Referral"),
    "risk": N_("Deficiency risk"),
    "schedule": N_("Day schedule"),
    "synergy": N_("What helps"),
    "warning": N_("Warnings"),
}


def _trace_result(result: str, t: Translator | None) -> str:
    """A rule's result in words: '0 items' -> 'nothing found', 'Calculations' -> 'worked out',
    '250' -> '250', a finding code stays a code (set in <code>)."""
    if t is None:
        return str(escape(result))
    if m := re.fullmatch(r"(\d+) items?", result):
        count = int(m.group(1))
        return escape(t("nothing found") if count == 0 else t("{count} found", count=count))
    if result in ("True", "False"):
        return escape(t("yes") if result == "True" else t("no"))
    if re.fullmatch(r"-?\d+(\.\d+)?", result):
        return escape(t.num(float(result), 2))
    if re.fullmatch(r"[A-Z][A-Za-z]+|None|", result):  # an internal value: the rule ran
        return escape(t("worked out"))
    return f'<code lang="en">{escape(result)}</code>'


def trace_items(
    steps: Iterable[Mapping[str, Any]],
    listed: Container[str] | None = None,
    t: Translator | None = None,
) -> Markup:
    """One `<li>` per rule that fired: its topic in words (with `t`), its code, its result and
    its citation keys, escaped.

    A key that is not in `listed` (the references the advice lists) links to the whole
    bibliography instead. Some twenty-five rules fire per advice: the loop runs in Python, not
    as template code."""
    lang = t.lang if t is not None else None
    out = []
    for s in steps:
        keys = tuple(s["sources"])
        unlisted = tuple(k for k in keys if k not in listed) if listed is not None else ()
        out.append(_trace_item(str(s["rule"]), str(s["result"]), keys, unlisted, lang))
    return Markup("".join(out))


# A rule's `<li>`, built once for the same inputs (as `_finding`): the rules that fire and what
# they find mostly recur, and building the items was a fifth of the advice page's rendering.
@functools.lru_cache(maxsize=8192)
def _trace_item(
    rule: str, result: str, keys: tuple[str, ...], unlisted: tuple[str, ...], lang: str | None
) -> str:
    if unlisted:
        links = [_cite_link(k, "/references" if k in unlisted else "") for k in keys]
        cited = Markup(f'<span class="cite">[{", ".join(links)}]</span>')
    else:
        cited = cite(keys) if keys else Markup("")
    topic = TRACE_TOPICS.get(rule.split(".", 1)[0])
    if lang is not None and topic is not None:
        t = Translator(lang)
        return (
            f'<li>{escape(t(topic))} (<code lang="en">{escape(rule)}</code>): '
            f"{_trace_result(result, t)} {cited}</li>"
        )
    return f"<li><code>{escape(rule)}</code>: {escape(result)} {cited}</li>"


@pass_context
def _trace_filter(ctx: Any, steps: Iterable[Mapping[str, Any]]) -> Markup:
    """`trace_items` as the pages' filter, knowing which references the advice lists, in the
    page's language."""
    advice = ctx.get("advice")
    listed = {r["key"] for r in advice["references"]} if isinstance(advice, Mapping) else None
    return trace_items(steps, listed, ctx.get("t"))


def unit_options(units: Iterable[str]) -> list[tuple[str, str]]:
    """A lab's units as select options, each unit once and written properly: "umol/L" and
    "µmol/L" are one option (µmol/L), "mL/min/1.73m2" and "mL/min/1.73 m2" one (mL/min/1.73 m²)."""
    out: dict[str, tuple[str, str]] = {}
    for unit in units:
        shown = unit.replace("umol", "µmol").replace("1.73m2", "1.73 m2").replace("m2", "m²")
        out.setdefault(shown, (unit, shown))
    return list(out.values())


def reference_items(references: Iterable[Mapping[str, str]]) -> Markup:
    """One `<li id="ref-KEY">` per reference of the advice document, key and APA text escaped.

    An advice cites some thirty references and the same ones recur from client to client: each
    item is built once (the bibliography does not change while the app runs).
    """
    return Markup("".join(_reference_item(r["key"], r["apa"]) for r in references))


@functools.lru_cache(maxsize=1024)
def _reference_item(key: str, text: str, html: bool = False) -> str:
    """A reference as `<li id="ref-KEY">`: its key links to itself, every URL (DOI) is a link."""
    key = escape(key)
    return (
        f'<li id="ref-{key}"><a class="cite" href="#ref-{key}">[{key}]</a> '
        f"{apa_markup(text, html=html)}</li>"
    )


def apa_items(references: Mapping[str, str]) -> Markup:
    """The `<li>` items of a {key: APA HTML} bibliography (`render.apa.apa(..., html=True)`)."""
    return Markup("".join(_reference_item(k, text, True) for k, text in references.items()))


# The day-schedule timeline runs from 06:00 to 24:00 over x = 20..460 (see _advice.html).
_DAY_START, _DAY_HOURS, _X0, _WIDTH = 6, 18, 20, 440


def timeline_x(clock: str) -> float:
    """Where a time (HH:MM) sits on the day-schedule timeline; before 06:00 at its start."""
    hours = int(clock[:2]) + int(clock[3:5]) / 60
    return round(_X0 + max(hours - _DAY_START, 0) * _WIDTH / _DAY_HOURS, 1)


_DOT_GAP = 16  # px between the centres of two dots (r = 7) stacked at the same time


def timeline_layout(schedule: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Where each timed item of the day schedule sits: dots at (nearly) the same time are
    stacked upward, magnesium on the axis, so none hides another (a medicine at 08:00 beside the
    magnesium at 08:00). `lift` is how far the chart moves down to make room for the stack,
    `height` the chart's height with it.

    Example:
        >>> layout = timeline_layout([
        ...     {"time": "08:00", "kind": "medication", "name": "omeprazol"},
        ...     {"time": "08:00", "kind": "magnesium", "name": "Mg"},
        ... ])
        >>> [(d["name"], d["x"], d["y"]) for d in layout["dots"]], layout["lift"]
        ([('Mg', 68.9, 30), ('omeprazol', 68.9, 14)], 16)
    """
    timed = [item for item in schedule if item.get("time")]
    timed.sort(key=lambda item: (timeline_x(str(item["time"])), item.get("kind") != "magnesium"))
    levels: list[float] = []  # the x of the last dot on each level
    dots = []
    for item in timed:
        x = timeline_x(str(item["time"]))
        level = next((i for i, last in enumerate(levels) if x - last >= _DOT_GAP), len(levels))
        if level == len(levels):
            levels.append(x)
        levels[level] = x
        dots.append({**item, "x": x, "y": 30 - _DOT_GAP * level})
    lift = _DOT_GAP * max(len(levels) - 1, 0)
    return {"dots": dots, "lift": lift, "height": 64 + lift}


TIMELINE_TICKS = Markup(
    "".join(
        f'<text x="{_X0 + (h - _DAY_START) * _WIDTH / _DAY_HOURS:g}" y="60" class="small" '
        f'text-anchor="middle">{h % 24:02d}:00</text>'
        for h in range(_DAY_START, _DAY_START + _DAY_HOURS + 1, 3)
    )
)


def safe_apa(html: str) -> Markup:
    """citeproc's HTML allowing only <i> and <b>, its entities read once (no `&amp;amp;`),
    every URL (DOI) a link: everything else stays escaped."""
    return Markup(apa_markup(html))


@pass_context
def schedule_when(ctx: Any, item: Mapping[str, Any]) -> str:
    """A day-schedule row's time in the page's language (time not given, when needed)."""
    return _schedule_when(dict(item), ctx["t"])


@pass_context
def compound_name(ctx: Any, code: str | None) -> str:
    """A compound code's name in the page's language ('' for none)."""
    entry = ctx["kb"].compounds.get(code) if code else None
    return str(entry.name.get(ctx["t"].lang)) if entry is not None else ""


@pass_context
def error_line(ctx: Any, name: str, message: str) -> str:
    """An item of a form's error summary: the field by its label (the page's own labels,
    `field_labels`, first), then its message."""
    return summary_line(name, message, ctx["t"], ctx["kb"], ctx.get("field_labels"))


def _translate(msgid: str, t: Any, **params: Any) -> str:
    """`t(msgid, **params)`: what `_TranslateCalls` compiles a template's `t("...")` into."""
    return t(msgid, **params)  # type: ignore[no-any-return]


class _TranslateCalls(Extension):
    """Compiles a template's `t("text", ...)` as the filter call `"text"|_t(t, ...)`.

    The result is the same (`t("text", ...)`), but Jinja calls a filter directly, while a call of
    a context variable goes through `Context.call`, which first inspects the callable for
    Jinja's pass-context markers, on every call: about 1.5 µs each, and the advice page makes some
    seventy of them. Only a call of the name `t` whose first argument is a single string literal
    is rewritten (`t(code|label)`, `t.num(...)` and `x.t(...)` stay as they are); the template
    source, and so the message extraction (`t` keyword), is unchanged.
    """

    def filter_stream(self, stream: TokenStream) -> list[Token]:
        tokens = list(stream)

        def at(j: int, kind: str) -> bool:
            return j < len(tokens) and tokens[j].test(kind)

        out: list[Token] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if (
                token.test("name:t")
                and not (out and out[-1].test("dot"))
                and at(i + 1, "lparen")
                and at(i + 2, "string")
                and (at(i + 3, "comma") or at(i + 3, "rparen"))
            ):
                line = token.lineno
                out += [
                    tokens[i + 2],  # the text
                    Token(line, "pipe", "|"),
                    Token(line, "name", "_t"),
                    Token(line, "lparen", "("),
                    Token(line, "name", "t"),
                ]
                i += 3  # the next argument's comma, or the closing parenthesis, follows
            else:
                out.append(token)
                i += 1
        return out


def register(env: Environment) -> None:
    env.add_extension(_TranslateCalls)
    env.filters["_t"] = _translate
    env.filters.update(
        zip_self=zip_self,
        unit_options=unit_options,
        kind_label=lambda kind: KIND_LABELS.get(kind, kind),
        freq_options=freq_options,
        authority_options=authority_options,
        status_label=status_label,
        hold_reason=hold_reason,
        evidence_label=evidence_label,
        statements=statements,
        safe_apa=safe_apa,
        cite=cite,
        findings=_findings_filter,
        apa_items=apa_items,
        trace_items=_trace_filter,
        reference_items=reference_items,
        timeline_x=timeline_x,
        timeline_layout=timeline_layout,
        schedule_when=schedule_when,
        compound_name=compound_name,
        error_line=error_line,
        urgency_label=URGENCY.__getitem__,
        risk_status_label=RISK_STATUS.__getitem__,
        product_action_label=PRODUCT_ACTION.__getitem__,
        lab_flag_label=LAB_FLAG.__getitem__,
        lab_value=lab_value,  # "<0.5 mmol/L" for a bound
        basis_label=BASIS_LABELS.__getitem__,
    )
    env.globals["timeline_ticks"] = TIMELINE_TICKS
