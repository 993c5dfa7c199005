"""Gather the resources of a Bundle, a list or a CDS Hooks prefetch map, checked as FHIR R4B.

Each resource a reader uses is parsed with `fhir.resources` (R4B); one that does not parse is
reported (with the field, never its value) and not used. Other resource types are reported as
not used. The patient is the one Patient; resources about another patient are not used.
"""

from __future__ import annotations

import datetime
import decimal
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
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
        count += 1  # an entry without a resource counts too: it bounds the work all the same
        if raw is None:  # a Bundle entry without a resource (R4: entry.resource 0..1)
            out.unmapped.append(Unmapped("Bundle", None, str(full_url), "entry_without_resource"))
        if count > MAX_RESOURCES:
            raise IntakeError(
                "resources",
                N_("at most {count} FHIR resources"),
                N_("more"),
                [],
                {"count": str(MAX_RESOURCES)},
            )
        if raw is None:
            continue
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


def _walk(data: Any, path: str, depth: int) -> Iterator[tuple[Resource | None, str | None]]:
    """(resource, fullUrl) for every resource inside `data`, Bundles opened; (None, path) for
    a Bundle entry without a resource."""
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
            elif isinstance(entry, dict) and resource is None:
                yield None, f"{path}.entry[{i}]"
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
    try:
        return _as_json(model)
    except _UnusualError:
        parsed: Resource = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        return parsed


# -- the validated model as JSON data ---------------------------------------------------------
# What `model.model_dump(mode="json", by_alias=True, exclude_none=True)` gives (the FHIR
# models' own serializer: elements in the specification's order, empty lists left out,
# decimals as int or float, primitive extensions as `_name`), about ten times faster: that
# serializer runs in Python per element. Anything this does not know (comments, base64,
# summary mode, another primitive type) raises `_UnusualError` and the model's own dump is used;
# tests/test_fhir_collect_json.py compares both.


class _UnusualError(Exception):
    """A value `_as_json` leaves to the model's own `model_dump`."""


_Row = tuple[str, str, bool, str, str]  # field, JSON name, primitive, its _extension field, name


@cache
def _plan(cls: type[Any]) -> tuple[bool, tuple[_Row, ...]]:
    """Whether `cls` is a resource (gets resourceType) and its elements in order."""
    from fhir_core.utils import is_primitive_type

    alias = cls.get_alias_mapping()
    fields = cls.model_fields
    rows = []
    for prop in cls.elements_sequence():
        key = alias[prop]
        info = fields[key]
        ext = f"{key}__ext"
        ext_name = (fields[ext].alias or ext) if ext in fields else ""
        rows.append((key, info.alias or key, is_primitive_type(info), ext, ext_name))
    return bool(cls.has_resource_base()), tuple(rows)


def _as_json(obj: Any) -> dict[str, Any]:
    from fhir_core.fhirabstractmodel import FHIRAbstractModel

    if (
        not isinstance(obj, FHIRAbstractModel)
        or obj.__fhir_serialization_summary_only__
        or obj.__fhir_serialization_exclude_comment__
    ):
        raise _UnusualError
    resource, rows = _plan(type(obj))
    values = obj.__dict__
    if values.get("fhir_comments") is not None:
        raise _UnusualError
    out: dict[str, Any] = {"resourceType": obj.__resource_type__} if resource else {}
    for key, name, primitive, ext, ext_name in rows:
        value = values.get(key)
        if value is not None:
            value = _primitive(value) if primitive else _complex(value)
            if not (type(value) is list and not value):
                out[name] = value
        if primitive and values.get(ext) is not None:
            ext_value = _complex(values[ext])
            if len(ext_value) > 0:
                out[ext_name] = ext_value
    return out


def _complex(value: Any) -> Any:
    if type(value) is list:
        return [_complex(v) for v in value]
    return _as_json(value)


_PLAIN = (str, int, bool)
_TIMES = (datetime.date, datetime.datetime, datetime.time)


def _primitive(value: Any) -> Any:
    from pydantic_core import to_jsonable_python

    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is list:
        return [_primitive(v) for v in value]
    if kind is decimal.Decimal:
        exp = value.as_tuple().exponent
        if not value.is_finite():
            raise _UnusualError
        if value == value.to_integral_value() and isinstance(exp, int) and exp >= 0:
            return int(value)
        number = float(value)
        if not math.isfinite(number):  # beyond a float: the model's dump says null
            raise _UnusualError
        return number
    if kind in _TIMES:
        return to_jsonable_python(value)
    raise _UnusualError


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
