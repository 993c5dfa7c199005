"""Documents and keeping input, in a real browser (issue 12: defects 1 and 4, the handout for a
client, save and reopen, the practitioner report and the referral letter).

Uses the server, Chromium and page fixtures of test_browser.py (skipped there without Chromium).
"""
# ruff: noqa: F811 - the fixtures imported from test_browser are the tests' parameters

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Page, expect

from test_browser import browser, fill_basic, page, server, shoot  # noqa: F401 - fixtures

FORBIDDEN_ON_HANDOUT = ("eGFR", "suppleren", "suppletie", "24-uursurine", "levothyroxinenatrium")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def fill_product_intake(page: Page) -> None:
    """A 45-year-old woman for sleep, on Thyrax at 07:00, taking one Magnesium Forte (500 mg
    magnesium citrate, the salt's mass) a day."""
    page.goto("/")
    fill_basic(page, "45")
    page.get_by_label("Slaap", exact=True).check()
    page.get_by_label("Geneesmiddel 1").fill("Thyrax")
    page.locator("#f-med\\.0\\.time").fill("07:00")
    page.locator("#f-prod\\.0\\.name").fill("Magnesium Forte")
    page.locator("#f-prod\\.0\\.compound").fill("magnesiumcitraat")
    page.locator("#f-prod\\.0\\.amount_mg").fill("500")
    page.locator("#f-prod\\.0\\.basis").select_option("compound")
    page.locator("#f-prod\\.0\\.units_per_day").fill("1")
    page.locator("#f-as_of").fill("2026-03-01")


def open_handout(page: Page) -> None:
    page.get_by_role("button", name="Toon het advies").click()
    page.get_by_role("button", name="Folder voor de cliënt").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw magnesiumadvies")


def test_handout_what_when_and_dose_agree_with_a_current_product(page: Page) -> None:
    """Defect 1: "what to take", the schedule and the dose name one product and one amount."""
    fill_product_intake(page)
    page.get_by_role("button", name="Toon het advies").click()
    dose = page.locator("section.advice p.dose").inner_text()
    mg_per_day = re.search(r"(\d+) mg elementair magnesium per dag", dose)
    assert mg_per_day, dose
    page.get_by_role("button", name="Folder voor de cliënt").first.click()
    take = page.locator("article.handout section.take").inner_text()
    when = page.locator("article.handout section.when").inner_text()
    taken = re.search(r"Neem vanaf nu (\d+) tabletten Magnesium Forte", take)
    assert taken, take
    assert f"{mg_per_day.group(1)} mg magnesium per dag" in take, (take, dose)
    units_when = [int(n) for n in re.findall(r"(\d+) tablett?e?n? Magnesium Forte", when)]
    assert sum(units_when) == int(taken.group(1)), (take, when)
    assert "Magnesiumcitraat" not in when, when  # the client's product, not another name
    assert "07:00 ('s ochtends): Thyrax" in when, when
    shoot(page, "handout-product")


def test_language_switch_on_the_intake_keeps_the_form(page: Page) -> None:
    """Defect 4: switching language on the intake keeps everything typed."""
    page.goto("/")
    fill_basic(page, "72")
    page.get_by_label("Geneesmiddel 1").fill("Thyrax")
    page.get_by_label("Slaap", exact=True).check()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Magnesium intake")
    expect(page.locator("#f-person\\.age")).to_have_value("72")
    expect(page.locator("#f-person\\.sex")).to_have_value("female")
    expect(page.locator("#f-med\\.0\\.name")).to_have_value("Thyrax")
    expect(page.get_by_label("Sleep", exact=True)).to_be_checked()
    expect(page.locator("#live")).to_contain_text("Advice")  # the live advice, in English


def test_advice_language_switch_and_edit_intake_keep_the_input(page: Page) -> None:
    """Defect 4: the advice page's language switch keeps the advice; "Intake aanpassen" goes
    back to the filled-in form."""
    fill_product_intake(page)
    page.get_by_role("button", name="Toon het advies").click()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Magnesium advice")
    expect(page.locator("section.advice")).to_contain_text("Magnesium Forte")
    page.get_by_role("button", name="Edit intake").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Magnesium intake")
    expect(page.locator("#f-person\\.age")).to_have_value("45")
    expect(page.locator("#f-med\\.0\\.name")).to_have_value("Thyrax")
    expect(page.locator("#f-prod\\.0\\.name")).to_have_value("Magnesium Forte")
    expect(page.locator("#f-as_of")).to_have_value("2026-03-01")


