"""Dependency audit: known vulnerabilities in the exact versions of the lock file (pip-audit).

    python .ci/audit.py requirements-dev.txt [--ignore-vuln ID ...]

pip-audit reads the pinned versions and hashes straight from the lock file (no resolution, no
install) and asks the package index's advisory data about each one. The outcome:

* a known vulnerability in a locked version (not in --ignore-vuln): listed, exit 1;
* none, and every dependency was looked up: one line, exit 0;
* no advisory data reachable (no network, or an index that serves packages but no advisory
  data, as a mirror does): one line saying the audit was skipped and why, exit 0, so that an
  offline `make test` still runs; CI prints the same line, so a skipped audit is visible;
* some dependencies looked up and others not: the ones that were not are named, exit 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

TIMEOUT_SECONDS = 120  # the whole audit; pip-audit's own socket timeout is 15 s per request


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    lock, ignore = argv[0], argv[1:]
    command = [
        str(Path(sys.executable).with_name("pip-audit")),
        "--requirement",
        lock,
        "--require-hashes",
        "--disable-pip",  # the lock pins every version: nothing to resolve or install
        "--progress-spinner",
        "off",
        "--format",
        "json",
        *ignore,
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        print(f"dependency audit skipped: no answer from the advisory data in {TIMEOUT_SECONDS} s")
        return 0
    try:
        report = json.loads(done.stdout)
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        network = ("ConnectionError", "NameResolution", "Max retries", "Timeout", "SSLError")
        if any(word in done.stderr for word in network):
            print(f"dependency audit skipped: advisory data not reachable ({last[:200]})")
            return 0
        print(f"dependency audit failed: pip-audit exited {done.returncode}: {last[:500]}")
        return 1
    code, lines = verdict(report, lock)
    print("\n".join(lines))
    return code


def verdict(report: dict[str, Any], lock: str) -> tuple[int, list[str]]:
    """(exit code, lines to print) for pip-audit's JSON report of `lock`."""
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = [d for d in dependencies if not d.get("skip_reason")]
    found = [(d, v) for d in audited for v in d.get("vulns", [])]
    if found:
        lines = [f"dependency audit: {len(found)} known vulnerabilities in {lock}:"]
        for dep, vuln in found:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            lines.append(f"  {dep['name']} {dep['version']}: {vuln['id']} (fixed in: {fixed})")
        lines.append("Update the lock (`make lock`), or list an accepted advisory in AUDIT_IGNORE.")
        return 1, lines
    if not audited:
        reason = skipped[0]["skip_reason"] if skipped else "no dependencies in the lock file"
        return 0, [
            f"dependency audit skipped: no advisory data reachable for any of the "
            f"{len(skipped)} locked dependencies (e.g. {reason[:120]})"
        ]
    lines = [f"dependency audit: no known vulnerabilities in {len(audited)} locked dependencies"]
    if skipped:
        names = ", ".join(d["name"] for d in skipped)
        lines.append(f"  not looked up ({len(skipped)}): {names}")
    return 0, lines


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
