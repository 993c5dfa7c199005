"""The client handout: the advice document in plain words for the client, not the clinician.

Everything the handout says about magnesium comes from one place, `take_plan`: the product and
its units, the amount per intake and per day, and the times. "What to take" and "When" are two
views of the same plan, so they cannot disagree (issue 12, defect 1). The sentences are the
interface catalog's (nl/en), written at language level B1 (docs/handout-language.md): no
"eGFR", "suppleren" or "24-uursurine"; the client's medicines by the names they gave.

    handout(document, extras, t)
     ├── take_plan(document)        one plan: product, units and mg per intake and per day
     ├── first lines                see a doctor now / today / soon; stop a product
     ├── medicines                  gaps by the client's own medicine names
     └── good to know, follow-up    plain sentences; the practitioner's own note
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from mgadvisor.i18n import N_, Translator

# What the client reads first when a doctor is needed, by urgency.
DOCTOR_FIRST = {
    "emergency": N_("Get medical help now: call 112 or the GP out-of-hours service."),
    "same_day": N_("Call your GP today."),
    "routine": N_("Make an appointment with your GP. Take this sheet and the letter with you."),
}
MEAL = {
    "empty_stomach_preferred": N_("Best on an empty stomach; with a meal is fine too."),
    "with_meal": N_("Take it with a meal."),
    "any": N_("With or without a meal, as you like."),
}
# Moments of the day in words.
MOMENT = {
    "morning": N_("in the morning"),
    "midday": N_("at midday"),
    "evening": N_("in the evening"),
    "bedtime": N_("at bedtime"),
}


@dataclass(frozen=True, slots=True)
class Intake:
    """One moment of the day: when, how many units of the client's product (None when the
    advice is in mg of a compound) and how much magnesium."""

    time: str
    moment: str
    units: int | None
    mg: float


@dataclass(frozen=True, slots=True)
class TakePlan:
    """What the client takes, per day and per intake, from the dose of the advice."""

    product: str  # the client's product name, else the compound's name
    own_product: bool
    units_per_day: int | None
    mg_per_day: float
    intakes: list[Intake]
    meal: str


def take_plan(document: dict[str, Any]) -> TakePlan | None:
    """The one plan both "What to take" and "When" are written from; None without a dose.

    With the client's own product the day's units are spread over the intakes in whole units
    (the first intakes take one more when they do not divide evenly), and each intake's
    magnesium is its units times the product's magnesium per unit, so the intakes add up to
    exactly the day's units and magnesium.
    """
    dose = document["dose"]
    moments = dose.get("intakes") or []
    if dose["elemental_mg_per_day"] <= 0 or not moments:
        return None
    own = dose.get("product")
    units = own.get("advised_units_per_day") if own else None
    meal = str(moments[0].get("meal") or "any")
    if own and units:
        per_unit = float(own["elemental_mg_per_unit"])
        base, extra = divmod(int(units), len(moments))
        split = [base + (1 if i < extra else 0) for i in range(len(moments))]
        intakes = [
            Intake(m["time"], m["moment"], n, round(n * per_unit, 1))
            for m, n in zip(moments, split, strict=True)
            if n > 0
        ]
        name = own.get("name") or _compound_name(document, own.get("compound"))
        return TakePlan(name, True, int(units), round(units * per_unit, 1), intakes, meal)
    name = _compound_name(document, moments[0].get("compound"))
    intakes = [Intake(m["time"], m["moment"], None, float(m["elemental_mg"])) for m in moments]
    return TakePlan(name, False, None, float(dose["elemental_mg_per_day"]), intakes, meal)


def _compound_name(document: dict[str, Any], code: str | None) -> str:
    for row in document.get("schedule") or []:
        if row.get("kind") == "magnesium" and (code is None or row.get("label") == code):
            return str(row["name"])
    for compound in document.get("compounds") or []:
        if code is None or compound.get("code") == code:
            return str(compound["name"])
    return code or "magnesium"


def date_words(day: date, lang: str) -> str:
    """A date as words: "1 maart 2026", "1 March 2026"."""
    from babel.dates import format_date

    return str(format_date(day, "d MMMM y", locale="nl_NL" if lang == "nl" else "en_GB"))


@dataclass
class Extras:
    """What the practitioner adds to a document: names, the next appointment, a note.
    Never part of the intake (the intake file holds no names)."""

    client: str = ""
    practitioner: str = ""
    gp: str = ""
    follow_up: date | None = None
    note: str = ""


@dataclass
class Handout:
    title: str
    date: str
    client: str
    practitioner: str
    first: list[str] = field(default_factory=list)
    take: list[str] = field(default_factory=list)
    when: list[str] = field(default_factory=list)
    medicines: list[str] = field(default_factory=list)
    good_to_know: list[str] = field(default_factory=list)
    follow_up: list[str] = field(default_factory=list)
    note: str = ""
    plan: TakePlan | None = None


def _units(t: Translator, n: int, name: str) -> str:
    return (
        t("{n} tablet of {product}", n=n, product=name)
        if n == 1
        else t("{n} tablets of {product}", n=n, product=name)
    )


def _take(plan: TakePlan | None, document: dict[str, Any], t: Translator) -> list[str]:
    if plan is None:
        return [t("No magnesium for now.")]
    mg = t.num(plan.mg_per_day, 0)
    if plan.units_per_day:
        lines = [
            t("Take {units} a day.", units=_units(t, plan.units_per_day, plan.product))
            + " "
            + t("Together that is {mg} mg magnesium a day.", mg=mg)
        ]
    else:
        lines = [t("Take {mg} mg magnesium a day, as {compound}.", mg=mg, compound=plan.product)]
    if len(plan.intakes) > 1:
        lines.append(t("Spread it over {n} moments of the day (see below).", n=len(plan.intakes)))
    if document["dose"].get("current_products_action") == "adjust":
        lines.append(t("This is a different amount from what you take now."))
    if document["dose"]["status"] != "advised":
        lines.append(t("Only start after your doctor has said it is fine."))
    return lines


def _when(plan: TakePlan | None, document: dict[str, Any], t: Translator) -> list[str]:
    if plan is None:
        return []
    rows: list[tuple[str, str]] = []
    for intake in plan.intakes:
        what = (
            _units(t, intake.units, plan.product)
            if intake.units
            else t("{mg} mg magnesium", mg=t.num(intake.mg, 0))
        )
        moment = t(MOMENT[intake.moment]) if intake.moment in MOMENT else ""
        rows.append((intake.time, f"{intake.time} ({moment}): {what}" if moment else what))
    # A medicine's time the advice assumed (none was given) is no instruction for the client.
    assumed = {
        (f["params"].get("medication"), f["params"].get("time"))
        for f in document.get("warnings") or []
        if f["code"] == "schedule.medicine_time_assumed"
    }
    for item in document.get("schedule") or []:
        if (item.get("label"), item.get("time")) in assumed:
            continue
        if item.get("kind") == "medication" and item.get("time"):
            rows.append((str(item["time"]), f"{item['time']}: {item['name']}"))
    return [text for _, text in sorted(rows, key=lambda row: row[0])]


def _medicines(document: dict[str, Any], t: Translator) -> list[str]:
    lines = []
    for hit in document.get("interactions") or []:
        name = hit.get("medication") or hit.get("name")
        before, after = hit.get("medicine_first_h"), hit.get("magnesium_first_h")
        if before is None or after is None:
            continue
        if before == after:
            lines.append(
                t(
                    "Keep at least {h} hours between {medicine} and magnesium.",
                    h=t.num(before, 1),
                    medicine=name,
                )
            )
        else:
            lines.append(
                t(
                    "Take {medicine} at least {before} hours before magnesium. Took magnesium "
                    "first? Then wait {after} hours before you take {medicine}.",
                    medicine=name,
                    before=t.num(before, 1),
                    after=t.num(after, 1),
                )
            )
    return lines


def _good_to_know(plan: TakePlan | None, document: dict[str, Any], t: Translator) -> list[str]:
    dose = document["dose"]
    above = dose.get("exceeds_upper_level") or any(
        p.get("exceeds_upper_level") for p in dose.get("products") or []
    )
    lines = []
    if plan is not None:
        if above:  # above the upper level: the client asks the doctor first
            lines.append(t("This is more than is safe without a doctor. Ask your doctor first."))
        # Loose stools are the first sign of too much magnesium, for every compound.
        lines.append(t("Loose stools or stomach ache? Take less and tell your practitioner."))
    lines.append(
        t(
            "Do you take other things with magnesium, such as a multivitamin or an antacid? "
            "Tell your practitioner: it all adds up."
        )
    )
    return lines


def next_date(document: dict[str, Any], extras: Extras) -> date | None:
    """The next appointment: the practitioner's date, else the advice date plus the weeks of
    the follow-up."""
    if extras.follow_up is not None:
        return extras.follow_up
    weeks = document.get("follow_up_weeks")
    if not weeks:
        return None
    return date.fromisoformat(document["as_of"]) + timedelta(weeks=float(weeks))


def handout(document: dict[str, Any], extras: Extras, t: Translator) -> Handout:
    """The handout of an advice document, in the document's language."""
    plan = take_plan(document)
    out = Handout(
        title=t("Your magnesium advice"),
        date=date_words(date.fromisoformat(document["as_of"]), t.lang),
        client=extras.client,
        practitioner=extras.practitioner,
        note=extras.note,
        plan=plan,
    )
    urgency = document["referral"].get("urgency")
    if document["referral"].get("needed"):
        out.first.append(t(DOCTOR_FIRST.get(urgency or "routine", DOCTOR_FIRST["routine"])))
        out.first.append(t("Your practitioner will tell you why."))
    for action in document.get("actions") or []:
        if action["code"] == "action.stop_products":
            names = ", ".join(action["params"].get("products") or [])
            out.first.append(t("Stop taking these for now: {products}.", products=names))
    out.take = _take(plan, document, t)
    out.when = _when(plan, document, t)
    if plan is not None:
        out.when.append(t(MEAL.get(plan.meal, MEAL["any"])))
    out.medicines = _medicines(document, t)
    out.good_to_know = _good_to_know(plan, document, t)
    weeks = document.get("follow_up_weeks")
    when = next_date(document, extras)
    if weeks:
        out.follow_up.append(t("After {weeks} weeks we look together at how it goes.", weeks=weeks))
    if when is not None:
        out.follow_up.append(t("Your next appointment: {date}.", date=date_words(when, t.lang)))
    return out
