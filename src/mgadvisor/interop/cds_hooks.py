"""The CDS Hooks 2.0.1 services: discovery, the prefetch, and the call → engine → cards.

    GET  /cds-services                 discovery (services())
    POST /cds-services/mg-depletion    patient-view            → depletion_cards
    POST /cds-services/mg-interactions order-select, order-sign → interaction cards

A call: check the request (`CdsRequestError` names the field) → each prefetch key present,
`null` (no data) or absent (fetched from `fhirServer`, else `PrefetchMissingError`: HTTP 412) → FHIR
→ intake (`interop.fhir_in.intake_from_fhir`) → the engine (`pipeline.advise_and_render`) →
cards (`cds_cards.py`). The web adapter (`web/cds.py`) does HTTP, security and feedback.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from mgadvisor.i18n import N_, Translator
from mgadvisor.interop import cds_cards
from mgadvisor.kb.base import KnowledgeBase

if TYPE_CHECKING:
    from mgadvisor.intake import Intake

FHIR_TIMEOUT_S = 5.0
FHIR_MAX_BYTES = 5_000_000
PATIENT = "{{context.patientId}}"


class CdsRequestError(Exception):
    """A request that is not a CDS Hooks call of this service: field, expected, given."""

    def __init__(self, loc: str, expected: str, given: str) -> None:
        super().__init__(loc)
        self.loc, self.expected, self.given = loc, expected, given

    def line(self, t: Translator) -> str:
        return t(
            "{field}: expected {expected}, got {given}",
            field=self.loc,
            expected=t(self.expected),
            given=self.given,
        )


class PrefetchMissingError(Exception):
    """Prefetch keys neither sent nor fetchable (no `fhirServer`, one not on the client's
    allowlist (`refused`), or it failed): HTTP 412."""

    def __init__(self, keys: list[str], *, refused: bool = False) -> None:
        super().__init__(", ".join(keys))
        self.keys = keys
        self.refused = refused


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    hooks: tuple[str, ...]
    title: str  # msgids
    description: str


SERVICES = {
    "mg-depletion": Service(
        "mg-depletion",
        ("patient-view",),
        N_("Magnesium depletion"),
        N_(
            "Cards when medicines, lab values or conditions point to magnesium depletion (the "
            "Magnesium Depletion Score, a PPI with a diuretic, low serum magnesium), when a "
            "doctor should see the patient, or when magnesium is contraindicated."
        ),
    ),
    "mg-interactions": Service(
        "mg-interactions",
        ("order-select", "order-sign"),
        N_("Magnesium interactions"),
        N_(
            "A card with the spacing in hours when a magnesium product and a medicine that "
            "interacts with it (quinolones, tetracyclines, levothyroxine, bisphosphonates, "
            "integrase inhibitors and more) are ordered or taken together, with a suggestion "
            "that adds the timing to the order."
        ),
    ),
}
ORDER_HOOKS = ("order-select", "order-sign")


def prefetch_templates(kb: KnowledgeBase) -> dict[str, str]:
    """The prefetch of both services: the patient, active medicines, the lab Observations of
    every LOINC code the knowledge base maps (labs.yaml, fhir_map.yaml) and active conditions."""
    codes = [code for lab in kb.labs.values() for code in lab.loinc]
    fhir_map = getattr(kb, "fhir_map", None)
    codes += [o.loinc for o in getattr(fhir_map, "observations", []) if o.analyte]
    loinc = ",".join(f"http://loinc.org|{c}" for c in dict.fromkeys(codes))
    return {
        "patient": f"Patient/{PATIENT}",
        "medications": f"MedicationRequest?patient={PATIENT}&status=active",
        "statements": f"MedicationStatement?patient={PATIENT}&status=active",
        "labs": f"Observation?patient={PATIENT}&code={loinc}&_sort=-date&_count=100",
        "conditions": f"Condition?patient={PATIENT}&clinical-status=active",
    }


def services(kb: KnowledgeBase, lang: str) -> dict[str, Any]:
    """The discovery document: one entry per service and hook (the same id for both order
    hooks, which the spec allows)."""
    t = Translator(lang)
    prefetch = prefetch_templates(kb)
    return {
        "services": [
            {
                "hook": hook,
                "id": service.id,
                "title": t(service.title),
                "description": t(service.description),
                "prefetch": prefetch,
            }
            for service in SERVICES.values()
            for hook in service.hooks
        ]
    }


# -- the request ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """A checked call: its hook, patient, the draft orders (order hooks) and the raw request."""

    service: Service
    hook: str
    hook_instance: str
    patient_id: str
    orders: list[dict[str, Any]]
    body: Mapping[str, Any]
    selections: tuple[str, ...] | None = None  # order-select's, stripped; None: not given


def check_call(service_id: str, body: Any) -> Call:
    """The request as a `Call`, or the first field that is not as the spec requires.

    Raises:
        CdsRequestError: not an object, an unknown hook for this service, a missing
            hookInstance or patientId, draftOrders that are not a Bundle, fhirAuthorization
            without fhirServer, order-select's selections that are not a list of texts.
    """
    service = SERVICES[service_id]
    if not isinstance(body, dict):
        raise CdsRequestError("body", N_("a JSON object"), type(body).__name__)
    hook = body.get("hook")
    if hook not in service.hooks:
        raise CdsRequestError("hook", " | ".join(service.hooks), repr(hook)[:60])
    instance = body.get("hookInstance")
    if not isinstance(instance, str) or not instance:
        raise CdsRequestError("hookInstance", N_("a unique id (text)"), repr(instance)[:60])
    context = body.get("context")
    if not isinstance(context, dict):
        raise CdsRequestError("context", N_("a JSON object"), type(context).__name__)
    patient = context.get("patientId")
    if not isinstance(patient, str) or not patient or "/" in patient:
        raise CdsRequestError("context.patientId", N_("a FHIR Patient id"), repr(patient)[:60])
    if body.get("fhirAuthorization") is not None and not body.get("fhirServer"):
        raise CdsRequestError("fhirServer", N_("a URL (fhirAuthorization is given)"), "none")
    for key in ("prefetch",):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise CdsRequestError(key, N_("a JSON object"), type(body[key]).__name__)
    orders: list[dict[str, Any]] = []
    if hook in ORDER_HOOKS:
        bundle = context.get("draftOrders")
        entries = bundle.get("entry", []) if isinstance(bundle, dict) else None
        if (
            not isinstance(bundle, dict)
            or bundle.get("resourceType") != "Bundle"
            or not isinstance(entries, list)
        ):
            raise CdsRequestError("context.draftOrders", N_("a FHIR Bundle"), type(bundle).__name__)
        # every draft order of the session is read (for order-select too: the selected order
        # meets the others being ordered with it); order-select's cards speak only of the
        # selections (cds_orders)
        orders = [
            e["resource"]
            for e in entries
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
    return Call(service, hook, instance, patient, orders, body, _selections(hook, context))


def _selections(hook: str, context: Mapping[str, Any]) -> tuple[str, ...] | None:
    """order-select's `context.selections` ("MedicationRequest/<id>" each), stripped; None
    when not given (or another hook).

    Raises:
        CdsRequestError: not a list, or an item that is not a non-empty text.
    """
    selections = context.get("selections")
    if hook != "order-select" or selections is None:
        return None
    if not isinstance(selections, list):
        raise CdsRequestError(
            "context.selections", N_("a list of references (text)"), type(selections).__name__
        )
    out = []
    for i, item in enumerate(selections):
        if not isinstance(item, str) or not item.strip():
            raise CdsRequestError(
                f"context.selections[{i}]",
                N_("a reference such as MedicationRequest/<id>"),
                repr(item)[:60],
            )
        out.append(item.strip())
    return tuple(out)


# -- the prefetch -----------------------------------------------------------------------------

Fetcher = Callable[[str, str, str | None], Any]  # (fhirServer, relative query, token) → JSON


def fetch_fhir(server: str, query: str, token: str | None) -> Any:
    """GET `query` on the EHR's FHIR server with its access token (JSON, time-limited)."""
    request = urllib.request.Request(
        f"{server.rstrip('/')}/{query}", headers={"Accept": "application/fhir+json"}
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=FHIR_TIMEOUT_S) as answer:
        return json.loads(answer.read(FHIR_MAX_BYTES))


