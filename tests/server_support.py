"""A real `mgadvisor serve` process for the records' operations tests (two instances,
durability): on a free loopback port, the records database from a URL, the test key."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from auth_support import KEY

SHARED_SECRET = "one-secret-for-every-instance-" + "x" * 8  # MGADVISOR_SECRET of every server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(database_url: str, data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(base URL, process) of `mgadvisor serve` once /api/v1/health answers; stopped after."""
    port = free_port()
    env = {
        **os.environ,
        "MGADVISOR_DATABASE_URL": database_url,
        "MGADVISOR_RECORDS_KEY": KEY,
        "MGADVISOR_SECRET": SHARED_SECRET,
        "MGADVISOR_DATA_DIR": str(data_dir),
        "MGADVISOR_LANG": "en",
    }
    command = [sys.executable, "-m", "mgadvisor", "serve", "--port", str(port)]
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"server-{port}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                pytest.fail(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def app_role_url(records_url: str) -> Iterator[str]:
    """The URL the app uses for a migrated database: on PostgreSQL a new login role in
    mgadvisor_app (owning nothing, under row-level security), dropped after; SQLite as is."""
    from sqlalchemy import text

    from mgadvisor.records.database import APP_ROLE, make_engine

    if not records_url.startswith("postgresql"):
        yield records_url
        return
    login = f"mgadvisor_t_{secrets.token_hex(5)}"
    admin = make_engine(records_url)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"CREATE ROLE {login} LOGIN IN ROLE {APP_ROLE}"))
        yield admin.url.set(username=login).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :u"),
                {"u": login},
            )
            connection.execute(text(f"DROP ROLE {login}"))
        admin.dispose()
