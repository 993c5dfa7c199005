"""No input produces a 500: schemathesis against the OpenAPI schema, and hypothesis on the API."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mgadvisor.web.app import create_app

APP = create_app()
CLIENT = TestClient(APP)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_endpoint_follows_its_schema_and_never_fails(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error", "errors"}, body  # one error shape for every 4xx


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        JSONISH,
        st.fixed_dictionaries({"person": JSONISH}),
        st.fixed_dictionaries(
            {
                "person": st.fixed_dictionaries(
                    {"age": st.integers(-5, 130), "sex": st.sampled_from(["female", "male", "x"])}
                )
            },
            optional={
                "goals": st.lists(st.text(max_size=12), max_size=3),
                "medications": JSONISH,
                "labs": JSONISH,
                "diet": JSONISH,
                "product": JSONISH,
            },
        ),
    )
)
def test_random_intakes_get_advice_or_a_field_error(body: Any) -> None:
    response = CLIENT.post("/api/v1/advice", json=body)
    assert response.status_code in (200, 422), response.text[:300]
    if response.status_code == 422:
        errors = response.json()["errors"]
        assert errors and all("loc" in e and "msg" in e for e in errors)