def test_back_keeps_the_medicines_and_refreshes_the_advice(page: Page) -> None:
    """Defect 4: Back from the advice shows the medicine rows and the advice of that form."""
    page.goto("/")
    fill_basic(page, "72")
    page.get_by_label("Geneesmiddel 1").fill("Thyrax")
    page.locator("#f-med\\.0\\.time").fill("07:00")
    expect(page.locator("#live")).to_contain_text("Thyrax", timeout=10_000)
    page.get_by_role("button", name="Toon het advies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Magnesiumadvies")
    page.go_back()
    expect(page.locator("#f-person\\.age")).to_have_value("72")
    expect(page.locator("#f-med\\.0\\.name")).to_have_value("Thyrax")
    expect(page.locator("#f-med\\.0\\.time")).to_have_value("07:00")
    expect(page.locator("#live")).to_contain_text("Thyrax", timeout=10_000)


def test_handout_language_switch_keeps_the_names(page: Page) -> None:
    """Defect 4: the handout's language switch gives the handout, not a JSON error, and keeps
    what the practitioner typed on it."""
    fill_product_intake(page)
    open_handout(page)
    page.get_by_label("Naam van de cliënt").fill("Mevrouw Jansen")
    page.get_by_label("Opmerking").fill("Drink elke dag genoeg water.")
    page.get_by_role("button", name="Document bijwerken").click()
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your magnesium advice")
    handout = page.locator("article.handout")
    expect(handout).to_contain_text("For: Mevrouw Jansen")
    expect(handout).to_contain_text("Drink elke dag genoeg water.")
    expect(handout).to_contain_text("3 tablets of Magnesium Forte")
    assert "method not allowed" not in page.content()


def test_handout_for_the_client(page: Page) -> None:
    """The handout reads as a client's: names, the date and the next appointment in words, the
    client's own medicine and product names, plain words, a note, print and PDF."""
    fill_product_intake(page)
    page.get_by_label("Geneesmiddel 2").fill("Nexium")
    page.locator("#f-lab\\.urine_magnesium_24h\\.value").fill("2,1")
    open_handout(page)
    page.get_by_label("Naam van de cliënt").fill("Mevrouw Jansen")
    page.get_by_label("Uw naam (therapeut)").fill("Els de Vries")
    page.get_by_label("Volgende afspraak").fill("2026-04-26")
    page.get_by_label("Opmerking").fill("Bel gerust als u vragen hebt.")
    page.get_by_role("button", name="Document bijwerken").click()
    handout = page.locator("article.handout")
    text = handout.inner_text()
    for words in ("Voor: Mevrouw Jansen", "Van: Els de Vries", "1 maart 2026", "26 april 2026"):
        assert words in text, words
    assert "Thyrax" in text and "Bel gerust" in text
    for word in FORBIDDEN_ON_HANDOUT:
        assert word not in text, word
    expect(page.get_by_role("button", name="Afdrukken")).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("button", name="PDF downloaden").click()
    pdf = _pdf_text(Path(info.value.path()).read_bytes())
    assert "Mevrouw Jansen" in pdf and "Magnesium Forte" in pdf and "Thyrax" in pdf
    assert "Naam van de cliënt" not in pdf  # the form is not printed
    shoot(page, "handout-client")


def test_save_and_reopen_an_intake(page: Page, tmp_path: Path) -> None:
    """Save the form as YAML, the CLI advises on that file, and opening it fills the form."""
    fill_product_intake(page)
    page.get_by_label("Stress", exact=True).first.check()
    with page.expect_download() as info:
        page.get_by_role("button", name="Intake opslaan (YAML)").click()
    saved = tmp_path / "intake.yaml"
    info.value.save_as(saved)
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "mgadvisor",
            "--lang",
            "nl",
            "advise",
            str(saved),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["dose"]["product"]["name"] == "Magnesium Forte"

    page.goto("/")
    page.get_by_text("Een opgeslagen intake openen").click()
    page.get_by_label("Intakebestand (YAML of JSON)").set_input_files(str(saved))
    expect(page.locator("#f-med\\.0\\.name")).to_have_value("Thyrax")
    expect(page.locator("#f-person\\.age")).to_have_value("45")
    expect(page.locator("#f-prod\\.0\\.amount_mg")).to_have_value("500")
    expect(page.get_by_label("Slaap", exact=True)).to_be_checked()
    expect(page.locator("#live")).to_contain_text("Magnesium Forte")


