"""POST /api/v1/advice's fast path (api.AdviceFastPath) answers exactly as the FastAPI route.

Every request is sent twice: once as the fast path takes it, once spelled so that it must go on
to the route (a `+json` media type or a trailing `&`, which FastAPI reads the same way), and the
two answers must be equal: status, headers (but Server-Timing) and body bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mgadvisor.kb.loader import safe_yaml
from mgadvisor.web import api
from mgadvisor.web.app import create_app
from mgadvisor.web.settings import WebSettings

CASES = Path(__file__).parent / "cases"
ROUTE_TYPE = "application/vnd.mgadvisor+json"  # JSON to FastAPI, not to the fast path


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(WebSettings(secret=b"a-test-secret-of-sufficient-length"))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per request the fast path read: whether it answered it itself."""
    calls: list[bool] = []
    real = api._json_object

    def spy(message: dict[str, Any]) -> dict[str, Any] | None:
        value = real(message)
        calls.append(value is not None)
        return value

    monkeypatch.setattr(api, "_json_object", spy)
    return calls


def answer(client: TestClient, query: str, body: bytes, media_type: str) -> tuple[Any, ...]:
    response = client.post(
        f"/api/v1/advice{query}", content=body, headers={"content-type": media_type}
    )
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "server-timing"]
    return response.status_code, headers, response.content


def both(client: TestClient, query: str, body: bytes) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    return answer(client, query, body, "application/json"), answer(client, query, body, ROUTE_TYPE)


def intakes() -> list[Any]:
    return [
        safe_yaml(p.read_text(encoding="utf-8"))["intake"] for p in sorted(CASES.glob("*.yaml"))
    ]


@pytest.mark.parametrize(
    "query", ["?as_of=2026-11-22", "?as_of=2026-11-22&lang=en", "?lang=nl&as_of=2024-02-29", ""]
)
def test_the_fast_path_answers_the_clinical_cases_as_the_route(
    client: TestClient, fast_calls: list[bool], query: str
) -> None:
    for intake in intakes()[::5]:
        fast, route = both(client, query, json.dumps(intake).encode())
        assert fast[0] == 200 and fast == route
    assert fast_calls and all(fast_calls)


@pytest.mark.parametrize(
    "body",
    [
        {"person": {"age": 40, "sex": "male"}, "complaints": ["no_such"] * 25},  # 422, listed
        {"person": {"age": "x", "sex": "female"}},
        {"person": {"age": 40, "sex": "female"}, "unknown": [1, 2]},
        {},
    ],
)
def test_an_invalid_intake_gets_the_same_422(
    client: TestClient, fast_calls: list[bool], body: dict[str, Any]
) -> None:
    for query in ("?as_of=2026-11-22", "?lang=en"):
        fast, route = both(client, query, json.dumps(body).encode())
        assert fast[0] == 422 and fast == route
    assert all(fast_calls)


def test_fhir_goes_the_fast_path_too(client: TestClient, fast_calls: list[bool]) -> None:
    intake = json.dumps(intakes()[3]).encode()
    status, headers, body = answer(
        client, "?as_of=2026-11-22&format=fhir", intake, "application/json"
    )
    assert status == 200 and ("content-type", "application/fhir+json") in headers
    assert json.loads(body)["resourceType"] == "Bundle"
    assert fast_calls == [True]


@pytest.mark.parametrize(
    "query",
    [
        "?as_of=2026-11-22&",  # an empty pair: FastAPI ignores it
        "?as_of=2026-02-30",  # not a date
        "?as_of=20261122",
        "?as_of=2026-11-22&as_of=2026-11-23",  # a repeat: FastAPI takes the last
        "?as_of=2026%2D11%2D22",  # escaped
        "?lang=de",
        "?lang=en&format=xml",
        "?as_of=2026-11-22&other=1",
    ],
)
def test_any_other_query_goes_on_to_the_route(
    client: TestClient, fast_calls: list[bool], query: str
) -> None:
    body = json.dumps(intakes()[0]).encode()
    fast, route = both(client, query, body)
    assert fast == route
    assert fast_calls == []  # the fast path did not even read the body


@pytest.mark.parametrize(
    "body", [b"", b"{", b"[]", b"null", b'"x"', b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000]
)
def test_a_body_that_is_no_json_object_goes_on_to_the_route(
    client: TestClient, fast_calls: list[bool], body: bytes
) -> None:
    fast, route = both(client, "?as_of=2026-11-22", body)
    assert fast[0] in (400, 413, 422) and fast == route
    assert not any(fast_calls)


@pytest.mark.parametrize("media_type", ["text/plain", "application/json5", "application"])
def test_another_media_type_goes_on_to_the_route(
    client: TestClient, fast_calls: list[bool], media_type: str
) -> None:
    status, _, body = answer(client, "", b"{}", media_type)
    assert status == 422 and fast_calls == []
    assert json.loads(body)["errors"][0]["loc"] == ["body"]


def test_the_route_takes_nothing_the_fast_path_does_not_rebuild(app: FastAPI) -> None:
    """The fast path skips the route's dependencies: should the route (or its router, or the
    app) get one (a login, a header, another parameter), AdviceFastPath must learn it first."""
    (route,) = [r for r in api.router.routes if getattr(r, "path", "") == api.ADVICE_PATH]
    dependant = route.dependant  # type: ignore[attr-defined]
    assert [p.alias for p in dependant.query_params] == ["lang", "as_of", "format"]
    assert [p.name for p in dependant.body_params] == ["intake"]
    assert not (dependant.dependencies or dependant.header_params or dependant.cookie_params)
    assert not (route.dependencies or api.router.dependencies or app.router.dependencies)  # type: ignore[attr-defined]
    operation = app.openapi()["paths"][api.ADVICE_PATH]["post"]
    assert "security" not in operation and "security" not in app.openapi()
    assert [(p["name"], p["in"]) for p in operation["parameters"]] == [
        ("lang", "query"),
        ("as_of", "query"),
        ("format", "query"),
    ]
