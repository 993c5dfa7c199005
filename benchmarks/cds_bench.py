"""The server time of a CDS Hooks `patient-view` call with a typical prefetch (issue 14 §3).

The prefetch is the done-when case (tests/fixtures/cds/prefetch-72.json: Patient, two active
medicines, a serum magnesium, no conditions). Two measurements, after warm-up rounds:

* service: `check_call` + `resolve_prefetch` (all keys sent: no fetch) + `respond` (FHIR →
  intake → engine → cards), the work of `web/cds.py` after the token, called directly;
* HTTP, in-process: `POST /cds-services/mg-depletion` through the whole app (Guard, JWT check
  with the sandbox's ES384 key, the answer on the event loop (a small body, the whole
  prefetch sent), JSON), timed by the app's own `Server-Timing` header (tokens minted
  beforehand: minting is the client's cost). First
  without a records database (no audit record, no shared replay record: the app alone), then
  with one as in production, on SQLite (WAL, synchronous=FULL: a commit waits for an fsync)
  and, when reachable, PostgreSQL: each call then writes the `jti` to `cds_token_uses` and its
  `cds.call` audit record, in one transaction;
* the floor under the second: one commit of one `cds_token_uses` row on the same database,
  alone (on SQLite the fsync of the WAL), by a Core INSERT on a Connection.

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


def http_samples(rounds: int, warmup: int, records_url: str | None = None) -> list[float]:
    """Server-Timing of each call; with `records_url` (migrated) the app keeps its records
    there (audit, shared replay cache)."""
    from fastapi.testclient import TestClient

    from mgadvisor.web.app import create_app

    os.environ["MGADVISOR_CDS_PROFILE"] = "development"
    app = create_app()
    engine = None
    if records_url is not None:
        from cryptography.fernet import Fernet, MultiFernet

        from mgadvisor.records.database import make_engine
        from mgadvisor.web.auth import use_records

        engine = make_engine(records_url)
        use_records(app, engine, MultiFernet([Fernet(Fernet.generate_key())]))
    client = TestClient(app)
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
    if engine is not None:
        engine.dispose()
    return samples


def commit_samples(rounds: int, warmup: int, records_url: str) -> list[float]:
    """One transaction with one `cds_token_uses` row, committed: the durable write's floor
    (a Core INSERT on a Connection, as the service writes it: no Session, no ORM)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from mgadvisor.records.database import make_engine
    from mgadvisor.records.models import CdsTokenUse

    engine = make_engine(records_url)
    statement = insert(CdsTokenUse.__table__)
    later = datetime.fromtimestamp(time.time() + 3600, UTC)
    samples = []
    for n in range(warmup + rounds):
        values = {"iss": "https://bench.example", "jti": str(uuid.uuid4()), "expires_at": later}
        start = time.perf_counter_ns()
        with engine.begin() as connection:
            connection.execute(statement, values)
        if n >= warmup:
            samples.append((time.perf_counter_ns() - start) / 1e6)
    engine.dispose()
    return samples


def measure(rounds: int, warmup: int) -> list[str]:
    from records_bench import databases

    from mgadvisor.records.database import make_engine, upgrade

    rows = [
        row(
            "CDS Hooks patient-view: service (prefetch → cards)",
            service_samples(rounds, warmup),
            GOAL,
            2,
        ),
        row(
            "CDS Hooks patient-view: POST over the app, no records database (Server-Timing)",
            http_samples(rounds, warmup),
            GOAL,
            2,
        ),
    ]
    with databases() as found:
        for name, owner_url, app_url in found:
            owner = make_engine(owner_url)
            upgrade(owner)
            owner.dispose()
            rows.append(
                row(
                    f"CDS Hooks patient-view: POST over the app, {name} records (Server-Timing)",
                    http_samples(rounds, warmup, app_url),
                    GOAL,
                    2,
                )
            )
            rows.append(
                row(
                    f"{name}: one commit of one cds_token_uses row (the floor)",
                    commit_samples(rounds, warmup, app_url),
                    "-",
                    2,
                )
            )
    return rows


if __name__ == "__main__":
    for line in measure(scaled(1000, 50), scaled(50, 5)):
        print(line, flush=True)
