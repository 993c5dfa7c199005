"""Load the knowledge files, validate each entry, cross-check references between files.

Every problem is collected (not just the first) and reported with the file, the entry, the
field and, where one exists, the closest valid value. The loaded :class:`KnowledgeBase` is
immutable and cached per folder, so adapters can call :func:`load_knowledge` freely.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from mgadvisor.errors import KnowledgeError, Problem, suggest
from mgadvisor.kb import models as m
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.kb.spacing_text import spacing_problems

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"

M = TypeVar("M", bound=BaseModel)

_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


# Limits of what a YAML document from a user may ask for. Aliases (`*name`) re-use a node, so a
# few hundred bytes of nested aliases expand to billions of values ("billion laughs") as soon as
# anything walks the data. A diary written by yaml.dump uses an alias for each repeated meal
# (examples/diet-week.yaml: 30); an intake is at most ~6 levels deep.
YAML_MAX_ALIASES = 200
YAML_MAX_NODES = 100_000  # values after expanding every alias
YAML_MAX_DEPTH = 40


class YamlLimitError(yaml.YAMLError):
    """A YAML document beyond the limits above (`limit` names which one)."""

    def __init__(self, limit: str, line: int) -> None:
        self.limit = limit
        self.line = line
        super().__init__(f"line {line}: {limit}")


def safe_yaml(text: str) -> Any:
    """Parse YAML with the safe loader (never constructs arbitrary Python objects), refusing
    documents with more than a few aliases, more values than an intake can hold once aliases
    are expanded, or deeper nesting than :data:`YAML_MAX_DEPTH`.

    Raises:
        yaml.YAMLError: not YAML; :class:`YamlLimitError` when a limit is passed.
    """
    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()  # composing shares aliased nodes: linear in the text
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_size(root: yaml.Node) -> None:
    """Count the values of a node graph as if every alias were expanded, without expanding."""
    seen: dict[int, int] = {}  # id(node) -> expanded size, for nodes already counted
    aliases = 0
    # Iterative depth-first walk: (node, depth, children counted yet?)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    open_nodes: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if depth > YAML_MAX_DEPTH:
            raise YamlLimitError("nesting", node.start_mark.line + 1)
        children = _children(node)
        if done:
            open_nodes.discard(key)
            seen[key] = 1 + sum(seen[id(c)] for c in children)
            if seen[key] > YAML_MAX_NODES:
                raise YamlLimitError("size", node.start_mark.line + 1)
            continue
        if key in seen:  # a node met again: an alias
            aliases += 1
            if aliases > YAML_MAX_ALIASES:
                raise YamlLimitError("aliases", node.start_mark.line + 1)
            continue
        if key in open_nodes:  # an alias to a node that contains it
            raise YamlLimitError("aliases", node.start_mark.line + 1)
        open_nodes.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in children)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


# Files holding a list of entries, each entry identified by its `code`.
LIST_FILES: dict[str, tuple[str, type[BaseModel]]] = {
    "compounds": ("compounds.yaml", m.Compound),
    "applications": ("applications.yaml", m.Application),
    "symptoms": ("symptoms.yaml", m.Symptom),
    "conditions": ("conditions.yaml", m.Condition),
    "risk_factors": ("risk_factors.yaml", m.RiskFactor),
    "interactions": ("interactions.yaml", m.Interaction),
    "depleting": ("depleting.yaml", m.Depleting),
    "facts": ("facts.yaml", m.Fact),
    "synergy": ("synergy.yaml", m.Synergy),
    "labs": ("labs.yaml", m.LabAnalyte),
    "parameters": ("parameters.yaml", m.Parameter),
    "messages": ("messages.yaml", m.Message),
    "alarms": ("alarms.yaml", m.Alarm),
}


def load_knowledge(folder: Path | str | None = None) -> KnowledgeBase:
    """Load and validate the knowledge base in `folder` (default: the bundled one).

    Raises:
        KnowledgeError: listing every problem found.
    """
    return _load_cached(Path(folder).resolve() if folder else KNOWLEDGE_DIR)


@functools.lru_cache(maxsize=8)
def _load_cached(folder: Path) -> KnowledgeBase:
    return _Loader(folder).load()


class _Loader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[Problem] = []
        self.raw_bytes: dict[str, bytes] = {}

    # -- reading ----------------------------------------------------------------------------

    def _read(self, name: str) -> str | None:
        path = self.folder / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.problems.append(Problem(name, "-", "", "file is missing"))
            return None
        self.raw_bytes[name] = data
        return data.decode("utf-8-sig")

    def _yaml(self, name: str) -> Any:
        text = self._read(name)
        if text is None:
            return None
        try:
            return yaml.load(text, Loader=_YamlLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}" if mark else "-"
            self.problems.append(Problem(name, line, "", f"not valid YAML ({exc})"))
            return None

    def _json(self, name: str) -> Any:
        text = self._read(name)
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            self.problems.append(
                Problem(name, f"line {exc.lineno}", "", f"not valid JSON ({exc.msg})")
            )
            return None

    def _csv(self, name: str) -> list[dict[str, str]] | None:
        text = self._read(name)
        if text is None:
            return None
        return list(csv.DictReader(io.StringIO(text)))

    # -- validating -------------------------------------------------------------------------

    def _entries(self, name: str, raw: Any, model: type[M], key: str = "code") -> dict[str, M]:
        out: dict[str, M] = {}
        if raw is None:
            return out
        if not isinstance(raw, list):
            self.problems.append(Problem(name, "-", "", "expected a list of entries at top level"))
            return out
        for index, item in enumerate(raw):
            ident = (
                str(item.get(key)) if isinstance(item, dict) and item.get(key) else f"#{index + 1}"
            )
            entry = self._one(name, ident, item, model)
            if entry is None:
                continue
            code = str(getattr(entry, key))
            if code in out:
                self.problems.append(Problem(name, code, key, "duplicate code"))
            out[code] = entry
        return out

    def _one(self, name: str, ident: str, item: Any, model: type[M]) -> M | None:
        try:
            return model.model_validate(item)
        except ValidationError as exc:
            self.problems.extend(_problems_from(exc, name, ident, model))
            return None

    # -- the whole base ---------------------------------------------------------------------

    def load(self) -> KnowledgeBase:
        meta = self._one("meta.yaml", "meta", self._yaml("meta.yaml"), m.Meta)
        refs = self._entries("references.json", self._json("references.json"), m.Reference, "id")
        lists = {
            kind: self._entries(fname, self._yaml(fname), model)
            for kind, (fname, model) in LIST_FILES.items()
        }
        values = self._one(
            "reference_values.yaml", "-", self._yaml("reference_values.yaml"), m.ReferenceValues
        )
        safety = self._one("safety.yaml", "-", self._yaml("safety.yaml"), m.SafetyData)
        ffq = self._one("ffq.yaml", "-", self._yaml("ffq.yaml"), m.Ffq)
        fhir_map = self._one("fhir_map.yaml", "-", self._yaml("fhir_map.yaml"), m.FhirMap)
        medicines = self._rows("medicines.csv", m.MedicineName, "name")
        foods = self._by_code("foods.csv", self._rows("foods.csv", m.Food, "code"))
        portions = self._by_code("portions.csv", self._rows("portions.csv", m.Portion, "code"))

        # Cross-check whatever did parse, so one run lists every problem (not just a file's).
        kb = KnowledgeBase(
            meta=meta or m.Meta.model_construct(version="0.0.0", title=m.Text(nl="-", en="-")),
            content_hash=self._hash(),
            references=refs,
            compounds=_typed(lists["compounds"], m.Compound),
            applications=_typed(lists["applications"], m.Application),
            symptoms=_typed(lists["symptoms"], m.Symptom),
            conditions=_typed(lists["conditions"], m.Condition),
            risk_factors=_typed(lists["risk_factors"], m.RiskFactor),
            interactions=_typed(lists["interactions"], m.Interaction),
            depleting=_typed(lists["depleting"], m.Depleting),
            facts=_typed(lists["facts"], m.Fact),
            synergy=_typed(lists["synergy"], m.Synergy),
            labs=_typed(lists["labs"], m.LabAnalyte),
            parameters=_typed(lists["parameters"], m.Parameter),
            messages=_typed(lists["messages"], m.Message),
            alarms=_typed(lists["alarms"], m.Alarm),
            reference_values=values or m.ReferenceValues.model_construct(authorities=[]),
            safety=safety or m.SafetyData.model_construct(conflicts=[], side_effects=[]),
            medicines=tuple(medicines),
            foods=foods,
            portions=portions,
            ffq=ffq
            or m.Ffq.model_construct(title=m.Text(nl="-", en="-"), frequencies=[], items=[]),
            fhir_map=fhir_map or m.FhirMap(),
        )
        parsed_all = meta is not None and values is not None and safety is not None
        self.problems.extend(p for p in cross_check(kb) if parsed_all or p.entry != "authorities")
        if self.problems:
            raise KnowledgeError(self.problems)
        return kb

    def _rows(self, name: str, model: type[M], key: str) -> list[M]:
        rows = self._csv(name)
        out: list[M] = []
        for line, row in enumerate(rows or [], start=2):
            clean = {k: v for k, v in row.items() if v not in ("", None) or k == key}
            entry = self._one(name, f"line {line} ({row.get(key, '?')})", clean, model)
            if entry is not None:
                out.append(entry)
        return out

    def _by_code(self, name: str, rows: list[M]) -> dict[str, M]:
        out: dict[str, M] = {}
        for row in rows:
            code = str(getattr(row, "code"))  # noqa: B009 - rows of any CSV model
            if code in out:
                self.problems.append(Problem(name, code, "code", "duplicate code"))
            out[code] = row
        return out

    def _hash(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.raw_bytes):
            digest.update(name.encode())
            digest.update(self.raw_bytes[name])
        return digest.hexdigest()


def _typed(entries: Mapping[str, BaseModel], model: type[M]) -> dict[str, M]:
    return {k: v for k, v in entries.items() if isinstance(v, model)}


# -- pydantic errors -> Problems -----------------------------------------------------------


def _problems_from(
    exc: ValidationError, file: str, entry: str, model: type[BaseModel]
) -> Iterator[Problem]:
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = ".".join(str(p) for p in loc)
        kind = err["type"]
        given = err.get("input")
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            hint = suggest(str(loc[-1]), allowed)
            yield Problem(
                file,
                entry,
                path,
                f"unknown key '{loc[-1]}' (allowed: {', '.join(sorted(allowed))})",
                hint[0] if hint else None,
            )
        elif kind == "missing":
            what = {"nl": "Dutch text", "en": "English text", "sources": "sources (citation keys)"}
            label = what.get(str(loc[-1]), "value")
            yield Problem(file, entry, path, f"missing required {label} '{loc[-1]}'")
        elif (
            kind == "too_short"
            and loc
            and loc[-1] in ("sources", "intake_sources", "formula_sources")
        ):
            yield Problem(file, entry, path, "a fact needs at least one source (citation key)")
        elif kind in ("enum", "literal_error"):
            expected = str(err.get("ctx", {}).get("expected", ""))
            choices = [c.strip(" '\"") for c in expected.replace(" or ", ",").split(",")]
            hint = suggest(str(given), [c for c in choices if c])
            yield Problem(
                file, entry, path, f"'{given}' is not one of {expected}", hint[0] if hint else None
            )
        else:
            yield Problem(file, entry, path, f"{err['msg']} (given: {given!r})")


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names (and aliases) valid at `loc` inside `model`, for 'did you mean'."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            break
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part)) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        current = _model_in(field.annotation) if field else None
    if current is None:
        return []
    return [f.alias or n for n, f in current.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (list, tuple, typing.Union, types.UnionType, typing.Annotated) or origin is None:
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


# -- cross-file checks ---------------------------------------------------------------------


class _Checker:
    """Collects cross-file problems; each names the file, entry, field and the closest value."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.problems: list[Problem] = []
        self.ref_keys = set(kb.references)

    def unknown(
        self, file: str, entry: str, field: str, value: str, valid: Iterable[str], what: str
    ) -> None:
        """One problem for a value that is not among the valid ones, with the closest one."""
        if value in valid:
            return
        hint = suggest(value, valid)
        self.problems.append(
            Problem(file, entry, field, f"unknown {what} '{value}'", hint[0] if hint else None)
        )

    def codes(
        self,
        file: str,
        entry: str,
        field: str,
        codes: list[str],
        valid: Mapping[str, Any],
        what: str,
    ) -> None:
        for i, code in enumerate(codes):
            path = f"{field}.{i}" if len(codes) > 1 or field.endswith("s") else field
            self.unknown(file, entry, path, code, valid, f"{what} code")

    def citations(self, file: str, entry: str, obj: Any) -> None:
        for path, key in citations(obj):
            self.unknown(file, entry, path, key, self.ref_keys, "citation key")


