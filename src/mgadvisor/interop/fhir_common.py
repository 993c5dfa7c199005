"""What the FHIR readers share: code systems, the report of what was not used, references."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC_SYSTEMS = ("http://www.whocc.no/atc", "urn:oid:2.16.840.1.113883.6.73")
ATC = ATC_SYSTEMS[0]

Resource = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Unmapped:
    """One thing in the FHIR data that did not reach the intake (or only partly), and why.

    `reason` is an English code (see `mgadvisor.interop.fhir_report.REASONS`); `given` is
    the value that stopped it (a status, a unit), never a name or a birth date.
    """

    resource_type: str
    id: str | None
    path: str
    reason: str
    code: str | None = None
    display: str | None = None
    given: str | None = None
    params: tuple[tuple[str, str], ...] = ()  # the reason's placeholders (a date, months)

    def as_dict(self) -> dict[str, str]:
        """The item as JSON-ready data (keys without a value left out)."""
        fields = {
            "resource_type": self.resource_type,
            "id": self.id,
            "path": self.path,
            "reason": self.reason,
            "code": self.code,
            "display": self.display,
            "given": self.given,
        }
        out = {key: value for key, value in fields.items() if value is not None}
        out.update(self.params)
        return out


TEXT_LIMIT = 120  # how much of a code, display or value the report quotes


def unmapped(
    resource: Resource,
    path: str,
    reason: str,
    *,
    params: dict[str, str] | None = None,
    **more: str | None,
) -> Unmapped:
    """An :class:`Unmapped` item about `resource` (long texts cut to :data:`TEXT_LIMIT`)."""
    rid = resource.get("id")
    clipped = {key: _clip(value) for key, value in more.items()}
    return Unmapped(
        _clip(str(resource.get("resourceType", "?"))) or "?",
        _clip(rid) if isinstance(rid, str) else None,
        path,
        reason,
        **clipped,
        params=tuple((params or {}).items()),
    )


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= TEXT_LIMIT:
        return text
    return text[: TEXT_LIMIT - 3] + "..."


def codings(concept: Any) -> Iterator[Resource]:
    """The codings of a CodeableConcept (none when it is missing or malformed)."""
    if isinstance(concept, dict):
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict):
                yield coding


def first_code(concept: Any, systems: Iterable[str] | None = None) -> tuple[str | None, str | None]:
    """(code, display) of the first coding (of one of `systems`), else (None, text)."""
    wanted = tuple(systems) if systems is not None else None
    for coding in codings(concept):
        if wanted is None or coding.get("system") in wanted:
            return coding.get("code"), coding.get("display")
    text = concept.get("text") if isinstance(concept, dict) else None
    return None, text if isinstance(text, str) else None


def concept_name(concept: Any) -> str | None:
    """The readable name of a CodeableConcept: its text, else the first display."""
    if not isinstance(concept, dict):
        return None
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    for coding in codings(concept):
        display = coding.get("display")
        if isinstance(display, str) and display.strip():
            return display.strip()
    return None


def reference_of(resource: Resource, full_url: str | None = None) -> str:
    """How other resources refer to `resource`: its fullUrl, else ``Type/id``."""
    if full_url:
        return full_url
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def status_code(concept: Any) -> str | None:
    """The code of a status CodeableConcept (Condition.clinicalStatus and the like)."""
    code, _ = first_code(concept)
    return code
