"""Every interface string has a Dutch translation; the language choice follows the rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from mgadvisor.i18n import (
    LANGS,
    Translator,
    _catalog,
    catalog_path,
    detect_lang,
    po_messages,
    read_mo,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "mgadvisor"


def extracted_ids() -> set[str]:
    found = extract_from_dir(
        str(SRC),
        method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
        keywords={"t": None, "T": None, "N_": None, "_": None},
    )
    return {str(message) for _, _, message, _, _ in found if isinstance(message, str)}


def test_every_message_has_a_dutch_translation() -> None:
    ids = extracted_ids()
    assert len(ids) > 40
    missing = sorted(ids - set(_catalog("nl")))
    assert not missing, missing


@pytest.mark.parametrize("lang", LANGS)
def test_compiled_catalog_matches_its_po_source(lang: str) -> None:
    # The .mo is what runs (reading the .po with Babel at every start cost ~20 ms); it must say
    # exactly what the .po says.
    compiled = read_mo(catalog_path(lang).read_bytes())
    source = po_messages(lang)
    stale = sorted(
        msgid
        for msgid in source.keys() | compiled.keys()
        if source.get(msgid) != compiled.get(msgid)
    )
    assert not stale, (
        f"{catalog_path(lang)} is stale: run `make catalogs` ({len(stale)}: {stale[:3]})"
    )


def test_dutch_translations_keep_their_placeholders() -> None:
    import string

    for msgid, text in _catalog("nl").items():
        fields = {f for _, f, _, _ in string.Formatter().parse(msgid) if f}
        assert fields == {f for _, f, _, _ in string.Formatter().parse(text) if f}, msgid


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        (None, {}, "nl"),
        (None, {"LANG": "C.UTF-8"}, "nl"),
        (None, {"LANG": "en_US.UTF-8"}, "en"),
        (None, {"LANGUAGE": "de:en", "LANG": "nl_NL.UTF-8"}, "en"),
        (None, {"MGADVISOR_LANG": "en", "LANG": "nl_NL"}, "en"),
        ("en", {"LANG": "nl_NL"}, "en"),
        ("xx", {}, "nl"),
    ],
)
def test_detect_lang(explicit: str | None, env: dict[str, str], expected: str) -> None:
    assert detect_lang(explicit, env) == expected


def test_translator_formats_parameters() -> None:
    assert Translator("nl")("Error: {message}", message="x") == "Fout: x"
    assert Translator("en")("Error: {message}", message="x") == "Error: x"


def test_no_translation_call_hides_inside_an_f_string() -> None:
    # Babel cannot see t("...") inside an f-string, so such a text would escape the check above.
    import re

    pattern = re.compile(r"""\{\s*(?:t|T)\(\s*['"]""")
    offenders = [
        f"{path.name}:{number}"
        for path in SRC.rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not offenders, offenders
