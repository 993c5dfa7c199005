"""`mgadvisor --help` starts light: compiled catalogs, no metadata look-up, no heavy libraries.

The time itself is measured by `make bench` (benchmarks/run.py), not here: a timing in a unit test
would fail on a busy machine. These tests pin what the time depends on.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from mgadvisor.i18n import Translator


def run(*args: str, lang: str = "C.UTF-8") -> str:
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "LANG": lang},
    )
    return done.stdout


@pytest.mark.parametrize(("env_lang", "lang"), [("nl_NL.UTF-8", "nl"), ("en_US.UTF-8", "en")])
def test_help_follows_the_environment_language(env_lang: str, lang: str) -> None:
    out = run("-m", "mgadvisor", "--help", lang=env_lang)
    assert Translator(lang)("Show the version.") in out
    assert Translator(lang)("Inspect and check the knowledge base.") in out


def test_help_imports_nothing_heavy() -> None:
    code = """
        import runpy, sys
        sys.argv = ["mgadvisor", "--help"]
        try:
            runpy.run_module("mgadvisor", run_name="__main__", alter_sys=True)
        except SystemExit:
            pass
        heavy = ("babel", "importlib.metadata", "pydantic", "rich", "yaml",
                 "mgadvisor.kb", "mgadvisor.intake", "mgadvisor.advise", "mgadvisor.assess")
        print(sorted(name for name in heavy if name in sys.modules), file=sys.stderr)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    assert "Usage: mgadvisor" in done.stdout
    assert done.stderr.strip() == "[]"


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("columns", ["80", "200"])
def test_prerendered_root_help_is_typers(lang: str, columns: str) -> None:
    """`mgadvisor --help` prints cli/help.{lang}.txt; it must be what Typer prints (else run
    `make help-text`)."""
    env = {"PATH": "/usr/bin:/bin", "MGADVISOR_LANG": lang, "COLUMNS": columns}
    typer_help = subprocess.run(
        [sys.executable, "-c", "from mgadvisor.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    quick = subprocess.run(
        [sys.executable, "-m", "mgadvisor", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    assert quick == typer_help


def test_narrow_terminal_help_goes_through_typer() -> None:
    from mgadvisor._help import quick_help

    assert not quick_help(["--help", "--lang", "en"])
    assert not quick_help(["advise", "--help"])
