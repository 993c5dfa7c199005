"""CDS Hooks, the security review's findings: drafts of any intent, bounds at strict
thresholds, Markdown from the EHR, many draft orders, order-select's selections."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from test_cds_hooks import (
    MAGNESIUM,
    _order,
    _statement,
    call,
    client,  # noqa: F401  (the fixture)
    order_call,
    valid_response,
)


def cards_of(answer: Any) -> list[dict[str, Any]]:
    assert answer.status_code == 200, answer.text
    return list(valid_response(answer.json())["cards"])


def topics(cards: list[dict[str, Any]]) -> list[str]:
    return [c["source"]["topic"]["code"] for c in cards]


def test_a_draft_of_any_intent_is_read_as_being_ordered(client: TestClient) -> None:  # noqa: F811
    for intent in ("proposal", "plan", "order"):
        doxy = _order("doxy-1", "J01AA02", "doxycycline")
        doxy["intent"] = intent
        body = order_call("order-sign", [doxy], [MAGNESIUM])
        assert topics(cards_of(call(client, "mg-interactions", body))) == [
            "interaction.tetracyclines"
        ], intent
    # mgadvisor's own proposal (intent proposal) signed next to active doxycycline
    magnesium = _order("mg-1", "A12CC04", "magnesium citrate")
    magnesium["intent"] = "proposal"
    body = order_call("order-sign", [magnesium], [_statement("J01AA02", "doxycycline")])
    assert "interaction.tetracyclines" in topics(cards_of(call(client, "mg-interactions", body)))
