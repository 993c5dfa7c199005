"""The web app over real HTTP: server time, and throughput against bare FastAPI endpoints.

Every server is its own uvicorn process on 127.0.0.1 (the app exactly as `make run` starts it,
and the bare endpoints of `bare.py`), so the load generator never shares an interpreter with a
server.

* Server time: one keep-alive client, one request at a time; the app's own Server-Timing header
  gives the time from the request entering the app to the response starting.
* Throughput: wrk (a C load generator, Debian package `wrk`) keeps 4 connections busy for a
  few seconds, so the server process is saturated; rounds alternate between the app and its
  bare counterparts so that load elsewhere on the machine hits all of them alike. The ratio is
  app requests/s over bare requests/s, per round; the table shows the median and the range.

The API requests cycle through the example intake and the 51 clinical cases; the page requests
are the intake form with the age varied per request, so no cache sees one intake only.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "benchmark-csrf-token-0123456789"
CONNECTIONS = 4


def api_bodies() -> list[str]:
    from mgadvisor.kb.loader import safe_yaml

    intakes = [safe_yaml((ROOT / "examples" / "intake-example.yaml").read_text(encoding="utf-8"))]
    for case in sorted((ROOT / "tests" / "cases").glob("*.yaml")):
        intakes.append(safe_yaml(case.read_text(encoding="utf-8"))["intake"])
    return [json.dumps(intake) for intake in intakes]


def page_forms() -> list[str]:
    """The intake form as a browser sends it (with its CSRF token), for ages 20 to 79."""
    return [
        urlencode(
            [
                ("csrf_token", TOKEN),
                ("person.age", str(age)),
                ("person.sex", "female"),
                ("goals", "sleep"),
                ("complaints", "muscle_cramps"),
                ("med.0.name", "Thyrax"),
                ("med.0.time", "07:00"),
                ("med.1.name", "omeprazol"),
                ("lab.egfr.value", "55"),
                ("lab.egfr.unit", "mL/min/1.73m2"),
            ]
        )
        for age in range(20, 80)
    ]


API = ("/api/v1/advice?as_of=2026-11-22", {"Content-Type": "application/json"})
PAGE = (
    "/advice",
    {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"mg_csrf={TOKEN}"},
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(target: str, factory: bool = False) -> Iterator[int]:
    """A uvicorn process serving `target` on a free port; stopped on exit."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--port", str(port)]
    command += ["--log-level", "warning", *(["--factory"] if factory else [])]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{target} did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def server_times(
    port: int, route: tuple[str, dict[str, str]], bodies: list[str], n: int
) -> list[float]:
    """Server-Timing of `n` sequential requests (ms), after a warm-up pass over all bodies."""
    path, headers = route
    conn = http.client.HTTPConnection("127.0.0.1", port)
    times: list[float] = []
    for i in range(len(bodies) + n):
        conn.request("POST", path, body=bodies[i % len(bodies)], headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
        if i >= len(bodies):
            times.append(float(str(response.getheader("server-timing")).split("dur=")[1]))
    conn.close()
    return times


def _lua(folder: Path, name: str, route: tuple[str, dict[str, str]], bodies: list[str]) -> Path:
    """A wrk script that sends `bodies` in turn and counts answers other than 200 OK."""
    path, headers = route
    quoted = ",\n".join("[==[" + body + "]==]" for body in bodies)
    header_table = ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())
    script = folder / f"{name}.lua"
    script.write_text(
        f"local bodies = {{\n{quoted}\n}}\n"
        f"local headers = {{{header_table}}}\n"
        "local i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        f'  return wrk.format("POST", "{path}", headers, bodies[(i % #bodies) + 1])\n'
        "end\n",
        encoding="utf-8",
    )
    return script


def wrk_rate(port: int, script: Path, seconds: int) -> float:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"no rate in wrk output:\n{out}")
    return float(match.group(1))


def _row(name: str, samples: list[float], goal: str = "-") -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"| {name} | {len(samples)} | {statistics.median(samples):.2f} | {p99:.2f} | "
        f"{min(samples):.2f} | {goal} |"
    )


def measure(rounds: int = 5, seconds: int = 2, sequential: int = 1000) -> list[str]:
    api, forms = api_bodies(), page_forms()
    lines: list[str] = []
    with server("mgadvisor.web.app:create_app", factory=True) as app:
        lines.append(
            _row(
                "Server time, POST /api/v1/advice (Server-Timing, ms)",
                server_times(app, API, api, sequential),
            )
        )
        lines.append(
            _row(
                "Server time, POST /advice page (Server-Timing, ms)",
                server_times(app, PAGE, forms, sequential),
            )
        )
        if shutil.which("wrk") is None:
            return [
                *lines,
                "| Throughput: wrk is not installed (`apt-get install wrk`) | | | | | |",
            ]
        with (
            server("bare:json_def") as json_def,
            server("bare:json_async") as json_async,
            server("bare:form_def") as form_def,
            server("bare:form_async") as form_async,
            tempfile.TemporaryDirectory() as tmp,
        ):
            folder = Path(tmp)
            api_lua, page_lua = _lua(folder, "api", API, api), _lua(folder, "page", PAGE, forms)
            comparisons = [
                ("POST /api/v1/advice", api_lua, [("def", json_def), ("async def", json_async)]),
                ("POST /advice page", page_lua, [("def", form_def), ("async def", form_async)]),
            ]
            for name, script, bares in comparisons:
                wrk_rate(app, script, 1)  # warm-up
                rates: dict[str, list[float]] = {"app": [], **{kind: [] for kind, _ in bares}}
                for _ in range(rounds):
                    rates["app"].append(wrk_rate(app, script, seconds))
                    for kind, port in bares:
                        rates[kind].append(wrk_rate(port, script, seconds))
                lines.append(
                    _row(
                        f"Throughput, {name} (req/s, wrk, {CONNECTIONS} connections)", rates["app"]
                    )
                )
                for kind, _ in bares:
                    lines.append(
                        _row(
                            f"Throughput, bare `{kind}` endpoint, same requests (req/s)",
                            rates[kind],
                        )
                    )
                    ratios = [a / b for a, b in zip(rates["app"], rates[kind], strict=True)]
                    lines.append(
                        f"| Throughput ratio, {name} / bare `{kind}` (median of {rounds} rounds, "
                        f"range {min(ratios):.2f}-{max(ratios):.2f}) | | "
                        f"{statistics.median(ratios):.2f} | | | ≥ 0.5 |"
                    )
    return lines


if __name__ == "__main__":
    for line in measure():
        print(line)
