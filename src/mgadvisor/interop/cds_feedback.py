"""CDS Hooks feedback (2.0.1 "Feedback"): checked, stored in the records database
(`cds_feedback`), counted per card type for the EHR (`GET .../feedback/summary`) and the
practice (`mgadvisor cds feedback`).

Stored per item: the card's uuid and type (its finding code, when this process handed the card
out), accepted or overridden, the override reason's code, the accepted suggestions' uuids, the
time and the client's `iss`. The free-text `userComment` is not stored (it may name the patient).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mgadvisor.i18n import N_
from mgadvisor.interop.cds_hooks import CdsRequestError

MAX_ITEMS = 100
UNKNOWN = "unknown"


def _time(value: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def check_items(body: Any) -> list[dict[str, Any]]:
    """The feedback list, each item checked: card, outcome, outcomeTimestamp.

    Raises:
        CdsRequestError: the first field that is not as the spec requires.
    """
    items = body.get("feedback") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or len(items) > MAX_ITEMS:
        raise CdsRequestError("feedback", N_("a list of 1 to 100 items"), repr(items)[:60])
    for n, item in enumerate(items):
        where = f"feedback.{n}"
        if not isinstance(item, dict) or not isinstance(item.get("card"), str):
            raise CdsRequestError(f"{where}.card", N_("a card uuid"), "none")
        if item.get("outcome") not in ("accepted", "overridden"):
            given = repr(item.get("outcome"))[:40]
            raise CdsRequestError(f"{where}.outcome", "accepted | overridden", given)
        if _time(item.get("outcomeTimestamp")) is None:
            given = repr(item.get("outcomeTimestamp"))[:40]
            raise CdsRequestError(f"{where}.outcomeTimestamp", N_("an ISO 8601 time"), given)
        reason = item.get("overrideReason")
        if reason is not None and not isinstance(reason, dict):
            raise CdsRequestError(f"{where}.overrideReason", N_("a JSON object"), "text")
    return items


def _reason_code(item: dict[str, Any]) -> str | None:
    reason = (item.get("overrideReason") or {}).get("reason")
    code = reason.get("code") if isinstance(reason, dict) else None
    return str(code)[:200] if code else None


def store(
    engine: Any,
    service_id: str,
    iss: str,
    items: list[dict[str, Any]],
    card_type: Callable[[str], str | None],
    first: Callable[[Any], None] | None = None,
) -> None:
    """Add one row per item, in one transaction; `first(session)` runs in it before (the
    token's use: when it raises, nothing is stored)."""
    from mgadvisor.records.database import session_scope
    from mgadvisor.records.models import CdsFeedback

    with session_scope(engine) as session:
        if first is not None:
            first(session)
        for item in items:
            chosen = item.get("acceptedSuggestions")
            accepted = [
                str(s.get("id"))[:100]
                for s in (chosen if isinstance(chosen, list) else [])
                if isinstance(s, dict) and s.get("id")
            ]
            session.add(
                CdsFeedback(
                    service_id=service_id,
                    card_uuid=item["card"][:100],
                    card_type=card_type(item["card"]),
                    outcome=item["outcome"],
                    override_reason=_reason_code(item),
                    accepted_suggestions=json.dumps(accepted) if accepted else None,
                    outcome_at=_time(item["outcomeTimestamp"]),
                    client_iss=iss[:300],
                )
            )


def counts(engine: Any, service_id: str | None = None) -> list[dict[str, Any]]:
    """Per service and card type: accepted, overridden, and the override reasons' codes."""
    from sqlalchemy import select

    from mgadvisor.records.database import session_scope
    from mgadvisor.records.models import CdsFeedback

    query = select(
        CdsFeedback.service_id,
        CdsFeedback.card_type,
        CdsFeedback.outcome,
        CdsFeedback.override_reason,
    )
    if service_id is not None:
        query = query.where(CdsFeedback.service_id == service_id)
    with session_scope(engine) as session:
        rows = session.execute(query).all()
    found: dict[tuple[str, str], Counter[str]] = {}
    for service, card_type, outcome, reason in rows:
        counter = found.setdefault((service, card_type or UNKNOWN), Counter())
        counter[outcome] += 1
        if reason:
            counter[f"reason:{reason}"] += 1
    return [
        {
            "service": service,
            "card_type": card_type,
            "accepted": c["accepted"],
            "overridden": c["overridden"],
            "override_reasons": {k[7:]: v for k, v in sorted(c.items()) if k.startswith("reason:")},
        }
        for (service, card_type), c in sorted(found.items())
    ]
