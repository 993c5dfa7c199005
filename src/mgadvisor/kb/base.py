"""The loaded knowledge base: every entry by code, immutable once built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mgadvisor.kb import models as m


@dataclass(frozen=True)
class KnowledgeBase:
    """The loaded, cross-checked knowledge: every entry by its code, immutable once built
    (load it with `mgadvisor.load_knowledge`)."""

    meta: m.Meta
    content_hash: str
    references: dict[str, m.Reference]
    compounds: dict[str, m.Compound]
    applications: dict[str, m.Application]
    symptoms: dict[str, m.Symptom]
    conditions: dict[str, m.Condition]
    risk_factors: dict[str, m.RiskFactor]
    interactions: dict[str, m.Interaction]
    depleting: dict[str, m.Depleting]
    facts: dict[str, m.Fact]
    synergy: dict[str, m.Synergy]
    labs: dict[str, m.LabAnalyte]
    parameters: dict[str, m.Parameter]
    messages: dict[str, m.Message]
    alarms: dict[str, m.Alarm]
    reference_values: m.ReferenceValues
    safety: m.SafetyData
    medicines: tuple[m.MedicineName, ...]
    foods: dict[str, m.Food]
    portions: dict[str, m.Portion]
    ffq: m.Ffq
    fhir_map: m.FhirMap = field(default_factory=m.FhirMap)  # FHIR codes → intake
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def version(self) -> str:
        return self.meta.version

    def param(self, code: str) -> float:
        """The value of a clinical parameter (threshold, weight) by its code."""
        return self.parameters[code].value

    def counts(self) -> dict[str, int]:
        """Number of entries per kind, in a stable order."""
        return {
            "references": len(self.references),
            "compounds": len(self.compounds),
            "applications": len(self.applications),
            "symptoms": len(self.symptoms),
            "conditions": len(self.conditions),
            "risk_factors": len(self.risk_factors),
            "interactions": len(self.interactions),
            "depleting": len(self.depleting),
            "medicine_names": len(self.medicines),
            "authorities": len(self.reference_values.authorities),
            "foods": len(self.foods),
            "portions": len(self.portions),
            "ffq_items": len(self.ffq.items),
            "facts": len(self.facts),
            "synergy": len(self.synergy),
            "labs": len(self.labs),
            "parameters": len(self.parameters),
            "messages": len(self.messages),
            "alarms": len(self.alarms),
            "conflicts": len(self.safety.conflicts),
            "side_effects": len(self.safety.side_effects),
        }
