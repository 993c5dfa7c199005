"""The web app through its HTTP interface (no browser): pages, API, errors, security basics."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mgadvisor.web.app import CSP, create_app

XSS = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def token(client: TestClient) -> str:
    client.get("/")
    value = client.cookies.get("mg_csrf")
    assert value
    return str(value)


def form(client: TestClient, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": token(client), **fields}


def test_intake_page_in_dutch_by_default_and_english_on_request(client: TestClient) -> None:
    nl = client.get("/", headers={"accept-language": "de-DE"})
    assert nl.status_code == 200 and '<html lang="nl">' in nl.text and "Magnesium-intake" in nl.text
    client.cookies.clear()
    en = client.get("/", headers={"accept-language": "en-GB,en;q=0.9"})

    assert '<html lang="en">' in en.text and "Magnesium intake" in en.text
    switched = client.get("/?lang=en")
    assert '<html lang="en">' in switched.text and switched.cookies.get("mg_lang") == "en"
    client.cookies.clear()


def test_security_headers_and_no_inline_script(client: TestClient) -> None:
    page = client.get("/?lang=nl")
    assert page.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
    html = page.text
    assert "<script>" not in html and "onclick=" not in html
    assert page.headers["x-content-type-options"] == "nosniff"
    first_visit = TestClient(create_app()).get("/").headers["set-cookie"]
    assert "mg_csrf=" in first_visit and "HttpOnly" in first_visit


def test_the_api_sets_no_cookies_but_keeps_the_security_headers() -> None:
    fresh = TestClient(create_app())
    response = fresh.get("/api/v1/health?lang=en")
    assert response.status_code == 200 and "set-cookie" not in response.headers
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-frame-options"] == "DENY"
    took = response.headers["server-timing"]
    assert took.startswith("app;dur=") and float(took.removeprefix("app;dur=")) >= 0


def test_form_post_needs_the_csrf_token(client: TestClient) -> None:
    response = client.post("/advice?lang=nl", data={"person.age": "40", "person.sex": "male"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="nl">' in response.text and "Dit formulier is verlopen" in response.text
    forged = client.post("/advice?lang=en", data={"csrf_token": "forged", "person.age": "40"})
    assert forged.status_code == 403 and "This form has expired" in forged.text


def test_advice_page_with_referral_and_schedule(client: TestClient) -> None:
    page = client.post(
        "/advice?lang=nl",
        data=form(
            client,
            **{
                "person.age": "72",
                "person.sex": "female",
                "goals": ["sleep"],
                "med.0.name": "Thyrax",
                "med.0.time": "07:00",
                "lab.egfr.value": "55",
                "lab.egfr.unit": "mL/min/1.73m2",
            },
        ),
    )
    assert page.status_code == 200
    assert "Verwijs naar een arts" in page.text  # eGFR 55: medical supervision
    assert "Magnesiumbisglycinaat" in page.text and "20:00" in page.text
    assert "levothyroxine" in page.text.lower()
    assert "Literatuur" in page.text and "Abbasi" in page.text


def test_invalid_field_keeps_everything_typed(client: TestClient) -> None:
    page = client.post(
        "/advice?lang=en",
        data=form(
            client,
            **{
                "person.age": "abc",
                "person.sex": "female",
                "med.1.name": "Ciproxin",
                "med.1.time": "25:99",
                "goals": ["energy"],
                "lifestyle.stress": "high",
            },
        ),
    )
    assert page.status_code == 422
    html = page.text
    assert 'id="f-person.age"' in html and 'value="abc"' in html and 'aria-invalid="true"' in html
    assert 'id="e-person.age"' in html and "expected a number" in html
    assert 'id="e-med.1.time"' in html and "HH:MM" in html  # the message sits next to its field
    assert 'value="Ciproxin"' in html and 'value="energy" checked' in html
    assert '<option value="high" selected>' in html


@pytest.mark.parametrize(
    "field",
    ["med.0.name", "prod.0.compound", "prod.1.name", "lab.serum_magnesium.value", "person.age"],
)
def test_script_injection_is_escaped_everywhere(client: TestClient, field: str) -> None:
    data = {"person.age": "40", "person.sex": "male", field: XSS}
    page = client.post("/advice?lang=en", data=form(client, **data))
    assert XSS not in page.text
    assert "&lt;script&gt;" in page.text


def test_tools_escape_and_calculate(client: TestClient) -> None:
    page = client.get(
        "/tools",
        params={
            "compound": "magnesium_citrate",
            "mass": "500",
            "value": "0.75",
            "from": "mmol/L",
            "to": "mg/dL",
            "medicines": XSS,
            "lang": "en",
        },
    )
    assert "80.8 mg elemental magnesium" in page.text and "1.823 mg/dL" in page.text
    assert XSS not in page.text


def test_kb_pages(client: TestClient) -> None:
    assert "60,30" in client.get("/kb?lang=nl").text  # oxide, computed, Dutch notation
    entry = client.get("/kb/magnesium_taurate?lang=en")
    assert entry.status_code == 200 and "Magnesium taurate" in entry.text and "[" in entry.text
    search = client.get("/kb", params={"q": "slapeloosheid", "lang": "nl"})
    assert "/kb/sleep" in search.text
    assert client.get("/kb/nothing_like_this").status_code == 404


def test_handout_pdf_is_a_real_pdf_with_the_advice(client: TestClient) -> None:
    from pypdf import PdfReader

    intake = '{"person": {"age": 45, "sex": "female"}, "goals": ["sleep"]}'
    response = client.post("/handout.pdf?lang=nl", data=form(client, intake_json=intake))
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert (
        "Uw magnesiumadvies" in text
        and "magnesiumbisglycinaat" in text  # a compound, mid-sentence
        and "mg magnesium per dag" in text
    )


def test_api_advice_contract_and_error_shape(client: TestClient) -> None:
    ok = client.post(
        "/api/v1/advice?lang=en&as_of=2026-11-22",
        json={"person": {"age": 40, "sex": "male"}, "goals": ["energy"]},
    )
    assert ok.status_code == 200
    body = ok.json()
    assert body["lang"] == "en" and body["as_of"] == "2026-11-22" and body["compounds"]
    bad = client.post("/api/v1/advice?lang=en", json={"person": {"age": 40}, "goals": ["slep"]})
    assert bad.status_code == 422
    shape = bad.json()
    assert set(shape) == {"error", "errors"}
    # every problem at once: the structure and the codes (a second round found the codes)
    assert {e["loc"] for e in shape["errors"]} == {"person.sex", "goals[0]"}
    codes = client.post(
        "/api/v1/advice?lang=en", json={"person": {"age": 40, "sex": "male"}, "goals": ["slep"]}
    )
    assert codes.status_code == 422 and codes.json()["errors"][0]["loc"] == "goals[0]"
    assert "Did you mean 'sleep'?" in codes.json()["errors"][0]["msg"]

    not_json = client.post(
        "/api/v1/advice", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422 and set(not_json.json()) == {"error", "errors"}
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and set(missing.json()) == {"error", "errors"}


def test_request_size_limit(client: TestClient) -> None:
    big = client.post(
        "/api/v1/advice", content=b"x" * 300_000, headers={"content-type": "application/json"}
    )
    assert big.status_code == 413 and set(big.json()) == {"error", "errors"}
    assert big.json()["error"] == f"inhoud van het verzoek groter dan {256 * 1024} bytes"


@pytest.mark.parametrize(
    ("lang", "summary", "words"),
    [
        (
            "nl",
            "ongeldig verzoek",
            "as_of: verwacht een datum als JJJJ-MM-DD, maar kreeg 'gisteren'",
        ),
        ("en", "invalid request", "as_of: expected a date as YYYY-MM-DD, got 'gisteren'"),
    ],
)
def test_api_errors_speak_the_requested_language(
    client: TestClient, lang: str, summary: str, words: str
) -> None:
    """Summary and every field line follow ?lang=: field, what was expected, what was given."""
    intake = {"person": {"age": 40, "sex": "male"}}
    bad_date = client.post(f"/api/v1/advice?lang={lang}&as_of=gisteren", json=intake)
    assert bad_date.status_code == 422
    assert bad_date.json() == {
        "error": summary,
        "errors": [{"loc": ["query", "as_of"], "msg": words}],
    }
    broken = client.post(
        f"/api/v1/advice?lang={lang}", content=b"{", headers={"content-type": "application/json"}
    )
    assert broken.json()["errors"][0]["msg"].startswith("body: ")
    missing = client.get(f"/api/v1/nothing?lang={lang}")
    assert missing.json()["error"] == {"nl": "niet gevonden", "en": "not found"}[lang]
    wrong_method = client.post(f"/api/v1/health?lang={lang}")
    assert wrong_method.status_code == 405
    assert (
        wrong_method.json()["error"]
        == {"nl": "methode niet toegestaan", "en": "method not allowed"}[lang]
    )


def test_unknown_page_is_a_page_and_the_advice_address_leads_back_to_the_intake(
    client: TestClient,
) -> None:
    unknown = client.get("/no-such-page?lang=en")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")
    assert "Not found" in unknown.text and 'href="/kb"' in unknown.text
    reloaded = client.get("/advice", follow_redirects=False)
    assert reloaded.status_code == 303 and reloaded.headers["location"] == "/"


def test_api_lookups(client: TestClient) -> None:
    rows = client.get("/api/v1/interactions", params={"medicine": ["Ciproxin", "Xyzomab"]}).json()
    assert rows[0]["interaction"]["medicine_first_h"] == 2 and rows[1]["resolved"] is False
    assert any(c["code"] == "magnesium_oxide" for c in client.get("/api/v1/compounds").json())
    assert client.get("/api/v1/kb/search", params={"q": "insomnia", "lang": "en"}).json()
    assert client.get("/api/v1/health").json()["status"] == "ok"
    assert "/api/v1/advice" in client.get("/openapi.json").json()["paths"]


def test_api_documentation_works_offline(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200 and "<script>" not in docs.text  # no inline script (CSP)
    script = re.search(r"/static/swagger/swagger-ui-bundle\.[0-9a-f]{10}\.js", docs.text)
    assert script, "the bundle under its hashed name (web/assets.py)"
    bundle = client.get(script.group())
    assert bundle.status_code == 200 and len(bundle.content) > 100_000  # served locally, no CDN


@pytest.mark.parametrize(
    "source",
    [
        "{{ d.a }}|{{ d.get('x', 'y') }}|{{ d.items()|list|length }}|{{ d.missing is undefined }}",
        "{{ obj.real }}|{{ d['get'] }}|{{ n.a.b }}",
    ],
)
def test_template_lookups_give_what_jinja_gives(source: str) -> None:
    """The pages' faster dict lookup (key first) renders exactly what Jinja's own lookup does."""
    import jinja2

    from mgadvisor.web.app import _template_env

    data = {"d": {"a": 1, "get": 2, "items": 3}, "obj": 4.5, "n": {"a": {"b": "<i>"}}}
    ours = _template_env().from_string(source).render(data)
    theirs = jinja2.Environment(autoescape=True).from_string(source).render(data)
    assert ours == theirs
    assert "1|y|3|True" in ours or "4.5|2|&lt;i&gt;" in ours


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_translate_calls_render_what_plain_calls_render(lang: str) -> None:
    """A template's `t("text", ...)`, compiled as a direct filter call (filters.py), renders
    what the call itself renders, wherever it stands; other calls of `t` are left alone."""
    import jinja2

    from mgadvisor.i18n import Translator
    from mgadvisor.web.app import _template_env
    from mgadvisor.web.filters import register

    source = (
        '{{ t("Advice") }}|{{ t("Read as {value}", value=x) }}|{{ t("Ad" ~ "vice") }}|{{ t(code) }}'
        '|{{ obj.t("Advice") }}|{{ t.num(2.5, 1) }}|{{ t("Advice")|length }}'
        '|{{ t("Why?") if x else t("Advice") }}|{% set s = t("Dose") %}{{ s }}'
        '|{% for k, v in [("a", t("Time")), ("b", t("What"))] %}{{ k }}={{ v }},{% endfor %}'
        '|{% macro m(x) %}{{ t("Read as {value}", value=x) }}{% endmacro %}{{ m(x) }}'
        '|{{ t ( "Amount" ) }}|{{ [t][0]("Amount") }}'
    )
    data = {"t": Translator(lang), "x": XSS, "code": "Compounds", "obj": {"t": str.upper}}
    ours = _template_env()
    register(ours)
    plain = jinja2.Environment(autoescape=True)
    assert ours.from_string(source).render(data) == plain.from_string(source).render(data)
    assert "filters['_t']" in ours.compile(source, raw=True)


def test_trace_items_link_unlisted_keys_to_the_bibliography_and_repeat_exactly() -> None:
    """A rule step's item (built once per inputs, then reused): its topic and result in words,
    a key the advice lists links to the page's list, another to /references."""
    from mgadvisor.i18n import Translator
    from mgadvisor.web.filters import trace_items

    steps = [
        {"rule": "risk.score", "result": "3 items", "sources": ["a", "b<"]},
        {"rule": "x.y", "result": XSS, "sources": []},
    ]
    first = str(trace_items(steps, {"a"}, Translator("en")))
    assert first == str(trace_items(steps, {"a"}, Translator("en")))
    assert first.startswith('<li>Deficiency risk (<code lang="en">risk.score</code>): 3 found ')
    assert '<a href="#ref-a">a</a>, <a href="/references#ref-b&lt;">b&lt;</a>' in first
    assert "<script>" not in first and "&lt;script&gt;" in first
    listed = str(trace_items(steps, {"a", "b<"}, Translator("nl")))
    assert '<a href="#ref-b&lt;">' in listed and "Risico op tekort" in listed


