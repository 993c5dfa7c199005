"""CDS Hooks over HTTP (thin): discovery, service calls, feedback, CORS for the EHR's origins.

    GET     /cds-services                           discovery (no patient data, no token)
    POST    /cds-services/{id}                      a hook call: JWT → prefetch → engine → cards
    POST    /cds-services/{id}/feedback             accepted / overridden, stored (cds_feedback)
    GET     /cds-services/{id}/feedback/summary     counts per card type and outcome
    OPTIONS /cds-services...                        CORS preflight (MGADVISOR_CDS_ORIGINS only)
    GET     /cds/advice/{token}                     a card's link: the patient's intake page

Every POST and the summary need the EHR's signed JWT (interop/cds_security.py), `aud` the URL
called (MGADVISOR_CDS_BASE_URL + path when set: the address the EHR uses, behind a proxy too).
Each call is written to the audit log (event `cds.call`) when the records database is there.

A hook call's path, kept short (issue 14 §3: the EHR waits on it): the token's signature and
claims on the event loop (no I/O, unless a key set is fetched); the engine in its pool (one
hand-off); then ONE transaction in a worker thread with the token's use (`cds_token_uses`: a
replay from another instance fails that insert) and the call's audit record, committed before
any card leaves. A replay within this process is refused before the engine runs.

Settings: MGADVISOR_CDS_LANG (nl|en, the cards' language unless `?lang=` or Accept-Language
asks), MGADVISOR_CDS_LAUNCH_URL (a SMART launch URL: cards get a `smart` link),
MGADVISOR_CDS_CLIENTS / MGADVISOR_CDS_PROFILE (who is trusted).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from mgadvisor.i18n import LANGS, N_, Translator
from mgadvisor.interop import cds_feedback, cds_hooks
from mgadvisor.interop.cds_cards import IssuedCards
from mgadvisor.interop.cds_security import (
    REPLAYED,
    CdsAuthError,
    Claims,
    Client,
    SharedReplays,
    Verifier,
    fhir_server_allowed,
    load_clients,
)
from mgadvisor.records.accounts import Principal
from mgadvisor.web.auth import practitioner_page_user, records_engine
from mgadvisor.web.auth import today as today_of

log = logging.getLogger("mgadvisor.web")
router = APIRouter(prefix="/cds-services", tags=["cds-hooks"], include_in_schema=False)
pages = APIRouter(prefix="/cds", include_in_schema=False)  # a page: cookies and CSRF as usual
ENV_ORIGINS = "MGADVISOR_CDS_ORIGINS"
CORS_MAX_AGE = "600"
LINK_TTL_S = 15 * 60
LINKS_MAX = 10_000


class AdviceLinks:
    """The intakes behind the cards' "open the advice" links: a random 128-bit token each,
    kept in this process for LINK_TTL_S (then gone), at most LINKS_MAX at a time."""

    def __init__(self) -> None:
        self._intakes: OrderedDict[str, tuple[float, str, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def new_token(self) -> str:
        return secrets.token_urlsafe(16)

    def keep(self, token: str, patient_id: str, intake: dict[str, Any], now: float) -> None:
        with self._lock:
            self._intakes[token] = (now + LINK_TTL_S, patient_id, intake)
            oldest = next(iter(self._intakes.values()))
            while len(self._intakes) > LINKS_MAX or oldest[0] < now:  # full, or expired
                self._intakes.popitem(last=False)
                oldest = next(iter(self._intakes.values()))

    def intake(self, token: str, now: float) -> tuple[str, dict[str, Any]] | None:
        """(the EHR's patient id, the intake), while the link is valid."""
        with self._lock:
            found = self._intakes.get(token)
        if found is None or found[0] < now:
            return None
        return found[1], found[2]


@dataclass
class CdsState:
    """The service's per-app state: whom it trusts, which cards it handed out, its settings."""

    verifier: Verifier
    issued: IssuedCards
    links: AdviceLinks
    origins: frozenset[str]
    lang: str | None
    base_url: str | None
    launch_url: str | None
    development: bool


def cds_state(request: Request) -> CdsState:
    """The app's CDS state, read from the environment on first use."""
    state: CdsState | None = getattr(request.app.state, "cds", None)
    if state is None:
        env = os.environ
        origins = {o.strip().rstrip("/") for o in env.get(ENV_ORIGINS, "").split(",")} - {""}
        lang = env.get("MGADVISOR_CDS_LANG", "").strip()
        try:
            clients = load_clients(env)
        except CdsAuthError as exc:  # a broken configuration: trust nobody, and say why
            log.error("CDS Hooks: %s", exc.msgid.format(**exc.params))
            clients = {}
        engine = getattr(request.app.state, "records_engine", None)  # made at server start
        state = CdsState(
            verifier=Verifier(clients, SharedReplays(engine) if engine is not None else None),
            issued=IssuedCards(),
            links=AdviceLinks(),
            origins=frozenset(origins),
            lang=lang if lang in LANGS else None,
            base_url=env.get("MGADVISOR_CDS_BASE_URL", "").strip().rstrip("/") or None,
            launch_url=env.get("MGADVISOR_CDS_LAUNCH_URL", "").strip() or None,
            development=env.get("MGADVISOR_CDS_PROFILE", "").strip() == "development",
        )
        request.app.state.cds = state
    return state


def _lang(request: Request, state: CdsState) -> str:
    """?lang=, then an Accept-Language naming one of ours, then the setting, then Dutch."""
    from mgadvisor.web.app import chosen_lang

    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    header = request.headers.get("accept-language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGS:
            return code
    return state.lang or chosen_lang(request) or "nl"


def _base(request: Request, state: CdsState) -> str:
    return state.base_url or str(request.base_url).rstrip("/")


def _cors(request: Request, state: CdsState, response: Response) -> Response:
    origin = request.headers.get("origin", "").rstrip("/")
    if origin and origin in state.origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return response


def _error(
    request: Request,
    state: CdsState,
    status: int,
    summary: str,
    errors: list[Any] | None = None,
    **params: Any,
) -> Response:
    from mgadvisor.web.app import error_body

    t = Translator(_lang(request, state))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = error_body(t(summary, **params), errors)
    return _cors(request, state, JSONResponse(body, status, headers))


async def _verify(request: Request, state: CdsState, *auds: str) -> Claims:
    """The token's claims (off the event loop when a key set may be fetched)."""
    if state.verifier.fetches or state.verifier.shared is not None:  # network or database
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(_verify_now, request, state, *auds)
    return _verify_now(request, state, *auds)


async def _check(request: Request, state: CdsState, *auds: str) -> Claims:
    """The token's claims, the use not yet stored in the records (see `_settle`): on the event
    loop (CPU only: the signature) unless a key set may be fetched over the network."""
    if state.verifier.fetches:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(_verify_now, request, state, *auds, shared=False)
    return _verify_now(request, state, *auds, shared=False)


def _verify_now(request: Request, state: CdsState, *auds: str, shared: bool = True) -> Claims:
    """The token's claims for the first audience it names, or a CdsAuthError; `shared`
    False: its use is not stored in the records here (`Verifier.check`)."""
    error: CdsAuthError | None = None
    verify = state.verifier.verify if shared else state.verifier.check
    for aud in auds:
        try:
            return verify(request.headers.get("authorization"), aud)
        except CdsAuthError as exc:
            error = exc
            if "aud" not in exc.msgid:
                break
    assert error is not None
    raise error


def _auth_error(request: Request, state: CdsState, exc: CdsAuthError) -> Response:
    t = Translator(_lang(request, state))
    problem = {"loc": ["header", "authorization"], "msg": t(exc.msgid, **exc.params)}
    return _error(request, state, 401, N_("the CDS client is not trusted"), [problem])


@router.options("")
@router.options("/{rest:path}")
def preflight(request: Request) -> Response:
    """CORS preflight: allowed for the configured EHR origins only."""
    state = cds_state(request)
    origin = request.headers.get("origin", "").rstrip("/")
    if origin not in state.origins:
        return Response(status_code=403)
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": CORS_MAX_AGE,
            "Vary": "Origin",
        },
    )