def cross_check(kb: KnowledgeBase) -> list[Problem]:
    """Checks spanning files: citation keys, codes referred to, ATC coverage, defaults."""
    chk = _Checker(kb)
    checks = (
        _check_citations,
        _check_foods,
        _check_codes,
        _check_atc,
        _check_defaults,
        _check_urgency,
        _check_alarms,
        _check_fhir_map,
        _check_spacing_text,
    )
    for check in checks:
        check(chk)
    return chk.problems


def _check_citations(chk: _Checker) -> None:
    kb = chk.kb
    for kind, (file, _) in LIST_FILES.items():
        for code, entry in getattr(kb, kind).items():
            chk.citations(file, code, entry)
    chk.citations("reference_values.yaml", "-", kb.reference_values)
    chk.citations("ffq.yaml", "-", kb.ffq)
    chk.citations("safety.yaml", "-", kb.safety)
    chk.citations("fhir_map.yaml", "-", kb.fhir_map)
    for question in kb.ffq.items:
        for i, part in enumerate(question.foods):
            chk.unknown(
                "ffq.yaml", question.code, f"foods.{i}.food", part.food, kb.foods, "food code"
            )
        total = sum(part.share for part in question.foods)
        if abs(total - 1) > 0.01:
            chk.problems.append(
                Problem(
                    "ffq.yaml", question.code, "foods", f"shares must add up to 1, not {total:g}"
                )
            )