def test_a_broken_intake_file_is_a_clear_error(page: Page) -> None:
    page.goto("/")
    page.get_by_text("Een opgeslagen intake openen").click()
    page.get_by_label("Of plak de tekst").fill("person: [72")
    page.get_by_role("button", name="Openen", exact=True).click()
    expect(page.locator("#e-intake_text")).to_contain_text("Dit is geen intakebestand")


def _referral_advice(page: Page) -> None:
    page.goto("/")
    fill_basic(page, "72")
    page.get_by_label("Geneesmiddel 1").fill("Thyrax")
    page.locator("#f-lab\\.egfr\\.value").fill("25")
    page.locator("#f-as_of").fill("2026-03-01")
    page.get_by_role("button", name="Toon het advies").click()


def test_referral_letter_to_the_gp(page: Page) -> None:
    """The letter: the reasons with their urgency, labs, medicines, sources; PDF and text."""
    _referral_advice(page)
    page.get_by_role("button", name="Verwijsbrief voor de huisarts").click()
    page.get_by_label("Naam van de cliënt").fill("Mevrouw Jansen")
    page.get_by_label("Naam van de huisarts").fill("dokter Bakker")
    page.get_by_role("button", name="Document bijwerken").click()
    letter = page.locator("article.letter")
    expect(letter).to_contain_text("Aan: dokter Bakker")
    expect(letter).to_contain_text("Verwijs naar een arts")  # the urgency
    expect(letter).to_contain_text("eGFR 25")  # the reason
    expect(letter).to_contain_text("Thyrax (levothyroxinenatrium")
    expect(letter).to_contain_text("smpc_magnaspartate")  # its source
    with page.expect_download() as info:
        page.get_by_role("button", name="PDF downloaden").click()
    pdf = _pdf_text(Path(info.value.path()).read_bytes())
    assert "Verwijsbrief voor de huisarts" in pdf and "eGFR 25" in pdf and "Mevrouw Jansen" in pdf
    with page.expect_download() as info:
        page.get_by_role("button", name="Als tekst downloaden").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert "Aan: dokter Bakker" in text and "eGFR 25" in text and "Thyrax" in text
    shoot(page, "letter")


def test_practitioner_report(page: Page) -> None:
    """The report: date in words, the client, every reason written out; PDF read back."""
    _referral_advice(page)
    page.get_by_role("button", name="Verslag voor de therapeut").click()
    page.get_by_label("Naam van de cliënt").fill("Mevrouw Jansen")
    page.get_by_role("button", name="Document bijwerken").click()
    report = page.locator("article.report")
    expect(report).to_contain_text("Cliënt: Mevrouw Jansen")
    expect(report).to_contain_text("1 maart 2026")
    expect(report).to_contain_text("eGFR 25")
    with page.expect_download() as info:
        page.get_by_role("button", name="PDF downloaden").click()
    pdf = _pdf_text(Path(info.value.path()).read_bytes())
    assert "Verslag voor de therapeut" in pdf and "Mevrouw Jansen" in pdf and "eGFR 25" in pdf


