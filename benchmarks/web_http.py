"""The web app over real HTTP: server time, and throughput against bare FastAPI endpoints.

Every server is its own uvicorn process on 127.0.0.1 (the app exactly as `make run` starts it,
and the bare endpoints of `bare.py`), so the load generator never shares an interpreter with a
server.

* Server time: one keep-alive client, one request at a time; the app's own Server-Timing header
  gives the time from the request entering the app to the response starting. The page's goal is
  set on this (median ≤ 1 ms, p99 ≤ 2 ms).
* Throughput: wrk (a C load generator, Debian package `wrk`) keeps 4 connections busy for a
  few seconds, so the server process is saturated; rounds alternate between the app and its
  bare counterparts so that load elsewhere on the machine hits all of them alike. The ratio is
  app requests/s over bare requests/s, per round; the table shows the median and the range.
  The goal (≥ 0.5) is the API against a bare `async def` endpoint that takes the same JSON body
  and answers a fixed advice document of typical size; the bare `def` endpoint and the page's
  comparison are for information.

The API requests cycle through the example intake and the 51 clinical cases; the page requests
are the intake form with the age varied per request, so no cache sees one intake only.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from harness import raw_intakes, row, uvicorn_process, value_row

from mgadvisor.web.csrf import new_token

# The servers run with this secret, so the benchmark can sign its own form token, as a browser's
# would be signed by the server (a made-up token is refused).
SECRET = "benchmark-secret-0123456789abcdef"
TOKEN = new_token(SECRET.encode())
CONNECTIONS = 4


def api_bodies() -> list[str]:
    return [json.dumps(intake) for intake in raw_intakes()]


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


@contextmanager
def server(target: str, factory: bool = False) -> Iterator[int]:
    """A uvicorn process serving `target` on a free port (with the benchmark's secret and this
    folder importable); stopped on exit."""
    paths = [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    env["MGADVISOR_SECRET"] = SECRET
    with uvicorn_process(target, factory=factory, env=env) as (port, _):
        yield port


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


RATIO_GOAL = "≥ 0.5"
PAGE_TIME_GOAL = "median ≤ 1 ms, p99 ≤ 2 ms"
INFORMATION = "- (information only)"

Bares = list[tuple[str, int, str]]  # (what, port, goal of the app's ratio to it)


def server_time_rows(port: int, sequential: int) -> list[str]:
    api = server_times(port, API, api_bodies(), sequential)
    page = server_times(port, PAGE, page_forms(), sequential)
    return [
        row("Server time, POST /api/v1/advice (Server-Timing, ms)", api, digits=2),
        row("Server time, POST /advice page (Server-Timing, ms)", page, PAGE_TIME_GOAL, digits=2),
    ]


def alternate(
    app: int, bares: Bares, script: Path, rounds: int, seconds: int
) -> dict[str, list[float]]:
    """Requests/s of the app and of each bare server, in alternating wrk rounds."""
    for port in (app, *(port for _, port, _ in bares)):
        wrk_rate(port, script, 1)  # warm-up
    rates: dict[str, list[float]] = {"app": [], **{kind: [] for kind, _, _ in bares}}
    for _ in range(rounds):
        rates["app"].append(wrk_rate(app, script, seconds))
        for kind, port, _ in bares:
            rates[kind].append(wrk_rate(port, script, seconds))
    return rates


def comparison_rows(name: str, rates: dict[str, list[float]], bares: Bares) -> list[str]:
    lines = [row(f"Throughput, {name} (req/s, wrk, {CONNECTIONS} connections)", rates["app"])]
    for kind, _, goal in bares:
        ratios = [a / b for a, b in zip(rates["app"], rates[kind], strict=True)]
        lines.append(row(f"Throughput, bare {kind}, same requests (req/s)", rates[kind]))
        lines.append(
            value_row(
                f"Throughput ratio, {name} / bare {kind} (median of {len(ratios)} rounds, "
                f"range {min(ratios):.2f}-{max(ratios):.2f})",
                f"{statistics.median(ratios):.2f}",
                goal,
            )
        )
    return lines


def throughput_rows(app: int, rounds: int, seconds: int) -> list[str]:
    from bare import PAYLOAD

    fixed = f"fixed {len(PAYLOAD) / 1024:.0f} KB JSON"
    with (
        server("bare:json_async") as json_async,
        server("bare:json_def") as json_def,
        server("bare:form_async") as form_async,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        api_bares = [
            (f"`async def`, {fixed}", json_async, RATIO_GOAL),
            (f"`def`, {fixed}", json_def, INFORMATION),
        ]
        page_bares = [("`async def`, reads the form", form_async, INFORMATION)]
        comparisons = [
            ("POST /api/v1/advice", _lua(folder, "api", API, api_bodies()), api_bares),
            ("POST /advice page", _lua(folder, "page", PAGE, page_forms()), page_bares),
        ]
        lines: list[str] = []
        for name, script, bares in comparisons:
            rates = alternate(app, bares, script, rounds, seconds)
            lines += comparison_rows(name, rates, bares)
    return lines


def measure(rounds: int = 5, seconds: int = 2, sequential: int = 1000) -> list[str]:
    with server("mgadvisor.web.app:create_app", factory=True) as app:
        lines = server_time_rows(app, sequential)
        if shutil.which("wrk") is None:
            missing = "wrk is not installed (`apt-get install wrk`)"
            return [*lines, value_row("Throughput", missing, RATIO_GOAL)]
        return lines + throughput_rows(app, rounds, seconds)


if __name__ == "__main__":
    for line in measure():
        print(line)