def _check_foods(chk: _Checker) -> None:
    kb, ref_keys = chk.kb, chk.ref_keys
    for food in kb.foods.values():
        chk.unknown("foods.csv", food.code, "source", food.source, ref_keys, "citation key")
        if food.ca_source:
            chk.unknown(
                "foods.csv", food.code, "ca_source", food.ca_source, ref_keys, "citation key"
            )
    for med in kb.medicines:
        chk.unknown("medicines.csv", med.name, "source", med.source, ref_keys, "citation key")
    groups = {f.group for f in kb.foods.values()}
    for portion in kb.portions.values():
        if portion.food:
            chk.unknown("portions.csv", portion.code, "food", portion.food, kb.foods, "food code")
        if portion.group:
            chk.unknown("portions.csv", portion.code, "group", portion.group, groups, "food group")
        if not portion.food and not portion.group:
            chk.problems.append(
                Problem("portions.csv", portion.code, "food", "a portion needs a food or a group")
            )
        chk.unknown(
            "portions.csv", portion.code, "source", portion.source, ref_keys, "citation key"
        )


def _check_codes(chk: _Checker) -> None:
    kb = chk.kb
    apps, comps = kb.applications, kb.compounds
    chk.problems.extend(_check_compounds(kb))
    for c in comps.values():
        chk.codes(
            "compounds.yaml",
            c.code,
            "uses.application",
            [u.application for u in c.uses],
            apps,
            "application",
        )
        if c.variant_of:
            chk.codes("compounds.yaml", c.code, "variant_of", [c.variant_of], comps, "compound")
    for a in apps.values():
        chk.codes(
            "applications.yaml",
            a.code,
            "compounds.compound",
            [x.compound for x in a.compounds],
            comps,
            "compound",
        )
        chk.codes(
            "applications.yaml",
            a.code,
            "study_doses.compound",
            [d.compound for d in a.study_doses if d.compound],
            comps,
            "compound",
        )
    for s in kb.symptoms.values():
        chk.codes("symptoms.yaml", s.code, "suggests", list(s.suggests), apps, "application")
    signs = {**kb.symptoms, **kb.conditions}
    for cond in kb.conditions.values():
        chk.codes(
            "conditions.yaml", cond.code, "suggests", list(cond.suggests), apps, "application"
        )
        chk.codes("conditions.yaml", cond.code, "warning_signs", cond.warning_signs, signs, "sign")
    for c in comps.values():
        chk.codes("compounds.yaml", c.code, "avoid_with", c.avoid_with, kb.conditions, "condition")
    risks = {code: m for code, m in kb.messages.items() if code.startswith("risk.")}
    for file, entries in (("symptoms.yaml", kb.symptoms), ("conditions.yaml", kb.conditions)):
        for entry in entries.values():
            if entry.risk_counted_as:
                counted = [entry.risk_counted_as]
                chk.codes(file, entry.code, "risk_counted_as", counted, risks, "risk factor")
    for syn in kb.synergy.values():
        chk.codes(
            "synergy.yaml", syn.code, "applications", list(syn.applications), apps, "application"
        )
    for se in kb.safety.side_effects:
        chk.codes("safety.yaml", se.code, "compounds", list(se.compounds), comps, "compound")