def test_finding_and_reference_filters_escape_and_place_what_they_are_given() -> None:
    from mgadvisor.web.filters import findings, reference_items, timeline_x

    item = {"text": XSS, "sources": ["a&b", "c"], "severity": "warning", "points": 2}
    plain = str(findings([item]))
    keys = '[<a href="#ref-a&amp;b">a&amp;b</a>, <a href="#ref-c">c</a>]'  # each key links
    assert "<script>" not in plain and "&lt;script&gt;" in plain and keys in plain
    assert plain.startswith("<li>&lt;") and "+2" not in plain
    marked = str(findings([item], severity=True, points=True))
    assert marked.startswith('<li class="warning">+2 &lt;script&gt;')
    refs = str(reference_items([{"key": "x<1>", "apa": XSS}]))
    assert refs.startswith('<li id="ref-x&lt;1&gt;">') and "<script>" not in refs
    assert [timeline_x(c) for c in ("06:00", "15:00", "24:00", "03:30")] == [20, 240, 460, 20]


def test_new_intake_fields_reach_the_advice(client: TestClient) -> None:
    """Week of pregnancy, the lab's own range, several products and a medicine's frequency
    and times travel from the form into the advice (issue 10)."""
    data = {
        "person.age": "34",
        "person.sex": "female",
        "person.pregnancy_week": "30",
        "conditions": ["hypertension"],
        "complaints": ["headache"],
        "lab.serum_magnesium.value": "0,72",
        "lab.serum_magnesium.unit": "mmol/L",
        "lab.serum_magnesium.range": "0,70-1,00",
        "prod.0.name": "Magnesium Forte",
        "prod.0.compound": "magnesium citrate",
        "prod.0.amount_mg": "100",
        "prod.0.basis": "elemental",
        "prod.0.units_per_day": "2",
        "prod.1.name": "Multivitamine",
        "prod.1.amount_mg": "50",
        "med.0.name": "Ciproxin 500 mg",
        "med.0.time": "08:00, 20:00",
        "med.0.frequency": "twice_daily",
    }
    page = client.post("/advice?lang=en", data=form(client, **data))
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "urgency-emergency" in html  # pre-eclampsia alarm signs: act now, before anything else
    assert html.index("urgency-emergency") < html.index("Deficiency")
    # no plan until the doctor has seen her, but her products do not harm her: not "stop"
    assert "Stop Magnesium Forte" not in html and "urgency-emergency" in html
    assert "0.70–1.00 mmol/L (lab)" in html  # the lab's own range is the one used, as printed


