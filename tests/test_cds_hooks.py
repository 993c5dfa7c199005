"""The CDS Hooks services over HTTP: the spec's own requests, the issue's done-when cases,
the prefetch tri-state (sent / null / absent: fetched from a real local FHIR server, else 412),
security at the door, CORS, language, and every response against the 2.0.1 response schema."""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import jwt
import pytest
from fastapi.testclient import TestClient

from mgadvisor.web.app import create_app

FIXTURES = Path(__file__).parent / "fixtures"
CDS = FIXTURES / "cds"
EXAMPLES = Path(__file__).parents[1] / "examples" / "fhir"
SCHEMA = json.loads((FIXTURES / "cds-hooks-response.schema.json").read_text())
SANDBOX_KEY = (CDS / "sandbox-private-key.pem").read_text()
BASE = "http://testserver/cds-services"
ORIGIN = "https://ehr.example.nl"
ATC = "http://www.whocc.no/atc"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CDS / name).read_text())
    return data


def token(aud: str, **claims: Any) -> dict[str, str]:
    """The Authorization header of a token minted like the sandbox's."""
    now = int(time.time())
    payload = {
        "iss": "https://sandbox.cds-hooks.org",
        "aud": aud,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    signed = jwt.encode(
        payload,
        SANDBOX_KEY,
        algorithm="ES384",
        headers={"kid": "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f", "typ": "JWT"},
    )
    return {"Authorization": f"Bearer {signed}"}


def valid_response(body: Any) -> dict[str, Any]:
    jsonschema.Draft202012Validator(SCHEMA).validate(body)
    for card in body["cards"]:
        assert len(card["summary"]) < 140
    assert isinstance(body, dict)
    return body


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("MGADVISOR_CDS_PROFILE", "development")
    monkeypatch.setenv("MGADVISOR_CDS_ORIGINS", ORIGIN)
    monkeypatch.delenv("MGADVISOR_CDS_CLIENTS", raising=False)
    monkeypatch.delenv("MGADVISOR_CDS_LANG", raising=False)
    yield TestClient(create_app())


def call(
    client: TestClient, service: str, body: dict[str, Any], lang: str = "en", **kw: Any
) -> Any:
    return client.post(
        f"/cds-services/{service}?lang={lang}", json=body, headers=token(f"{BASE}/{service}"), **kw
    )


def patient_view(prefetch: dict[str, Any]) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": "mg72"},
        "prefetch": prefetch,
    }


# -- a real FHIR server on 127.0.0.1 for the prefetch that is not sent -----------------------


