"""The server time of a CDS Hooks `patient-view` call with a typical prefetch (issue 14 §3).

The prefetch is the done-when case (tests/fixtures/cds/prefetch-72.json: Patient, two active
medicines, a serum magnesium, no conditions). Three measurements, after warm-up rounds:

* service: `check_call` + `resolve_prefetch` (all keys sent: no fetch) + `respond` (FHIR →
  intake → engine → cards), the work of `web/cds.py` after the token, called directly;
* a real server: `uvicorn mgadvisor.web.app:create_app --factory` in its own process, as
  `make run` starts it (its start-up runs: records migrated, the garbage collector's freeze),
  one call at a time on a keep-alive connection, timed by the app's own `Server-Timing` header
  (tokens minted beforehand with the sandbox's ES384 key: minting is the client's cost). Every
  server has records, as every production one does: the default SQLite file (WAL,
  synchronous=FULL: a commit waits for an fsync), then, when reachable, PostgreSQL as the app's
  login role; each call writes the `jti` to `cds_token_uses` and its `cds.call` audit record,
  in one transaction, before the cards leave. For information, PostgreSQL once more with commits
  that do not wait for the WAL flush (what relaxing durability would buy; not an app setting).
  (Earlier rounds timed the app in-process without its start-up: no freeze, so the garbage
  collector's full passes over the knowledge base landed on calls; and "no records database",
  which no server started by `make run` or `mgadvisor serve` is.)
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
    """Server-Timing of each call (ms) to a real server, one call at a time on one keep-alive
    connection: `uvicorn mgadvisor.web.app:create_app --factory` in its own process, as
    `make run` starts it (its start-up runs: the records migrated, the garbage collector's
    freeze). The records are the default SQLite file in a new data folder, or `records_url`
    (PostgreSQL, migrated, with its cipher key in the environment)."""
    import http.client
    import tempfile

    from harness import uvicorn_process

    with tempfile.TemporaryDirectory(prefix="mgadvisor-cds-bench-") as folder:
        env = {
            **os.environ,
            "MGADVISOR_DATA_DIR": folder,
            "MGADVISOR_CDS_PROFILE": "development",
            "MGADVISOR_CDS_BASE_URL": AUD.removesuffix("/cds-services/mg-depletion"),
            "MGADVISOR_SECRET": "benchmark-secret-0123456789abcdef",
        }
        if records_url is not None:
            from cryptography.fernet import Fernet

            env["MGADVISOR_DATABASE_URL"] = records_url
            env["MGADVISOR_RECORDS_KEY"] = Fernet.generate_key().decode()
        with uvicorn_process("mgadvisor.web.app:create_app", factory=True, env=env) as (port, _):
            connection = http.client.HTTPConnection("127.0.0.1", port)
            body = json.dumps(_body())
            samples = []
            for n, token in enumerate(_tokens(warmup + rounds)):
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                connection.request("POST", "/cds-services/mg-depletion", body=body, headers=headers)
                answer = connection.getresponse()
                text = answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"HTTP {answer.status}: {text[:200]!r}")
                if n >= warmup:
                    timing = str(answer.getheader("server-timing"))  # app;dur=1.23
                    samples.append(float(timing.split("dur=")[1]))
            connection.close()
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


# Information for a decision, not a configuration of the app: the same PostgreSQL server with
# commits that do not wait for the WAL's flush (`synchronous_commit=off`: a crash of the
# database server's machine can lose the last ~0.6 s of committed calls, audit records included).
NO_FLUSH = "options=-csynchronous_commit%3Doff"


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
            "CDS Hooks patient-view: a real server as `make run` starts it, its SQLite records "
            "(Server-Timing)",
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
            if name != "SQLite":
                rows.append(
                    row(
                        f"CDS Hooks patient-view: a real server, {name} records (Server-Timing)",
                        http_samples(rounds, warmup, app_url),
                        GOAL,
                        2,
                    )
                )
                rows.append(
                    row(
                        f"CDS Hooks patient-view: a real server, {name} records, commits not "
                        "waiting for the WAL flush (information only)",
                        http_samples(rounds, warmup, f"{app_url}?{NO_FLUSH}"),
                        "-",
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
