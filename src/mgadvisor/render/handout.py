"""The client handout: the advice document in plain words for the client, not the clinician.

Everything the handout says about magnesium comes from one place, `take_plan`: the product and
its units, the amount per intake and per day, and the times. "What to take" and "When" are two
views of the same plan, so they cannot disagree (issue 12, defect 1). The sentences are the
interface catalog's (nl/en), written at language level B1 (docs/handout-language.md): no
"eGFR", "suppleren" or "24-uursurine"; the client's medicines and products by the names they
gave; for a young child the handout speaks to the parent.

    handout(document, extras, t, person, urgency_of)
     ├── take_plan(document)        one plan: product, units and mg per intake and per day
     ├── first lines                stop a product; a doctor now / today / soon, and why
     ├── what to take               the products taken now (continue / adjust / stop) and the
     │                              plan: tablets of the client's product, else what to read
     │                              on the label
     ├── medicines                  gaps by the client's own medicine names
     ├── good to know, worse        plain sentences; what to do when it gets worse
     └── come back                  the practitioner's date, else "in about N weeks"

Medical statements come from the advice: its referral reasons (their own texts, or a sentence
per urgency where a text holds words for clinicians), its actions and its dose. The handout
adds how to say it, not what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from mgadvisor.i18n import N_, Translator
from mgadvisor.render.labels import HELD_FOR_MEDICINE, hold_finding

# Under 12 the parents decide on a child's care (Dutch WGBO), so the handout speaks to them.
PARENT_READS_BELOW_AGE = 12

# The heading of the first section, by how soon a doctor is needed.
FIRST_HEADING = {
    "emergency": N_("Call now"),
    "same_day": N_("Today"),
    "routine": N_("First this"),
}
# Who to call, in the order of the advice's actions: in pregnancy the midwife first.
DOCTOR_FIRST = {
    "emergency": N_("Get medical help now: call 112 or go to the emergency department."),
    "same_day": N_("Call your GP today."),
    "routine": N_("Make an appointment with your GP."),
}
DOCTOR_FIRST_PREGNANT = {
    "emergency": N_(
        "Call your midwife now. If you cannot reach your midwife, call your hospital. If you feel "
        "very ill, call 112."
    ),
    "same_day": N_("Call your midwife or your GP today."),
    "routine": N_("Make an appointment with your GP or midwife."),
}
# Why, when a reason's own text is written for clinicians (the reason itself is in the letter).
WHY_BY_URGENCY = {
    "emergency": N_("Your therapist found signs that a doctor must check now."),
    "same_day": N_("Your therapist found something that a doctor must check today."),
    "routine": N_("Your therapist found something that your GP should look at."),
}
# Words for clinicians: a reason that holds one is not shown to the client as it is.
CLINICAL_WORDS = (
    "egfr",
    "suppleren",
    "suppletie",
    "supplement only",
    "gecontra-indiceerd",
    "contraindicated",
    "verwijs naar",
    "refer to",
    "24-uursurine",
    "elementair",
    "elemental",
    "geïoniseerd",
    "ionised",
)
# Getting worse: one step up from the referral's urgency; one first choice, 112 only when very ill.
WORSE = {
    None: N_("If you feel worse or get new symptoms, call your GP."),
    "routine": N_("If you feel worse before you have seen your GP, call your GP at once."),
    "same_day": N_(
        "If you feel worse before your GP has seen you, call your GP at once, or in the evening "
        "and at the weekend the out-of-hours GP. If you feel very ill, call 112."
    ),
    "emergency": N_("If you feel worse while you wait, call 112."),
}
WORSE_CHILD = {
    None: N_("If your child feels worse or gets new symptoms, call your GP."),
    "routine": N_("If your child feels worse before your GP has seen them, call your GP at once."),
    "same_day": N_(
        "If your child feels worse before your GP has seen them, call your GP at once, or in the "
        "evening and at the weekend the out-of-hours GP. If your child is very ill, call 112."
    ),
    "emergency": N_("If your child gets worse while you wait, call 112."),
}
# After the warning signs of the knowledge base ("Watch for these signs: ...").
WORSE_SIGNS = {
    "routine": N_("If you notice one of these signs, call your GP at once."),
    "same_day": N_(
        "If you notice one of these signs, call your GP at once, or in the evening and at the "
        "weekend the out-of-hours GP. If you feel very ill, call 112."
    ),
    "emergency": N_("If you notice one of these signs, call 112 at once."),
}
MEAL = {
    "empty_stomach_preferred": N_(
        "It is best on an empty stomach. Taking it with a meal is also fine."
    ),
    "with_meal": N_("Take it with a meal."),
    "any": N_("With or without a meal, as you like."),
}
MEAL_CHILD = {
    "empty_stomach_preferred": N_(
        "It is best on an empty stomach. Giving it with a meal is also fine."
    ),
    "with_meal": N_("Give it with a meal."),
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
class ClientTexts:
    """A referral reason in plain words for the client and the warning signs to watch for
    (the knowledge base's `client` and `client_signs` texts of the referral message)."""

    why: str
    signs: str = ""
    # the reason belongs with the specialist team that gives a medicine, not with the GP
    # (the message's `seen_by: specialist`)
    specialist: bool = False


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
    for_parent: bool = False
    first_heading: str = ""
    first: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)
    signs: list[str] = field(default_factory=list)
    take_heading: str = ""
    take: list[str] = field(default_factory=list)
    when: list[str] = field(default_factory=list)
    meal: str = ""
    medicines: list[str] = field(default_factory=list)
    good_to_know: list[str] = field(default_factory=list)
    worse: str = ""
    follow_up: list[str] = field(default_factory=list)
    note: str = ""
    footer: list[str] = field(default_factory=list)
    plan: TakePlan | None = None


