"""`mgadvisor db upgrade` and `mgadvisor db current` on SQLite and PostgreSQL, and the one-line
errors for a database that is not supported or cannot be reached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mgadvisor.records.database import head


def _db(*args: str, url: str | None, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MGADVISOR_DATA_DIR": str(data_dir), "MGADVISOR_LANG": "en"}
    env.pop("MGADVISOR_DATABASE_URL", None)
    if url is not None:
        env["MGADVISOR_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", "db", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_db_upgrade_and_current(records_url: str, tmp_path: Path) -> None:
    before = _db("current", url=records_url, data_dir=tmp_path)
    assert before.returncode == 1, before.stderr
    assert f"at version none (newest: {head()})" in before.stdout
    assert "mgadvisor db upgrade" in before.stderr
    done = _db("upgrade", url=records_url, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f": at version {head()}")
    after = _db("current", url=records_url, data_dir=tmp_path)
    assert after.returncode == 0 and f"at version {head()} (newest: {head()})" in after.stdout


def test_db_upgrade_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    done = _db("upgrade", url=None, data_dir=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "data" / "records.sqlite3").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://root:secret@localhost/db", "MGADVISOR_DATABASE_URL: expected sqlite:///PATH"),
        ("postgresql://postgres:secret@127.0.0.1:1/x", "cannot use the database postgresql"),
    ],
)
def test_db_errors_are_one_line_without_the_password(
    url: str, expected: str, tmp_path: Path
) -> None:
    result = _db("upgrade", url=url, data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: ") and expected in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_records_errors_speak_the_users_language(tmp_path: Path) -> None:
    """The records layer's errors (a bad URL, a missing key) read in Dutch for a Dutch user:
    the fixed words of `expected` and the whole message, not English inside a Dutch line."""
    env = {**os.environ, "MGADVISOR_DATA_DIR": str(tmp_path), "MGADVISOR_LANG": "nl"}
    env.pop("MGADVISOR_RECORDS_KEY", None)

    def run(url: str, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "mgadvisor", *args],
            capture_output=True,
            text=True,
            env={**env, "MGADVISOR_DATABASE_URL": url},
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        return result.stderr

    bad_url = run("mysql://x/y", "db", "current")
    assert "verwacht sqlite:///PAD of postgresql" in bad_url
    no_key = run(f"sqlite:///{tmp_path / 'other.sqlite3'}", "users", "list")
    assert no_key.startswith("Fout: MGADVISOR_RECORDS_KEY is niet ingesteld")