def test_a_bad_lab_range_is_a_field_error_that_keeps_what_was_typed(client: TestClient) -> None:
    data = {
        "person.age": "50",
        "person.sex": "male",
        "lab.serum_magnesium.value": "0.8",
        "lab.serum_magnesium.unit": "mmol/L",
        "lab.serum_magnesium.range": "1.0-0.7",
    }
    page = client.post("/advice?lang=en", data=form(client, **data))
    assert page.status_code == 422
    assert 'id="e-lab.serum_magnesium.range"' in page.text and 'value="1.0-0.7"' in page.text


# -- The UX test's findings: the error summary, the hints, the tables, the day schedule ---------

BAD_FORM = {
    "person.age": "200",
    "person.sex": "female",
    "person.weight_kg": "zeventig",
    "med.0.name": "omeprazol",
    "med.1.name": "furosemide",
    "med.1.time": "25:99",
    "lab.serum_magnesium.value": "0,6x2",
    "lab.serum_magnesium.unit": "mmol/L",
    "as_of": "gisteren",
}


def summary_items(html: str) -> list[str]:
    import html as entities

    return [
        entities.unescape(item)
        for item in re.findall(r'<li><a href="#f-[^"]+">(.*?)</a></li>', html)
    ]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "nl",
            [
                "Leeftijd (jaren): verwacht een getal van hoogstens 120. U vulde '200' in.",
                "Gewicht (kg): verwacht een getal. U vulde 'zeventig' in.",
                "Geneesmiddel 2 – Tijd(en) van innemen: verwacht een tijd zoals 8:00 of 20:30"
                " (UU:MM), meerdere gescheiden door een komma. U vulde '25:99' in.",
                "Magnesium in serum: verwacht een getal. U vulde '0,6x2' in.",
                "Datum van het advies: verwacht een datum als JJJJ-MM-DD. U vulde 'gisteren' in.",
            ],
        ),
        (
            "en",
            [
                "Age (years): expected a number of at most 120. You entered '200'.",
                "Weight (kg): expected a number. You entered 'zeventig'.",
                "Medicine 2 – Time(s) taken: expected a time such as 8:00 or 20:30 (HH:MM),"
                " several separated by a comma. You entered '25:99'.",
                "Serum magnesium: expected a number. You entered '0,6x2'.",
                "Date of the advice: expected a date as YYYY-MM-DD. You entered 'gisteren'.",
            ],
        ),
    ],
)
def test_the_error_summary_names_each_field_by_its_label_and_what_was_typed(
    client: TestClient, lang: str, expected: list[str]
) -> None:
    page = client.post(f"/advice?lang={lang}", data=form(client, **BAD_FORM))
    assert page.status_code == 422
    top = page.text[
        page.text.index('id="form-errors"') : page.text.index(
            "</div>", page.text.index('id="form-errors"')
        )
    ]
    assert summary_items(top) == expected  # every problem, a bad date included
    assert {"nl": "Verbeter de 5 gemarkeerde velden", "en": "Correct the 5 marked fields"}[
        lang
    ] in top
    # next to the field: the same message without the label (the label is right above it)
    near = re.search(r'<p class="error" id="e-person\.age">(.*?)</p>', page.text)
    assert near is not None and expected[0].split(": ", 1)[1][1:] in near.group(1).replace(
        "&#39;", "'"
    )
    assert 'value="200"' in page.text and 'value="zeventig"' in page.text  # kept as typed
    # the live panel: one box (what to do, then the same labelled list), not two
    live = client.post(f"/partials/advice?lang={lang}", data=form(client, **BAD_FORM)).text
    assert live.count('class="alert') == 1 and live.count("live-summary") == 1
    assert summary_items(live) == expected