def _check_atc(chk: _Checker) -> None:
    kb = chk.kb
    # Every interaction and depleting class must be reachable from the medicine name index.
    index_atc = [row.atc for row in kb.medicines]
    for file, group in (("interactions.yaml", kb.interactions), ("depleting.yaml", kb.depleting)):
        for code, item in group.items():
            for prefix in item.atc:
                if not any(atc.startswith(prefix) for atc in index_atc):
                    chk.problems.append(
                        Problem(
                            file,
                            code,
                            "atc",
                            f"no medicine in medicines.csv has an ATC code under '{prefix}'",
                        )
                    )

    seen: dict[str, str] = {}
    for row in kb.medicines:
        key = row.name.casefold()
        if key in seen and seen[key] != row.atc:
            chk.problems.append(
                Problem(
                    "medicines.csv", row.name, "atc", f"name maps to both {seen[key]} and {row.atc}"
                )
            )
        seen[key] = row.atc


def _check_spacing_text(chk: _Checker) -> None:
    chk.problems.extend(spacing_problems(chk.kb))


def _check_defaults(chk: _Checker) -> None:
    kb = chk.kb
    defaults = [a.code for a in kb.reference_values.authorities if a.default]
    if len(defaults) != 1:
        chk.problems.append(
            Problem(
                "reference_values.yaml",
                "authorities",
                "default",
                f"exactly one default authority expected, found {defaults or 'none'}",
            )
        )


