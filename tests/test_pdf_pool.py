"""Client PDFs in recycled worker processes (issue 11, item 5): the PDF still reads back, a worker
is replaced after its share of renders (and its process, with the memory WeasyPrint kept, is
gone), a full pool answers busy at once, a hung render is stopped, and the server process itself
never loads WeasyPrint. The memory over 300 PDFs is measured by benchmarks/pdf_memory.py."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from mgadvisor.web.pdf_pool import PdfBusy, PdfFailed, PdfPool, PdfSettings, settings_from_env

HTML = "<html><body><h1>Uw magnesiumadvies</h1><p>{n}: 300 mg magnesium per dag</p></body></html>"


def _text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _gone(pid: int, seconds: float = 20.0) -> bool:
    """Whether process `pid` has exited (waits for it: a retired worker exits after its last
    render is sent back, not at once)."""
    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_pdf_reads_back_and_each_worker_is_replaced_after_its_renders() -> None:
    pool = PdfPool(PdfSettings(workers=1, renders_per_worker=2))

    async def five() -> list[tuple[int, str]]:
        out = []
        for n in range(5):
            pdf = await pool.render(HTML.format(n=n), "file:///")
            assert pool.last_worker is not None
            out.append((pool.last_worker, _text(pdf)))
        return out

    try:
        rendered = asyncio.run(five())
    finally:
        pool.close()
    for n, (_, text) in enumerate(rendered):
        assert "Uw magnesiumadvies" in text and f"{n}: 300 mg magnesium per dag" in text
    pids = [pid for pid, _ in rendered]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4], pids
    assert os.getpid() not in pids  # rendered in other processes, not in this one
    assert pool.renders == 5 and pool.pools_started == 3
    assert _gone(pids[0]) and _gone(pids[2])  # retired workers exit, and their memory with them


def test_a_full_pool_answers_busy_at_once_and_serves_again_afterwards() -> None:
    pool = PdfPool(PdfSettings(workers=1, queue=0))

    async def scenario() -> tuple[str, str]:
        first = asyncio.create_task(pool.render(HTML.format(n=1), "file:///"))
        await asyncio.sleep(0)  # the first render has taken the only place
        assert pool.in_flight == 1
        with pytest.raises(PdfBusy):
            await pool.render(HTML.format(n=2), "file:///")
        done = _text(await first)
        return done, _text(await pool.render(HTML.format(n=3), "file:///"))

    try:
        first, third = asyncio.run(scenario())
    finally:
        pool.close()
    assert "1: 300 mg" in first and "3: 300 mg" in third
    assert pool.renders == 2 and pool.in_flight == 0


def test_a_render_past_the_timeout_is_stopped_and_the_next_one_gets_a_new_worker() -> None:
    # Thousands of table rows: seconds of layout, far past a 0.3 s limit.
    rows = "".join(f"<tr><td>{i}</td><td>{'magnesium ' * 20}</td></tr>" for i in range(4000))
    slow = f"<html><body><table>{rows}</table></body></html>"
    pool = PdfPool(PdfSettings(workers=1))

    async def scenario() -> tuple[int, str]:
        await pool.render(HTML.format(n=0), "file:///")  # the worker is up (WeasyPrint loaded)
        hung = pool.last_worker
        assert hung is not None
        pool.settings = replace(pool.settings, timeout=0.3)
        with pytest.raises(PdfFailed):
            await pool.render(slow, "file:///")
        assert _gone(hung)  # killed, not left rendering
        pool.settings = replace(pool.settings, timeout=30)
        pdf = await pool.render(HTML.format(n=1), "file:///")
        return hung, _text(pdf)

    try:
        hung, text = asyncio.run(scenario())
    finally:
        pool.close()
    assert "1: 300 mg" in text and pool.last_worker != hung and pool.pools_started == 2


def test_settings_from_the_environment() -> None:
    assert settings_from_env({}) == PdfSettings()
    given = {
        "MGADVISOR_PDF_WORKERS": "2",
        "MGADVISOR_PDF_RENDERS_PER_WORKER": "10",
        "MGADVISOR_PDF_QUEUE": "0",
        "MGADVISOR_PDF_TIMEOUT": "12.5",
    }
    assert settings_from_env(given) == PdfSettings(
        workers=2, renders_per_worker=10, queue=0, timeout=12.5
    )
    for name, value, expected in [
        ("MGADVISOR_PDF_WORKERS", "0", "a whole number from 1 to 16, given '0'"),
        ("MGADVISOR_PDF_WORKERS", "two", "a whole number from 1 to 16, given 'two'"),
        ("MGADVISOR_PDF_RENDERS_PER_WORKER", "2.5", "a whole number from 1 to 10000"),
        ("MGADVISOR_PDF_TIMEOUT", "inf", "a number of seconds from 1 to 600, given 'inf'"),
        ("MGADVISOR_PDF_TIMEOUT", "nan", "a number of seconds from 1 to 600, given 'nan'"),
    ]:
        with pytest.raises(ValueError, match=f"^{name}: expected ") as caught:
            settings_from_env({name: value})
        assert expected in str(caught.value)


@pytest.mark.slow
def test_the_server_process_never_loads_weasyprint_and_its_workers_end_with_it() -> None:
    """The handout PDF through the web app, in a fresh interpreter: a real PDF comes back, and
    WeasyPrint (whose memory grows with every render) was never imported by the server. Then
    the server is killed (no shutdown at all): its PDF worker and forkserver end too."""
    script = """
import io, os, signal, sys
from fastapi.testclient import TestClient
from pypdf import PdfReader
from mgadvisor.web.app import create_app
from mgadvisor.web.pdf_pool import shared_pool

with TestClient(create_app()) as client:
    page = client.get("/")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    intake = '{"person": {"age": 45, "sex": "female"}, "goals": ["sleep"]}'
    answer = client.post(
        "/handout.pdf?lang=nl", data={"csrf_token": token, "intake_json": intake}
    )
    assert answer.status_code == 200, answer.text[:300]
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.content)).pages)
    assert "Uw magnesiumadvies" in text, text[:300]
    worker = shared_pool().last_worker
    forkserver = open(f"/proc/{worker}/stat").read().rsplit(")", 1)[1].split()[1]
    print("weasyprint" in sys.modules, worker, forkserver, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == -9, done.stderr[-2000:]
    loaded, worker, forkserver = done.stdout.split()
    assert loaded == "False"
    assert _gone(int(worker)) and _gone(int(forkserver))


def test_the_handout_pdf_answers_503_in_the_page_language_when_the_pool_is_full() -> None:
    from fastapi.testclient import TestClient

    from mgadvisor.web.app import create_app

    app = create_app()
    pool = PdfPool(PdfSettings(workers=1, queue=0))
    app.state.pdf_pool = pool
    intake = '{"person": {"age": 45, "sex": "female"}, "goals": ["sleep"]}'
    try:
        with TestClient(app) as client:
            page = client.get("/")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            form = {"csrf_token": token, "intake_json": intake}
            pool._in_flight = 1  # every place taken, as by another practitioner's PDF
            busy = client.post("/handout.pdf?lang=nl", data=form)
            assert busy.status_code == 503 and busy.headers["retry-after"]
            assert busy.headers["content-type"].startswith("text/html")
            assert "tegelijk gemaakt: probeer het" in busy.text and "Traceback" not in busy.text
            assert pool.pools_started == 0  # refused before anything started
            pool._in_flight = 0
            served = client.post("/handout.pdf?lang=en", data=form)
            assert served.status_code == 200
            assert "magnesium" in _text(served.content).lower() and pool.renders == 1
    finally:
        pool.close()
