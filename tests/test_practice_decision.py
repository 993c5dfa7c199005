"""A changed decision on a stored visit: the pure `apply_decision` (records/decision.py) and the
documents of the visit (client handout, PDF) that follow it, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import io
import re
from typing import Any

import pytest
from sqlalchemy import Engine

from mgadvisor.kb import load_knowledge
from mgadvisor.records.decision import NoMomentsError, apply_decision, spread
from test_practice_web import ANNA, Site, new_client, save_visit


def _document(**dose: Any) -> dict[str, Any]:
    return {
        "lang": "nl",
        "compounds": [{"code": "magnesium_citrate", "name": "Magnesiumcitraat"}],
        "dose": {
            "status": "advised",
            "elemental_mg_per_day": 150.0,
            "upper_level_mg": 250.0,
            "exceeds_upper_level": False,
            "intakes": [
                {
                    "time": "08:00",
                    "moment": "morning",
                    "elemental_mg": 75.0,
                    "compound": "magnesium_citrate",
                    "meal": "any",
                },
                {
                    "time": "20:00",
                    "moment": "evening",
                    "elemental_mg": 75.0,
                    "compound": "magnesium_citrate",
                    "meal": "any",
                },
            ],
            "product": None,
            **dose,
        },
        "schedule": [
            {
                "time": "08:00",
                "kind": "magnesium",
                "label": "magnesium_citrate",
                "elemental_mg": 75.0,
                "name": "Magnesiumcitraat",
            },
            {
                "time": "12:00",
                "kind": "medication",
                "label": "levothyroxine",
                "elemental_mg": None,
                "name": "levothyroxine",
            },
            {
                "time": "20:00",
                "kind": "magnesium",
                "label": "magnesium_citrate",
                "elemental_mg": 75.0,
                "name": "Magnesiumcitraat",
            },
        ],
    }


def test_a_changed_dose_is_spread_over_the_same_moments() -> None:
    kb = load_knowledge()
    document = _document()
    before = copy.deepcopy(document)
    out = apply_decision(document, {"elemental_mg": 301.0}, kb)
    assert document == before  # the stored advice is not touched
    dose = out["dose"]
    assert dose["elemental_mg_per_day"] == 301.0 and dose["exceeds_upper_level"] is True
    assert [(i["time"], i["elemental_mg"]) for i in dose["intakes"]] == [
        ("08:00", 151.0),
        ("20:00", 150.0),
    ]
    mg_rows = [r for r in out["schedule"] if r["kind"] == "magnesium"]
    assert [(r["time"], r["elemental_mg"]) for r in mg_rows] == [("08:00", 151.0), ("20:00", 150.0)]
    assert out["schedule"][1] == before["schedule"][1]  # the medicine keeps its time


def test_a_changed_compound_is_named_and_the_own_products_units_go() -> None:
    kb = load_knowledge()
    own = {"name": "Magnesium 100", "advised_units_per_day": 2, "elemental_mg_per_unit": 75.0}
    out = apply_decision(
        _document(product=own), {"compound": "magnesium_bisglycinate", "elemental_mg": 200}, kb
    )
    name = kb.compounds["magnesium_bisglycinate"].name.get("nl")
    assert {i["compound"] for i in out["dose"]["intakes"]} == {"magnesium_bisglycinate"}
    assert {r["name"] for r in out["schedule"] if r["kind"] == "magnesium"} == {name}
    assert out["dose"]["product"]["advised_units_per_day"] is None
    assert out["dose"]["exceeds_upper_level"] is False
    assert sum(i["elemental_mg"] for i in out["dose"]["intakes"]) == 200


def test_no_moments_means_no_invented_times() -> None:
    kb = load_knowledge()
    for dose in ({"status": "withheld"}, {"status": "on_hold"}, {"intakes": []}):
        with pytest.raises(NoMomentsError):
            apply_decision(_document(**dose), {"elemental_mg": 200.0}, kb)
        # a note alone changes nothing that needs a time
        assert apply_decision(_document(**dose), {"note": "x"}, kb) == _document(**dose)


def test_spread_adds_up() -> None:
    assert spread(200, 3) == [67, 67, 66]
    assert spread(100.5, 2) == [50.3, 50.2]
    assert sum(spread(250, 4)) == 250


@pytest.fixture
def site(engine: Engine) -> Site:
    return Site(engine)


def _handout_text(html: str) -> str:
    start = html.index('<article class="handout"')
    return re.sub(r"<[^>]+>", " ", html[start : html.index("</article>", start)])


def test_the_handout_of_a_changed_visit_follows_the_decision(site: Site) -> None:
    from pypdf import PdfReader

    anna = site.browser(ANNA)
    cid = new_client(anna)
    vid = save_visit(
        anna,
        cid,
        "2026-11-02",
        "changed",
        **{
            "change.elemental_mg": "200",
            "change.compound": "magnesium_bisglycinate",
            "reason": "Loose stools on citrate",
        },
    )
    url = f"/clients/{cid}/visits/{vid}"
    handout = anna.get(url + "/handout")
    assert handout.status_code == 200
    text = _handout_text(handout.text)
    assert "200 mg" in text and "150 mg" not in text
    assert "magnesiumbisglycinaat" in text.lower() and "citraat" not in text.lower()
    pdf = anna.get(url + "/handout.pdf")
    assert pdf.status_code == 200
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "200 mg" in pdf_text and "150 mg" not in pdf_text
    assert len(site.audit("visit.print")) == 1
    # the visit page says the advice shown is the engine's proposal that was changed
    shown = anna.get(url)
    assert 'id="engine-proposal"' in shown.text
    assert shown.text.index('id="engine-proposal"') < shown.text.index('<section class="advice"')
    # an accepted visit's page has no such notice and its handout keeps the advice's dose
    accepted = save_visit(anna, cid, "2026-11-03")
    assert 'id="engine-proposal"' not in anna.get(f"/clients/{cid}/visits/{accepted}").text
    assert "150 mg" in _handout_text(anna.get(f"/clients/{cid}/visits/{accepted}/handout").text)


def test_a_changed_schedule_replaces_the_magnesium_times_and_keeps_the_medicines() -> None:
    from datetime import date

    from mgadvisor.i18n import Translator
    from mgadvisor.intake import parse_intake
    from mgadvisor.kb import load_knowledge
    from mgadvisor.pipeline import advice_document
    from mgadvisor.render.handout import Extras, handout
    from mgadvisor.web.practice_visits import _with_decision

    kb = load_knowledge()
    intake = {
        "person": {"age": 60, "sex": "female"},
        "complaints": ["muscle_cramps"],
        "medications": [{"name": "levothyroxine", "time": "07:00"}],
    }
    document = advice_document(parse_intake(intake, kb), kb, as_of=date(2026, 11, 2), lang="en")
    out = handout(document, Extras(), Translator("en"), intake["person"])
    medicine = [line for line in out.when if "levothyrox" in line.lower()]
    assert medicine and any("mg magnesium" in line for line in out.when)
    changes = {"schedule": "one at breakfast, one at 21:00"}
    _with_decision(out, document, changes, document)
    assert out.when == ["Magnesium: one at breakfast, one at 21:00", *medicine]


def _preview(browser: Any, cid: str, when: str = "2026-11-02") -> Any:
    from test_practice_web import INTAKE_FORM, token

    return browser.post(
        f"/clients/{cid}/visits/preview",
        data={
            "csrf_token": token(browser),
            "person.age": "76",
            "person.sex": "female",
            "as_of": when,
            **INTAKE_FORM,
        },
    )


def test_the_decision_is_a_required_choice_nothing_is_preselected(site: Site) -> None:
    import html

    from test_practice_web import token

    anna = site.browser(ANNA)
    cid = new_client(anna)
    preview = _preview(anna, cid)
    assert preview.status_code == 200
    assert not re.search(r'name="decision" value="\w+"[^>]*\bchecked', preview.text)
    intake_json = html.unescape(re.findall(r'name="intake_json" value="([^"]*)"', preview.text)[0])
    refused = anna.post(
        f"/clients/{cid}/visits",
        data={"csrf_token": token(anna), "intake_json": intake_json, "visit_date": "2026-11-02"},
    )
    assert refused.status_code == 422
    assert 'id="e-decision"' in refused.text
    assert "Het advies: verwacht overnemen of aanpassen, maar kreeg geen keuze" in refused.text
    assert html.unescape(re.findall(r'name="intake_json" value="([^"]*)"', refused.text)[0]) == (
        intake_json
    )
    english = anna.post(
        f"/clients/{cid}/visits?lang=en",
        data={"csrf_token": token(anna), "intake_json": intake_json, "visit_date": "2026-11-02"},
    )
    assert english.status_code == 422
    assert "The advice: expected accept or change, got nothing chosen" in english.text
    assert not site.audit("visit.create")


def test_the_visit_list_and_the_worklist_show_the_decided_dose(site: Site) -> None:
    import uuid

    from sqlalchemy import select

    from mgadvisor.records.database import session_scope
    from mgadvisor.records.models import Visit

    anna = site.browser(ANNA)
    cid = new_client(anna)
    vid = save_visit(
        anna,
        cid,
        "2026-11-02",
        "changed",
        **{"change.elemental_mg": "200", "reason": "Cramps persist at 150 mg"},
    )
    client_page = anna.get(f"/clients/{cid}")
    visits = client_page.text[client_page.text.index('id="h-visits"') :]
    assert "200 mg elementair magnesium per dag" in visits
    assert "150 mg elementair magnesium per dag" not in visits
    assert "data-changed" in visits
    with session_scope(site.engine) as s:
        visit = s.scalars(select(Visit).where(Visit.id == uuid.UUID(vid))).one()
        due = visit.follow_up_date
    assert due is not None
    work = anna.get(f"/practice?as_of={due.isoformat()}&lang=en")
    assert "200 mg elemental magnesium a day" in work.text and "150 mg" not in work.text
    assert "data-changed" in work.text and "changed by you" in work.text


def test_the_visit_date_is_entered_not_in_the_future_and_the_advice_follows_it(
    site: Site,
) -> None:
    import html
    import json
    import uuid
    from datetime import timedelta

    from mgadvisor.records.database import session_scope
    from mgadvisor.records.models import Visit

    anna = site.browser(ANNA)
    cid = new_client(anna)
    today = site.clock().date()
    form = anna.get(f"/clients/{cid}/visits/new")
    assert 'id="s-visit"' in form.text and "Datum van het consult" in form.text
    assert f'id="f-as_of" name="as_of" type="date" value="{today.isoformat()}"' in form.text
    assert form.text.count('name="as_of"') == 1  # not also the intake's "date of the advice"
    future = (today + timedelta(days=1)).isoformat()
    refused = _preview(anna, cid, future)
    assert refused.status_code == 422
    assert 'id="e-as_of"' in refused.text and f'value="{future}"' in refused.text
    assert "niet in de toekomst" in refused.text
    assert 'value="0,68"' in refused.text or 'value="0.68"' in refused.text  # the input is kept
    earlier = (today - timedelta(days=20)).isoformat()
    vid = save_visit(anna, cid, earlier)
    with session_scope(site.engine) as s:
        visit = s.get(Visit, uuid.UUID(vid))
        assert visit is not None and visit.visit_date.isoformat() == earlier
        assert json.loads(visit.advice_json)["as_of"] == earlier
    # a visit date changed in the page's hidden field to a future day is refused as well
    preview = _preview(anna, cid, earlier)
    intake_json = html.unescape(re.findall(r'name="intake_json" value="([^"]*)"', preview.text)[0])
    from test_practice_web import token

    tampered = anna.post(
        f"/clients/{cid}/visits",
        data={
            "csrf_token": token(anna),
            "intake_json": intake_json,
            "visit_date": future,
            "decision": "accepted",
        },
    )
    assert tampered.status_code == 422


def test_a_stored_visit_offers_the_gp_letter_and_the_report(site: Site) -> None:
    from pypdf import PdfReader

    anna = site.browser(ANNA)
    cid = new_client(anna)
    vid = save_visit(
        anna, cid, "2026-11-02", "changed", **{"change.elemental_mg": "200", "reason": "Cramps"}
    )
    url = f"/clients/{cid}/visits/{vid}"
    shown = anna.get(url).text
    assert f'href="{url}/letter"' in shown and f'href="{url}/report"' in shown  # it refers
    reads = len(site.audit("visit.read"))
    letter = anna.get(url + "/letter")
    assert letter.status_code == 200
    body = re.sub(r"<[^>]+>", " ", letter.text)
    assert "200 mg" in body and "Mevrouw de Vries" in body  # the decision, the client named
    assert re.search(rf"Van: {re.escape(ANNA)} \(\S[^)]*\)", body)  # the sender and practice
    assert len(site.audit("visit.read")) == reads + 1
    report = anna.get(url + "/report")
    assert report.status_code == 200 and "150 mg" in report.text  # the advice as the engine gave it
    prints = len(site.audit("visit.print"))
    for kind in ("letter", "report"):
        pdf = anna.get(f"{url}/{kind}.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert len(site.audit("visit.print")) == prints + 2
    # a visit that is not there: not found
    other = anna.get(f"/clients/{cid}/visits/00000000-0000-0000-0000-000000000000/letter")
    assert other.status_code == 404
