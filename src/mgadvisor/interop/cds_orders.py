"""order-select / order-sign: interactions between magnesium and what is being ordered.

The draft orders are read as if signed (status active) and added to the patient's active
medicines; the engine finds the interactions with their spacing in hours. A card is shown for
an interaction when magnesium is part of it (a magnesium product or medicine is active or
ordered) and the order is involved (the interacting medicine or the magnesium is ordered).
Which medicines are magnesium is the knowledge base's (`contains_magnesium` interactions).
When a magnesium product is ordered, the contraindications of patient-view come along.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mgadvisor.errors import IntakeError
from mgadvisor.intake import parse_intake
from mgadvisor.interop import cds_cards
from mgadvisor.interop.cds_hooks import Call, Settings, _advise_parsed, _intake
from mgadvisor.interop.fhir_common import Unmapped
from mgadvisor.interop.fhir_in import FhirIntake, max_medicines, ranked_medicines
from mgadvisor.kb.base import KnowledgeBase

ORDER_TYPES = ("MedicationRequest",)


@dataclass(slots=True)
class Order:
    """One draft medication order and the intake entries it maps to."""

    resource: dict[str, Any]
    medications: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)

    @property
    def inputs(self) -> set[str]:
        """The names the engine knows these medicines by (name, else ATC code)."""
        return {str(m.get("name") or m.get("atc")) for m in self.medications}


def read_orders(call: Call, patient: Any, kb: KnowledgeBase, settings: Settings) -> list[Order]:
    """Each draft MedicationRequest, mapped on its own with the patient (status read as
    active and intent as order: a draft is about to be ordered, whatever its intent; a
    proposal or plan in the record is not a medicine being taken, a draft being signed is)."""
    orders = []
    for resource in call.orders:
        if resource.get("resourceType") not in ORDER_TYPES:
            continue
        draft = {"patient": patient, "order": {**resource, "status": "active", "intent": "order"}}
        mapped = _intake(draft, settings.as_of, kb)
        orders.append(
            Order(resource, list(mapped.get("medications", [])), list(mapped.get("products", [])))
        )
    return orders


def magnesium_prefixes(kb: KnowledgeBase) -> tuple[str, ...]:
    """ATC codes and prefixes of the medicines that are magnesium themselves."""
    return tuple(a for i in kb.interactions.values() if i.contains_magnesium for a in i.atc)


def interaction_cards(
    call: Call,
    intake: Mapping[str, Any],
    patient: Any,
    kb: KnowledgeBase,
    settings: Settings,
    *,
    interactions_only: bool = False,
    mapped: FhirIntake | None = None,
) -> list[dict[str, Any]]:
    """The cards of an order hook (see the module docstring); `interactions_only` when the
    patient is a stand-in (no sex or birth date): only the interaction cards. More medicines
    (active and ordered) than the intake takes: those that matter for magnesium are kept
    (`ranked_medicines`, as the mapper does); each one left out goes into `mapped.unmapped`
    (the record's not-used report on the cards)."""
    orders = read_orders(call, patient, kb, settings)
    if not orders:
        return []
    combined = dict(intake)
    active = list(intake.get("medications", []))
    ordered = [(m, o) for o in orders for m in o.medications]
    meds = [*active, *(m for m, _ in ordered)]
    limit = max_medicines()
    if len(meds) > limit:  # the intake's limit: keep what matters for magnesium (reported)
        ranked = ranked_medicines(kb, meds)
        for i in ranked[limit:]:
            _left_out(mapped, meds[i], i, ordered[i - len(active)][1] if i >= len(active) else None)
        kept = set(ranked[:limit])
        meds = [m for i, m in enumerate(meds) if i in kept]
        for one in orders:  # an order's medicines as read, without those left out
            one.medications = [m for m in one.medications if any(m is k for k in meds)]
    combined["medications"] = meds
    products = [p for o in orders for p in o.products]
    if products:
        combined["products"] = [*intake.get("products", []), *products]
    try:
        parsed = parse_intake(dict(combined), kb)
    except IntakeError as exc:  # no silent empty list: the card says why
        frame = cds_cards.frame_context(kb, settings, call.patient_id)
        return [cds_cards.not_assessed_card(frame, exc)]
    ctx = _advise_parsed(parsed, kb, settings, call.patient_id)
    if ctx is None:
        return []
    mg = magnesium_prefixes(kb)
    atc_of = {m["input"]: m.get("atc") or "" for m in ctx.document["medications"]}

    def is_magnesium(inputs: set[str]) -> bool:
        return any(atc_of.get(name, "").startswith(mg) for name in inputs if atc_of.get(name))

    ordered_mg = [o for o in orders if o.products or (o.medications and is_magnesium(o.inputs))]
    active_inputs = {str(m.get("name") or m.get("atc")) for m in intake.get("medications", [])}
    active_mg = bool(intake.get("products")) or is_magnesium(active_inputs)
    chosen = _chosen(call)
    cards = []
    for hit in ctx.document["interactions"]:
        order = next((o for o in orders if hit["medication"] in o.inputs), None)
        if not (ordered_mg or active_mg) or (order is None and not ordered_mg):
            continue
        target = order or ordered_mg[0]
        if not (chosen(target) or any(chosen(o) for o in ordered_mg)):
            continue  # order-select: about drafts the clinician did not select
        cards.append(cds_cards.interaction_card(ctx, hit, target.resource))
    # the contraindications of a magnesium order: on order-select only when it is selected
    # (it gets them when selected, and order-sign always shows them)
    if ordered_mg and not interactions_only and any(chosen(o) for o in ordered_mg):
        doc = ctx.document
        referral = cds_cards.referral_card(ctx)
        cards += [referral] if referral is not None else []
        cards += cds_cards.warning_cards(ctx, [*doc.get("actions", []), *doc.get("warnings", [])])
    return cards


def _left_out(
    mapped: FhirIntake | None, med: Mapping[str, Any], index: int, order: Order | None
) -> None:
    """Report a medicine left out for the intake's limit: an order's, or the `index`th active
    one (its resource by the mapping's sources)."""
    if mapped is None:
        return
    if order is not None:
        kind, rid = str(order.resource.get("resourceType")), order.resource.get("id")
    else:
        ref = mapped.sources.get(f"medications[{index}]", "")
        kind, rid = mapped.names.get(ref, ("MedicationStatement", None))
    mapped.unmapped.append(
        Unmapped(
            kind,
            rid if isinstance(rid, str) else None,
            f"{kind}.medication[x]",
            "too_many_medicines",
            code=med.get("atc"),
            display=med.get("name"),
            params=(("count", str(max_medicines())),),
        )
    )


def _chosen(call: Call) -> Any:
    """Whether an order is one the clinician selected (order-select's `context.selections`,
    "MedicationRequest/<id>", checked in `check_call`); every order counts for order-sign or
    without selections. A draft without an id is never a selected one."""
    if call.hook != "order-select" or not call.selections:
        return lambda order: True
    wanted = set(call.selections)

    def chosen(order: Order) -> bool:
        resource = order.resource
        rid = resource.get("id")
        if not isinstance(rid, str) or not rid.strip():
            return False
        return f"{resource.get('resourceType')}/{rid.strip()}" in wanted

    return chosen
