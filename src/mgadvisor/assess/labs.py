"""Lab values: convert to canonical units; interpret against the lab's own or a sourced range."""

from __future__ import annotations

from dataclasses import dataclass, field

from mgadvisor.advice import Finding
from mgadvisor.intake import Intake, Lab, LoadingTest
from mgadvisor.kb.base import KnowledgeBase
from mgadvisor.units import to_canonical


@dataclass
class LabReading:
    analyte: str
    value: float  # canonical unit
    unit: str
    low: float | None
    high: float | None
    range_from_lab: bool
    range_sources: list[str]


@dataclass
class LabAssessment:
    readings: dict[str, LabReading] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    risk: list[Finding] = field(default_factory=list)
    referral: list[Finding] = field(default_factory=list)
    loading_retention_pct: float | None = None


def read(kb: KnowledgeBase, lab: Lab) -> LabReading:
    analyte = kb.labs[lab.analyte]
    unit = analyte.canonical_unit
    value = to_canonical(lab.analyte, lab.value, lab.unit, unit)
    if lab.reference_range is not None:
        low = to_canonical(lab.analyte, lab.reference_range[0], lab.unit, unit)
        high = to_canonical(lab.analyte, lab.reference_range[1], lab.unit, unit)
        return LabReading(lab.analyte, value, unit, low, high, True, [])
    rng = analyte.default_range
    if rng is None:
        return LabReading(lab.analyte, value, unit, None, None, False, [])
    return LabReading(lab.analyte, value, unit, rng.low, rng.high, False, list(rng.sources))


def retention_pct(test: LoadingTest) -> float:
    """% of an IV magnesium load retained (Ryzen 1985): 1 - (post - baseline urine) / load."""
    excreted = test.post_load_urine_mmol_24h - test.baseline_urine_mmol_24h
    return (1 - excreted / test.infused_mmol) * 100


def assess_labs(kb: KnowledgeBase, intake: Intake) -> LabAssessment:
    out = LabAssessment()
    for lab in intake.labs:
        out.readings[lab.analyte] = read(kb, lab)
    _serum(kb, out)
    _rbc(kb, out)
    _urine(kb, out)
    if intake.loading_test is not None:
        _loading(kb, intake.loading_test, out)
    return out


def _r(value: float, digits: int = 2) -> float:
    return round(value, digits)


def _serum(kb: KnowledgeBase, out: LabAssessment) -> None:
    reading = out.readings.get("serum_magnesium")
    if reading is None:
        return
    deficient_below = kb.parameters["serum_mg_likely_deficient_below"]
    sufficient_above = kb.parameters["serum_mg_likely_sufficient_above"]
    toxic_above = kb.parameters["serum_mg_symptomatic_above"]
    low = reading.low if reading.low is not None else deficient_below.value
    params = {"value": _r(reading.value), "low": _r(low), "high": reading.high and _r(reading.high)}
    below_lab = reading.value < low
    likely_deficient = reading.value < deficient_below.value
    if below_lab or likely_deficient:
        sources = list(dict.fromkeys([*reading.range_sources, *deficient_below.sources]))
        finding = Finding(code="lab.serum_low", severity="critical", params=params, sources=sources)
        out.findings.append(finding)
        out.referral.append(
            Finding(code="referral.serum_low", severity="critical", params=params, sources=sources)
        )
        out.risk.append(
            Finding(
                code="risk.lab_serum_low",
                severity="warning",
                params=params,
                sources=sources,
                points=int(kb.param("lab_points_deficient")),
            )
        )
    elif reading.value > toxic_above.value or (
        reading.high is not None and reading.value > reading.high
    ):
        sources = list(dict.fromkeys([*reading.range_sources, *toxic_above.sources]))
        out.findings.append(
            Finding(code="lab.serum_high", severity="critical", params=params, sources=sources)
        )
        out.referral.append(
            Finding(code="referral.serum_high", severity="critical", params=params, sources=sources)
        )
    elif reading.value <= sufficient_above.value:
        out.findings.append(
            Finding(
                code="lab.serum_borderline",
                severity="warning",
                params=params,
                sources=list(sufficient_above.sources),
            )
        )
        out.risk.append(
            Finding(
                code="risk.lab_serum_borderline",
                severity="info",
                params=params,
                sources=list(sufficient_above.sources),
                points=int(kb.param("lab_points_borderline")),
            )
        )
    else:
        out.findings.append(
            Finding(code="lab.serum_normal", params=params, sources=list(sufficient_above.sources))
        )
    # Whatever the value: serum is < 1 % of body magnesium (the seed's point).
    out.findings.append(Finding(code="lab.serum_not_conclusive", sources=["jahnendechent2012"]))


def _rbc(kb: KnowledgeBase, out: LabAssessment) -> None:
    reading = out.readings.get("rbc_magnesium")
    if reading is None or reading.low is None:
        return
    params = {
        "value": _r(reading.value),
        "low": _r(reading.low),
        "high": reading.high and _r(reading.high),
        "own_range": reading.range_from_lab,
    }
    sources = reading.range_sources or ["jahnendechent2012"]
    if reading.value < reading.low:
        out.findings.append(
            Finding(code="lab.rbc_low", severity="warning", params=params, sources=sources)
        )
        out.risk.append(
            Finding(
                code="risk.lab_rbc_low",
                severity="warning",
                params=params,
                sources=sources,
                points=int(kb.param("lab_points_deficient")),
            )
        )
    else:
        out.findings.append(Finding(code="lab.rbc_normal", params=params, sources=sources))


def _urine(kb: KnowledgeBase, out: LabAssessment) -> None:
    reading = out.readings.get("urine_magnesium_24h")
    if reading is None:
        return
    params = {
        "value": _r(reading.value),
        "low": reading.low and _r(reading.low),
        "high": reading.high and _r(reading.high),
    }
    sources = reading.range_sources or ["jahnendechent2012"]
    serum = out.readings.get("serum_magnesium")
    serum_low = serum is not None and serum.value < kb.param("serum_mg_likely_deficient_below")
    if reading.low is not None and reading.value < reading.low:
        out.findings.append(
            Finding(code="lab.urine_low", severity="warning", params=params, sources=sources)
        )
        out.risk.append(
            Finding(
                code="risk.lab_urine_low",
                severity="info",
                params=params,
                sources=sources,
                points=int(kb.param("lab_points_borderline")),
            )
        )
    elif serum_low and reading.low is not None and reading.value >= reading.low:
        # Low serum with ongoing urinary loss points at renal wasting (a doctor's question).
        out.findings.append(
            Finding(code="lab.urine_renal_loss", severity="warning", params=params, sources=sources)
        )
    else:
        out.findings.append(Finding(code="lab.urine_normal", params=params, sources=sources))


def _loading(kb: KnowledgeBase, test: LoadingTest, out: LabAssessment) -> None:
    pct = retention_pct(test)
    out.loading_retention_pct = round(pct, 1)
    threshold = kb.parameters["loading_retention_deficient_above_pct"]
    params = {"retention_pct": round(pct, 1), "threshold_pct": threshold.value}
    if pct > threshold.value:
        out.findings.append(
            Finding(
                code="lab.loading_retention_high",
                severity="warning",
                params=params,
                sources=list(threshold.sources),
            )
        )
        out.risk.append(
            Finding(
                code="risk.lab_loading_retention",
                severity="warning",
                params=params,
                sources=list(threshold.sources),
                points=int(kb.param("lab_points_deficient")),
            )
        )
    else:
        out.findings.append(
            Finding(
                code="lab.loading_retention_normal", params=params, sources=list(threshold.sources)
            )
        )