@router.get("")
def discovery(request: Request) -> Response:
    """The services, their hooks and prefetch templates (no patient data: no token needed)."""
    from mgadvisor.kb import load_knowledge

    state = cds_state(request)
    body = cds_hooks.services(load_knowledge(), _lang(request, state))
    return _cors(request, state, Response(orjson.dumps(body), media_type="application/json"))


async def _json_body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise cds_hooks.CdsRequestError("body", N_("valid JSON"), N_("a syntax error")) from None


@router.post("/{service_id}")
async def call(request: Request, service_id: str) -> Response:
    """A hook call: the token, the request, the prefetch (412 when missing), then the cards."""
    from mgadvisor.kb import load_knowledge
    from mgadvisor.web.workers import engine_pool

    state = cds_state(request)
    if service_id not in cds_hooks.SERVICES:
        return _error(request, state, 404, N_("no CDS service '{id}'"), id=service_id[:60])
    base = _base(request, state)
    try:
        claims = await _check(request, state, f"{base}/cds-services/{service_id}")
    except CdsAuthError as exc:
        return _auth_error(request, state, exc)
    t = Translator(_lang(request, state))
    try:
        checked = cds_hooks.check_call(service_id, await _json_body(request))
    except cds_hooks.CdsRequestError as exc:
        try:  # the token is used all the same (as when the body is fine): a replay is a 401
            await _settle(request, state, claims, None, _Use(state.verifier.shared, claims))
        except CdsAuthError as replay:
            return _auth_error(request, state, replay)
        problem = {"loc": ["body", *exc.loc.split(".")], "msg": exc.line(t)}
        return _error(request, state, 400, N_("not a CDS Hooks request"), [problem])
    token = state.links.new_token()
    advice_url = f"{base}/cds/advice/{token}?lang={t.lang}"
    settings = cds_hooks.Settings(base, t.lang, today_of(request), state.launch_url, advice_url)
    use = _Use(state.verifier.shared, claims)
    pool = engine_pool(request)
    # On the event loop when the whole prefetch was sent (no fetch from the EHR: CPU only) and
    # the body is small (pool.small: MGADVISOR_ENGINE_INLINE_BYTES, 4 KB): the hand-off to a
    # worker thread and back costs 0.3-0.7 ms, about as much as the answer of the typical
    # prefetch (1.4 KB: ~0.9 ms); a FHIR prefetch costs ~0.5 ms per KB, so a larger one (many
    # medicines or lab values) still goes to the pool, as does every call that fetches.
    templates = cds_hooks.prefetch_templates(load_knowledge())
    inline = pool.small(request) and not cds_hooks.missing_prefetch(checked, templates)
    try:
        allowed = state.verifier.fhir_servers_of(claims.iss)
        body, types, intake = await pool.run(
            _answer, checked, settings, state.development, allowed, use, inline=inline
        )
    except CdsAuthError as replay:  # used elsewhere, found before fetching from the EHR
        await _settle(request, state, claims, _CallAudit(checked, "failure", 0, "replay"), use)
        return _auth_error(request, state, replay)
    except cds_hooks.PrefetchMissingError as exc:
        try:
            await _settle(request, state, claims, _CallAudit(checked, "failure", 0), use)
        except CdsAuthError as replay:
            return _auth_error(request, state, replay)
        return _error(
            request,
            state,
            412,
            N_("prefetch missing and fhirServer is not on this CDS client's list: {keys}")
            if exc.refused
            else N_("prefetch missing and no FHIR server to fetch it: {keys}"),
            keys=", ".join(exc.keys),
        )
    except BaseException:  # busy (503), a crash, a cancelled call: the token is used all the same
        with contextlib.suppress(Exception):  # the first error is the one to answer
            await _settle(request, state, claims, None, use)
        raise
    try:  # the token's use and the audit record, committed before any card leaves
        await _settle(request, state, claims, _CallAudit(checked, "success", len(types)), use)
    except CdsAuthError as replay:  # used at another instance: no card; the refusal is audited
        return _auth_error(request, state, replay)
    for card_uuid, card_type in types:
        state.issued.add(card_uuid, service_id, card_type)
    if types and intake:  # a card about a patient not assessed links to no advice
        state.links.keep(token, checked.patient_id, intake, time.time())
    return _cors(request, state, Response(orjson.dumps(body), media_type="application/json"))


