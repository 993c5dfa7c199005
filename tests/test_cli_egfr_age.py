"""`mgadvisor egfr` under 18: one line in one language (field, expected, given, what to do)."""

from __future__ import annotations

import sys

import pytest

from mgadvisor.cli.app import main

ENGLISH = ("expected", "got", "Error", "See", "child")
DUTCH = ("verwacht", "kreeg", "Fout", "Zie", "kind")


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> str:
    monkeypatch.setattr(sys, "argv", ["mgadvisor", *args])
    with pytest.raises(SystemExit) as caught:
        main()
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1  # one line
    return err


@pytest.mark.parametrize(("lang", "own", "other"), [("nl", DUTCH, ENGLISH), ("en", ENGLISH, DUTCH)])
def test_egfr_under_18_is_one_language_and_says_what_was_given(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    lang: str,
    own: tuple[str, ...],
    other: tuple[str, ...],
) -> None:
    line = run_main(
        monkeypatch,
        capsys,
        "--lang",
        lang,
        "egfr",
        "--creatinine",
        "80",
        "--age",
        "16",
        "--sex",
        "female",
    )
    words = set(line.replace(":", " ").replace(".", " ").replace(",", " ").split())
    assert "--age" in line and "18" in line and "16" in line
    assert "advise" in line  # where a child's eGFR is computed
    assert not words & set(other), line
    assert words & set(own), line


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_usage_error_and_its_help_pointer_are_two_sentences(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    line = run_main(
        monkeypatch,
        capsys,
        "--lang",
        lang,
        "egfr",
        "--creatinine",
        "80",
        "--age",
        "130",
        "--sex",
        "male",
    )
    assert "120. " in line