def test_a_document_address_without_an_intake_leads_to_the_form(page: Page) -> None:
    for path in ("/handout", "/letter", "/report.pdf"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text("Magnesium-intake")


# --- The handout for a client, not a clinician (issue 12; /tmp B1 check, docs/handout-language.md)

CHILD = """person: {age: 6, sex: female, weight_kg: 20}
goals: [sleep]
product: {name: Multivitamine kind, amount_mg: 50, basis: elemental, units_per_day: 1}
"""
OMEPRAZOL = """person: {age: 70, sex: male}
conditions: [type2_diabetes]
complaints: [muscle_cramps]
medications: [{name: Omeprazol}]
"""
PREGNANT = """person: {age: 30, sex: female, pregnant: true, pregnancy_week: 32}
conditions: [hypertension]
complaints: [headache]
"""
SERUM_HIGH = """person: {age: 48, sex: male}
labs: [{analyte: serum_magnesium, value: 1.3, unit: mmol/L}]
product: {name: Magnesium 200, compound: magnesium citrate, amount_mg: 200, basis: elemental,
  units_per_day: 1}
"""


def handout_of(page: Page, intake: str, follow_up: str = "") -> str:
    """The handout's text for an intake pasted as a saved file (advice date 1 March 2026)."""
    page.goto("/")
    page.get_by_text("Een opgeslagen intake openen").click()
    page.get_by_label("Of plak de tekst").fill(intake)
    page.get_by_role("button", name="Openen", exact=True).click()
    expect(page.locator("#f-person\\.age")).not_to_have_value("")
    page.locator("#f-as_of").fill("2026-03-01")
    open_handout_any(page)
    if follow_up:
        page.get_by_label("Volgende afspraak").fill(follow_up)
        page.get_by_role("button", name="Document bijwerken").click()
    return page.locator("article.handout").inner_text()


def open_handout_any(page: Page) -> None:
    page.get_by_role("button", name="Toon het advies").click()
    page.get_by_role("button", name="Folder voor de cliënt").first.click()
    expect(page.locator("article.handout h1")).to_be_visible()


def test_handout_for_a_child_speaks_to_the_parent(page: Page) -> None:
    """Point 1: a child's handout speaks to the parent, names the product the child takes and
    what to do with it (the advice: continue), and says how much in all."""
    text = handout_of(page, CHILD)
    take = page.locator("article.handout section.take").inner_text()
    expect(page.locator("article.handout h1")).to_have_text("Magnesiumadvies voor uw kind")
    assert "Dit geeft u uw kind" in text, text
    assert "Geef uw kind elke dag 1 tablet Multivitamine kind, zoals nu." in take, take
    assert "In 1 tablet zit 50 mg magnesium." in take, take
    assert "Alles samen is dat 100 mg magnesium per dag." in take, take
    assert "Geef uw kind niet meer dan dit." in take, take
    assert not re.search(r"\bNeem\b|\bneemt u\b|Krijgt u ", text), text  # not to the child
    assert "Magnesiumbisglycinaat" not in text, text  # a compound, in lower case, in a sentence
    shoot(page, "handout-child")


def test_handout_in_milligrams_says_what_to_read_on_the_label(page: Page) -> None:
    """Point 2: milligrams of a compound come with what to look for on the label."""
    handout_of(page, OMEPRAZOL)
    take = page.locator("article.handout section.take").inner_text()
    assert "Kies daarvoor magnesiumcitraat." in take, take
    assert "Kijk naar het getal bij 'magnesium'. Het getal bij 'magnesiumcitraat' is hoger." in take
    assert "Dat getal is hoger" not in take, take
    assert "Neem zoveel tabletten dat het samen 175 mg magnesium per dag is." in take, take
    assert "als Magnesiumcitraat" not in take, take


def test_handout_referral_says_why_and_names_the_letter(page: Page) -> None:
    """Point 3 (and 8: one word, huisarts): the reason in plain words, the letter for the GP."""
    text = handout_of(page, OMEPRAZOL)
    first = page.locator("article.handout section.first").inner_text()
    assert "Uw therapeut vertelt u waarom" not in text
    assert "Omeprazol kan het magnesium in uw bloed laten dalen." in first, first
    assert "Uw therapeut geeft u een brief voor uw huisarts." in first, first
    assert "uw arts" not in text and "de arts" not in text, text
    take = page.locator("article.handout section.take").inner_text()
    assert "Zegt uw huisarts nee? Bel dan uw therapeut." in take, take


def test_handout_in_an_emergency_in_pregnancy(page: Page) -> None:
    """Point 4 (and P3 of the second check): the midwife first, then the hospital, 112 only
    when very ill, under a heading that fits; the reason in plain words."""
    handout_of(page, PREGNANT)
    first = page.locator("article.handout section.first")
    expect(first.locator("h2")).to_have_text("Bel nu meteen")
    line = first.locator("li").first.inner_text()
    assert line.startswith("Bel nu meteen uw verloskundige."), line
    assert "112 of" not in line and "huisartsenpost" not in line, line
    expect(first).to_contain_text("pre-eclampsie")
    expect(page.locator("article.handout")).not_to_contain_text("Eerst dit")


def test_handout_stop_case_says_stop_these_too_if_worse_and_come_back(page: Page) -> None:
    """Point 5 (and 3): a stop case stops first, stops other magnesium products too, says
    the value, what to do when it gets worse and when to come back."""
    text = handout_of(page, SERUM_HIGH)
    first = page.locator("article.handout section.first")
    expect(first.locator("h2")).to_have_text("Vandaag nog")
    assert first.locator("li").first.inner_text().startswith("Stop vandaag met Magnesium 200.")
    expect(first).to_contain_text("Stop ook met andere middelen waar magnesium in zit")
    expect(first).to_contain_text("1,3 mmol/L")
    worse = page.locator("article.handout section.worse").inner_text()
    assert "Voelt u zich heel erg ziek? Bel dan 112." in worse, worse
    come_back = page.locator("article.handout section.follow-up").inner_text()
    assert "Maak dan een nieuwe afspraak met uw therapeut." in come_back, come_back
    assert "Vertel het uw therapeut" not in text


def test_handout_appointment_is_never_invented(page: Page) -> None:
    """Point 6: without an entered date "in about 8 weeks", no date; with a date, that date
    and no "over 8 weken" beside it."""
    fill_product_intake(page)
    open_handout(page)
    follow = page.locator("article.handout section.follow-up")
    expect(follow).to_contain_text("Kom over ongeveer 8 weken terug.")
    expect(follow).not_to_contain_text("26 april 2026")  # the advice date plus 8 weeks
    page.get_by_label("Volgende afspraak").fill("2026-04-19")
    page.get_by_role("button", name="Document bijwerken").click()
    expect(follow).to_contain_text("Op 19 april 2026 kijken we samen hoe het gaat.")
    expect(follow).not_to_contain_text("weken")


def test_handout_footer_is_for_the_client(page: Page) -> None:
    """Point 7: no knowledge-base version or report in the footer; who to ask."""
    fill_product_intake(page)
    open_handout(page)
    page.get_by_label("Uw naam (therapeut)").fill("Els de Vries")
    page.get_by_role("button", name="Document bijwerken").click()
    footer = page.locator("article.handout footer").inner_text()
    assert "kennisbank" not in footer.lower() and "verslag" not in footer, footer
    assert "Vragen? Bel Els de Vries, uw therapeut." in footer, footer
    assert "Uw therapeut weet waar dit advies op gebaseerd is." in footer, footer


def test_handout_wording_of_the_b1_check(page: Page) -> None:
    """Point 8: the rewrites the B1 reader proposed, in Dutch and in English."""
    fill_product_intake(page)
    open_handout(page)
    text = page.locator("article.handout").inner_text()
    for words in (
        "Dit neemt u in",
        "U nam 1 tablet Magnesium Forte per dag. Neem vanaf nu 3 tabletten Magnesium Forte",
        "Neem Thyrax en magnesium niet tegelijk in. Laat er minstens 4 uur tussen.",
        "Neem dan 1 tablet minder per dag en bel uw therapeut.",
        "Neemt u naast Magnesium Forte nog iets anders waar magnesium in zit?",
        "Samen kan het te veel worden.",
    ):
        assert words in text, (words, text)
    for old in ("Wat neemt u", "andere hoeveelheid", "Alles telt mee", "Houd minstens"):
        assert old not in text, old
    page.get_by_role("link", name="English").click()
    text = page.locator("article.handout").inner_text()
    for words in ("What to take", "That is 242 mg of magnesium a day in total.", "therapist"):
        assert words in text, (words, text)
    for old in ("practitioner", "antacid", "it all adds up", "After 8 weeks"):
        assert old not in text, old


# --- The second independent B1 check (docs/handout-language.md, "Second independent check")


def test_handout_why_is_in_plain_words_from_the_knowledge_base(page: Page) -> None:
    """P1, P8: "Waarom?" in full sentences from the message's client text (cases 2, 3, 5):
    no note with a colon, no "langdurig" the intake did not give, "uw huisarts", "uw bloed"."""
    handout_of(page, OMEPRAZOL)
    why = page.locator("article.handout section.first").inner_text()
    assert "U gebruikt Omeprazol en u heeft klachten: spierkrampen." in why, why
    assert "Uw huisarts kan het magnesium in uw bloed laten meten." in why, why
    assert "langdurig" not in why and "de arts" not in why, why
    page.get_by_role("link", name="English").click()
    why = page.locator("article.handout section.first").inner_text()
    assert "Your GP can have the magnesium in your blood checked." in why, why
    assert "long-term" not in why and "complaints" not in why, why
    page.context.clear_cookies()
    handout_of(page, PREGNANT)
    why = page.locator("article.handout section.first").inner_text()
    assert "zwangerschapsvergiftiging (pre-eclampsie)" in why, why
    assert "Mogelijk pre-eclampsie" not in why, why
    page.context.clear_cookies()
    handout_of(page, SERUM_HIGH)
    why = page.locator("article.handout section.first").inner_text()
    assert "Er zit te veel magnesium in uw bloed. Uw uitslag is 1,3 mmol/L." in why, why
    assert "Geen supplement" not in why and "een arts" not in why, why


def test_handout_if_worse_names_the_signs_and_one_first_choice(page: Page) -> None:
    """P2, P3, E1: "if it gets worse" names the warning signs of the alarm statements and one
    first choice (112 only when very ill); plain English."""
    handout_of(page, SERUM_HIGH)
    worse = page.locator("article.handout section.worse").inner_text()
    assert "slappe spieren, misselijk zijn, een trage hartslag" in worse, worse
    assert "Wordt het erger" not in worse and "of 112" not in worse, worse
    page.get_by_role("link", name="English").click()
    worse = page.locator("article.handout section.worse").inner_text()
    assert "If you notice one of these signs, call your GP at once" in worse, worse
    assert "If you feel very ill, call 112." in worse, worse
    page.context.clear_cookies()
    handout_of(page, PREGNANT)
    worse = page.locator("article.handout section.worse").inner_text()
    assert "meer hoofdpijn, wazig of anders zien, pijn boven in uw buik" in worse, worse
    assert "Merkt u een van deze tekenen? Bel dan meteen 112." in worse, worse
    page.get_by_role("link", name="English").click()
    text = page.locator("article.handout").inner_text()
    assert "If you cannot reach your midwife, call your hospital." in text, text
    assert "out-of-hours" not in text and "Cannot reach her" not in text, text


def test_handout_waits_for_the_gp_before_the_dose_and_keeps_the_medicine(page: Page) -> None:
    """Case 2: "do not start yet" comes before the dose, the schedule says so, and a referral
    about a medicine says not to stop it on your own; no "remedy for heartburn" beside it."""
    text = handout_of(page, OMEPRAZOL)
    take = page.locator("article.handout section.take").inner_text()
    assert take.index("Neem nog geen magnesium.") < take.index("Neem elke dag 175 mg"), take
    assert "175 mg magnesium (pas als uw huisarts ja zegt)" in text, text
    assert "Stop niet zelf met Omeprazol. Bespreek dat eerst met uw huisarts." in text, text
    assert "maagtabletten die u zelf koopt zonder recept" in text, text
    assert "middel tegen maagzuur" not in text, text
    follow = page.locator("article.handout section.follow-up").inner_text()
    assert "nee?" not in follow, follow
    page.get_by_role("link", name="English").click()
    text = page.locator("article.handout").inner_text()
    assert "Do not take magnesium yet. Wait until your GP says it is fine." in text, text
    assert "Take 175 mg of magnesium every day. Use magnesium citrate for this." in text, text
    assert "Do not stop Omeprazol on your own." in text, text
    assert "Take enough tablets to make 175 mg" in text, text


def test_handout_small_wording_of_the_second_check(page: Page) -> None:
    """P5, P6, P7, N1, case 1 and 4 points, E1: which product until when, how much less,
    "uw therapeut" throughout, the medicine's part of the day, plain English."""
    fill_product_intake(page)
    open_handout(page)
    text = page.locator("article.handout").inner_text()
    for words in (
        "07:00 ('s ochtends): Thyrax",
        "Maak daar nu al een afspraak voor met uw therapeut.",
        "Neem Magnesium Forte zo tot die afspraak.",
        "Vertel dat aan uw therapeut.",
    ):
        assert words in text, (words, text)
    assert "Neem dit tot die afspraak" not in text and "Zeg dat tegen" not in text, text
    page.get_by_role("link", name="English").click()
    text = page.locator("article.handout").inner_text()
    for words in (
        "Until now you took 1 tablet of Magnesium Forte a day.",
        "07:00 (in the morning): Thyrax",
        "Keep taking Magnesium Forte like this until then.",
        "If you feel worse or get new symptoms, call your GP.",
    ):
        assert words in text, (words, text)
    assert "Do you feel worse" not in text and "for then" not in text, text
    page.context.clear_cookies()
    text = handout_of(page, CHILD)
    # the extra is in mg (no tablets counted): "less magnesium", not "1 tablet less"
    assert "Geef dan minder magnesium en bel uw therapeut." in text, text
    assert "de therapeut" not in text, text
    assert "Geef uw kind Multivitamine kind en de extra magnesium zo tot die afspraak." in text
    page.get_by_role("link", name="English").click()
    text = page.locator("article.handout").inner_text()
    assert "Each tablet contains 50 mg of magnesium." in text, text
    assert "Also give your child an extra 50 mg of magnesium every day." in text, text
    assert "Giving it with a meal is also fine." in text, text
    assert "the therapist" not in text and "as now:" not in text, text
