"""The server time of a CDS Hooks `patient-view` call with a typical prefetch (issue 14 §3).

The prefetch is the done-when case (tests/fixtures/cds/prefetch-72.json: Patient, two active
medicines, a serum magnesium, no conditions). Two measurements, after warm-up rounds:

* service: `check_call` + `resolve_prefetch` (all keys sent: no fetch) + `respond` (FHIR →
  intake → engine → cards), the work of `web/cds.py` after the token, called directly;
* HTTP, in-process: `POST /cds-services/mg-depletion` through the whole app (Guard, JWT check
  with the sandbox's ES384 key, the engine pool's thread hand-off, JSON), timed by the app's
  own `Server-Timing` header (tokens minted beforehand: minting is the client's cost). No
  records database is attached, so no audit record is written (that costs a transaction).

Run alone: `python benchmarks/cds_bench.py` (BENCH_QUICK=1 for small counts).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import date
from typing import Any

from harness import ROOT, row, scaled

GOAL = "p99 ≤ 5 ms"
FIXTURES = ROOT / "tests" / "fixtures" / "cds"
AUD = "http://testserver/cds-services/mg-depletion"


def _body() -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/example", "patientId": "mg72"},
        "prefetch": json.loads((FIXTURES / "prefetch-72.json").read_text(encoding="utf-8")),
    }


def service_samples(rounds: int, warmup: int) -> list[float]:
    from mgadvisor.interop import cds_hooks
    from mgadvisor.kb import load_knowledge

    kb = load_knowledge()
    body = _body()
    settings = cds_hooks.Settings("https://mg.example.org", "nl", date(2026, 12, 1))

    def once() -> None:
        call = cds_hooks.check_call("mg-depletion", body)
        templates = cds_hooks.prefetch_templates(kb)
        prefetch = cds_hooks.resolve_prefetch(call, templates, cds_hooks.fetch_fhir)
        cds_hooks.respond(call, prefetch, kb, settings)

    samples = []
    for n in range(warmup + rounds):
        start = time.perf_counter_ns()
        once()
        if n >= warmup:
            samples.append((time.perf_counter_ns() - start) / 1e6)
    return samples


def _tokens(count: int) -> list[str]:
    import jwt

    key = (FIXTURES / "sandbox-private-key.pem").read_text(encoding="utf-8")
    now = int(time.time())
    header = {"kid": "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f", "typ": "JWT"}
    claims = {"iss": "https://sandbox.cds-hooks.org", "aud": AUD, "iat": now, "exp": now + 3000}
    return [
        jwt.encode({**claims, "jti": str(uuid.uuid4())}, key, algorithm="ES384", headers=header)
        for _ in range(count)
    ]


def http_samples(rounds: int, warmup: int) -> list[float]:
    from fastapi.testclient import TestClient

    from mgadvisor.web.app import create_app

    os.environ["MGADVISOR_CDS_PROFILE"] = "development"
    client = TestClient(create_app())
    body = json.dumps(_body()).encode()
    samples = []
    for n, token in enumerate(_tokens(warmup + rounds)):
        answer = client.post(
            "/cds-services/mg-depletion",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        if n >= warmup:
            timing = answer.headers["server-timing"]  # app;dur=1.23
            samples.append(float(timing.split("dur=")[1]))
    return samples


def measure(rounds: int, warmup: int) -> list[str]:
    return [
        row(
            "CDS Hooks patient-view: service (prefetch → cards)",
            service_samples(rounds, warmup),
            GOAL,
            2,
        ),
        row(
            "CDS Hooks patient-view: POST over the app (Server-Timing)",
            http_samples(rounds, warmup),
            GOAL,
            2,
        ),
    ]


if __name__ == "__main__":
    for line in measure(scaled(1000, 50), scaled(50, 5)):
        print(line)
