"""Knowledge-base search: Dutch compound and inflected words, and medicine names."""

from __future__ import annotations

import pytest

from mgadvisor.kb import load_knowledge
from mgadvisor.kb.search import search_index

KB = load_knowledge()
INDEX = search_index(KB)


def codes(query: str) -> list[str]:
    return [hit.code for hit in INDEX.search(query, limit=5)]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("kuitkrampen", "muscle_cramps"),  # the texts say "kuitkramp"
        ("Kuitkrampen 's nachts", "muscle_cramps"),
        ("belastingstest", "measurement_load_test"),  # inside "magnesiumbelastingstest"
        ("spierkrampen", "muscle_cramps"),  # a word the texts hold as such still matches
    ],
)
def test_dutch_compound_and_inflected_words_are_found(query: str, code: str) -> None:
    assert code in codes(query)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Nexium", "ppi"),
        ("Losec", "ppi"),
        ("Lasix", "loop_diuretics"),
        ("Ciproxin", "ciprofloxacin"),
    ],
)
def test_brand_names_find_their_interaction_or_depleting_entry(name: str, code: str) -> None:
    assert code in codes(name)
    assert code in codes(name.lower())


def test_a_word_nothing_holds_still_finds_nothing() -> None:
    assert codes("xyzzyquux") == []


def test_the_api_and_the_page_search_the_same_way() -> None:
    from fastapi.testclient import TestClient

    from mgadvisor.web.app import create_app

    client = TestClient(create_app())
    answer = client.get("/api/v1/kb/search", params={"q": "kuitkrampen"})
    assert answer.status_code == 200
    assert "muscle_cramps" in answer.text
    page = client.get("/kb", params={"q": "Nexium"}, headers={"Accept-Language": "nl"})
    assert page.status_code == 200
    assert "/kb/ppi" in page.text