class _Say:
    """The handout's voice: to the client, or to the parent of a young child."""

    def __init__(self, t: Translator, parent: bool) -> None:
        self.t = t
        self.parent = parent

    def __call__(self, adult: str, child: str, **params: object) -> str:
        return self.t(child if self.parent else adult, **params)


def _units(t: Translator, n: int, name: str) -> str:
    return (
        t("{n} tablet of {product}", n=n, product=name)
        if n == 1
        else t("{n} tablets of {product}", n=n, product=name)
    )


def _count(t: Translator, n: int) -> str:
    return t("1 tablet") if n == 1 else t("{n} tablets", n=n)


def _names(names: list[str], t: Translator) -> str:
    """Names in a sentence: "A", "A and B", "A, B and C"."""
    if len(names) < 2:
        return "".join(names)
    return t("{first} and {last}", first=", ".join(names[:-1]), last=names[-1])


def _lower_first(name: str) -> str:
    """A compound's name inside a sentence: "magnesiumcitraat", not "Magnesiumcitraat"."""
    return name[:1].lower() + name[1:]


def _product_name(product: dict[str, Any]) -> str:
    return str(product.get("name") or product.get("compound") or "magnesium")


def _replaced(own: dict[str, Any] | None, plan: TakePlan | None) -> bool:
    """Whether the client's own magnesium product gives way to the plan's compound (none of its
    whole tablets a day makes the dose)."""
    if not own or plan is None or plan.own_product:
        return False
    return bool(own.get("advised_units_per_day") == 0)


PAUSE_ACTIONS = "action.pause_products"  # the codes of a plan on hold pausing the products
MAGNESIUM_MEDICINE_NOTES = "warning.magnesium_medicine"  # a medicine that is magnesium