class FhirServer:
    """Answers Patient reads and searches from fixed resources; records what was asked."""

    def __init__(self, resources: dict[str, Any]) -> None:
        self.resources = resources
        self.asked: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.asked.append((self.path, self.headers.get("Authorization")))
                kind = self.path.removeprefix("/fhir/").split("?")[0].split("/")[0]
                found = server.resources.get(kind)
                body = json.dumps(found).encode()
                self.send_response(200 if found is not None else 404)
                self.send_header("Content-Type", "application/fhir+json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fhir(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[FhirServer]:
    """The local FHIR server, on the sandbox issuer's fhirServer allowlist (a clients file)."""
    done_when = load("prefetch-72.json")
    server = FhirServer(
        {
            "Patient": done_when["patient"],
            "MedicationRequest": done_when["medications"],
            "MedicationStatement": done_when["statements"],
            "Observation": done_when["labs"],
            "Condition": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        }
    )
    allow_fhir_server(monkeypatch, tmp_path, server.url)
    yield server
    server.close()


def allow_fhir_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> None:
    """MGADVISOR_CDS_CLIENTS: the sandbox's key with `url` as its one FHIR server."""
    from mgadvisor.interop.cds_security import SANDBOX_ISS, SANDBOX_JWKS

    keys = json.loads(SANDBOX_JWKS.read_text())["keys"]
    clients = tmp_path / "cds-clients.json"
    clients.write_text(json.dumps({SANDBOX_ISS: {"keys": keys, "fhir_servers": [url]}}))
    monkeypatch.setenv("MGADVISOR_CDS_CLIENTS", str(clients))


# -- discovery ----------------------------------------------------------------------------


def test_discovery_lists_both_services_with_prefetch(client: TestClient) -> None:
    answer = client.get("/cds-services")
    assert answer.status_code == 200
    body = answer.json()
    discovery = {**SCHEMA["$defs"]["discovery"], "$defs": SCHEMA["$defs"]}
    jsonschema.Draft202012Validator(discovery).validate(body)
    hooks = {(s["id"], s["hook"]) for s in body["services"]}
    assert hooks == {
        ("mg-depletion", "patient-view"),
        ("mg-interactions", "order-select"),
        ("mg-interactions", "order-sign"),
    }
    prefetch = body["services"][0]["prefetch"]
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert "http://loinc.org|2601-3" in prefetch["labs"]  # serum magnesium, from labs.yaml
    assert answer.headers["cache-control"] == "no-store"


def test_discovery_speaks_dutch_by_default(client: TestClient) -> None:
    nl = client.get("/cds-services").json()["services"][0]["title"]
    en = client.get("/cds-services?lang=en").json()["services"][0]["title"]
    assert nl != en
    assert en == "Magnesium depletion"


# -- patient-view -------------------------------------------------------------------------


def test_done_when_patient_view_gives_a_warning_card(client: TestClient) -> None:
    answer = call(client, "mg-depletion", patient_view(load("prefetch-72.json")))
    assert answer.status_code == 200, answer.text
    cards = valid_response(answer.json())["cards"]
    risk = next(c for c in cards if c["source"]["topic"]["code"] == "risk.deficiency")
    assert risk["indicator"] == "warning"
    assert "0.62" in risk["detail"]
    assert "Magnesium Depletion Score: 2" in risk["detail"]
    assert "**References**" in risk["detail"]
    assert "https://doi.org/" in risk["detail"]  # the citations in APA
    assert risk["source"]["url"].startswith("http://testserver/kb/")
    assert all(r["display"] for r in risk["overrideReasons"])
    assert risk["links"][0]["type"] == "absolute"
    codes = [c["source"]["topic"]["code"] for c in cards]
    assert "referral.serum_low" in codes  # a doctor finds the cause of a low serum value
    assert len({c["uuid"] for c in cards}) == len(cards)


def test_done_when_bundle_of_the_fhir_examples(client: TestClient) -> None:
    """The issue's FHIR Bundle (examples/fhir/, shared with `mgadvisor fhir intake`), split
    into the prefetch keys by resource type as an EHR would answer the templates."""
    bundle = json.loads((EXAMPLES / "patient-72-omeprazole-furosemide.json").read_text())
    keys = {
        "Patient": "patient",
        "MedicationRequest": "medications",
        "MedicationStatement": "statements",
        "Observation": "labs",
        "Condition": "conditions",
    }
    prefetch: dict[str, Any] = {
        k: {"resourceType": "Bundle", "type": "searchset", "entry": []} for k in keys.values()
    }
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            prefetch["patient"] = resource
        else:  # a search answer refers to the patient by its id, not the Bundle's urn:uuid
            patient_ref = f"Patient/{bundle['entry'][0]['resource']['id']}"
            resource = {**resource, "subject": {"reference": patient_ref}}
            prefetch[keys[resource["resourceType"]]]["entry"].append({"resource": resource})
    body = patient_view(prefetch)
    body["context"]["patientId"] = prefetch["patient"]["id"]
    cards = valid_response(call(client, "mg-depletion", body).json())["cards"]
    risk = next(c for c in cards if c["source"]["topic"]["code"] == "risk.deficiency")
    assert risk["indicator"] == "warning"
    assert "0.62" in risk["detail"]


def test_patient_view_in_dutch(client: TestClient) -> None:
    cards = call(client, "mg-depletion", patient_view(load("prefetch-72.json")), lang="nl").json()
    risk = next(c for c in cards["cards"] if c["source"]["topic"]["code"] == "risk.deficiency")
    assert "0,62" in risk["detail"]
    assert "**Literatuur**" in risk["detail"]
    assert risk["summary"].startswith("Tekort bevestigd")


def test_low_risk_patient_gets_no_card(client: TestClient) -> None:
    prefetch = load("prefetch-72.json")
    prefetch["patient"]["birthDate"] = "1990-01-01"
    for key in ("medications", "statements", "labs", "conditions"):
        prefetch[key] = None  # sent as null: the client has no data
    answer = call(client, "mg-depletion", patient_view(prefetch))
    assert valid_response(answer.json()) == {"cards": []}


def test_spec_patient_view_example_fetches_what_is_not_prefetched(
    client: TestClient, fhir: FhirServer
) -> None:
    body = load("patient-view.json")
    body["fhirServer"] = fhir.url  # the spec's server is not reachable from a test
    answer = call(client, "mg-depletion", body)
    assert answer.status_code == 200, answer.text
    valid_response(answer.json())
    asked = [path.split("?")[0] for path, _ in fhir.asked]
    # the Patient was prefetched; the four searches were fetched, with the EHR's access token
    assert sorted(asked) == sorted(
        [
            "/fhir/MedicationRequest",
            "/fhir/MedicationStatement",
            "/fhir/Observation",
            "/fhir/Condition",
        ]
    )
    assert {auth for _, auth in fhir.asked} == {"Bearer some-opaque-fhir-access-token"}
    assert all("patient=1288992" in path for path, _ in fhir.asked)


def test_only_a_small_complete_prefetch_is_answered_on_the_event_loop(
    client: TestClient, fhir: FhirServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetch from the EHR (network) never runs on the event loop, nor a large prefetch; the
    typical one (1.4 KB, all keys sent) skips the thread hand-off."""
    from mgadvisor.web.workers import EnginePool

    where: list[bool] = []
    run = EnginePool.run

    async def spy(self: EnginePool, fn: Any, *args: Any, inline: bool = False) -> Any:
        where.append(inline)
        return await run(self, fn, *args, inline=inline)

    monkeypatch.setattr(EnginePool, "run", spy)
    done_when = load("prefetch-72.json")
    assert call(client, "mg-depletion", patient_view(done_when)).status_code == 200
    fetching = load("patient-view.json")
    fetching["fhirServer"] = fhir.url
    assert call(client, "mg-depletion", fetching).status_code == 200
    assert fhir.asked
    large = patient_view(done_when)
    lab = large["prefetch"]["labs"]["entry"][0]
    large["prefetch"]["labs"]["entry"] = [lab] * 20  # ~10 KB
    assert call(client, "mg-depletion", large).status_code == 200
    assert where == [True, False, False]


def test_prefetch_absent_without_fhir_server_is_412(client: TestClient) -> None:
    body = load("patient-view.json")
    del body["fhirServer"], body["fhirAuthorization"]
    answer = call(client, "mg-depletion", body)
    assert answer.status_code == 412
    assert "medications" in answer.json()["error"]


def test_prefetch_null_is_no_data_and_fetches_nothing(client: TestClient, fhir: FhirServer) -> None:
    body = patient_view({**load("prefetch-72.json"), "labs": None})
    body["fhirServer"] = fhir.url
    cards = valid_response(call(client, "mg-depletion", body).json())["cards"]
    assert fhir.asked == []  # everything was sent (null counts as sent)
    risk = next(c for c in cards if c["source"]["topic"]["code"] == "risk.deficiency")
    assert "0.62" not in risk["detail"]  # without the lab, no lab finding
    assert "referral.serum_low" not in [c["source"]["topic"]["code"] for c in cards]


def test_prefetch_operation_outcome_is_fetched_again(client: TestClient, fhir: FhirServer) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    body = patient_view({**load("prefetch-72.json"), "labs": outcome})
    body["fhirServer"] = fhir.url
    cards = valid_response(call(client, "mg-depletion", body).json())["cards"]
    assert [p.split("?")[0] for p, _ in fhir.asked] == ["/fhir/Observation"]
    assert "referral.serum_low" in [c["source"]["topic"]["code"] for c in cards]


# -- order-select / order-sign ------------------------------------------------------------


def _order(order_id: str, atc: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc, "display": name}]},
        "subject": {"reference": "Patient/mg72"},
        "dosageInstruction": [{"text": "1 tablet a day"}],
    }


def order_call(hook: str, orders: list[dict[str, Any]], statements: list[dict[str, Any]]) -> Any:
    prefetch = load("prefetch-72.json")
    prefetch["statements"]["entry"] = [{"resource": s} for s in statements]
    prefetch["labs"] = None
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "PractitionerRole/123",
            "patientId": "mg72",
            "selections": [f"MedicationRequest/{o['id']}" for o in orders],
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": o} for o in orders]},
        },
        "prefetch": prefetch,
    }


def _statement(atc: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": atc,
        "status": "active",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc, "display": name}]},
        "subject": {"reference": "Patient/mg72"},
    }


MAGNESIUM = _statement("A12CC04", "magnesium citrate")


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_done_when_doxycycline_with_active_magnesium(client: TestClient, hook: str) -> None:
    doxy = _order("doxy-1", "J01AA02", "doxycycline")
    answer = call(client, "mg-interactions", order_call(hook, [doxy], [MAGNESIUM]))
    assert answer.status_code == 200, answer.text
    cards = valid_response(answer.json())["cards"]
    card = next(c for c in cards if c["source"]["topic"]["code"] == "interaction.tetracyclines")
    assert card["indicator"] == "warning"
    assert "4 h" in card["summary"] and "3 h" in card["summary"]  # the hours, from the KB
    assert card["source"]["url"] == "http://testserver/kb/tetracyclines?lang=en"
    suggestion = card["suggestions"][0]
    assert card["selectionBehavior"] == "at-most-one"
    action = suggestion["actions"][0]
    assert action["type"] == "update"
    updated = action["resource"]
    assert updated["id"] == "doxy-1"
    assert updated["status"] == "draft"  # the order as sent, only its instructions added to
    assert card["summary"] in updated["dosageInstruction"][0]["patientInstruction"]
    assert updated["dosageInstruction"][0]["text"] == "1 tablet a day"


def test_interaction_without_magnesium_gives_no_card(client: TestClient) -> None:
    doxy = _order("doxy-1", "J01AA02", "doxycycline")
    answer = call(client, "mg-interactions", order_call("order-sign", [doxy], []))
    codes = [c["source"]["topic"]["code"] for c in valid_response(answer.json())["cards"]]
    assert not any(code.startswith("interaction.") for code in codes)


def test_magnesium_ordered_while_taking_levothyroxine(client: TestClient) -> None:
    magnesium = _order("mg-1", "A12CC04", "magnesium citrate")
    body = order_call("order-sign", [magnesium], [_statement("H03AA01", "levothyroxine")])
    cards = valid_response(call(client, "mg-interactions", body).json())["cards"]
    card = next(c for c in cards if c["source"]["topic"]["code"].startswith("interaction."))
    # the suggestion adds the timing to the magnesium order (the one being signed)
    assert card["suggestions"][0]["actions"][0]["resource"]["id"] == "mg-1"


def test_spec_order_sign_example(client: TestClient) -> None:
    answer = call(client, "mg-interactions", load("order-sign.json"))
    assert answer.status_code == 200, answer.text
    assert valid_response(answer.json()) == {"cards": []}  # amoxicillin: no magnesium matter


# -- the door: tokens, bad requests, CORS -------------------------------------------------


def test_no_token_wrong_aud_and_replay_are_401(client: TestClient) -> None:
    body = patient_view(load("prefetch-72.json"))
    bare = client.post("/cds-services/mg-depletion", json=body)
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"] == "Bearer"
    assert set(bare.json()) == {"error", "errors"}
    wrong = client.post(
        "/cds-services/mg-depletion", json=body, headers=token(f"{BASE}/mg-interactions")
    )
    assert wrong.status_code == 401
    assert "aud" in wrong.json()["errors"][0]["msg"]
    headers = token(f"{BASE}/mg-depletion")
    assert client.post("/cds-services/mg-depletion", json=body, headers=headers).status_code == 200
    again = client.post("/cds-services/mg-depletion", json=body, headers=headers)
    assert again.status_code == 401


def test_expired_token_is_401(client: TestClient) -> None:
    old = int(time.time()) - 900
    headers = token(f"{BASE}/mg-depletion", iat=old, exp=old + 300)
    body = patient_view(load("prefetch-72.json"))
    answer = client.post("/cds-services/mg-depletion?lang=en", json=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["msg"] == "token expired"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("hookInstance"), "hookInstance"),
        (lambda b: b.update(hook="order-sign"), "hook"),
        (lambda b: b["context"].pop("patientId"), "patientId"),
        (lambda b: b.update(fhirAuthorization={"access_token": "x"}), "fhirServer"),
        (lambda b: b.update(prefetch=[1]), "prefetch"),
    ],
)
def test_bad_request_names_the_field(client: TestClient, change: Any, field: str) -> None:
    body = patient_view(load("prefetch-72.json"))
    change(body)
    answer = call(client, "mg-depletion", body)
    assert answer.status_code == 400
    problem = answer.json()["errors"][0]
    assert field in problem["loc"]
    assert "expected" in problem["msg"]


def test_not_json_and_unknown_service(client: TestClient) -> None:
    headers = {**token(f"{BASE}/mg-depletion"), "Content-Type": "application/json"}
    answer = client.post("/cds-services/mg-depletion?lang=en", content=b"{", headers=headers)
    assert answer.status_code == 400
    assert "valid JSON" in answer.json()["errors"][0]["msg"]
    assert client.post("/cds-services/nothing", json={}).status_code == 404


def test_order_hook_needs_draft_orders(client: TestClient) -> None:
    body = order_call("order-sign", [], [])
    body["context"]["draftOrders"] = [1]
    answer = call(client, "mg-interactions", body)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["loc"] == ["body", "context", "draftOrders"]


def test_cors_only_for_the_configured_origins(client: TestClient) -> None:
    asks = {"Access-Control-Request-Method": "POST"}
    ok = client.options("/cds-services/mg-depletion", headers={"Origin": ORIGIN, **asks})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert "Authorization" in ok.headers["access-control-allow-headers"]
    other = client.options(
        "/cds-services/mg-depletion", headers={"Origin": "https://evil.example", **asks}
    )
    assert other.status_code == 403
    assert "access-control-allow-origin" not in other.headers
    listed = client.get("/cds-services", headers={"Origin": ORIGIN})
    assert listed.headers["access-control-allow-origin"] == ORIGIN
    assert (
        "access-control-allow-origin"
        not in client.get("/cds-services", headers={"Origin": "https://evil.example"}).headers
    )
    answer = client.post(
        "/cds-services/mg-depletion",
        json=patient_view(load("prefetch-72.json")),
        headers={**token(f"{BASE}/mg-depletion"), "Origin": ORIGIN},
    )
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    # the API keeps its own rules: no CORS there
    assert (
        "access-control-allow-origin"
        not in client.get("/api/v1/health", headers={"Origin": ORIGIN}).headers
    )


def test_host_check_still_applies(client: TestClient) -> None:
    answer = client.get("/cds-services", headers={"Host": "evil.example"})
    assert answer.status_code == 400


def test_smart_link_when_a_launch_url_is_set(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MGADVISOR_CDS_LAUNCH_URL", "https://mg.example.org/launch")
    fresh = TestClient(create_app())
    cards = call(fresh, "mg-depletion", patient_view(load("prefetch-72.json"))).json()
    link = valid_response(cards)["cards"][0]["links"][0]
    assert link["type"] == "smart"
    assert json.loads(link["appContext"])["patient"] == "mg72"


def test_request_is_not_changed_by_the_service(client: TestClient) -> None:
    body = order_call("order-sign", [_order("doxy-1", "J01AA02", "doxycycline")], [MAGNESIUM])
    before = copy.deepcopy(body)
    call(client, "mg-interactions", body)
    assert body == before


def test_advised_dose_is_suggested_as_a_draft_proposal(client: TestClient) -> None:
    from fhir.resources.R4B.medicationrequest import MedicationRequest

    prefetch = {**load("prefetch-72.json"), "labs": None}  # no lab: no referral, a dose
    cards = valid_response(call(client, "mg-depletion", patient_view(prefetch)).json())["cards"]
    risk = next(c for c in cards if c["source"]["topic"]["code"] == "risk.deficiency")
    assert risk["selectionBehavior"] == "at-most-one"
    action = risk["suggestions"][0]["actions"][0]
    assert action["type"] == "create"
    request = action["resource"]
    MedicationRequest.model_validate(request)  # valid FHIR R4B
    assert (request["status"], request["intent"]) == ("draft", "proposal")
    assert request["subject"] == {"reference": "Patient/mg72"}
    assert "detectedIssue" not in request  # no links into a Bundle the EHR never sees
    mg = request["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert mg["code"] == "mg" and mg["value"] > 0


def test_card_links_to_the_advice_page_of_this_patient(client: TestClient) -> None:
    cards = call(client, "mg-depletion", patient_view(load("prefetch-72.json"))).json()["cards"]
    link = cards[0]["links"][0]
    assert link["type"] == "absolute"
    assert link["url"].startswith("http://testserver/cds/advice/")
    assert all(c["links"][0]["url"] == link["url"] for c in cards)  # one page per call
    # without a login the link leads to the login, which comes back to it (the page itself,
    # for a logged-in practitioner: tests/test_cds_instances.py)
    page = client.get(link["url"].removeprefix("http://testserver"), follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=/cds/advice/")
    assert "72" not in page.text


def test_no_cards_no_link_kept(client: TestClient) -> None:
    prefetch = {**load("prefetch-72.json"), "statements": None, "labs": None}
    prefetch["patient"] = {**prefetch["patient"], "birthDate": "1990-01-01"}
    assert call(client, "mg-depletion", patient_view(prefetch)).json() == {"cards": []}
    app: Any = client.app
    assert app.state.cds.links._intakes == {}


def test_advice_links_expire_and_are_dropped() -> None:
    from mgadvisor.web.cds import LINK_TTL_S, AdviceLinks

    links = AdviceLinks()
    links.keep("old", "p1", {"person": {"age": 40, "sex": "male"}}, now=1000.0)
    assert links.intake("old", now=1000.0 + LINK_TTL_S - 1) == (
        "p1",
        {"person": {"age": 40, "sex": "male"}},
    )
    assert links.intake("old", now=1000.0 + LINK_TTL_S + 1) is None
    links.keep("new", "p2", {}, now=1000.0 + LINK_TTL_S + 1)
    assert list(links._intakes) == ["new"]  # the expired one is gone from memory
