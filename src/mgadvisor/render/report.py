"""The practitioner report: one structure of sections, written out as terminal text or Markdown.

Built from the JSON contract (`contract.advice_dict`), so the terminal, Markdown, and later the
web page and PDF say exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mgadvisor.i18n import Translator
from mgadvisor.render.labels import (
    BASIS_LABELS as BASIS,
)
from mgadvisor.render.labels import (
    MATCH,
    MDS_PARTS,
    RISK_LABELS,
    SEVERITY,
    STATUS,
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
    num = t.num
    out: list[Section] = []
    # Labels looked up first: Babel must not mistake the dictionary keys for message ids.
    level_label = RISK_LABELS[data["risk"]["level"]]
    status_label = STATUS[data["dose"]["status"]]
    exceeded = " — " + t("EXCEEDED") if data["dose"]["exceeds_upper_level"] else ""
    calc, dose = data["calculations"], data["dose"]
    out.append(
        Section(
            t("Magnesium advice"),
            [
                t(
                    "Date {date} · knowledge base {version} · rules {rules} · "
                    "reference values: {authority}",
                    date=data["as_of"],
                    version=data["kb_version"],
                    rules=data["engine_version"],
                    authority=data["authority"],
                ),
            ],
        )
    )
    if data["referral"]["needed"]:
        out.append(
            Section(
                t("Refer to a doctor"), [_cited(r) for r in data["referral"]["reasons"]], alert=True
            )
        )
    risk = data["risk"]
    out.append(
        Section(
            t(
                "Deficiency risk: {level} (score {score})",
                level=t(level_label),
                score=risk["score"],
            ),
            [f"+{f['points']}  {_cited(f)}" for f in risk["factors"]]
            or [t("No risk factors found.")],
        )
    )
    numbers = []
    if calc["egfr"] is not None:
        how = t("given") if calc["egfr_source"] == "given" else "CKD-EPI 2021"
        numbers.append(
            t(
                "eGFR {egfr} mL/min/1.73 m² ({how}), KDIGO {stage}",
                egfr=num(calc["egfr"], 0),
                how=how,
                stage=calc["ckd_stage"],
            )
        )
    parts = ", ".join(f"{t(MDS_PARTS[k])} {v}" for k, v in calc["mds_components"].items()) or "-"
    numbers.append(
        t("Magnesium Depletion Score {mds} of 5 ({parts})", mds=calc["mds"], parts=parts)
    )
    out.append(Section(t("Labs and calculations"), numbers + [_cited(f) for f in data["labs"]]))
    out.append(
        Section(
            t("Compounds"),
            [
                f"{c['rank']}. {c['name']} ({num(c['elemental_mg_percent'], 1)} % Mg): "
                + "; ".join(_cited(r) for r in c["reasons"])
                for c in data["compounds"]
            ]
            or [t("No compound: see the referral.")],
        )
    )
    dose_lines = [
        t(
            "{mg} mg elemental magnesium a day — {status}",
            mg=num(dose["elemental_mg_per_day"], 0),
            status=t(status_label),
        ),
        t(
            "Reference intake {ri} mg/day; upper level for supplements {ul} mg/day{flag}",
            ri=num(dose["reference_intake_mg"], 0) if dose["reference_intake_mg"] else "-",
            ul=num(dose["upper_level_mg"], 0) if dose["upper_level_mg"] else "-",
            flag=exceeded,
        ),
    ]
    dose_lines += [_cited(b) for b in dose["basis"]]
    product = dose.get("product")
    if product:
        basis_label = BASIS[product["basis"]]
        dose_lines.append(
            t(
                "Current product: {units} × {amount} mg ({basis}) = {per_day} mg elemental a day",
                units=product["units_per_day"],
                amount=num(product["amount_mg"], 0),
                basis=t(basis_label),
                per_day=num(product["elemental_mg_per_day"], 0),
            )
        )
    out.append(Section(t("Dose"), dose_lines))
    meal = {
        "empty_stomach_preferred": t("preferably on an empty stomach; with a meal is fine"),
        "with_meal": t("with a meal"),
        "any": "-",
    }
    rows = []
    for item in data["schedule"]:
        if item["kind"] == "magnesium":
            intake = next((i for i in dose["intakes"] if i["time"] == item["time"]), None)
            rows.append(
                [
                    item["time"],
                    item["name"],
                    f"{num(item['elemental_mg'], 0)} mg",
                    meal[intake["meal"]] if intake else "-",
                ]
            )
        else:
            rows.append([item["time"], item["name"], "", t("medicine")])
    out.append(
        Section(
            t("Day schedule"), headers=[t("Time"), t("What"), t("Amount"), t("Note")], rows=rows
        )
    )
    if data["interactions"]:
        out.append(
            Section(
                t("Interactions"),
                headers=[t("Medicine"), "ATC", t("Rule"), t("Severity")],
                rows=[
                    [
                        i["name"] or i["medication"],
                        i["atc"],
                        f"{i['rule']} [{', '.join(i['sources'])}]",
                        t(severity_of(i)),
                    ]
                    for i in data["interactions"]
                ],
            )
        )
    if data["medications"]:
        out.append(
            Section(
                t("Medicines recognised"),
                [
                    f"{m['input']} → {m['name']} ({m['atc']}, " + t(match_of(m)) + ")"
                    if m["resolved"]
                    else f"{m['input']} → " + t("not recognised")
                    for m in data["medications"]
                ],
            )
        )
    for key, title in (
        ("diet", t("Diet")),
        ("warnings", t("Warnings")),
        ("synergy", t("What helps")),
        ("follow_up", t("Follow-up")),
    ):
        if key == "diet":
            if data["diet"]:
                out.append(diet_section(data["diet"], data["food_advice"], t))
        elif data[key]:
            out.append(Section(title, [_cited(f) for f in data[key]]))
    if explain:
        out.append(
            Section(
                t("Why: the rules that fired"),
                [
                    f"{s['rule']}: {s['result']}  {s['facts']} [{', '.join(s['sources'])}]"
                    for s in data["trace"]
                ],
            )
        )
    out.append(Section(t("References"), [f"[{r['key']}] {r['apa']}" for r in data["references"]]))
    return out


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
