"""When to look again (follow-up)."""

from __future__ import annotations

from mgadvisor.advice import Finding
from mgadvisor.engine import Context, rule


@rule("followup.reevaluate", gives=("follow_up",), needs=("dose_target",))
def reevaluate(c: Context) -> list[Finding]:
    """With a dose: look again after the parameter's weeks; lower the dose on diarrhoea."""
    if c.value("dose_target") <= 0:
        return []
    with c.scope():
        weeks = c.param("reevaluate_after_weeks")
        again = c.finding("followup.reevaluate", weeks=weeks)
    c.fact("dosage_saturation_sign")
    c.fact("dosage_saturation_not_a_test")
    return [again, c.finding("followup.diarrhoea_lower_dose")]


@rule("followup.measure_status", gives=("follow_up",))
def measure_status(c: Context) -> Finding:
    """Status is best judged by serum with red-cell and urine magnesium together."""
    c.fact("authority_best_assessment")
    c.fact("measurement_rbc_urine")
    return c.finding("followup.measure_status")


@rule("followup.kidney_monitor", gives=("follow_up",), needs=("egfr",))
def kidney_monitor(c: Context) -> Finding | None:
    """Reduced kidney function, or a kidney condition: check kidney function regularly."""
    measured: float | None = c.value("egfr")
    known_low = measured is not None and measured < c.param("egfr_supervision_below", cite=False)
    listed = any(c.kb.conditions[code].monitor_kidney for code in c.intake.conditions)
    if not (known_low or listed):
        return None
    return c.finding("followup.kidney_monitor", months=c.param("kidney_monitor_months"))


@rule("followup.ppi_check", gives=("follow_up",), needs=("medications",))
def ppi_check(c: Context) -> Finding | None:
    """On a proton-pump inhibitor: have magnesium checked now and then."""
    ppis = [dep for _, dep in c.value("medications").depleting if dep.mds_component == "ppi"]
    if not ppis:
        return None
    return c.finding("followup.ppi_check", cites=[ppis[0].statement])
