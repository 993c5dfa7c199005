"""The lock files (issue 11, item 10): every dependency of pyproject.toml pinned to one exact
version with its hashes, the app's lock equal to the dev lock where they overlap, `make`
installing from the lock in hash-checking mode, and the audit's verdict on pip-audit's report."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;[^\\]*)?\\?$")


def _locked(name: str) -> dict[str, tuple[str, int]]:
    """{canonical name: (version, number of hashes)} of a lock file."""
    pins: dict[str, tuple[str, int]] = {}
    current = ""
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            assert current not in pins, f"{name}: {current} pinned twice"
            pins[current] = (match.group(2), 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"{name}: a line that is neither a pin nor a hash: {line!r}")
    return pins


def _declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    return runtime, dev


def test_every_dependency_is_pinned_with_hashes_in_the_locks() -> None:
    runtime, dev = _declared()
    app, everything = _locked("requirements.txt"), _locked("requirements-dev.txt")
    for lock_name, lock, wanted in [
        ("requirements.txt", app, runtime),
        ("requirements-dev.txt", everything, [*runtime, *dev]),
    ]:
        for requirement in wanted:
            name = canonicalize_name(requirement.name)
            assert name in lock, f"{name} is missing from {lock_name}: run `make lock`"
            version, _ = lock[name]
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock_name} pins {name}=={version}, pyproject.toml asks {requirement}: "
                "run `make lock`"
            )
        unhashed = [name for name, (_, hashes) in lock.items() if hashes == 0]
        assert not unhashed, f"{lock_name}: pins without a hash: {unhashed}"
    for build in ("hatchling", "editables", "pip"):  # the (editable) build is pinned too
        assert build in everything, f"{build} is missing from requirements-dev.txt"
    differ = {n: (v, everything[n][0]) for n, (v, _) in app.items() if everything[n][0] != v}
    assert not differ, f"requirements.txt and requirements-dev.txt disagree: {differ}"


def test_make_installs_from_the_lock_in_hash_checking_mode() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "LOCK   := requirements-dev.txt" in makefile
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert "--no-deps --no-build-isolation -e ." in makefile  # nothing outside the lock
    assert re.search(r"^test: .*\baudit\b", makefile, re.MULTILINE)


@pytest.fixture(scope="module")
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dep(name: str, vulns: list[dict[str, Any]] | None = None, skip: str = "") -> dict[str, Any]:
    if skip:
        return {"name": name, "skip_reason": skip}
    return {"name": name, "version": "1.0", "vulns": vulns or []}


def test_the_audit_fails_on_a_known_vulnerability(audit: ModuleType) -> None:
    vuln = {"id": "PYSEC-2099-1", "fix_versions": ["1.1"], "aliases": [], "description": ""}
    code, lines = audit.verdict({"dependencies": [_dep("jinja2", [vuln]), _dep("rich")]}, "x.txt")
    assert code == 1
    assert "1 known vulnerabilities" in lines[0]
    assert "jinja2 1.0: PYSEC-2099-1 (fixed in: 1.1)" in lines[1]


def test_the_audit_is_skipped_with_a_message_when_no_advisory_data_answers(
    audit: ModuleType,
) -> None:
    report = {"dependencies": [_dep("rich", skip="Dependency not found on PyPI (1.0)")]}
    code, lines = audit.verdict(report, "x.txt")
    assert code == 0 and lines[0].startswith("dependency audit skipped: no advisory data")
    code, lines = audit.verdict({"dependencies": [_dep("rich"), _dep("x", skip="gone")]}, "x.txt")
    assert code == 0 and "no known vulnerabilities in 1 locked" in lines[0]
    assert lines[1] == "  not looked up (1): x"