def test_the_summary_lists_a_lab_error_with_the_age_error_in_one_round(
    client: TestClient,
) -> None:
    """The age (the form's check) and a lab value beyond its limits (the knowledge base's
    check) come back together; every value stays as typed."""
    data = {
        "person.age": "200",
        "person.sex": "female",
        "lab.serum_magnesium.value": "50",
        "lab.serum_magnesium.unit": "mmol/L",
        "lab.creatinine.value": "80",
        "lab.creatinine.unit": "mmol/L",
    }
    page = client.post("/advice?lang=en", data=form(client, **data))
    assert page.status_code == 422
    top = page.text[page.text.index('id="form-errors"') :]
    items = summary_items(top[: top.index("</div>")])
    assert [item.split(":")[0] for item in items] == [
        "Age (years)",
        "Serum magnesium",
        "Serum creatinine – Unit",
    ]
    assert "from 0.05 to 10 mmol/L" in items[1] and "'50'" in items[1]
    for name, value in data.items():
        if name != "person.sex":
            assert f'name="{name}"' in page.text and f'value="{value}"' in page.text


@pytest.mark.parametrize(
    ("lang", "lab", "product"),
    [
        ("nl", "van 0,05 tot 10 mmol/L", "minstens 0,1."),
        ("en", "from 0.05 to 10 mmol/L", "at least 0.1."),
    ],
)
def test_numbers_in_a_fields_message_use_the_pages_decimal_sign(
    client: TestClient, lang: str, lab: str, product: str
) -> None:
    """The Dutch form takes "0,05", so its messages write the limits so too."""
    data = {
        "person.age": "40",
        "person.sex": "male",
        "lab.serum_magnesium.value": "0,01",
        "lab.serum_magnesium.unit": "mmol/L",
        "prod.0.compound": "magnesium citrate",
        "prod.0.amount_mg": "0,01",
    }
    page = client.post(f"/advice?lang={lang}", data=form(client, **data))
    assert page.status_code == 422
    lab_error = re.search(r'id="e-lab\.serum_magnesium\.value">(.*?)</p>', page.text)
    product_error = re.search(r'id="e-prod\.0\.amount_mg">(.*?)</p>', page.text)
    assert lab_error and lab in lab_error.group(1)
    assert product_error and product in product_error.group(1)
    assert ("0.05" if lang == "nl" else "0,05") not in page.text