def _on_hold(held: dict[str, Any] | None, say: _Say) -> list[str]:
    """Why the plan waits (`hold_finding`), in the client's words."""
    if held is None:
        return []
    if held["code"] == HELD_FOR_MEDICINE:
        medicines = [str(m) for m in held["params"].get("medications") or []]
        return [
            say(
                N_(
                    "There is magnesium in {medicines} too. Do not change how you take it "
                    "on your own. Tell your therapist how much of it you take."
                ),
                N_(
                    "There is magnesium in {medicines} too. Do not change how your child "
                    "takes it on your own. Tell your therapist how much of it your child "
                    "gets."
                ),
                medicines=_names(medicines, say.t),
            )
        ]
    return [
        say(
            N_(
                "Your medicines leave no good time of day for magnesium. Ask your pharmacist "
                "when you can take it."
            ),
            N_(
                "Your child's medicines leave no good time of day for magnesium. Ask your "
                "pharmacist when your child can have it."
            ),
        )
    ]


def _other_products(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The products taken now besides the one the dose is given in (with no dose, every
    product: none gives way to a plan)."""
    own = document["dose"].get("product")
    if not document["dose"]["elemental_mg_per_day"] or not document["dose"].get("intakes"):
        own = None
    own_name = own.get("name") if own else None
    return [
        p
        for p in document["dose"].get("products") or []
        if not (own and p.get("advised_units_per_day") is not None and p.get("name") == own_name)
    ]


def _first(
    document: dict[str, Any],
    say: _Say,
    pregnant: bool,
    urgency_of: Callable[[str], str | None] | None,
    client_of: Callable[[dict[str, Any]], ClientTexts | None] | None = None,
) -> tuple[str, list[str], list[str], list[str], bool]:
    """The heading, the lines and the reasons of the first section: stop a product, which
    doctor how soon, why; and whether only a specialist team decides (a medicine it gives:
    then no GP lines, and the plan waits for that team)."""
    t = say.t
    lines: list[str] = []
    for action in document.get("actions") or []:
        if action["code"] == "action.stop_products":
            names = _names([str(n) for n in action["params"].get("products") or []], t)
            lines.append(
                say(
                    N_("Stop taking {products} today. Only start again when your GP says so."),
                    N_(
                        "Stop giving {products} to your child today. Only start again when your GP "
                        "says so."
                    ),
                    products=names,
                )
            )
            lines.append(
                say(
                    N_(
                        "Also stop other products that contain magnesium. For example a "
                        "multivitamin, or a medicine for heartburn or constipation. If you are not "
                        "sure, ask your pharmacist."
                    ),
                    N_(
                        "Also stop other products with magnesium for your child. For example a "
                        "multivitamin, or a medicine for heartburn or constipation. If you are not "
                        "sure, ask your pharmacist."
                    ),
                )
            )
    referral = document["referral"]
    if not referral.get("needed"):
        return (t(FIRST_HEADING["routine"]) if lines else ""), lines, [], [], False
    urgency = referral.get("urgency") or "routine"
    doctors = DOCTOR_FIRST_PREGNANT if pregnant else DOCTOR_FIRST
    before = len(lines)
    lines.append(t(doctors.get(urgency, doctors["routine"])))
    if urgency == "routine":
        lines.append(
            say(
                N_(
                    "Your therapist gives you a letter for your GP. Take that letter and this "
                    "sheet with you."
                ),
                N_(
                    "Your therapist gives you a letter for your GP. Take that letter and this "
                    "sheet with you."
                ),
            )
        )
    else:
        lines.append(
            say(
                N_("Take this sheet with you. Say which vitamins and medicines you take."),
                N_("Take this sheet with you. Say which vitamins and medicines your child takes."),
            )
        )
    doctor_lines = lines[before:]
    why: list[str] = []
    signs: list[str] = []
    medicines: list[str] = []
    specialists: list[str] = []  # medicines whose team decides, not the GP
    shown = by_team = 0
    for reason in referral.get("reasons") or []:
        if urgency_of is not None and urgency_of(reason["code"]) not in (None, urgency):
            continue  # the most urgent reasons; the others are in the letter for the GP
        shown += 1
        texts = client_of(reason) if client_of is not None else None
        medicine = (reason.get("params") or {}).get("medication")
        team = texts is not None and texts.specialist and bool(medicine)
        by_team += team
        if team and str(medicine) not in specialists:
            specialists.append(str(medicine))
        # The knowledge base's plain words for the client (they speak to the client, so a
        # parent reads the reason's own text or the sentence per urgency).
        client = texts if not say.parent else None
        text = client.why if client is not None else str(reason.get("text") or "")
        if not text or any(word in text.lower() for word in CLINICAL_WORDS):
            text = t(WHY_BY_URGENCY.get(urgency, WHY_BY_URGENCY["routine"]))
        if text not in why:
            why.append(text)
        if client is not None and client.signs and client.signs not in signs:
            signs.append(client.signs)
        if medicine and not team and str(medicine) not in medicines:
            medicines.append(str(medicine))  # a team's medicine is not the client's to stop
    # A reason about a medicine: the client may stop it on their own after reading "Why?".
    for medicine in medicines:
        lines.append(
            say(
                N_("Do not stop {medicine} on your own. Talk to your GP first."),
                N_("Do not stop your child's {medicine} on your own. Talk to your GP first."),
                medicine=medicine,
            )
        )
    if specialists:
        ask = say(
            N_(
                "Ask the team that gives you {medicines} whether you may take magnesium, and how "
                "much. That team can measure the magnesium in your blood. Take this sheet with you."
            ),
            N_(
                "Ask the team that gives your child {medicines} whether your child may have "
                "magnesium, and how much. That team can measure the magnesium in your child's "
                "blood. Take this sheet with you."
            ),
            medicines=_names(specialists, t),
        )
        if by_team == shown:  # only the specialist team: no GP lines
            lines = [line for line in lines if line not in doctor_lines]
        lines.append(ask)
    heading = t(FIRST_HEADING.get(urgency, FIRST_HEADING["routine"]))
    return heading, lines, why, signs, bool(specialists) and by_team == shown


def _current(document: dict[str, Any], plan: TakePlan | None, say: _Say) -> list[str]:
    """What to do with the products taken now, by the advice's `current_products_action`."""
    t = say.t
    dose = document["dose"]
    action = dose.get("current_products_action")
    lines: list[str] = []
    own = dose.get("product")
    if action == "adjust" and own and plan is not None and plan.own_product:
        lines.append(
            say(
                N_("Until now you took {before} a day. From now on, take {after} a day."),
                N_("Until now your child had {before} a day. From now on, give {after} a day."),
                before=_units(t, int(own["units_per_day"]), plan.product),
                after=_units(t, int(plan.units_per_day or 0), plan.product),
            )
            + " "
            + t("That is {mg} mg of magnesium a day in total.", mg=t.num(plan.mg_per_day, 0))
        )
    if _replaced(own, plan):  # its tablets do not make the dose: the plan's compound instead
        lines.append(
            say(
                N_("Stop taking {product}. Take the magnesium below instead."),
                N_("Stop giving your child {product}. Give the magnesium below instead."),
                product=_product_name(own),
            )
        )
    others = _other_products(document)
    if not others or action == "stop":
        return lines
    upper = dose.get("upper_level_mg")
    with_plan = sum(float(p["elemental_mg_per_day"]) for p in others) + (
        plan.mg_per_day if plan is not None and not plan.own_product else 0.0
    )
    within = upper is not None and with_plan <= float(upper) + 0.5  # the plan made room for them
    if action == "adjust" and not (own and plan is not None and plan.own_product) and not within:
        adjust = next(
            (a for a in document.get("actions") or [] if a["code"] == "action.adjust_products"),
            None,
        )
        if adjust is not None:
            lines.append(
                say(
                    N_(
                        "Take less of {products}: together no more than {mg} mg of magnesium a "
                        "day. Your therapist tells you how."
                    ),
                    N_(
                        "Give your child less of {products}: together no more than {mg} mg of "
                        "magnesium a day. Your therapist tells you how."
                    ),
                    products=_names([_product_name(p) for p in others], t),
                    mg=t.num(float(adjust["params"]["advised"]), 0),
                )
            )
            return lines
    for product in others:
        lines.append(
            say(
                N_(
                    "Keep taking {units} a day, as you do now. Each tablet contains {mg} mg of "
                    "magnesium."
                ),
                N_(
                    "Keep giving your child {units} a day, as you do now. Each tablet contains "
                    "{mg} mg of magnesium."
                ),
                units=_units(t, int(product["units_per_day"]), _product_name(product)),
                mg=t.num(
                    float(product["elemental_mg_per_day"]) / max(int(product["units_per_day"]), 1),
                    0,
                ),
            )
        )
    return lines


def _take(
    plan: TakePlan | None, document: dict[str, Any], say: _Say, team: bool = False
) -> list[str]:
    t = say.t
    dose = document["dose"]
    current = _current(document, plan, say)
    others = _other_products(document)
    if plan is None:
        finding = hold_finding(document)
        held = _on_hold(finding, say)
        paused = [a for a in document.get("actions") or [] if a["code"].startswith(PAUSE_ACTIONS)]
        medicine = finding is not None and finding["code"] == HELD_FOR_MEDICINE
        if paused or medicine:  # the products wait with the plan; the medicines stay as they are
            lines = list(held)
            if paused:
                products = [str(p) for p in paused[0]["params"].get("products") or []]
                lines.append(
                    say(
                        N_(
                            "Stop taking {products} for now. Your therapist tells you when you "
                            "can start again."
                        ),
                        N_(
                            "Stop giving your child {products} for now. Your therapist tells you "
                            "when you can start again."
                        ),
                        products=_names(products, t),
                    )
                )
            no_other = say(
                N_("Take no other magnesium for now."),
                N_("Give your child no other magnesium for now."),
            )
            return [*lines, no_other]
        if others and dose.get("current_products_action") != "stop":
            extra = say(
                N_("Take no extra magnesium on top of this."),
                N_("Give your child no extra magnesium on top of this."),
            )
            return [*held, *current, extra]
        return [
            *held,
            say(
                N_("Do not take any magnesium for now."),
                N_("Do not give your child any magnesium for now."),
            ),
        ]
    mg = t.num(plan.mg_per_day, 0)
    lines = list(current)
    waits = dose["status"] != "advised"
    if waits and team:  # the plan waits for the specialist team (a medicine it gives)
        lines.insert(
            0,
            say(
                N_(
                    "Do not take magnesium yet. Wait until that team says it is fine. If the team "
                    "says yes, start as below."
                ),
                N_(
                    "Do not give your child magnesium yet. Wait until that team says it is fine. "
                    "If the team says yes, start as below."
                ),
            ),
        )
    elif waits:  # the plan waits for the GP: say so before the dose
        lines.insert(
            0,
            say(
                N_(
                    "Do not take magnesium yet. Wait until your GP says it is fine. If your GP "
                    "says yes, start as below."
                ),
                N_(
                    "Do not give your child magnesium yet. Wait until your GP says it is fine. If "
                    "your GP says yes, start as below."
                ),
            ),
        )
    adjusted = dose.get("current_products_action") == "adjust" and bool(dose.get("product"))
    if plan.units_per_day and not adjusted:  # else the line "You took ..., now ..." says it
        lines.append(
            say(
                N_("Take {units} every day."),
                N_("Give your child {units} every day."),
                units=_units(t, plan.units_per_day, plan.product),
            )
            + " "
            + t("That is {mg} mg of magnesium a day in total.", mg=mg)
        )
    elif not plan.units_per_day:
        compound = _lower_first(plan.product)
        if others:
            lines.append(
                say(
                    N_(
                        "Also take an extra {mg} mg of magnesium every day. Use {compound} for "
                        "this."
                    ),
                    N_(
                        "Also give your child an extra {mg} mg of magnesium every day. Use "
                        "{compound} for this."
                    ),
                    mg=mg,
                    compound=compound,
                )
            )
        else:
            lines.append(
                say(
                    N_("Take {mg} mg of magnesium every day. Use {compound} for this."),
                    N_("Give your child {mg} mg of magnesium every day. Use {compound} for this."),
                    mg=mg,
                    compound=compound,
                )
            )
        # The advice is in mg of magnesium, a label gives the salt or the magnesium: say which.
        lines.append(
            t(
                "The label says how much magnesium is in 1 tablet. Look at the number for "
                "'magnesium'. The number for '{compound}' is higher. That is not the one you need.",
                compound=compound,
            )
        )
        lines.append(
            say(
                N_(
                    "Take enough tablets to make {mg} mg of magnesium a day. If you are not sure, "
                    "ask your therapist or your pharmacist."
                ),
                N_(
                    "Give enough tablets to make {mg} mg of magnesium a day. If you are not sure, "
                    "ask your therapist or your pharmacist."
                ),
                mg=mg,
            )
        )
    upper = dose.get("upper_level_mg")
    total = plan.mg_per_day + sum(float(p["elemental_mg_per_day"]) for p in others)
    if others:
        lines.append(t("Together that is {mg} mg of magnesium a day.", mg=t.num(total, 0)))
    if upper and total >= float(upper) - 0.5:  # at the upper level of the advice
        lines.append(say(N_("Take no more than this."), N_("Give your child no more than this.")))
    if len(plan.intakes) > 1:
        lines.append(t("Spread it over {n} moments of the day (see below).", n=len(plan.intakes)))
    if waits:
        lines.append(
            say(
                N_("If the team says no, call your therapist."),
                N_("If the team says no, call your therapist."),
            )
            if team
            else say(
                N_("If your GP says no, call your therapist."),
                N_("If your GP says no, call your therapist."),
            )
        )
    return lines


def _moment_of(time: str) -> str:
    """The part of the day of a clock time ("07:00" -> morning), for a medicine's time."""
    try:
        hour = int(time.split(":", maxsplit=1)[0])
    except ValueError:
        return ""
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 14:
        return "midday"
    if 14 <= hour < 18:
        return ""
    if 18 <= hour < 23:
        return "evening"
    return ""


def _when(
    plan: TakePlan | None, document: dict[str, Any], t: Translator, team: bool = False
) -> list[str]:
    if plan is None:
        return []
    waits = document["dose"]["status"] != "advised"
    rows: list[tuple[str, str]] = []
    for intake in plan.intakes:
        what = (
            _units(t, intake.units, plan.product)
            if intake.units
            else t("{mg} mg magnesium", mg=t.num(intake.mg, 0))
        )
        moment = t(MOMENT[intake.moment]) if intake.moment in MOMENT else ""
        if waits:
            what += " " + (
                t("(only when the team says yes)") if team else t("(only when your GP says yes)")
            )
        rows.append((intake.time, f"{intake.time} ({moment}): {what}" if moment else what))
    rows += _medicine_rows(document, t)
    return [text for _, text in sorted(rows, key=lambda row: row[0])]


def medicine_when(document: dict[str, Any], t: Translator) -> list[str]:
    """The "When?" lines of the medicines alone (for a schedule the practitioner wrote)."""
    return [text for _, text in sorted(_medicine_rows(document, t), key=lambda row: row[0])]


def _medicine_rows(document: dict[str, Any], t: Translator) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
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
            part = _moment_of(str(item["time"]))
            at = f"{item['time']} ({t(MOMENT[part])})" if part else str(item["time"])
            rows.append((str(item["time"]), f"{at}: {item['name']}"))
    return rows


def _medicines(document: dict[str, Any], say: _Say) -> list[str]:
    t = say.t
    lines = []
    for hit in document.get("interactions") or []:
        name = hit.get("medication") or hit.get("name")
        before, after = hit.get("medicine_first_h"), hit.get("magnesium_first_h")
        if before is None or after is None:
            continue
        if before == after:
            lines.append(
                say(
                    N_(
                        "Do not take {medicine} and magnesium together. Leave at least {h} hours "
                        "between them."
                    ),
                    N_(
                        "Do not give {medicine} and magnesium together. Leave at least {h} hours "
                        "between them."
                    ),
                    h=t.num(before, 1),
                    medicine=name,
                )
            )
        else:
            lines.append(
                say(
                    N_(
                        "Take {medicine} at least {before} hours before magnesium. Took magnesium "
                        "first? Then wait {after} hours before you take {medicine}."
                    ),
                    N_(
                        "Give {medicine} at least {before} hours before magnesium. Gave magnesium "
                        "first? Then wait {after} hours before you give {medicine}."
                    ),
                    medicine=name,
                    before=t.num(before, 1),
                    after=t.num(after, 1),
                )
            )
    return lines


def _good_to_know(plan: TakePlan | None, document: dict[str, Any], say: _Say) -> list[str]:
    t = say.t
    dose = document["dose"]
    # the plan itself above the upper level (a study dose); a product above it is replaced or
    # cut down in "What to take", and this line would read as if about the plan
    above = dose.get("exceeds_upper_level")
    lines = []
    if plan is not None:
        if above:  # above the upper level: the client asks the doctor first
            lines.append(t("This is more than is safe without a doctor. Ask your GP first."))
        # Loose stools are the first sign of too much magnesium, for every compound.
        if plan.units_per_day and plan.units_per_day > 1:
            lines.append(
                say(
                    N_(
                        "Loose stools or stomach ache? Then take 1 tablet less a day and call your "
                        "therapist."
                    ),
                    N_(
                        "Does your child get loose stools or stomach ache? Then give 1 tablet less "
                        "a day and call your therapist."
                    ),
                )
            )
        else:  # one tablet a day, or a dose in mg: no tablet to leave out
            lines.append(
                say(
                    N_(
                        "Loose stools or stomach ache? Then take less magnesium and call your "
                        "therapist."
                    ),
                    N_(
                        "Does your child get loose stools or stomach ache? Then give less "
                        "magnesium and call your therapist."
                    ),
                )
            )
    if dose.get("current_products_action") == "stop":
        return lines  # "stop those too" is said first
    if plan is None and document["referral"].get("needed"):
        return lines  # no magnesium now; the doctor hears what is taken (first section)
    own = dose.get("product")
    replaced = _replaced(own, plan)
    known = [
        _product_name(p)
        for p in dose.get("products") or []
        if not (replaced and own and p.get("name") == own.get("name"))
    ]
    known += [  # the medicines with magnesium the advice already names
        str(w["params"]["medication"])
        for w in document.get("warnings") or []
        if w["code"].startswith(MAGNESIUM_MEDICINE_NOTES) and w["params"].get("medication")
    ]
    known = list(dict.fromkeys(known))
    if known:
        lines.append(
            say(
                N_(
                    "Do you take anything else with magnesium in it, besides {products}? For "
                    "example a multivitamin, or stomach tablets you buy without a prescription? "
                    "Tell your therapist. Together it can be too much."
                ),
                N_(
                    "Does your child take anything else with magnesium in it, besides {products}? "
                    "Tell your therapist. Together it can be too much."
                ),
                products=_names(known, t),
            )
        )
    else:
        lines.append(
            say(
                N_(
                    "Does anything else you take contain magnesium? For example a multivitamin, or "
                    "stomach tablets you buy without a prescription? Tell your therapist. Together "
                    "it can be too much."
                ),
                N_(
                    "Does anything else your child takes contain magnesium, for example a "
                    "multivitamin? Tell your therapist. Together it can be too much."
                ),
            )
        )
    return lines


def next_date(document: dict[str, Any], extras: Extras) -> date | None:
    """The next appointment the practitioner entered, else the advice date plus the weeks of
    the follow-up: for the practitioner's documents; the handout never prints the estimate as
    if it were booked (it says "in about N weeks")."""
    if extras.follow_up is not None:
        return extras.follow_up
    weeks = document.get("follow_up_weeks")
    if not weeks:
        return None
    return date.fromisoformat(document["as_of"]) + timedelta(weeks=float(weeks))


def _follow_up(
    plan: TakePlan | None, document: dict[str, Any], extras: Extras, say: _Say, pregnant: bool
) -> list[str]:
    t = say.t
    booked = extras.follow_up
    on = date_words(booked, t.lang) if booked is not None else ""
    if document["referral"].get("needed"):
        lines = []
        if booked is not None:
            lines.append(t("Your next appointment with your therapist: {date}.", date=on))
        elif pregnant and document["referral"].get("urgency") != "routine":
            lines.append(
                t(
                    "When your midwife or a doctor has seen you, make a new appointment with your "
                    "therapist."
                )
            )
        else:
            lines.append(
                say(
                    N_("When your GP has seen you, make a new appointment with your therapist."),
                    N_(
                        "When your GP has seen your child, make a new appointment with your "
                        "therapist."
                    ),
                )
            )
        return lines
    weeks = document.get("follow_up_weeks")
    lines = []
    if booked is not None:
        lines.append(t("On {date} we will look together at how it is going.", date=on))
    elif weeks:
        lines.append(
            t(
                "Come back in about {weeks} weeks to see how it is going. Make that appointment "
                "with your therapist now.",
                weeks=weeks,
            )
        )
    else:
        lines.append(t("Make a new appointment with your therapist."))
    if plan is not None:
        products = [_product_name(p) for p in _other_products(document)]
        lines.append(
            say(
                N_("Keep taking {products} like this until then."),
                N_("Keep giving your child {products} like this until then."),
                products=_names(
                    [*products, plan.product if plan.own_product else t("the extra magnesium")], t
                ),
            )
        )
    return lines


def handout(
    document: dict[str, Any],
    extras: Extras,
    t: Translator,
    person: Mapping[str, Any] | None = None,
    urgency_of: Callable[[str], str | None] | None = None,
    client_of: Callable[[dict[str, Any]], ClientTexts | None] | None = None,
) -> Handout:
    """The handout of an advice document, in the document's language.

    Args:
        person: the intake's person (pregnancy); the age is read from the document.
        urgency_of: a referral message's urgency (messages.yaml); with it the client reads
            only the most urgent reasons, the rest are in the letter for the GP.
        client_of: a referral reason in plain words and its warning signs (the knowledge
            base's client texts); without it, or without a client text, the reason's own text.
    """
    person = person or {}
    age = (document.get("calculations") or {}).get("age")
    parent = age is not None and float(age) < PARENT_READS_BELOW_AGE
    pregnant = bool(person.get("pregnant")) or person.get("pregnancy_week") is not None
    say = _Say(t, parent)
    plan = take_plan(document)
    out = Handout(
        title=say(N_("Your magnesium advice"), N_("Magnesium advice for your child")),
        date=date_words(date.fromisoformat(document["as_of"]), t.lang),
        client=extras.client,
        practitioner=extras.practitioner,
        for_parent=parent,
        note=extras.note,
        plan=plan,
    )
    out.first_heading, out.first, out.why, out.signs, team = _first(
        document, say, pregnant, urgency_of, client_of
    )
    out.take_heading = say(N_("What to take"), N_("What to give your child"))
    out.take = _take(plan, document, say, team)
    out.when = _when(plan, document, t, team)
    if plan is not None:
        meals = MEAL_CHILD if parent else MEAL
        out.meal = t(meals.get(plan.meal, meals["any"]))
        out.medicines = _medicines(document, say)
    out.good_to_know = _good_to_know(plan, document, say)
    worse = WORSE_CHILD if parent else WORSE
    urgency = document["referral"].get("urgency") if document["referral"].get("needed") else None
    if out.signs and urgency in WORSE_SIGNS:
        out.worse = " ".join([*out.signs, t(WORSE_SIGNS[urgency])])
    else:
        out.worse = t(worse.get(urgency, worse[None]))
    out.follow_up = _follow_up(plan, document, extras, say, pregnant)
    who = extras.practitioner
    out.footer = [
        t("Questions? Call {name}, your therapist.", name=who)
        if who
        else t("Questions? Call your therapist."),
        t("Your therapist can tell you where this advice comes from."),
    ]
    return out