def _check_urgency(chk: _Checker) -> None:
    """Every referral message says how soon; no other message does."""
    for code, message in chk.kb.messages.items():
        referral = code.startswith("referral.")
        if referral and message.urgency is None:
            problem = "a referral message needs an urgency (emergency, same_day or routine)"
        elif not referral and (
            message.urgency is not None or message.withholds_dose or message.stops_products
        ):
            problem = "urgency and withholds_dose belong to referral messages only"
        else:
            continue
        chk.problems.append(Problem("messages.yaml", code, "urgency", problem))


def _check_alarms(chk: _Checker) -> None:
    """An alarm gives a referral message, and every criterion names a known code or number."""
    kb = chk.kb
    kinds: dict[str, Mapping[str, Any]] = {
        "complaint": kb.symptoms,
        "condition": kb.conditions,
        "goal": kb.applications,
        "low": kb.labs,
        "high": kb.labs,
        "below": kb.labs,
        "above": kb.labs,
        "at_most": kb.labs,
    }
    for alarm in kb.alarms.values():
        chk.unknown("alarms.yaml", alarm.code, "referral", alarm.referral, kb.messages, "message")
        for g, group in enumerate(alarm.when):
            for criterion in group:
                kind, _, rest = criterion.partition(":")
                field = f"when.{g}"
                if kind in kinds:
                    code = rest.split(":")[0]
                    chk.unknown("alarms.yaml", alarm.code, field, code, kinds[kind], kind)
                elif kind in ("pregnant", "lactating", "qt_medicine") and not rest:
                    continue
                elif kind in ("pregnancy_week_from", "age_from", "atc"):
                    if not rest:
                        chk.problems.append(
                            Problem(
                                "alarms.yaml", alarm.code, field, f"'{criterion}' needs a value"
                            )
                        )
                else:
                    chk.unknown("alarms.yaml", alarm.code, field, kind, [*kinds, "atc"], "kind")