def resolve_prefetch(
    call: Call,
    templates: Mapping[str, str],
    fetch: Fetcher,
    *,
    allow_http: bool = False,
    server_allowed: Callable[[str], bool] = lambda url: False,
) -> dict[str, Any]:
    """Each prefetch key's data: as sent; `None` when sent as null (no data); fetched from
    `fhirServer` when absent (or an OperationOutcome, the client's error there), only when
    `server_allowed(fhirServer)` (the calling client's allowlist: its access token goes there).

    Raises:
        PrefetchMissingError: keys absent and no usable `fhirServer` (`refused`: one that is
            not on the client's allowlist), or the server failed.
    """
    sent = call.body.get("prefetch") or {}
    missing = missing_prefetch(call, templates)
    out = {key: sent[key] for key in templates if key not in missing}
    if not missing:
        return out
    server = call.body.get("fhirServer")
    if not isinstance(server, str) or not (server.startswith("https://") or allow_http):
        raise PrefetchMissingError(missing)
    if not server_allowed(server):
        raise PrefetchMissingError(missing, refused=True)
    auth = call.body.get("fhirAuthorization") or {}
    token = auth.get("access_token") if isinstance(auth, dict) else None
    quoted = urllib.parse.quote(call.patient_id, safe="")
    for key in missing:
        query = templates[key].replace(PATIENT, quoted)
        try:
            out[key] = fetch(server, query, token if isinstance(token, str) else None)
        except (OSError, ValueError):
            raise PrefetchMissingError(missing) from None
    return out