def test_every_field_of_the_form_has_a_label_for_the_summary(client: TestClient) -> None:
    from mgadvisor.i18n import Translator
    from mgadvisor.kb import load_knowledge
    from mgadvisor.web.forms import field_label

    kb = load_knowledge()
    html = client.get("/?lang=en").text
    names = set(re.findall(r'<(?:input|select)[^>]* name="([^"]+)"', html)) - {"csrf_token"}
    names |= {"med.19.time", "prod.2.basis"}
    assert len(names) > 60
    for lang in ("nl", "en"):
        t = Translator(lang)
        unnamed = sorted(name for name in names if field_label(name, t, kb) == name)
        assert not unnamed, unnamed
    t = Translator("nl")
    assert field_label("lab.creatinine.unit", t, kb) == "Creatinine in serum – Eenheid"
    assert field_label("prod.0.name", t, kb) == "Product 1"
    assert field_label("complaints", t, kb) == "Klachten"


@pytest.mark.parametrize(
    ("lang", "weight", "sport", "lab_range"),
    [
        ("en", "A decimal point or comma is fine: 64.5.", "comma is fine: 2.5.", "e.g. 0.70–1.00"),
        ("nl", "Een decimale komma of punt mag: 64,5.", "punt mag: 2,5.", "bijvoorbeeld 0,70–1,00"),
    ],
)
def test_number_hints_show_the_pages_own_notation(
    client: TestClient, lang: str, weight: str, sport: str, lab_range: str
) -> None:
    html = client.get(f"/?lang={lang}").text
    assert weight in html and sport in html and lab_range in html
    assert ("64,5" if lang == "en" else "64.5") not in html


