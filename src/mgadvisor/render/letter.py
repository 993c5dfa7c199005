"""The referral letter to the GP, and the printable practitioner report: sections of text,
written out as a page, a PDF (the same template) and plain text.

The letter holds what a GP needs to act on the referral: the reasons with their urgency and
sources, the lab values with the range used, the medicines (as the client named them and as
recognised), the products taken now and what was advised about magnesium. Names and the note
come from the practitioner (`Extras`), never from the intake.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from mgadvisor.i18n import N_, Translator
from mgadvisor.render.bounds import lab_value
from mgadvisor.render.handout import Extras, date_words
from mgadvisor.render.labels import LAB_FLAG, STATUS, URGENCY, hold_reason
from mgadvisor.render.report import Section, sections

SEX = {"female": N_("woman"), "male": N_("man")}


def _person(person: dict[str, Any], t: Translator) -> str:
    sex = SEX.get(str(person.get("sex")))
    age = person.get("age")
    parts = [t("{age} years", age=t.num(float(age), 0)) if age is not None else ""]
    parts.append(t(sex) if sex else "")
    return ", ".join(p for p in parts if p)


def _cited(item: dict[str, Any]) -> str:
    keys = item.get("sources") or []
    return f"{item['text']} [{', '.join(keys)}]" if keys else str(item["text"])


def _lab_rows(document: dict[str, Any], t: Translator) -> list[list[str]]:
    rows = []
    for row in document.get("lab_results") or []:
        low, high = row.get("range_low"), row.get("range_high")
        span = "-"
        if low is not None or high is not None:
            low_text = t.num(low, 2) if low is not None else ""
            high_text = t.num(high, 2) if high is not None else ""
            span = f"{low_text}–{high_text} {row['unit_canonical']}"
        flag = LAB_FLAG.get(row.get("flag") or "")
        value = lab_value(row, t)  # "<0.5 mmol/L" for a bound
        rows.append([row["name"], value, span, t(flag) if flag else "-"])
    return rows


def _medicines(document: dict[str, Any], t: Translator) -> list[str]:
    out = []
    for med in document.get("medications") or []:
        if med.get("resolved"):
            out.append(f"{med['input']} ({med['name']}, ATC {med['atc']})")
        else:
            unknown = t("not recognised")
            out.append(f"{med['input']} ({unknown})")
    return out


def _products(document: dict[str, Any], t: Translator) -> list[str]:
    return [
        t(
            "{name}: {per_day} mg magnesium a day",
            name=p.get("name") or p.get("compound") or "-",
            per_day=t.num(p["elemental_mg_per_day"], 0),
        )
        for p in document["dose"].get("products") or []
    ]


def _cited_keys(document: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for finding in [*document["referral"]["reasons"], *(document.get("actions") or [])]:
        keys.update(finding.get("sources") or [])
    return keys


def letter(
    document: dict[str, Any], person: dict[str, Any], extras: Extras, t: Translator
) -> list[Section]:
    """The referral letter as sections: the header, the reasons under their urgency, labs,
    medicines and products, what was advised about magnesium, the sources, the signature."""
    referral = document["referral"]
    urgency = URGENCY[referral.get("urgency") or "routine"]
    client = extras.client or t("my client")
    header = [
        t("To: {gp}", gp=extras.gp or t("the general practitioner")),
        t("From: {practitioner}", practitioner=extras.practitioner or "-"),
        t("Date: {date}", date=date_words(date.fromisoformat(document["as_of"]), t.lang)),
        t("Concerning: {client}, {person}", client=client, person=_person(person, t)),
        "",
        t("Dear colleague,"),
        t("I refer {client} to you for the reasons below.", client=client)
        if referral.get("needed")
        else t("I am writing to you about {client}; no referral is needed.", client=client),
    ]
    out = [Section(t("Referral letter to the GP"), header)]
    if referral.get("needed"):
        reasons = [_cited(r) for r in referral["reasons"]]
        out.append(Section(t(urgency), reasons, alert=True))
    if document.get("actions"):
        out.append(Section(t("Done now"), [_cited(a) for a in document["actions"]]))
    rows = _lab_rows(document, t)
    headers = [t("Lab value"), t("Result"), t("Range"), t("Reading")]
    out.append(
        Section(
            t("Lab values"),
            [] if rows else [t("No lab values given.")],
            headers=headers if rows else [],
            rows=rows,
        )
    )
    out.append(Section(t("Medicines"), _medicines(document, t) or [t("No medicines given.")]))
    products = _products(document, t)
    if products:
        out.append(Section(t("Products with magnesium taken now"), products))
    dose = document["dose"]
    held = hold_reason(document)
    advised = (
        t("Magnesium: {status}. {why}", status=t(STATUS[dose["status"]]), why=held)
        if held
        else t(
            "Magnesium: {status}; {mg} mg elemental magnesium a day.",
            status=t(STATUS[dose["status"]]),
            mg=t.num(dose["elemental_mg_per_day"], 0),
        )
    )
    out.append(Section(t("What I advised about magnesium"), [advised]))
    if extras.note:
        out.append(Section(t("Note"), [extras.note]))
    keys = _cited_keys(document)
    refs = [f"[{r['key']}] {r['apa']}" for r in document["references"] if r["key"] in keys]
    if refs:
        out.append(Section(t("Sources"), refs))
    closing = [t("Kind regards,"), extras.practitioner or ""]
    out.append(Section("", [line for line in closing if line]))
    return out


def report(document: dict[str, Any], extras: Extras, t: Translator) -> list[Section]:
    """The practitioner report with every reason written out: the client and the date in
    words first, then the report the CLI prints (`render.report.sections`)."""
    parts = sections(document, t, explain=False)
    head = [t("Date: {date}", date=date_words(date.fromisoformat(document["as_of"]), t.lang))]
    if extras.client:
        head.insert(0, t("Client: {client}", client=extras.client))
    if extras.practitioner:
        head.append(t("Practitioner: {practitioner}", practitioner=extras.practitioner))
    parts[0] = Section(t("Practitioner report"), head + parts[0].lines)
    if extras.note:
        parts.insert(1, Section(t("Note"), [extras.note]))
    return parts


def to_text(parts: list[Section]) -> str:
    """Plain text: a title underlined, lines, table rows with their cells apart."""
    lines: list[str] = []
    for index, part in enumerate(parts):
        if part.title:
            title = part.title.upper() if part.alert else part.title
            lines += [title, ("=" if index == 0 else "-") * len(title)]
        lines += part.lines
        if part.rows:
            widths = [
                max(len(row[i]) for row in [part.headers, *part.rows])
                for i in range(len(part.headers))
            ]
            for row in [part.headers, *part.rows]:
                lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