def _answer(
    checked: cds_hooks.Call,
    settings: cds_hooks.Settings,
    development: bool,
    fhir_servers: Client | None,
    use: _Use,
) -> tuple[dict[str, Any], list[tuple[str, str]], dict[str, Any]]:
    from mgadvisor.kb import load_knowledge

    kb = load_knowledge()
    templates = cds_hooks.prefetch_templates(kb)

    def fetch(server: str, query: str, token: str | None) -> Any:
        use.store()  # before the EHR is asked anything with the call's access token
        return cds_hooks.fetch_fhir(server, query, token)

    prefetch = cds_hooks.resolve_prefetch(
        checked,
        templates,
        fetch,
        allow_http=development,
        server_allowed=lambda url: fhir_server_allowed(fhir_servers, url),
    )
    return cds_hooks.respond(checked, prefetch, kb, settings)


@dataclass(frozen=True, slots=True)
class _CallAudit:
    """What the audit record of one call says (NEN 7513): the EHR's patient id as the object,
    the client's iss and the hook in the details (and why a call was refused)."""

    checked: cds_hooks.Call
    outcome: str
    cards: int
    refused: str | None = None


class _Use:
    """The token's use in the shared replay table: stored with the call's audit record (one
    commit), or on its own before the service fetches from the EHR's FHIR server (a replayed
    token must not reach the EHR with its access token)."""

    __slots__ = ("claims", "shared", "stored")

    def __init__(self, shared: SharedReplays | None, claims: Claims) -> None:
        self.shared = shared
        self.claims = claims
        self.stored = shared is None  # nothing to store without a shared replay table

    def store(self) -> None:
        """Store the use now, in its own transaction (once).

        Raises:
            CdsAuthError: the token was used before.
        """
        if self.stored or self.shared is None:
            return
        claims = self.claims
        fresh = self.shared.first_use(claims.iss, claims.jti, claims.exp, time.time())
        self.stored = True  # now, or by the call that used the token before
        if not fresh:
            raise CdsAuthError(REPLAYED)


