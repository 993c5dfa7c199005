"""The intake form and its live advice in a real browser (issue 12: defects 3, 5, 6, 8, 9, 10, a
faster intake, and the UI review's findings in that area), at phone (360/390 px) and desktop
(1280 px) width, in Dutch and English.

Uses the server and Chromium of test_browser.py (skipped there without Chromium).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError

from test_browser import browser, server  # noqa: F401  (the fixtures, and the skip)

LIVE = 10_000  # ms to wait for a live update (400-800 ms debounce plus the engine)
Open = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, server: str) -> Iterator[Open]:  # noqa: F811
    """open_page(width, lang) -> a fresh tab on the intake form at that width and language."""
    contexts: list[Any] = []

    def make(width: int = 1280, lang: str = "nl", path: str = "/") -> Page:
        context = browser.new_context(
            base_url=server,
            locale="nl-NL" if lang == "nl" else "en-GB",
            viewport={"width": width, "height": 800},
        )
        contexts.append(context)
        tab = context.new_page()
        tab.goto(path)
        return tab

    yield make
    for context in contexts:
        context.close()


WORDS = {
    "nl": {
        "age": "Leeftijd (jaren)",
        "sex": "Geslacht",
        "show": "Toon het advies",
        "handout": "Folder voor de cliënt",
        "read": "Gelezen als",
        "correct": "Verbeter het gemarkeerde veld",
        "changed": "Het advies is gewijzigd",
        "urgent": "Spoed: nu medische hulp",
        "headache": "Hoofdpijn",
        "why": "Waarom?",
    },
    "en": {
        "age": "Age (years)",
        "sex": "Sex",
        "show": "Show the advice",
        "handout": "Client handout",
        "read": "Read as",
        "correct": "Correct the marked field",
        "changed": "The advice changed",
        "urgent": "Urgent: get medical help now",
        "headache": "Headache",
        "why": "Why?",
    },
}


def basics(page: Page, lang: str, age: str = "45", sex: str = "female") -> None:
    page.get_by_label(WORDS[lang]["age"], exact=True).fill(age)
    page.get_by_label(WORDS[lang]["sex"], exact=True).select_option(sex)


def field(page: Page, name: str) -> Any:
    return page.locator(f"#f-{name}".replace(".", "\\."))


def wait_for_advice(page: Page) -> None:
    expect(page.locator("#live section.advice")).to_have_count(1, timeout=LIVE)
    expect(page.locator("#live")).to_have_attribute("aria-busy", "false", timeout=LIVE)


def intake_sent(page: Page) -> dict[str, Any]:
    """The intake the live advice was made from (the handout button's hidden field)."""
    wait_for_advice(page)
    value = page.locator('#live input[name="intake_json"]').first.get_attribute("value")
    return dict(json.loads(value or "{}"))


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


# -- Defect 3: decimal commas -----------------------------------------------------------------


@pytest.mark.parametrize(("width", "lang"), [(360, "nl"), (1280, "en")])
def test_decimal_commas_are_read_in_every_number_field(
    open_page: Open, width: int, lang: str
) -> None:
    page = open_page(width, lang)
    basics(page, lang, age="68")
    field(page, "person.weight_kg").fill("64,5")
    field(page, "lifestyle.sport_hours_per_week").fill("2,5")
    field(page, "lab.serum_magnesium.value").fill("0,62")
    field(page, "lab.serum_magnesium.range").fill("0,7-1")
    field(page, "water.liters_per_day").fill("1.5")  # a point is read too
    field(page, "water.magnesium_mg_per_l").fill("10,5")
    field(page, "water.magnesium_mg_per_l").blur()
    for name in ("person.weight_kg", "lifestyle.sport_hours_per_week", "lab.serum_magnesium.value"):
        assert field(page, name).get_attribute("inputmode") == "decimal", name
    expect(page.locator("#o-person\\.weight_kg")).to_contain_text("64", timeout=LIVE)
    data = intake_sent(page)
    assert data["person"]["weight_kg"] == 64.5  # not 645
    assert data["lifestyle"]["sport_hours_per_week"] == 2.5  # not 25
    assert data["labs"][0]["value"] == 0.62 and data["labs"][0]["reference_range"] == [0.7, 1.0]
    assert data["diet"]["water"] == {"liters_per_day": 1.5, "magnesium_mg_per_l": 10.5}
    # what was understood is said beside the field, the page's way
    comma = "," if lang == "nl" else "."
    read = WORDS[lang]["read"]
    expect(page.locator("#o-person\\.weight_kg")).to_have_text(f"{read} 64{comma}5")
    expect(page.locator("#o-lifestyle\\.sport_hours_per_week")).to_have_text(f"{read} 2{comma}5")
    expect(page.locator("#o-lab\\.serum_magnesium\\.range")).to_have_text(
        f"{read} 0{comma}70–1{comma}00"
    )


# -- Defect 5: messages next to the field, in the page's language, without internals ---------


@pytest.mark.parametrize(("width", "lang"), [(390, "nl"), (1280, "en")])
def test_errors_are_sentences_next_to_their_field(open_page: Open, width: int, lang: str) -> None:
    page = open_page(width, lang)
    basics(page, lang, age="68")
    field(page, "person.pregnant").check()  # at 68: not possible
    field(page, "lab.serum_magnesium.value").fill("0,8")
    field(page, "lab.serum_magnesium.range").fill("1,0-0,7")  # reversed
    field(page, "lifestyle.sport_hours_per_week").fill("veel")
    page.get_by_role("button", name=WORDS[lang]["show"]).click()
    pregnant = page.locator("#e-person\\.pregnant")
    expected = {
        "nl": "Alleen bij een leeftijd van 10 tot 60 jaar.",
        "en": "Only for an age from 10 to 60.",
    }[lang]
    expect(pregnant).to_have_text(expected)
    # beside the checkbox itself, not only in the summary at the top
    assert pregnant.evaluate(
        "e => e.closest('.check').contains(document.getElementById('f-person.pregnant'))"
    )
    expect(page.locator("#e-lab\\.serum_magnesium\\.range")).to_be_visible()
    expect(page.locator("#e-lifestyle\\.sport_hours_per_week")).to_contain_text("'veel'")
    text = page.locator("main").inner_text()
    for internal in ("labs[", "reference_range", "person.", "lifestyle.", "{", "pregnant:"):
        assert internal not in text, internal
    if lang == "nl":
        for english in ("expected", "got", "only", "number"):
            assert f" {english} " not in f" {text} ", english
    else:
        for dutch in ("verwacht", "kreeg", "alleen"):
            assert dutch not in text.lower(), dutch


# -- Defect 6: phones ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_phones_scroll_no_page_sideways_and_show_a_summary(open_page: Open, lang: str) -> None:
    page = open_page(360, lang)
    no_sideways_scroll(page)
    basics(page, lang, age="45")
    field(page, "med.0.name").fill("Thyrax")
    field(page, "med.0.time").fill("7:00")
    field(page, "med.0.time").blur()
    wait_for_advice(page)  # with the 480 px timeline and the tables in it
    no_sideways_scroll(page)
    form = page.locator("#intake").bounding_box()
    assert form is not None and form["x"] + form["width"] <= 360
    # the summary stays in view at the foot of the screen while the form is filled in
    page.evaluate("window.scrollTo(0, 0)")
    bar = page.locator("#live .live-summary")
    expect(bar).to_be_visible()
    box = bar.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 800 and box["y"] > 400, box
    expect(bar.locator('[data-k="dose"]')).to_contain_text("mg")
    page.get_by_role("button", name=WORDS[lang]["show"]).click()
    expect(page.locator("section.advice")).to_be_visible()
    no_sideways_scroll(page)
    for path in ("/kb", "/kb/magnesium_citrate", "/tools", "/references"):
        page.goto(path)
        no_sideways_scroll(page)


# -- Defect 8 and the review's critical finding: the live panel is never stale ----------------


def emergency(page: Page, lang: str) -> None:
    """A pregnant woman with a headache at week 30: get medical help now."""
    basics(page, lang, age="30")
    field(page, "person.pregnant").check()
    field(page, "person.pregnancy_week").fill("30")
    page.get_by_label(WORDS[lang]["headache"], exact=True).check()


@pytest.mark.parametrize(("width", "lang"), [(1280, "nl"), (390, "en")])
def test_live_panel_clears_on_an_invalid_field(open_page: Open, width: int, lang: str) -> None:
    page = open_page(width, lang)
    basics(page, lang, age="45")
    page.get_by_label({"nl": "Slaap", "en": "Sleep"}[lang], exact=True).check()
    wait_for_advice(page)
    live = page.locator("#live")
    expect(live.get_by_role("button", name=WORDS[lang]["handout"])).to_have_count(1)
    emergency(page, lang)
    expect(live.locator(".act-now")).to_contain_text(WORDS[lang]["urgent"], timeout=LIVE)
    field(page, "person.pregnancy_week").fill("50")  # a typo
    field(page, "person.pregnancy_week").blur()
    expect(live).to_contain_text(WORDS[lang]["correct"], timeout=LIVE)
    expect(live.locator("section.advice")).to_have_count(0)  # no old plan left standing
    expect(live.get_by_role("button")).to_have_count(0)  # and no handout of it
    expect(field(page, "person.pregnancy_week")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-person\\.pregnancy_week")).to_be_visible()
    field(page, "person.pregnancy_week").fill("30")
    field(page, "person.pregnancy_week").blur()
    expect(live.locator(".act-now")).to_contain_text(WORDS[lang]["urgent"], timeout=LIVE)
    expect(page.locator("#e-person\\.pregnancy_week")).to_have_count(0)  # the mark is gone


def test_live_panel_shows_busy_keeps_why_open_and_says_what_changed(open_page: Open) -> None:
    page = open_page(1280, "nl")
    basics(page, "nl", age="45")
    wait_for_advice(page)
    live = page.locator("#live")
    live.locator('details[data-key="risk"] summary').click()
    held: list[Route] = []

    def hold(route: Route) -> None:  # the update waits: the panel stays busy meanwhile
        held.append(route)

    page.route("**/partials/advice", hold)
    field(page, "lab.egfr.value").fill("25")  # a referral
    field(page, "lab.egfr.value").blur()
    expect(live).to_have_attribute("aria-busy", "true", timeout=LIVE)  # while it updates
    page.wait_for_timeout(100)
    assert held, "the update was not sent"
    page.unroute("**/partials/advice")
    for route in held:
        with contextlib.suppress(PlaywrightError):  # a request htmx replaced (hx-sync)
            route.continue_()
    expect(live.locator(".referral")).to_be_visible(timeout=LIVE)
    expect(live).to_have_attribute("aria-busy", "false")
    expect(live.locator('details[data-key="risk"]')).to_have_attribute("open", "")
    note = page.locator("#s-labs .change-note")  # where the user is looking: by the field
    expect(note).to_contain_text(WORDS["nl"]["changed"])
    expect(note).to_contain_text("arts")


# -- Defect 9: no internal codes or English on Dutch pages ----------------------------------


def test_rule_trace_and_codes_are_in_words(open_page: Open) -> None:
    page = open_page(1280, "nl")
    basics(page, "nl", age="60")
    field(page, "lab.creatinine.value").fill("80")
    page.get_by_role("button", name=WORDS["nl"]["show"]).click()
    trace = page.locator("details.practitioner")
    expect(trace.locator("summary")).to_have_text(
        "Voor de behandelaar: de toegepaste regels, stap voor stap"
    )
    expect(trace).not_to_have_attribute("open", "")
    trace.locator("summary").click()
    text = trace.inner_text()
    for internal in ("Calculations", "0 items", "MedicationReview", "[]", "True"):
        assert internal not in text, internal
    assert "Nieren (kidney.calculations): berekend" in text
    page.goto("/")
    for name in ("lab.creatinine.unit", "lab.egfr.unit"):
        labels = field(page, name).locator("option").all_inner_texts()
        assert len(labels) == len(set(labels)), labels
        assert not any("umol" in label or "m2" in label for label in labels), labels
    assert "µmol/L" in field(page, "lab.creatinine.unit").locator("option").all_inner_texts()
    page.goto("/kb/magnesium_citrate")
    assert page.title() == "Magnesiumcitraat · mgadvisor"
    expect(page.locator("main")).not_to_contain_text("Code:")
    page.goto("/kb?q=slaap")
    expect(page.locator("main")).not_to_contain_text("(symptoms)")
    expect(page.locator("main")).not_to_contain_text("(applications)")


# -- Defect 10: time entry --------------------------------------------------------------------


@pytest.mark.parametrize(("width", "lang"), [(390, "nl"), (1280, "en")])
def test_times_as_people_type_them(open_page: Open, width: int, lang: str) -> None:
    page = open_page(width, lang)
    basics(page, lang, age="45")
    typed = ["8:00", "08.00", "0800", "8"]
    for i, text in enumerate(typed):
        field(page, f"med.{i}.name").fill(["Thyrax", "Ciproxin", "Omeprazol", "Lisinopril"][i])
        field(page, f"med.{i}.time").fill(text)
    field(page, "med.3.time").blur()
    time_box = field(page, "med.0.time")
    assert time_box.get_attribute("inputmode") in (None, "text")  # a keyboard with ':'
    assert not time_box.get_attribute("placeholder")  # nothing that looks filled in
    data = intake_sent(page)
    assert [m["time"] for m in data["medications"]] == ["08:00"] * 4
    for i in range(4):
        expect(page.locator(f"#o-med\\.{i}\\.time")).to_have_text(f"{WORDS[lang]['read']} 08:00")
    field(page, "med.0.time").fill("25:99")
    field(page, "med.0.time").blur()
    expect(page.locator("#e-med\\.0\\.time")).to_contain_text("8:00", timeout=LIVE)


# -- A faster intake --------------------------------------------------------------------------


def test_a_faster_intake(open_page: Open) -> None:
    page = open_page(1280, "nl")
    # pregnancy only for a woman
    pregnant = field(page, "person.pregnant")
    expect(pregnant).to_be_hidden()
    field(page, "person.sex").select_option("male")
    expect(pregnant).to_be_hidden()
    field(page, "person.sex").select_option("female")
    expect(pregnant).to_be_visible()
    # one medicine row, another when it is filled in, more with "add a medicine"
    expect(page.locator(".med-row")).to_have_count(1)
    page.get_by_label("Geneesmiddel 1").fill("Thyrax")
    expect(page.locator(".med-row")).to_have_count(2)
    page.get_by_role("button", name="Geneesmiddel toevoegen").click()
    expect(page.get_by_label("Geneesmiddel 3")).to_be_focused()
    # sections collapse, and a short mode keeps only what matters (and what was filled in)
    lifestyle = page.locator("#s-lifestyle")
    lifestyle.get_by_role("button", name="Leefstijl").click()
    expect(field(page, "lifestyle.sport_hours_per_week")).to_be_hidden()
    lifestyle.get_by_role("button", name="Leefstijl").click()
    field(page, "lifestyle.sport_hours_per_week").fill("3")
    page.get_by_role("button", name="Korte intake").click()
    expect(page.locator("#s-diet .field").first).to_be_hidden()
    expect(field(page, "lifestyle.sport_hours_per_week")).to_be_visible()  # it has a value
    expect(field(page, "lab.serum_magnesium.value")).to_be_visible()
    page.get_by_role("button", name="Volledige intake").click()
    expect(page.locator("#s-diet .field").first).to_be_visible()
    # the lab's default range beside each lab field that has one
    expect(page.locator("#h-lab\\.serum_magnesium\\.range")).to_have_text(
        "Standaard: 0,75–0,95 mmol/L"
    )


# -- The UI review's findings in this area ------------------------------------------------------


@pytest.mark.parametrize(("width", "lang"), [(390, "nl"), (1280, "en")])
def test_an_emergency_reads_once_and_clearly(open_page: Open, width: int, lang: str) -> None:
    page = open_page(width, lang)
    emergency(page, lang)
    field(page, "lab.serum_magnesium.value").fill("0,8")
    field(page, "lab.serum_magnesium.range").fill("0,7-1")
    field(page, "lab.serum_magnesium.range").blur()
    expect(page.locator("#live .act-now")).to_be_visible(timeout=LIVE)
    page.get_by_role("button", name=WORDS[lang]["show"]).click()
    advice = page.locator("section.advice")
    banner = advice.locator(".act-now")
    # the heading once, no risk score and no 0 mg dose bar that do not apply now
    expect(advice.locator("h3", has_text=WORDS[lang]["urgent"])).to_have_count(1)
    expect(advice.locator("svg.bar")).to_have_count(0)
    expect(advice).not_to_contain_text({"nl": "(score", "en": "(score"}[lang])
    # the banner fits the screen (one column, nothing clipped) and its citation is readable
    box = banner.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
    assert banner.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert banner.locator("ul").evaluate("e => getComputedStyle(e).display") == "block"
    colour = banner.locator(".cite a").first.evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(255, 255, 255)", colour
    # the lab's range as printed: 0,70–1,00
    comma = "," if lang == "nl" else "."
    expect(advice.locator("table.labs")).to_contain_text(f"0{comma}70–1{comma}00")
    no_sideways_scroll(page)


def test_the_timeline_has_a_legend_and_fits(open_page: Open) -> None:
    page = open_page(360, "nl")
    basics(page, "nl", age="45")
    field(page, "med.0.name").fill("Thyrax")
    field(page, "med.0.time").fill("7")
    page.get_by_role("button", name=WORDS["nl"]["show"]).click()
    timeline = page.locator("svg.timeline")
    expect(timeline).to_be_visible()
    box = timeline.bounding_box()
    assert box is not None and box["width"] <= 360
    expect(page.locator("p.legend")).to_contain_text("magnesium")
    expect(page.locator("p.legend")).to_contain_text("geneesmiddel")
    expect(page.locator("tr.medication")).to_contain_text("07:00")


# -- The first-time-user test (UX): the phone's bar, table words, the day-schedule dots ---------


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def test_a_field_that_gets_the_focus_is_never_behind_the_phones_bar(open_page: Open) -> None:
    page = open_page(390, "nl")
    basics(page, "nl", age="72")
    wait_for_advice(page)
    bar = page.locator("#live .live-summary")
    expect(bar).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    field(page, "person.age").focus()
    checked = []
    for _ in range(12):  # age, sex, pregnant, breastfeeding, week, weight, height, complaints…
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const r = document.activeElement.getBoundingClientRect();"
            " return {x: r.x, y: r.y, width: r.width, height: r.height,"
            " id: document.activeElement.id}; })()"
        )
        box = bar.bounding_box()
        assert box is not None
        assert not overlaps(focused, box), (focused, box)
        checked.append(focused["id"])
    assert "f-person.sex" in checked and "f-person.weight_kg" in checked


def words_split_over_lines(page: Page, selector: str) -> list[str]:
    """The words in `selector` that a line break cuts in two ("Labwaard|e")."""
    return list(
        page.evaluate(
            """selector => {
              const split = [];
              for (const cell of document.querySelectorAll(selector)) {
                const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
                for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                  const re = /[^\\s\\-–—/]+/g;  // a hyphen, dash or slash may break
                  for (let m = re.exec(node.data); m; m = re.exec(node.data)) {
                    const range = document.createRange();
                    range.setStart(node, m.index);
                    range.setEnd(node, m.index + m[0].length);
                    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                    if (tops.size > 1) split.push(m[0]);
                  }
                }
              }
              return split;
            }""",
            selector,
        )
    )


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_table_words_break_between_words_only_on_a_phone(open_page: Open, lang: str) -> None:
    page = open_page(390, lang)
    basics(page, lang, age="72")
    field(page, "med.0.name").fill("omeprazol")
    field(page, "med.0.time").fill("8:00")
    field(page, "lab.serum_magnesium.value").fill("0,62")
    page.get_by_role("button", name=WORDS[lang]["show"]).click()
    expect(page.locator("table.labs")).to_be_visible()
    assert words_split_over_lines(page, "section.advice th, section.advice td") == []
    no_sideways_scroll(page)
    scrolling_tables_take_the_focus(page)
    page.goto("/kb")
    assert words_split_over_lines(page, "th, td") == []
    no_sideways_scroll(page)
    scrolling_tables_take_the_focus(page)


def scrolling_tables_take_the_focus(page: Page) -> None:
    """A table wider than the screen scrolls within its wrapper, which the keyboard can reach."""
    wraps = page.evaluate(
        """[...document.querySelectorAll('.table-wrap')].map(w => ({
             scrolls: w.scrollWidth > w.clientWidth + 1, tabindex: w.getAttribute('tabindex'),
             role: w.getAttribute('role')}))"""
    )
    assert wraps
    for wrap in wraps:
        focusable = wrap["tabindex"] == "0" and wrap["role"] == "region"
        assert focusable == wrap["scrolls"], wraps


def test_dots_at_the_same_time_both_stay_visible(open_page: Open) -> None:
    page = open_page(390, "nl")
    basics(page, "nl", age="72")
    field(page, "med.0.name").fill("omeprazol")
    field(page, "med.0.time").fill("8:00")
    page.get_by_role("button", name=WORDS["nl"]["show"]).click()
    circles = page.locator("svg.timeline circle")
    expect(circles).to_have_count(2)
    first, second = (circles.nth(i).bounding_box() for i in range(2))
    assert first is not None and second is not None and not overlaps(first, second)
    label = page.locator("svg.timeline").get_attribute("aria-label") or ""
    assert "08:00 omeprazol (geneesmiddel)" in label and "(magnesium)" in label
    assert page.locator("svg.timeline circle.magnesium").count() == 1
