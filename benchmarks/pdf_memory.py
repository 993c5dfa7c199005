"""The server's memory while it renders client PDFs (issue 11, item 5).

Starts the web app as `make run` does (its own uvicorn process on 127.0.0.1), fetches a CSRF
token the way a browser does, then posts `--count` handout PDFs one after another (the example
intake and the clinical cases in turn, so no two neighbouring PDFs are the same). Every `--every`
PDFs it reads, from /proc:

* the server process's resident memory (VmRSS);
* the PDF worker processes under it (the forkserver and its workers): their resident memory
  added up, and their proportional share (PSS, from smaps_rollup: pages shared between the
  forked workers counted once in all), so the sum means memory actually used.

Every answer must be a PDF (HTTP 200, `%PDF-`); anything else stops the run. Prints the series
and one Markdown table row for docs/benchmarks.md.

    .venv/bin/python benchmarks/pdf_memory.py            # 300 PDFs
    .venv/bin/python benchmarks/pdf_memory.py --count 30 # a quick check of the script

Runs against whatever `mgadvisor` the interpreter imports: with PYTHONPATH set to another
checkout's `src` it measures that one (so an older commit can be measured with this script).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from harness import AS_OF, raw_intakes, uvicorn_process

MB = 1024 * 1024


@contextmanager
def server() -> Iterator[tuple[int, int]]:
    """(port, pid) of the web app in its own uvicorn process; stopped on exit."""
    target = "mgadvisor.web.app:create_app"
    with uvicorn_process(target, factory=True, stop_s=20) as (port, process):
        yield port, process.pid


def _status_kb(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _pss_kb(pid: int) -> int:
    text = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii")
    match = re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (the PDF forkserver and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def memory(pid: int) -> dict[str, float]:
    """MB: the server's RSS, and the RSS and PSS of the processes below it, added up."""
    rss = pss = 0
    workers = 0
    for child in _descendants(pid):
        try:
            rss += _status_kb(child, "VmRSS")
            pss += _pss_kb(child)
            workers += 1
        except OSError:  # a recycled worker that just exited
            continue
    return {
        "server": _status_kb(pid, "VmRSS") / 1024,
        "children_rss": rss / 1024,
        "children_pss": pss / 1024,
        "children": workers,
    }


class Browser:
    """One keep-alive connection that keeps the cookies it is given, like a browser."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes]:
        headers = {"Accept-Language": "nl"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def csrf(self) -> str:
        status, page = self.request("GET", "/")
        match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        if status != 200 or match is None:
            raise RuntimeError(f"no CSRF token on the intake page (HTTP {status})")
        return match.group(1).decode()


def pdf_forms(token: str) -> list[str]:
    return [
        urlencode({"csrf_token": token, "intake_json": json.dumps(i), "as_of": AS_OF.isoformat()})
        for i in raw_intakes()
    ]


def run(count: int, every: int) -> list[tuple[int, dict[str, float], float]]:
    """[(PDFs so far, memory, seconds so far)], the first after one warm-up PDF."""
    with server() as (port, pid):
        browser = Browser(port)
        forms = pdf_forms(browser.csrf())
        series = []
        started = time.perf_counter()
        for i in range(count + 1):
            status, data = browser.request("POST", "/handout.pdf?lang=nl", forms[i % len(forms)])
            if status != 200 or not data.startswith(b"%PDF-"):
                raise RuntimeError(f"PDF {i}: HTTP {status}: {data[:200]!r}")
            if i == 0:
                started = time.perf_counter()
            if i % every == 0 or i == count:
                series.append((i, memory(pid), time.perf_counter() - started))
        return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300, help="PDFs after the warm-up one")
    parser.add_argument("--every", type=int, default=25, help="read the memory every N PDFs")
    args = parser.parse_args()
    series = run(args.count, args.every)
    print("| PDFs | server RSS MB | workers | workers' RSS MB (sum) | workers' PSS MB (sum) | s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for done, mem, seconds in series:
        print(
            f"| {done} | {mem['server']:.1f} | {mem['children']:.0f} | "
            f"{mem['children_rss']:.1f} | {mem['children_pss']:.1f} | {seconds:.1f} |"
        )
    first, last = series[0][1], series[-1][1]
    peak_children = max(mem["children_pss"] for _, mem, _ in series)
    total = series[-1][0]
    per_pdf = (last["server"] - first["server"]) * MB / 1024 / max(total, 1)
    print()
    print(
        f"| Server memory over {total} client PDFs (RSS after 1 → after {total + 1}, MB; "
        f"PDF workers' PSS, peak MB) | | {first['server']:.0f} → {last['server']:.0f} "
        f"({per_pdf:+.0f} KB per PDF); workers ≤ {peak_children:.0f} | | | flat |"
    )
    print(f"machine: {os.uname().machine}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