def missing_prefetch(call: Call, templates: Mapping[str, str]) -> list[str]:
    """The prefetch keys `resolve_prefetch` would fetch: absent, or an OperationOutcome (none:
    the call needs no network, its answer is CPU only)."""
    sent = call.body.get("prefetch") or {}
    return [key for key in templates if key not in sent or _is_outcome(sent[key])]


def _is_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


# -- the call ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settings:
    base_url: str  # where the service is reached (links, card sources)
    lang: str
    as_of: date
    launch_url: str | None = None  # a SMART launch URL for the card's smart link
    advice_url: str | None = None  # the page with this patient's advice (a short-lived link)


def respond(
    call: Call, prefetch: Mapping[str, Any], kb: KnowledgeBase, settings: Settings
) -> tuple[dict[str, Any], list[tuple[str, str]], dict[str, Any]]:
    """The response `{"cards": [...]}`, each card's (uuid, type) for the feedback count, and
    the intake the cards were made from (for the advice page the cards link to)."""
    from mgadvisor.errors import IntakeError
    from mgadvisor.interop.cds_orders import interaction_cards
    from mgadvisor.interop.fhir_in import InvalidPatientError, intake_from_fhir

    failure: IntakeError | None = None
    try:
        mapped = intake_from_fhir(prefetch, as_of=settings.as_of, kb=kb)
    except IntakeError as exc:
        failure, mapped = exc, None
    frame = cds_cards.frame_context(kb, settings, call.patient_id)
    patient = prefetch.get("patient")
    cards: list[dict[str, Any]] = []
    if mapped is None and call.hook in ORDER_HOOKS and failure is not None:
        # the interactions do not depend on sex or age: read the rest with a stand-in patient
        # and give only the interaction cards (no advice rests on the stand-in)
        if failure.path in STAND_IN_PATHS or isinstance(failure, InvalidPatientError):
            patient = stand_in_patient(call.patient_id, settings.as_of)
            try:
                mapped = intake_from_fhir(
                    {**prefetch, "patient": patient}, as_of=settings.as_of, kb=kb
                )
            except IntakeError:
                mapped = None
            if mapped is not None:
                cards = interaction_cards(
                    call,
                    dict(mapped.intake),
                    patient,
                    kb,
                    settings,
                    interactions_only=True,
                    mapped=mapped,
                )
                for one in cards:  # no advice page: it would rest on the stand-in
                    one["links"] = [x for x in one["links"] if x["url"] != settings.advice_url]
                if cards:  # what was not used of the record, on the interaction card
                    cards = cds_cards.with_unused(frame, cards, mapped.unmapped)
        cards.append(cds_cards.not_assessed_card(frame, failure))
        intake: dict[str, Any] = {}
    elif mapped is None:
        cards = [cds_cards.not_assessed_card(frame, failure)] if failure is not None else []
        intake = {}
    else:
        intake = dict(mapped.intake)
        if call.hook in ORDER_HOOKS:
            cards = interaction_cards(call, intake, patient, kb, settings, mapped=mapped)
        else:
            ctx = _advise_parsed(mapped.parsed, kb, settings, call.patient_id)
            cards = cds_cards.depletion_cards(ctx) if ctx is not None else []
        cards = cds_cards.with_unused(frame, cards, mapped.unmapped)
    types = [(c["uuid"], c["source"]["topic"]["code"]) for c in cards]
    return {"cards": cards}, types, intake


