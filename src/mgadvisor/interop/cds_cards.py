"""CDS Hooks cards (2.0.1, "CDS Service Response") from the engine's advice document.

Every clinical word on a card comes from the advice document (the knowledge base's messages,
already in the chosen language); the few words of the card's frame (labels, the override
reasons) go through the translator. A card is:

    summary (< 140 characters)  indicator info | warning | critical   source {label, url, topic}
    detail (Markdown: the findings, each with its references in APA)   uuid (for feedback)
    suggestions + selectionBehavior, overrideReasons (each with display), links

`Cards` collects them and remembers each card's type (its finding code) by uuid, so that the
feedback endpoint can count outcomes per card type.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mgadvisor.i18n import N_, Translator
from mgadvisor.interop.fhir_out import FINDING_SYSTEM

OVERRIDE_SYSTEM = "https://mgadvisor.org/fhir/CodeSystem/cds-override-reason"
SUMMARY_MAX = 139  # the spec: "<140-character"
OVERRIDE_REASONS = (
    ("patient-declines", N_("Patient declines")),
    ("already-managed", N_("Already managed elsewhere")),
    ("not-applicable", N_("Not applicable to this patient")),
    ("benefit-outweighs-risk", N_("Benefit outweighs the risk")),
)
INDICATOR_OF_SEVERITY = {"info": "info", "warning": "warning", "critical": "critical"}
INDICATOR_OF_INTERACTION = {
    "info": "info",
    "caution": "warning",
    "avoid": "critical",
    "referral": "critical",
}
URGENT = ("emergency", "same_day")
UNUSED_LINES = 5  # lines of "not used from the record" on a card, then "and N more"
# Findings whose text speaks to mgadvisor's intake form ("enter it under the products"): not
# something the clinician can act on in the EHR, so no card of their own in CDS. What matters
# for the clinician (interactions, kidney, the upper level) has cards of its own.
# Why the engine could not run, by the field the intake stopped at (msgids, in words).
NOT_ASSESSED_REASONS = {
    "Patient": N_("no patient data"),
    "Patient.gender": N_("sex not recorded as female or male"),
    "Patient.birthDate": N_("no usable birth date"),
    "Patient.deceased[x]": N_("the patient is recorded as deceased"),
}
ISSUED_MAX = 50_000  # card uuids remembered for feedback (per process)


class IssuedCards:
    """Card uuid → (service, card type) of the cards this process handed out, oldest dropped
    first; feedback on a card not (or no longer) known is stored with an unknown type."""

    def __init__(self, limit: int = ISSUED_MAX) -> None:
        self._cards: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def add(self, card_uuid: str, service: str, card_type: str) -> None:
        with self._lock:
            self._cards[card_uuid] = (service, card_type)
            while len(self._cards) > self._limit:
                self._cards.popitem(last=False)

    def card_type(self, card_uuid: str, service: str) -> str | None:
        with self._lock:
            found = self._cards.get(card_uuid)
        return found[1] if found is not None and found[0] == service else None


@dataclass(slots=True)
class CardContext:
    """What every card of one call shares: language, document, where the service lives."""

    t: Translator
    document: Mapping[str, Any]
    base_url: str
    patient_id: str
    kb_version: str
    launch_url: str | None = None
    advice_url: str | None = None
    references: dict[str, str] = field(default_factory=dict)
    form_only: frozenset[str] = frozenset()  # findings for the intake form, not for a card

    @classmethod
    def of(
        cls,
        document: Mapping[str, Any],
        *,
        base_url: str,
        patient_id: str,
        launch_url: str | None = None,
        advice_url: str | None = None,
        form_only: frozenset[str] = frozenset(),
    ) -> CardContext:
        refs = {r["key"]: r["apa"] for r in document.get("references", [])}
        return cls(
            Translator(str(document["lang"])),
            document,
            base_url.rstrip("/"),
            patient_id,
            str(document["kb_version"]),
            launch_url,
            advice_url,
            refs,
            form_only,
        )


def short(text: str) -> str:
    """`text` as a summary: one line, under 140 characters: its first sentences that fit, else
    cut at a word with an ellipsis."""
    line = one_line(text)
    if len(line) <= SUMMARY_MAX:
        return line
    sentences = re.split(r"(?<=[.:])\s+", line)
    kept = ""
    for sentence in sentences:
        longer = f"{kept} {sentence}".strip()
        if len(longer) > SUMMARY_MAX:
            break
        kept = longer
    if kept.endswith(".") and len(kept) >= 20:
        return kept
    cut = line[: SUMMARY_MAX - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def detail(ctx: CardContext, findings: Iterable[Mapping[str, Any]], lead: str = "") -> str:
    """Markdown: an optional lead line, each finding's text as a bullet, then the references."""
    lines = [lead, ""] if lead else []
    keys: list[str] = []
    for finding in findings:
        lines.append(f"- {md_text(finding['text'])}")  # it may carry EHR text (a name)
        keys += [k for k in finding.get("sources", []) if k not in keys]
    if keys:
        heading = ctx.t("References")
        lines += ["", f"**{heading}**", ""]
        lines += [f"{n}. {ctx.references.get(k, k)}" for n, k in enumerate(keys, 1)]
    return "\n".join(lines).strip()


