"""Gather the resources of a Bundle, a list or a CDS Hooks prefetch map, checked as FHIR R4B.

Each resource a reader uses is parsed with `fhir.resources` (R4B); one that does not parse is
reported (with the field, never its value) and not used. Other resource types are reported as
not used. The patient is the one Patient; resources about another patient are not used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mgadvisor.errors import IntakeError, quote
from mgadvisor.i18n import N_
from mgadvisor.interop.fhir_common import Resource, Unmapped, reference_of, unmapped

MAX_RESOURCES = 2000  # far more than one client's prefetch; bounds the work per call
MAX_DEPTH = 4  # Bundles inside prefetch values inside a list
MAX_NESTING = 40  # levels inside one resource: real ones have about 10; deeper ones overflow

# The resource types the readers use; any other type is reported as not used.
USED_TYPES = (
    "Patient",
    "Observation",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "Medication",
)


@dataclass(slots=True)
class Collected:
    """The parsed resources by type (as plain JSON data), with their references."""

    by_type: dict[str, list[Resource]] = field(default_factory=dict)
    refs: dict[int, str] = field(default_factory=dict)  # id(resource) -> fullUrl or Type/id
    unmapped: list[Unmapped] = field(default_factory=list)

    def of(self, kind: str) -> list[Resource]:
        """The resources of one type, in the order given."""
        return self.by_type.get(kind, [])

    def ref(self, resource: Resource) -> str:
        """The reference of a collected resource (fullUrl when the Bundle gave one)."""
        return self.refs.get(id(resource)) or reference_of(resource)


def collect(data: Any) -> Collected:
    """Every resource in `data`, parsed and checked.

    Raises:
        IntakeError: `data` is no Bundle, resource list or prefetch map, or holds too many.
    """
    out = Collected()
    seen: set[tuple[str, str]] = set()
    count = 0
    for raw, full_url in _walk(data, "resources", 0):
        count += 1
        if count > MAX_RESOURCES:
            raise IntakeError(
                "resources",
                N_("at most {count} FHIR resources"),
                N_("more"),
                [],
                {"count": str(MAX_RESOURCES)},
            )
        kind = str(raw.get("resourceType"))
        key = (kind, str(raw.get("id")))
        if raw.get("id") is not None and key in seen:
            continue  # the same resource from two prefetch keys
        seen.add(key)
        parsed = _parse(raw, out)
        if parsed is not None:
            out.by_type.setdefault(kind, []).append(parsed)
            out.refs[id(parsed)] = reference_of(parsed, full_url)
    return out


def _walk(data: Any, path: str, depth: int) -> Iterator[tuple[Resource, str | None]]:
    """(resource, fullUrl) for every resource inside `data`, Bundles opened."""
    if depth > MAX_DEPTH:
        raise IntakeError(
            path,
            N_("FHIR data nested at most {depth} levels"),
            N_("more"),
            [],
            {"depth": str(MAX_DEPTH)},
        )
    if isinstance(data, list):
        for i, item in enumerate(data):
            if item is not None:
                yield from _walk(item, f"{path}[{i}]", depth + 1)
        return
    if not isinstance(data, dict):
        raise IntakeError(path, _EXPECTED, quote(data))
    kind = data.get("resourceType")
    if kind == "Bundle":
        for i, entry in enumerate(data.get("entry") or []):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == "Bundle":
                yield from _walk(resource, f"{path}.entry[{i}]", depth + 1)
            elif isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
                url = entry.get("fullUrl")
                yield resource, url if isinstance(url, str) else None
            else:
                raise IntakeError(
                    f"{path}.entry[{i}].resource", N_("a FHIR resource"), quote(resource)
                )
    elif isinstance(kind, str):
        yield data, None
    elif kind is None and data:  # a CDS Hooks prefetch map: key -> resource, Bundle or null
        for key, value in data.items():
            if value is not None:
                yield from _walk(value, f"{path}.{key}", depth + 1)
    else:
        raise IntakeError(path, _EXPECTED, quote(data))


_EXPECTED = N_("a FHIR Bundle, a list of FHIR resources or a CDS Hooks prefetch map")


def _parse(raw: Resource, out: Collected) -> Resource | None:
    """`raw` checked as an R4B resource of a used type, as JSON data; else reported."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    kind = str(raw.get("resourceType"))
    if kind not in USED_TYPES:
        reason = "operation_outcome" if kind == "OperationOutcome" else "resource_type_not_used"
        out.unmapped.append(unmapped(raw, kind, reason))
        return None
    if _nesting(raw) > MAX_NESTING:
        out.unmapped.append(unmapped(raw, kind, "invalid_resource", given="too_deep"))
        return None
    try:
        model = get_fhir_model_class(kind).model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(part) for part in err["loc"]) or kind
        out.unmapped.append(unmapped(raw, f"{kind}.{where}", "invalid_resource", given=err["type"]))
        return None
    parsed: Resource = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return parsed


def _nesting(data: Any) -> int:
    """How deep lists and objects nest in `data` (without recursion: it may be very deep)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