def _check_fhir_map(chk: _Checker) -> None:
    """Every FHIR code maps to something that exists, and no code is given twice."""
    kb, fmap, file = chk.kb, chk.kb.fhir_map, "fhir_map.yaml"
    lab_loinc = {code: lab.code for lab in kb.labs.values() for code in lab.loinc}
    units = {u for lab in kb.labs.values() for u in lab.units} | {"kg", "cm", "wk"}
    atcs = {row.atc for row in kb.medicines}
    keys: list[tuple[str, str]] = [(o.loinc, "loinc") for o in fmap.observations]
    keys += [(u.ucum, "ucum") for u in fmap.units]
    keys += [(c.snomed, "snomed") for c in fmap.conditions]
    keys += [(x.rxnorm, "rxnorm") for x in fmap.medications]
    seen: set[tuple[str, str]] = set()
    for key in keys:
        if key in seen or (key[1] == "loinc" and key[0] in lab_loinc):
            chk.problems.append(Problem(file, key[0], key[1], "code given twice (or in labs.yaml)"))
        seen.add(key)
    for obs in fmap.observations:
        if (obs.analyte is None) == (obs.person is None):
            chk.problems.append(Problem(file, obs.loinc, "analyte", "give analyte or person"))
        if obs.analyte is not None:
            chk.unknown(file, obs.loinc, "analyte", obs.analyte, kb.labs, "lab analyte")
    for unit in fmap.units:
        chk.unknown(file, unit.ucum, "unit", unit.unit, units, "intake unit")
    if fmap.supplement is not None and not any(a.startswith(fmap.supplement.atc) for a in atcs):
        chk.problems.append(
            Problem(file, "supplement", "atc", f"{fmap.supplement.atc} names no medicine")
        )
    for cond in fmap.conditions:
        if (cond.condition is None) == (cond.person is None):
            chk.problems.append(Problem(file, cond.snomed, "condition", "give condition or person"))
        if cond.condition is not None:
            chk.unknown(file, cond.snomed, "condition", cond.condition, kb.conditions, "condition")
    for med in fmap.medications:
        chk.unknown(file, med.rxnorm, "atc", med.atc, atcs, "ATC code of medicines.csv")


def _check_compounds(kb: KnowledgeBase) -> Iterator[Problem]:
    """Formulas must parse and hold magnesium; no name may point at two different compounds."""
    from mgadvisor.chemistry import composition
    from mgadvisor.kb.names import compound_aliases

    owners: dict[str, set[str]] = {}
    for c in kb.compounds.values():
        try:
            composition(c.formula, c.water_of_hydration)
        except ValueError as exc:
            yield Problem("compounds.yaml", c.code, "formula", str(exc))
        for alias in compound_aliases(c):
            owners.setdefault(alias, set()).add(c.variant_of or c.code)
    for alias, codes in sorted(owners.items()):
        if len(codes) > 1:
            yield Problem(
                "compounds.yaml",
                ", ".join(sorted(codes)),
                "synonyms",
                f"the name '{alias}' belongs to more than one compound",
            )


def citations(obj: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (field path, citation key) inside a model, at any depth."""
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            value = getattr(obj, name)
            sub = f"{path}.{name}" if path else name
            if name.endswith("sources") and isinstance(value, list):
                for i, key in enumerate(value):
                    yield f"{sub}.{i}", key
            else:
                yield from citations(value, sub)
    elif isinstance(obj, list | tuple):
        for i, item in enumerate(obj):
            yield from citations(item, f"{path}.{i}")
    elif isinstance(obj, dict) and not isinstance(obj, Enum):
        for k, v in obj.items():
            yield from citations(v, f"{path}.{k}")


_citations = citations  # kept for external validation scripts