def card(
    ctx: CardContext,
    card_type: str,
    summary: str,
    indicator: str,
    detail_md: str,
    *,
    kb_code: str | None = None,
    suggestions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One card with its uuid, source (label, url, topic), override reasons and links."""
    t = ctx.t
    url = f"{ctx.base_url}/kb/{kb_code}" if kb_code else f"{ctx.base_url}/kb"
    out: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": short(summary),
        "indicator": indicator,
        "detail": detail_md,
        "source": {
            "label": t("mgadvisor, knowledge base {version}", version=ctx.kb_version),
            "url": f"{url}?lang={t.lang}",
            "topic": {"system": FINDING_SYSTEM, "code": card_type, "display": short(summary)},
        },
        "overrideReasons": [
            {"system": OVERRIDE_SYSTEM, "code": code, "display": t(display)}
            for code, display in OVERRIDE_REASONS
        ],
        "links": _links(ctx, url),
    }
    if not detail_md:
        del out["detail"]
    if suggestions:
        out["suggestions"] = suggestions
        out["selectionBehavior"] = "at-most-one"
    return out


def _links(ctx: CardContext, kb_url: str) -> list[dict[str, Any]]:
    t = ctx.t
    links: list[dict[str, Any]] = [
        {
            "label": t("Evidence in the knowledge base"),
            "url": f"{kb_url}?lang={t.lang}",
            "type": "absolute",
        }
    ]
    if ctx.advice_url:
        links.insert(
            0,
            {"label": t("Open the advice in mgadvisor"), "url": ctx.advice_url, "type": "absolute"},
        )
    if ctx.launch_url:
        app_context = json.dumps({"patient": ctx.patient_id, "lang": t.lang})
        links.insert(
            0,
            {
                "label": t("Open mgadvisor (SMART app)"),
                "url": ctx.launch_url,
                "type": "smart",
                "appContext": app_context,
            },
        )
    return links


def suggestion(label: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    """A recommended suggestion with its uuid and actions."""
    return {
        "label": short(label),
        "uuid": str(uuid.uuid4()),
        "isRecommended": True,
        "actions": actions,
    }


# -- patient-view: depletion, referral, contraindications ------------------------------------


def depletion_cards(ctx: CardContext) -> list[dict[str, Any]]:
    """patient-view: the referral (if any), the deficiency risk (moderate or more), and each
    action or warning of severity warning/critical (contraindications, magnesium medicines)."""
    doc = ctx.document
    cards = []
    referral = referral_card(ctx)
    if referral is not None:
        cards.append(referral)
    risk = risk_card(ctx)
    if risk is not None:
        cards.append(risk)
    cards += warning_cards(ctx, [*doc.get("actions", []), *doc.get("warnings", [])])
    return cards


def referral_card(ctx: CardContext) -> dict[str, Any] | None:
    from mgadvisor.render.labels import URGENCY

    referral = ctx.document["referral"]
    if not referral["needed"] or not referral["reasons"]:
        return None
    urgency = referral.get("urgency") or "routine"
    first = referral["reasons"][0]
    lead = ctx.t(URGENCY[urgency])
    return card(
        ctx,
        first["code"],
        f"{lead}: {first['text']}",
        "critical" if urgency in URGENT else "warning",
        detail(ctx, referral["reasons"], f"**{lead}**"),
    )


def risk_card(ctx: CardContext) -> dict[str, Any] | None:
    """The deficiency risk with its factors, the lab findings and the Magnesium Depletion Score;
    a suggestion to propose the supplement when the engine advises a dose."""
    from mgadvisor.render.labels import MDS_PARTS, RISK_LABELS, RISK_STATUS

    t, doc = ctx.t, ctx.document
    risk = doc["risk"]
    if risk["level"] == "low" and risk.get("status") != "confirmed_low":
        return None
    level = t(RISK_LABELS[risk["level"]])
    headline = t(
        "Magnesium deficiency risk: {level} (score {score})", level=level, score=risk["score"]
    )
    if risk.get("status") in RISK_STATUS:
        status = t(RISK_STATUS[risk["status"]])
        headline = f"{status}; {headline}"
    lead = f"**{headline}**"
    calc = doc.get("calculations") or {}
    if calc.get("mds") is not None:
        parts = ", ".join(t(MDS_PARTS.get(k, k)) for k in calc.get("mds_components", {}))
        score = t("Magnesium Depletion Score: {score}", score=calc["mds"])
        lead += f"\n\n{score}" + (f" ({parts})" if parts else "")
    findings = [*doc.get("labs", []), *risk["factors"]]
    groups = [f["params"]["group"] for f in risk["factors"] if "group" in f.get("params", {})]
    strong = risk["level"] == "high" or risk.get("status") == "confirmed_low"
    return card(
        ctx,
        "risk.deficiency",
        headline,
        "warning" if strong else "info",
        detail(ctx, findings, lead),
        kb_code=groups[0] if groups else None,
        suggestions=supplement_suggestion(ctx),
    )


def supplement_suggestion(ctx: CardContext) -> list[dict[str, Any]]:
    """When the engine gives a dose: propose it as the draft MedicationRequest (intent
    proposal) of the FHIR output (`interop.fhir_out`: ATC A12CC and the compound's, the
    times of day, mg elemental; "only under medical supervision" where the advice says so)."""
    from mgadvisor.interop.fhir_out import supplement_request

    doc = ctx.document
    dose = doc["dose"]
    if not dose["intakes"]:
        return []
    # only the request, without links to a Bundle's other resources (urn:uuid): they would
    # mean nothing in the EHR
    request = supplement_request(dict(doc), patient_ref=f"Patient/{ctx.patient_id}")
    if request is None:
        return []
    label = ctx.t(
        "Propose {compound}, {mg} mg elemental magnesium a day ({times})",
        compound=request["medicationCodeableConcept"]["text"],
        mg=ctx.t.num(dose["elemental_mg_per_day"], 0),
        times=", ".join(i["time"] for i in dose["intakes"]),
    )
    action = {
        "type": "create",
        "description": ctx.t("Create a proposed magnesium prescription"),
        "resource": request,
    }
    return [suggestion(label, [action])]


def warning_cards(ctx: CardContext, findings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One card per finding of severity warning or critical, each code and text once."""
    seen: set[tuple[str, str]] = set()
    cards = []
    for finding in findings:
        indicator = INDICATOR_OF_SEVERITY.get(finding.get("severity", "info"), "info")
        key = (finding["code"], finding["text"])
        if indicator == "info" or key in seen or finding["code"] in ctx.form_only:
            continue
        seen.add(key)
        cards.append(card(ctx, finding["code"], finding["text"], indicator, detail(ctx, [finding])))
    return cards


# -- order-select / order-sign: interactions -------------------------------------------------


def interaction_card(
    ctx: CardContext, hit: Mapping[str, Any], order: Mapping[str, Any] | None
) -> dict[str, Any]:
    """An interaction of an ordered or active medicine with magnesium: the spacing in hours, and
    (with the draft order) a suggestion that adds the timing to the order's dosage."""
    t = ctx.t
    rule = hit.get("rule") or hit.get("advice") or hit["interaction"]
    lines = [f"**{md_text(rule)}**", ""]
    if hit.get("medicine_first_h") is not None or hit.get("magnesium_first_h") is not None:
        lines.append(
            t(
                "Spacing: the medicine at least {before} h before magnesium, or magnesium at "
                "least {after} h before the medicine.",
                before=t.num(hit.get("medicine_first_h") or 0, 0),
                after=t.num(hit.get("magnesium_first_h") or 0, 0),
            )
        )
        lines.append("")
    body = [
        {"text": x, "sources": hit["sources"]}
        for x in (hit.get("mechanism"), hit.get("advice"))
        if x
    ]
    md = "\n".join(lines) + detail(ctx, body)
    suggestions = []
    if order is not None:
        suggestions = [
            suggestion(
                t("Add the timing to the order: {rule}", rule=rule),
                [
                    {
                        "type": "update",
                        "description": t(
                            "Add the spacing with magnesium to the dosage instructions"
                        ),
                        "resource": with_timing(order, rule),
                    }
                ],
            )
        ]
    return card(
        ctx,
        f"interaction.{hit['interaction']}",
        rule,
        INDICATOR_OF_INTERACTION.get(hit["severity"], "warning"),
        md,
        kb_code=hit["interaction"],
        suggestions=suggestions,
    )


def with_timing(order: Mapping[str, Any], rule: str) -> dict[str, Any]:
    """A copy of the draft order whose (first) dosage instruction also says `rule`."""
    updated = copy.deepcopy(dict(order))
    rule = one_line(rule)  # it may carry the EHR's name of the medicine
    dosages = updated.get("dosageInstruction") or [{}]
    first = dict(dosages[0])
    given = first.get("patientInstruction")
    if given:  # the prescriber's words first, ours as a sentence of their own
        given = str(given).rstrip()
        first["patientInstruction"] = (
            f"{given}{'' if given.endswith(('.', '!', '?')) else '.'} {rule}"
        )
    else:
        first["patientInstruction"] = rule
    first.setdefault("text", rule)
    updated["dosageInstruction"] = [first, *dosages[1:]]
    return updated


# -- what the cards do not show: a patient not assessed, data not used ------------------------


def form_only(kb: Any) -> frozenset[str]:
    """The message codes that speak to whoever fills in the intake (messages.yaml `form_only`)."""
    found = kb._cache.get("cds_form_only")
    if found is None:
        found = kb._cache["cds_form_only"] = frozenset(
            code for code, message in kb.messages.items() if message.form_only
        )
    return found  # type: ignore[no-any-return]


def frame_context(kb: Any, settings: Any, patient_id: str) -> CardContext:
    """A card context without an advice document (for the cards about the call itself)."""
    return CardContext(
        Translator(settings.lang),
        {},
        settings.base_url.rstrip("/"),
        patient_id,
        str(kb.version),
        settings.launch_url,
        None,
    )


def not_assessed_card(ctx: CardContext, error: Any) -> dict[str, Any]:
    """An info card: the engine could not run for this patient, and why (in words); the
    field and value that stopped it in the detail. An empty card list would mean "nothing to
    say", which is not known then."""
    from mgadvisor.interop.fhir_in import InvalidPatientError

    t = ctx.t
    reason = NOT_ASSESSED_REASONS.get(error.path)
    if isinstance(error, InvalidPatientError):  # not "no patient data": it could not be read
        reason = N_("age and sex unknown, the Patient resource is not valid FHIR R4B")
    words = t(reason) if reason else t("the record could not be read")
    summary = t("mgadvisor could not assess this patient: {reason}", reason=words)
    detail_md = md_text(error.line(t))
    return card(ctx, "cds.not_assessed", summary, "info", detail_md)


def with_unused(
    ctx: CardContext, cards: list[dict[str, Any]], unmapped: Iterable[Any]
) -> list[dict[str, Any]]:
    """The cards with what the record held that was not used (or used with a remark) added to
    the first card's detail; one info card for it when there is no other card. Superseded and
    duplicate results (a newer one is used) count only as "and N more"."""
    from mgadvisor.interop.fhir_report import NOTES, unmapped_line

    def rank(item: Any) -> int:
        if item.reason in FIRST_UNUSED:
            return 0
        if item.reason in ROUTINE_UNUSED:
            return 3
        return 2 if item.reason in NOTES else 1

    items = sorted(unmapped, key=rank)
    if not items or (not cards and all(u.reason in ROUTINE_UNUSED for u in items)):
        return cards
    t = ctx.t
    shown = [f"- {md_text(unmapped_line(u, t))}" for u in items[:UNUSED_LINES]]
    if len(items) > UNUSED_LINES:
        more = t("and {count} more", count=len(items) - UNUSED_LINES)
        shown.append(f"- {more}")
    heading = t("From the record, not used or used with a remark")
    section = "\n".join([f"**{heading}**", "", *shown])
    if cards:
        first = dict(cards[0])
        first["detail"] = f"{first.get('detail', '')}\n\n{section}".strip()
        return [first, *cards[1:]]
    summary = t("mgadvisor did not use part of the record")
    return [card(ctx, "cds.data_not_used", summary, "info", section)]


ROUTINE_UNUSED = ("superseded", "superseded_same_time", "duplicate")
# What changes how the advice should be read comes first: a bound used as the value, an old
# result, a record left out for its date.
FIRST_UNUSED = (
    "comparator_bound",
    "comparator_open_bound",
    "old_result",
    "after_as_of",
    "pregnancy_outdated",
)


def one_line(text: str) -> str:
    """`text` on one line: every control, format (bidi, zero-width) and separator character
    and every run of white space as a single space."""
    text = str(text)
    if text.isprintable():  # no C or Z character but the ASCII space: the usual case
        return " ".join(text.split())
    flat = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return " ".join(flat.split())


_MD_ESCAPED = "\\`*_[]<>#|~&"
_MD_ESCAPES = str.maketrans({ch: "\\" + ch for ch in _MD_ESCAPED})
_LINKISH = re.compile(r"://|www\.|@", re.IGNORECASE)
_DOMAIN_DOT = re.compile(r"(?<=\w)\.(?=[^\W\d_]{2})")  # "evil.com": a linkifier's fuzzy link
_LIST_START = re.compile(r"^(\d+)([.)])")


def md_text(text: str) -> str:
    """Text from the EHR (or carrying it) as plain Markdown text on one line: no heading,
    list item, quote, emphasis, HTML, entity, link or autolink can come of it. A URL or an
    e-mail address is shown in a code span (never linked); the dot of what a linkifier could
    read as a domain ("evil.com") is escaped."""
    flat = one_line(text)
    if not _LINKISH.search(flat):  # no URL or address: escape the whole line at once
        return _line_start(_DOMAIN_DOT.sub(r"\\.", flat.translate(_MD_ESCAPES)))
    words = []
    for word in flat.split(" "):
        if word and _LINKISH.search(word):
            fence = "`" * (max((len(r) for r in re.findall("`+", word)), default=0) + 1)
            words.append(f"{fence} {word} {fence}")
            continue
        escaped = word.translate(_MD_ESCAPES)
        words.append(_DOMAIN_DOT.sub(r"\\.", escaped))
    return _line_start(" ".join(words))


def _line_start(out: str) -> str:
    """No list item can start the line ("- x", "+ x", "1. x", "1) x")."""
    if out[:1] in ("-", "+"):
        out = "\\" + out
    return _LIST_START.sub(r"\1\\\2", out)