async def _settle(
    request: Request,
    state: CdsState,
    claims: Claims,
    audit: _CallAudit | None,
    use: _Use,
) -> None:
    """Store the token's use (with a shared replay table, unless `use` is stored already) and
    the call's audit record (when the app has a records database), in one transaction in a
    worker thread.

    Raises:
        CdsAuthError: the token was used before (at another instance): the use and the call's
            record are rolled back, and the refusal is audited instead.
    """
    shared = None if use.stored else use.shared
    engine = getattr(request.app.state, "records_engine", None) if audit is not None else None
    if shared is None and engine is None:
        return
    from starlette.concurrency import run_in_threadpool

    where = request.client.host if request.client else None
    await run_in_threadpool(_write_settled, shared, engine, claims, audit, where, time.time())


def _write_settled(
    shared: SharedReplays | None,
    engine: Any,
    claims: Claims,
    audit: _CallAudit | None,
    where: str | None,
    now: float,
) -> None:
    try:
        if shared is not None and engine is not None and engine is not shared.engine:
            # two databases (the app makes one): the use first, in its own transaction
            if not shared.first_use(claims.iss, claims.jti, claims.exp, now):
                raise CdsAuthError(REPLAYED)
            shared = None
        # A Connection, not a Session: two Core inserts need no ORM (a Session cost ~0.07 ms
        # more); no user is named on it, as on a Session of nobody (rls.py)
        with (engine if shared is None else shared.engine).begin() as connection:
            if shared is not None:  # a replay raises here: the transaction is rolled back
                shared.use(connection, claims.iss, claims.jti, claims.exp, now)
            if engine is not None and audit is not None:
                _audit_call(connection, where, claims.iss, audit)
    except CdsAuthError:
        if engine is not None and audit is not None:  # the refused replay is on record
            refused = _CallAudit(audit.checked, "failure", 0, "replay")
            with engine.begin() as connection:
                _audit_call(connection, where, claims.iss, refused)
        raise


def _audit_call(connection: Any, where: str | None, iss: str, audit: _CallAudit) -> None:
    """One audit record per call, in the caller's transaction (a Connection's)."""
    from mgadvisor.records import audit as records_audit

    checked = audit.checked
    actor = records_audit.Actor(user_id=None, role=None, access_point=where, protocol="cds-client")
    details = {
        "iss": iss,
        "service": checked.service.id,
        "hook": checked.hook,
        "hookInstance": checked.hook_instance[:100],
        "cards": audit.cards,
    }
    if audit.refused:
        details["refused"] = audit.refused
    records_audit.record(
        connection,
        actor,
        "cds.call",
        "E",
        outcome=audit.outcome,
        object_type="Patient",
        object_id=checked.patient_id,
        details=details,
    )


# -- feedback ---------------------------------------------------------------------------------


def _records_engine(request: Request) -> Any:
    """The app's records engine, made (and on SQLite migrated) the one way the app makes it."""
    return records_engine(request)


