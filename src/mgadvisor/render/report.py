"""The practitioner report: one structure of sections, written out as terminal text or Markdown.

Built from the JSON contract (`contract.advice_dict`), so the terminal, Markdown, and later the
web page and PDF say exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mgadvisor.i18n import N_, Translator
from mgadvisor.render.bounds import lab_value
from mgadvisor.render.labels import (
    BASIS_LABELS as BASIS,
)
from mgadvisor.render.labels import (
    LAB_FLAG,
    MATCH,
    MDS_PARTS,
    PRODUCT_ACTION,
    RISK_LABELS,
    RISK_STATUS,
    SEVERITY,
    STATUS,
    URGENCY,
    hold_reason,
)


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    alert: bool = False


def _cited(item: dict[str, Any]) -> str:
    keys = item.get("sources") or []
    return f"{item['text']} [{', '.join(keys)}]" if keys else item["text"]


def severity_of(hit: dict[str, Any]) -> str:
    return SEVERITY[hit["severity"]]


def match_of(med: dict[str, Any]) -> str:
    return MATCH[med["match"]]


def sections(data: dict[str, Any], t: Translator, explain: bool = False) -> list[Section]:
    """The practitioner report as sections, in reading order: what to do now (an urgent
    referral, stopping a product) first, then the referral with its urgency."""
    out = [_title(data, t)]
    if data["actions"]:
        first = URGENCY.get(data["referral"]["urgency"] or "", N_("First"))
        out.append(Section(t(first), [_cited(a) for a in data["actions"]], alert=True))
    if data["referral"]["needed"]:
        reasons = [_cited(r) for r in data["referral"]["reasons"]]
        urgency = URGENCY[data["referral"]["urgency"] or "routine"]
        out.append(Section(t(urgency), reasons, alert=True))
    out += [_risk(data, t), _labs(data, t), _compounds(data, t), _dose(data, t)]
    out.append(_schedule(data, t))
    if data["interactions"]:
        out.append(_interactions(data, t))
    if data["medications"]:
        out.append(_medications(data, t))
    if data["diet"]:
        out.append(diet_section(data["diet"], data["food_advice"], t))
    for key, title in (
        ("warnings", t("Warnings")),
        ("synergy", t("What helps")),
        ("follow_up", t("Follow-up")),
    ):
        if data[key]:
            out.append(Section(title, [_cited(f) for f in data[key]]))
    if explain:
        steps = [
            f"{s['rule']}: {s['result']}  {s['facts']} [{', '.join(s['sources'])}]"
            for s in data["trace"]
        ]
        out.append(Section(t("Why: the rules that fired"), steps))
    out.append(Section(t("References"), [f"[{r['key']}] {r['apa']}" for r in data["references"]]))
    return out


def _title(data: dict[str, Any], t: Translator) -> Section:
    line = t(
        "Date {date} · knowledge base {version} · rules {rules} · reference values: {authority}",
        date=data["as_of"],
        version=data["kb_version"],
        rules=data["engine_version"],
        authority=data.get("authority_name") or data["authority"],
    )
    return Section(t("Magnesium advice"), [line])


def _risk(data: dict[str, Any], t: Translator) -> Section:
    # Labels looked up first: Babel must not mistake the dictionary keys for message ids.
    level_label = RISK_LABELS[data["risk"]["level"]]
    risk = data["risk"]
    title = t("Deficiency risk: {level} (score {score})", level=t(level_label), score=risk["score"])
    if risk.get("status"):
        status_label = RISK_STATUS[risk["status"]]
        title = t(status_label)
    factors = [f"+{f['points']}  {_cited(f)}" for f in risk["factors"]]
    return Section(title, factors or [t("No risk factors found.")])


def _labs(data: dict[str, Any], t: Translator) -> Section:
    calc = data["calculations"]
    numbers = []
    if calc["egfr"] is not None:
        how = {"given": t("given"), "schwartz_bedside": "bedside Schwartz"}.get(
            calc["egfr_source"], "CKD-EPI 2021"
        )
        numbers.append(
            t(
                "eGFR {egfr} mL/min/1.73 m² ({how}), KDIGO {stage}",
                egfr=t.num(calc["egfr"], 0),
                how=how,
                stage=calc["ckd_stage"],
            )
        )
    parts = ", ".join(f"{t(MDS_PARTS[k])} {v}" for k, v in calc["mds_components"].items()) or "-"
    if calc["egfr"] is None:
        mds = t(
            "Magnesium Depletion Score {mds} of 5 ({parts}), incomplete: eGFR unknown",
            mds=calc["mds"],
            parts=parts,
        )
    else:
        mds = t("Magnesium Depletion Score {mds} of 5 ({parts})", mds=calc["mds"], parts=parts)
    numbers.append(mds)
    rows = [_lab_row(row, t) for row in data.get("lab_results") or []]
    return Section(
        t("Labs and calculations"),
        numbers + [_cited(f) for f in data["labs"]],
        headers=[t("Lab value"), t("Result"), t("Range"), t("Reading")] if rows else [],
        rows=rows,
    )


def _lab_row(row: dict[str, Any], t: Translator) -> list[str]:
    num = t.num
    low, high = row["range_low"], row["range_high"]
    if low is None and high is None:
        span = "-"
    else:
        span = (
            f"{num(low, 2) if low is not None else ''}–{num(high, 2) if high is not None else ''}"
        )
        span += " " + row["unit_canonical"]
        span += " (" + (t("lab") if row["range_source"] == "lab" else t("default")) + ")"
    value = lab_value(row, t)  # "<0.5 mmol/L" for a bound
    if row["derived"]:
        calculated = t("calculated")
        value = f"{num(row['value_canonical'], 2)} {row['unit_canonical']} ({calculated})"
    flag_label = LAB_FLAG.get(row["flag"] or "")
    return [row["name"], value, span, t(flag_label) if flag_label else "-"]


def _compounds(data: dict[str, Any], t: Translator) -> Section:
    lines = [
        f"{c['rank']}. {c['name']} ({t.num(c['elemental_mg_percent'], 1)} % Mg): "
        + "; ".join(_cited(r) for r in c["reasons"])
        for c in data["compounds"]
    ]
    none = (
        t("No compound while the plan is on hold: see the dose.")
        if data["dose"]["status"] == "on_hold"
        else t("No compound: see the referral.")
    )
    return Section(t("Compounds"), lines or [none])


def _dose(data: dict[str, Any], t: Translator) -> Section:
    num, dose = t.num, data["dose"]
    status_label = STATUS[dose["status"]]
    exceeded = " — " + t("EXCEEDED") if dose["exceeds_upper_level"] else ""
    held = hold_reason(data)
    headline = (
        t("No magnesium supplement for now — {status}: {why}", status=t(status_label), why=held)
        if held
        else t(
            "{mg} mg elemental magnesium a day — {status}",
            mg=num(dose["elemental_mg_per_day"], 0),
            status=t(status_label),
        )
    )
    lines = [
        headline,
        t(
            "Reference intake {ri} mg/day; upper level for supplements {ul} mg/day{flag}",
            ri=num(dose["reference_intake_mg"], 0) if dose["reference_intake_mg"] else "-",
            ul=num(dose["upper_level_mg"], 0) if dose["upper_level_mg"] else "-",
            flag=exceeded,
        ),
    ]
    lines += [_cited(b) for b in dose["basis"]]
    for product in dose.get("products") or []:
        basis_label = BASIS[product["basis"]]
        lines.append(
            t(
                "{name}: {units} × {amount} mg ({basis}) = {per_day} mg elemental a day",
                name=product["name"] or product["compound"] or "-",
                units=product["units_per_day"],
                amount=num(product["amount_mg"], 0),
                basis=t(basis_label),
                per_day=num(product["elemental_mg_per_day"], 0),
            )
        )
    if dose.get("current_products_action"):
        action_label = PRODUCT_ACTION[dose["current_products_action"]]
        lines.append(t(action_label))
    return Section(t("Dose"), lines)


def _schedule(data: dict[str, Any], t: Translator) -> Section:
    meal = {
        "empty_stomach_preferred": t("preferably on an empty stomach; with a meal is fine"),
        "with_meal": t("with a meal"),
        "any": "-",
    }
    rows = []
    for item in data["schedule"]:
        if item["kind"] == "magnesium":
            intake = next((i for i in data["dose"]["intakes"] if i["time"] == item["time"]), None)
            note = meal[intake["meal"]] if intake else "-"
            rows.append([item["time"], item["name"], f"{t.num(item['elemental_mg'], 0)} mg", note])
        else:
            note = item["note"]["text"] if item.get("note") else t("medicine")
            rows.append([schedule_when(item, t), item["name"], "", note])
    headers = [t("Time"), t("What"), t("Amount"), t("Note")]
    return Section(t("Day schedule"), headers=headers, rows=rows)


def schedule_when(item: dict[str, Any], t: Translator) -> str:
    """A schedule row's time in words: the clock time (with "once a week" for a weekly
    medicine), "when needed", or "time not given"."""
    if item["time"] is None:
        return t("when needed") if item.get("frequency") == "as_needed" else t("time not given")
    every = {"weekly": t("once a week"), "monthly": t("once a month")}.get(
        str(item.get("frequency"))
    )
    return f"{item['time']} ({every})" if every else str(item["time"])


def _interactions(data: dict[str, Any], t: Translator) -> Section:
    rows = [
        [
            i["name"] or i["medication"],
            i["atc"],
            f"{i['rule']} [{', '.join(i['sources'])}]",
            t(severity_of(i)),
        ]
        for i in data["interactions"]
    ]
    headers = [t("Medicine"), "ATC", t("Rule"), t("Severity")]
    return Section(t("Interactions"), headers=headers, rows=rows)


def _medications(data: dict[str, Any], t: Translator) -> Section:
    lines = [
        f"{m['input']} → {m['name']} ({m['atc']}, " + t(match_of(m)) + ")"
        if m["resolved"]
        else f"{m['input']} → " + t("not recognised")
        for m in data["medications"]
    ]
    return Section(t("Medicines recognised"), lines)


def diet_section(diet: dict[str, Any], advice: list[dict[str, Any]], t: Translator) -> Section:
    num = t.num
    lines = [
        t(
            "Magnesium from the diet: {mg} mg/day ({pct} % of the recommended intake)",
            mg=num(diet["magnesium_mg_per_day"], 0),
            pct=num(diet["pct_of_reference"], 0) if diet["pct_of_reference"] is not None else "-",
        ),
        t(
            "Calcium: {ca} mg/day; calcium : magnesium = {ratio} : 1 (favourable: {target} : 1)",
            ca=num(diet["calcium_mg_per_day"], 0),
            ratio=num(diet["calcium_magnesium_ratio"], 1)
            if diet["calcium_magnesium_ratio"]
            else "-",
            target=num(diet["ratio_target"], 0),
        ),
    ]
    if diet["water_magnesium_mg_per_day"]:
        lines.append(
            t("of which drinking water: {mg} mg/day", mg=num(diet["water_magnesium_mg_per_day"], 0))
        )
    lines += [_cited(n) for n in diet["notes"]]
    lines += [_cited(f) for f in advice]
    if diet["unresolved"]:
        lines.append(
            t("Foods not recognised (not counted): {names}", names=", ".join(diet["unresolved"]))
        )
    name_key = "name_nl" if t.lang == "nl" else "name_en"
    rows = [
        [
            f[name_key],
            num(f["grams_per_day"], 0) + " g",
            num(f["magnesium_mg_per_day"], 0) + " mg",
            f["source"],
        ]
        for f in diet["top"]
    ]
    return Section(
        t("Diet"), lines, headers=[t("Top sources"), t("Per day"), "Mg", t("Source")], rows=rows
    )


def to_markdown(parts: list[Section]) -> str:
    lines: list[str] = []
    for index, part in enumerate(parts):
        lines.append(
            ("# " if index == 0 else "## ") + (f"⚠ {part.title}" if part.alert else part.title)
        )
        lines.append("")
        if part.alert:
            lines += [f"> **{line}**" for line in part.lines]
        else:
            lines += [f"- {line}" if index else line for line in part.lines]
        if part.rows:
            lines.append("| " + " | ".join(part.headers) + " |")
            lines.append("|" + "---|" * len(part.headers))
            lines += [
                "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                for row in part.rows
            ]
        lines.append("")
    return "\n".join(lines)


def to_console(parts: list[Section], width: int | None = None) -> Any:
    """A Rich renderable of the report."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.rule import Rule
    from rich.table import Table
    from rich.text import Text

    items: list[Any] = []
    for part in parts:
        if part.alert:
            items.append(
                Panel(Text("\n".join(part.lines)), title=part.title, border_style="red bold")
            )
            continue
        items.append(Rule(part.title, align="left"))
        for line in part.lines:
            items.append(Text(line))
        if part.rows:
            table = Table(*part.headers, show_lines=False)
            for row in part.rows:
                table.add_row(*row)
            items.append(table)
    return Group(*items)