# A Patient the engine cannot advise on (no usable sex or birth date, none at all, one that is
# not valid R4B) still lets
# the order hooks show interactions: those rules do not depend on sex or age. A deceased
# patient gets no card but the one saying why.
STAND_IN_PATHS = ("Patient", "Patient.gender", "Patient.birthDate")


def stand_in_patient(patient_id: str, as_of: date) -> dict[str, Any]:
    """A Patient for reading the medicines only: never used for advice."""
    born = f"{as_of.year - 40:04d}-01-01"
    return {"resourceType": "Patient", "id": patient_id, "gender": "female", "birthDate": born}


def _intake(resources: Any, as_of: date, kb: KnowledgeBase) -> dict[str, Any]:
    """The intake of the FHIR data (H5's mapping); empty when there is no usable Patient (no
    birth date, no sex: the engine cannot advise, so the service gives no card)."""
    return _mapped(resources, as_of, kb)[0]


def _mapped(resources: Any, as_of: date, kb: KnowledgeBase) -> tuple[dict[str, Any], Intake | None]:
    """`_intake` and the same checked (`parse_intake`, done once, in the mapping); ({}, None)
    when there is no usable Patient."""
    from mgadvisor.errors import IntakeError
    from mgadvisor.interop.fhir_in import intake_from_fhir

    try:
        mapped = intake_from_fhir(resources, as_of=as_of, kb=kb)
    except IntakeError:
        return {}, None
    return dict(mapped.intake), mapped.parsed


def _advise(
    intake: Mapping[str, Any], kb: KnowledgeBase, settings: Settings, patient_id: str
) -> cds_cards.CardContext | None:
    """The advice document as a card context; None when the FHIR data give no valid intake
    (no birth date or no sex: the engine cannot advise, so there is no card)."""
    from mgadvisor.errors import IntakeError
    from mgadvisor.intake import parse_intake

    try:
        parsed = parse_intake(dict(intake), kb)
    except IntakeError:
        return None
    return _advise_parsed(parsed, kb, settings, patient_id)


def _advise_parsed(
    parsed: Intake | None,
    kb: KnowledgeBase,
    settings: Settings,
    patient_id: str,
) -> cds_cards.CardContext | None:
    """`_advise` of an intake already checked (None: no valid intake, no card). A lab value
    read from a bound keeps its comparator in the intake: the document shows the bound
    (`render.bounds`)."""
    from mgadvisor.pipeline import advise_and_render

    if parsed is None:
        return None
    run = advise_and_render(parsed, kb, as_of=settings.as_of, lang=settings.lang)
    return cds_cards.CardContext.of(
        run.document,
        base_url=settings.base_url,
        patient_id=patient_id,
        launch_url=settings.launch_url,
        advice_url=settings.advice_url,
        form_only=cds_cards.form_only(kb),
    )