@router.post("/{service_id}/feedback")
async def feedback(request: Request, service_id: str) -> Response:
    """Store each outcome (accepted with its suggestions, overridden with the reason's code)."""
    state = cds_state(request)
    if service_id not in cds_hooks.SERVICES:
        return _error(request, state, 404, N_("no CDS service '{id}'"), id=service_id[:60])
    base = _base(request, state)
    url = f"{base}/cds-services/{service_id}"
    try:  # the token's use is stored with the feedback (one commit, one thread hand-off)
        claims = await _check(request, state, f"{url}/feedback", url)
    except CdsAuthError as exc:
        return _auth_error(request, state, exc)
    use = _Use(state.verifier.shared, claims)
    try:
        items = cds_feedback.check_items(await _json_body(request))
    except cds_hooks.CdsRequestError as exc:
        try:  # the token is used all the same (as when the body is fine): a replay is a 401
            await _settle(request, state, claims, None, use)
        except CdsAuthError as replay:
            return _auth_error(request, state, replay)
        t = Translator(_lang(request, state))
        problem = {"loc": ["body", *exc.loc.split(".")], "msg": exc.line(t)}
        return _error(request, state, 400, N_("not CDS Hooks feedback"), [problem])
    from starlette.concurrency import run_in_threadpool

    def card_type(card_uuid: str) -> str | None:
        return state.issued.card_type(card_uuid, service_id)

    engine = _records_engine(request)
    try:
        await run_in_threadpool(_store_feedback, use, engine, service_id, items, card_type)
    except CdsAuthError as replay:  # used at another instance: nothing stored
        return _auth_error(request, state, replay)
    return _cors(request, state, Response(status_code=200))


def _store_feedback(
    use: _Use,
    engine: Any,
    service_id: str,
    items: list[dict[str, Any]],
    card_type: Any,
) -> None:
    """The feedback's rows and the token's use in one transaction (a replay raises
    CdsAuthError there and nothing is stored); the use on its own first when the replay table
    is in another database than the feedback."""
    shared, claims = use.shared, use.claims
    first = None
    if shared is not None and shared.engine is not engine:
        use.store()
    elif shared is not None:

        def first(session: Any) -> None:
            shared.use(session, claims.iss, claims.jti, claims.exp, time.time())

    cds_feedback.store(engine, service_id, claims.iss, items, card_type, first)


@router.get("/{service_id}/feedback/summary")
async def feedback_summary(request: Request, service_id: str) -> Response:
    """How often each card type was accepted or overridden (and why): counts only."""
    state = cds_state(request)
    if service_id not in cds_hooks.SERVICES:
        return _error(request, state, 404, N_("no CDS service '{id}'"), id=service_id[:60])
    try:
        await _verify(
            request, state, f"{_base(request, state)}/cds-services/{service_id}/feedback/summary"
        )
    except CdsAuthError as exc:
        return _auth_error(request, state, exc)
    from starlette.concurrency import run_in_threadpool

    rows = await run_in_threadpool(cds_feedback.counts, _records_engine(request), service_id)
    body = {"service": service_id, "card_types": rows}
    return _cors(request, state, JSONResponse(body))


@pages.get("/advice/{token}")
def advice_page(
    request: Request, token: str, principal: Annotated[Principal, Depends(practitioner_page_user)]
) -> Response:
    """The intake page filled in with the patient's data from the EHR, and its live advice:
    where a card's "open the advice" link leads, for LINK_TTL_S after the call. Only for a
    logged-in practitioner (else the login, which comes back here); audited with that user."""
    from mgadvisor.records import audit
    from mgadvisor.records.database import session_scope
    from mgadvisor.web.documents import _intake_page
    from mgadvisor.web.forms import state_from_intake
    from mgadvisor.web.pages import not_found_page

    found = cds_state(request).links.intake(token[:64], time.time())
    if found is None:
        return not_found_page(request, request.url.path)
    patient_id, intake = found
    with session_scope(records_engine(request)) as session:  # who read which patient's data
        audit.record(
            session,
            principal.actor("cds-client"),
            "cds.open",
            "R",
            object_type="Patient",
            object_id=patient_id,
            details={"via": "cds-card-link"},
        )
    state, left_out = state_from_intake(intake)
    return _intake_page(request, state, left_out=left_out)