def test_every_table_scrolls_within_itself_on_a_phone(client: TestClient) -> None:
    data = {
        "person.age": "60",
        "person.sex": "female",
        "med.0.name": "omeprazol",
        "med.0.time": "8:00",
        "lab.serum_magnesium.value": "0.62",
        "lab.serum_magnesium.unit": "mmol/L",
    }
    pages = [client.post("/advice?lang=nl", data=form(client, **data)).text, client.get("/kb").text]
    for html in pages:
        assert "<table" in html
        assert html.count("<table") == html.count('<div class="table-wrap"><table')


def test_the_interactions_are_cards_on_a_phone(client: TestClient) -> None:
    """At 390 px the interactions table does not scroll sideways unseen: each row is a card
    and each cell names its column (style.css: table.stack below 600 px)."""
    import html as entities

    data = {
        "person.age": "60",
        "person.sex": "female",
        "med.0.name": "levothyroxine",
        "med.0.time": "7:00",
        "med.1.name": "ciprofloxacine",
        "med.1.time": "8:00",
    }
    page = client.post("/advice?lang=nl", data=form(client, **data)).text
    start = page.index("<h3>Interacties</h3>")
    table = page[start : page.index("</table>", start)]
    assert '<table class="stack" role="table">' in table
    cells = re.findall(r"<td([^>]*)>", table)
    assert cells and len(cells) % 3 == 0
    labels = [re.search(r'data-label="([^"]*)"', cell) for cell in cells]
    assert all(labels)
    assert [entities.unescape(m.group(1)) for m in labels[:3] if m] == [
        "Geneesmiddel",
        "ATC",
        "Regel",
    ]
    css = client.get("/static/style.css").text
    phone = css[css.index("@media (max-width: 600px)") :]
    phone = phone[: phone.index("\n}")]
    assert "table.stack td::before { content: attr(data-label)" in phone
    assert (
        "table.stack, table.stack tbody, table.stack tr, table.stack td { display: block" in phone
    )


