"""`mgadvisor users add/list/disable/enable/reset-2fa` on SQLite and PostgreSQL: exit codes,
one-line errors, the password only from standard input, and an audit record per change."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from auth_support import KEY, PASSWORD
from mgadvisor.records.database import make_engine, session_scope, upgrade
from mgadvisor.records.models import AuditEvent, User


def _users(
    *args: str, url: str, data_dir: Path, stdin: str = "", key: str | None = KEY
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MGADVISOR_DATA_DIR": str(data_dir), "MGADVISOR_LANG": "en"}
    env["MGADVISOR_DATABASE_URL"] = url
    env.pop("MGADVISOR_RECORDS_KEY", None)
    if key is not None:
        env["MGADVISOR_RECORDS_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "mgadvisor", "users", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def url(records_url: str) -> str:
    engine = make_engine(records_url)
    upgrade(engine)
    engine.dispose()
    return records_url


def test_add_list_disable_enable_reset(url: str, tmp_path: Path) -> None:
    added = _users(
        "add",
        "Anna@Zuid.example",
        "--practice",
        "Praktijk Zuid",
        "--password-stdin",
        url=url,
        data_dir=tmp_path,
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    uri = re.search(r"otpauth://totp/\S+", added.stdout)
    assert uri and "secret=" in uri.group(0)
    assert pyotp.parse_uri(uri.group(0)).now().isdigit()
    codes = re.findall(r"^  ([0-9a-f]{5}(?:-[0-9a-f]{5}){3})$", added.stdout, re.M)
    assert len(codes) == 10
    assert PASSWORD not in added.stdout + added.stderr
    admin = _users(
        "add",
        "boss@zuid.example",
        "--role",
        "admin",
        "--practice",
        "Praktijk Zuid",
        "--password-stdin",
        url=url,
        data_dir=tmp_path,
        stdin=PASSWORD,
    )
    assert admin.returncode == 0, admin.stderr
    listed = _users("list", "--practice", "Praktijk Zuid", url=url, data_dir=tmp_path)
    lines = listed.stdout.strip().splitlines()
    assert listed.returncode == 0 and [line.split("\t")[:2] for line in lines] == [
        ["anna@zuid.example", "practitioner"],
        ["boss@zuid.example", "admin"],
    ]
    assert _users("disable", "anna@zuid.example", url=url, data_dir=tmp_path).returncode == 0
    assert "disabled" in _users("list", url=url, data_dir=tmp_path).stdout
    assert _users("enable", "anna@zuid.example", url=url, data_dir=tmp_path).returncode == 0
    reset = _users("reset-2fa", "anna@zuid.example", url=url, data_dir=tmp_path)
    assert reset.returncode == 0 and "otpauth://" in reset.stdout
    assert uri.group(0) not in reset.stdout  # a new secret
    engine = make_engine(url)
    with session_scope(engine) as session:
        codes_logged = [
            (e.event_code, e.authorisation_protocol) for e in session.scalars(select(AuditEvent))
        ]
        anna = session.scalar(select(User).where(User.email == "anna@zuid.example"))
        assert anna is not None and not anna.disabled and anna.totp_confirmed_at is None
        # the command line's operator typed Anna's own password: nothing to change at login
        assert not anna.must_change_password
        anna.must_change_password = True  # as after an account made by an admin
    engine.dispose()
    assert "temporary password not changed yet" in _users("list", url=url, data_dir=tmp_path).stdout
    assert [c for c, _ in codes_logged] == [
        "user.create",
        "user.create",
        "user.disable",
        "user.enable",
        "user.reset_2fa",
    ]
    assert {p for _, p in codes_logged} == {"system"}


def test_errors_are_one_line_with_exit_2(url: str, tmp_path: Path) -> None:
    cases = [
        (
            ("add", "a@zuid.example", "--practice", "P", "--password-stdin"),
            "short\n",
            "password: expected 12 to 1024 characters",
        ),
        (
            ("add", "not-an-address", "--practice", "P", "--password-stdin"),
            PASSWORD,
            "email: expected an e-mail address",
        ),
        (
            ("add", "a@zuid.example", "--role", "boss", "--practice", "P", "--password-stdin"),
            PASSWORD,
            "role: expected one of practitioner, admin",
        ),
        (
            ("add", "a@zuid.example", "--password-stdin"),
            PASSWORD,
            "--practice: expected the practice's name",
        ),
        (
            ("add", "a@zuid.example", "--practice", "P"),
            "",
            "--password-stdin: expected it when the input is not a terminal",
        ),
        (("disable", "nobody@zuid.example"), "", "EMAIL: expected the address of an account"),
        (("list", "--practice", "Nowhere"), "", "--practice: expected the name of a practice"),
    ]
    for args, stdin, expected in cases:
        result = _users(*args, url=url, data_dir=tmp_path, stdin=stdin)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (args, result.stderr)
        assert "short" not in result.stderr and PASSWORD not in result.stderr
    twice = ("add", "a@zuid.example", "--practice", "P", "--password-stdin")
    assert _users(*twice, url=url, data_dir=tmp_path, stdin=PASSWORD).returncode == 0
    again = _users(*twice, url=url, data_dir=tmp_path, stdin=PASSWORD)
    assert again.returncode == 2 and "email: expected an address not in use" in again.stderr


def test_a_database_other_than_the_default_needs_a_key(url: str, tmp_path: Path) -> None:
    result = _users("list", url=url, data_dir=tmp_path, key=None)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "MGADVISOR_RECORDS_KEY is not set" in result.stderr
    bad = _users("list", url=url, data_dir=tmp_path, key="c2hvcnQ=")
    assert bad.returncode == 2 and "MGADVISOR_RECORDS_KEY: expected 32 bytes" in bad.stderr


def test_the_default_sqlite_file_gets_a_key_file(tmp_path: Path) -> None:
    env_url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    result = _users(
        "add",
        "a@zuid.example",
        "--practice",
        "P",
        "--password-stdin",
        url=env_url,
        data_dir=tmp_path,
        stdin=PASSWORD,
        key=None,
    )
    assert result.returncode == 0, result.stderr
    key_file = tmp_path / "records.key"
    assert key_file.stat().st_mode & 0o777 == 0o600 and "records.key" in result.stderr


def test_key_rotation_re_encrypts_the_secrets(url: str, tmp_path: Path) -> None:
    import base64

    new_key = base64.urlsafe_b64encode(b"n" * 32).decode()
    add = ("add", "a@zuid.example", "--practice", "P", "--password-stdin")
    assert _users(*add, url=url, data_dir=tmp_path, stdin=PASSWORD).returncode == 0
    wrong = _users("reset-2fa", "a@zuid.example", url=url, data_dir=tmp_path, key=new_key)
    assert wrong.returncode == 0  # a reset needs no old secret
    assert (
        _users(
            *add[:1], "b@zuid.example", *add[2:], url=url, data_dir=tmp_path, stdin=PASSWORD
        ).returncode
        == 0
    )
    refused = _users("rotate-key", url=url, data_dir=tmp_path)  # a's secret is under new_key
    assert refused.returncode == 2 and "MGADVISOR_RECORDS_KEY" in refused.stderr
    both = f"{new_key},{KEY}"
    done = _users("rotate-key", url=url, data_dir=tmp_path, key=both)
    assert done.returncode == 0 and "2" in done.stdout
    engine = make_engine(url)
    from cryptography.fernet import Fernet, MultiFernet

    from mgadvisor.records.crypto import decrypt

    only_new = MultiFernet([Fernet(new_key.encode())])
    with session_scope(engine) as session:
        for user in session.scalars(select(User)):
            assert user.totp_secret is not None and len(decrypt(only_new, user.totp_secret)) == 32
        rotated = session.scalars(
            select(AuditEvent).where(AuditEvent.event_code == "records.key_rotate")
        ).all()
        assert len(rotated) == 1
    engine.dispose()