def test_dots_at_the_same_time_are_stacked_and_all_named(client: TestClient) -> None:
    from mgadvisor.web.filters import timeline_layout

    layout = timeline_layout(
        [
            {"time": "08:00", "kind": "medication", "name": "omeprazol"},
            {"time": "08:00", "kind": "magnesium", "name": "Mg"},
            {"time": "08:15", "kind": "medication", "name": "furosemide"},  # 6 px further
            {"time": "20:00", "kind": "medication", "name": "Thyrax"},
            {"time": None, "kind": "medication", "name": "as needed"},
        ]
    )
    dots = [(d["name"], d["y"]) for d in layout["dots"]]
    assert dots == [("Mg", 30), ("omeprazol", 14), ("furosemide", -2), ("Thyrax", 30)]
    assert layout["lift"] == 32 and layout["height"] == 96
    data = {
        "person.age": "60",
        "person.sex": "female",
        "med.0.name": "omeprazol",
        "med.0.time": "8:00",
        "med.1.name": "furosemide",
        "med.1.time": "8:00",
    }
    html = client.post("/advice?lang=nl", data=form(client, **data)).text
    svg = html[
        html.index('<svg class="timeline"') : html.index(
            "</svg>", html.index('<svg class="timeline"')
        )
    ]
    circles = re.findall(r'<circle cx="([\d.]+)" cy="(-?\d+)"', svg)
    assert len(circles) == 3 and len(set(circles)) == 3  # none on top of another
    label = re.search(r'aria-label="([^"]+)"', svg)
    assert label is not None
    for text in ("(magnesium)", "omeprazol (geneesmiddel)", "furosemide (geneesmiddel)"):
        assert text in label.group(1)
