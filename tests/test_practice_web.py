"""The practice pages through HTTP (TestClient), logged in through the real login pages, on
SQLite and PostgreSQL: clients with consent, a new visit from the last intake, the decision,
the stored advice re-rendered as stored, the handout PDF, 404 (audited) for another
practitioner's client, 403 for an admin, break-glass, the worklist and the comparison."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from auth_support import csrf, login, make_user, records_app
from mgadvisor.records.database import session_scope
from mgadvisor.records.models import AuditEvent, Client, Visit

ANNA, BRAM, DIRK = "anna@zuid.example", "bram@zuid.example", "dirk@zuid.example"


class Site:
    """The app with Anna and Bram (practitioners) and Dirk (admin) of one practice."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.app, self.clock = records_app(engine)
        self.secrets = {
            ANNA: make_user(engine, ANNA),
            BRAM: make_user(engine, BRAM),
            DIRK: make_user(engine, DIRK, "admin"),
        }

    def browser(self, email: str) -> TestClient:
        client = TestClient(self.app)
        login(client, self.clock, email, self.secrets[email])
        return client

    def audit(self, code: str) -> list[AuditEvent]:
        with session_scope(self.engine) as s:
            return list(s.scalars(select(AuditEvent).where(AuditEvent.event_code == code)))


@pytest.fixture
def site(engine: Engine) -> Site:
    return Site(engine)


def token(client: TestClient) -> str:
    return csrf(client)


def new_client(browser: TestClient, **fields: Any) -> str:
    data = {
        "csrf_token": token(browser),
        "name": "Mevrouw de Vries",
        "birth_date": "1950-03-01",
        "sex": "female",
        "contact": "06-12345678",
        "consent_method": "written",
        "consent_scope": ["records", "advice"],
        **fields,
    }
    response = browser.post("/clients", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text[:2000]
    found = re.fullmatch(r"/clients/([0-9a-f-]{36})", response.headers["location"])
    assert found
    return found.group(1)


INTAKE_FORM = {
    "complaints": ["muscle_cramps", "fatigue"],
    "lab.serum_magnesium.value": "0,68",
    "lab.serum_magnesium.unit": "mmol/L",
    "med.0.name": "omeprazole",
}


def save_visit(
    browser: TestClient, cid: str, when: str, decision: str = "accepted", **extra: str
) -> str:
    """Preview (the form of the new-visit page), then save with the decision."""
    page = browser.get(f"/clients/{cid}/visits/new")
    assert page.status_code == 200
    preview = browser.post(
        f"/clients/{cid}/visits/preview",
        data={
            "csrf_token": token(browser),
            "person.age": "76",
            "person.sex": "female",
            "as_of": when,
            **INTAKE_FORM,
        },
    )
    assert preview.status_code == 200, preview.text[:2000]
    intake_json = re.search(r'name="intake_json" value="([^"]*)"', preview.text)
    assert intake_json
    import html

    saved = browser.post(
        f"/clients/{cid}/visits",
        data={
            "csrf_token": token(browser),
            "intake_json": html.unescape(intake_json.group(1)),
            "visit_date": when,
            "decision": decision,
            **extra,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text[:3000]
    return saved.headers["location"].rsplit("/", 1)[1]


def test_a_client_is_created_with_consent_and_shown(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    page = anna.get(f"/clients/{cid}")
    assert page.status_code == 200 and "Mevrouw de Vries" in page.text
    with session_scope(site.engine) as s:
        client = s.get(Client, uuid.UUID(cid))
        assert client is not None
        assert client.consent_version == "2026-12" and client.consent_method == "written"
        assert client.consent_scope == "records,advice"
        assert client.consent_captured_at == site.clock()
    [created] = site.audit("client.create")
    assert created.client_id == uuid.UUID(cid) and created.outcome == "success"
    assert any(e.client_id == uuid.UUID(cid) for e in site.audit("client.read"))
    listed = anna.get("/clients?q=vries")
    assert "Mevrouw de Vries" in listed.text
    rows = anna.get("/clients/rows?q=jansen")
    assert "Mevrouw de Vries" not in rows.text
    searches = site.audit("client.search")
    assert searches and all("vries" not in (e.details or "").lower() for e in searches)


def test_a_client_without_consent_or_name_is_refused_with_the_input_kept(site: Site) -> None:
    anna = site.browser(ANNA)
    refused = anna.post(
        "/clients",
        data={"csrf_token": token(anna), "name": "Meneer Jansen", "consent_method": "written"},
    )
    assert refused.status_code == 422
    assert 'value="Meneer Jansen"' in refused.text and 'id="e-consent_scope"' in refused.text
    nameless = anna.post(
        "/clients",
        data={
            "csrf_token": token(anna),
            "name": " ",
            "consent_method": "written",
            "consent_scope": "records",
        },
    )
    assert nameless.status_code == 422 and 'id="e-name"' in nameless.text


def test_a_new_visit_starts_from_the_last_intake_and_the_client(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    first = anna.get(f"/clients/{cid}/visits/new")
    day = site.clock().date()  # the app's "today" comes from its clock
    age = day.year - 1950 - ((day.month, day.day) < (3, 1))
    assert f'name="person.age" type="text" value="{age}"' in first.text
    assert '<option value="female" selected>' in first.text
    assert 'id="advice-title"' in first.text  # the live panel starts with the advice
    assert 'action="/handout"' not in first.text  # no anonymous handout before saving
    save_visit(anna, cid, "2026-11-02")
    second = anna.get(f"/clients/{cid}/visits/new")
    assert 'value="0.68"' in second.text or 'value="0,68"' in second.text
    assert 'name="med.0.name" type="text" value="omeprazole"' in second.text
    assert re.search(r'value="muscle_cramps"\s+checked', second.text)


@pytest.mark.parametrize(("lang", "label"), [("en", "Visit date"), ("nl", "Datum van het consult")])
def test_the_visit_dates_error_is_labelled_as_the_visit_date(
    site: Site, lang: str, label: str
) -> None:
    """The new-visit form asks for the visit date: its error says so (not the intake page's
    'Date of the advice'), in the summary above the form and in the live panel."""
    anna = site.browser(ANNA)
    cid = new_client(anna)
    data = {
        "csrf_token": token(anna),
        "person.age": "76",
        "person.sex": "female",
        "as_of": "2099-01-01",  # in the future
        **INTAKE_FORM,
    }
    page = anna.post(f"/clients/{cid}/visits/preview?lang={lang}", data=data)
    assert page.status_code == 422
    items = re.findall(r'<li><a href="#f-as_of">(.*?)</a></li>', page.text)
    assert len(items) == 1 and items[0].startswith(f"{label}: "), items
    form = anna.get(f"/clients/{cid}/visits/new?lang={lang}").text
    assert 'name="form_kind" value="visit"' in form
    live = anna.post(
        f"/partials/advice?lang={lang}", data={**data, "as_of": "gisteren", "form_kind": "visit"}
    )
    items = re.findall(r'<li><a href="#f-as_of">(.*?)</a></li>', live.text)
    assert len(items) == 1 and items[0].startswith(f"{label}: "), items


def test_a_changed_advice_needs_a_reason_and_keeps_the_input(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    page = anna.get(f"/clients/{cid}/visits/new")
    assert page.status_code == 200
    preview = anna.post(
        f"/clients/{cid}/visits/preview",
        data={
            "csrf_token": token(anna),
            "person.age": "76",
            "person.sex": "female",
            "as_of": "2026-11-02",
            **INTAKE_FORM,
        },
    )
    import html

    intake_json = html.unescape(re.findall(r'name="intake_json" value="([^"]*)"', preview.text)[0])
    refused = anna.post(
        f"/clients/{cid}/visits",
        data={
            "csrf_token": token(anna),
            "intake_json": intake_json,
            "visit_date": "2026-11-02",
            "decision": "changed",
            "change.elemental_mg": "120",
            "change.schedule": "evening",
        },
    )
    assert refused.status_code == 422
    assert 'id="e-reason"' in refused.text and 'value="evening"' in refused.text
    assert 'value="changed" checked' in refused.text
    vid = save_visit(
        anna,
        cid,
        "2026-11-02",
        "changed",
        **{"change.elemental_mg": "120", "reason": "Loose stools at a higher dose"},
    )
    with session_scope(site.engine) as s:
        visit = s.get(Visit, uuid.UUID(vid))
        assert visit is not None and visit.decision == "changed"
        assert visit.decision_reason == "Loose stools at a higher dose"
        assert '"elemental_mg":120.0' in (visit.decision_changes_json or "")
    shown = anna.get(f"/clients/{cid}/visits/{vid}")
    assert "Loose stools at a higher dose" in shown.text


def test_the_stored_advice_is_shown_as_stored_and_the_pdf_is_a_pdf(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pypdf import PdfReader

    anna = site.browser(ANNA)
    cid = new_client(anna)
    vid = save_visit(anna, cid, "2026-11-02")
    url = f"/clients/{cid}/visits/{vid}"

    def advice_html(text: str) -> str:
        start = text.index('<section class="advice"')
        return text[start : text.index("</section>", start)]

    before = anna.get(url)
    handout_before = anna.get(url + "/handout")
    assert before.status_code == 200 and handout_before.status_code == 200
    # The engine would now give another advice: the stored one must not change.
    from mgadvisor import pipeline

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a stored visit must not be computed again")

    monkeypatch.setattr(pipeline, "advise_and_render", broken)
    monkeypatch.setattr(pipeline, "run", broken)
    with session_scope(site.engine) as s:
        stored = s.get(Visit, uuid.UUID(vid))
        assert stored is not None
        kb_version = stored.kb_version
    after = anna.get(url)
    assert advice_html(after.text) == advice_html(before.text)
    assert kb_version in after.text
    assert anna.get(url + "/handout").text == handout_before.text
    pdf = anna.get(url + "/handout.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "magnesium" in text.lower()
    [printed] = site.audit("visit.print")
    assert printed.object_id == vid and printed.outcome == "success"


def test_another_practitioner_gets_404_and_the_attempt_is_audited(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna, consent_scope=["records", "advice", "sharing"])
    vid = save_visit(anna, cid, "2026-11-02")
    bram = site.browser(BRAM)
    for path in (
        f"/clients/{cid}",
        f"/clients/{cid}/visits/{vid}",
        f"/clients/{cid}/visits/{vid}/handout.pdf",
        f"/clients/{cid}/visits/new",
        f"/clients/{cid}/compare?a={vid}&b={vid}",
    ):
        response = bram.get(path)
        assert response.status_code == 404, path
        assert "Mevrouw de Vries" not in response.text
    offer = bram.get(f"/clients/{cid}").text
    assert f"/clients/break-glass?client={cid}" in offer
    assert f'value="{cid}"' in bram.get(f"/clients/break-glass?client={cid}").text
    with session_scope(site.engine) as s:
        denied = list(s.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")))
    assert len(denied) >= 5
    assert all(e.client_id in (uuid.UUID(cid), None) for e in denied)
    assert {e.event_code for e in denied} >= {"client.read", "visit.read", "visit.print"}
    assert bram.get(f"/clients/{uuid.uuid4()}").status_code == 404
    assert bram.get("/clients/not-a-uuid").status_code == 404
    # Anna shares the client: now Bram reads it
    shared = anna.post(
        f"/clients/{cid}/share",
        data={"csrf_token": token(anna), "email": BRAM},
        follow_redirects=False,
    )
    assert shared.status_code == 303
    assert bram.get(f"/clients/{cid}").status_code == 200


def test_an_admin_gets_403_and_sees_break_glass(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    dirk = site.browser(DIRK)
    assert dirk.get("/clients").status_code == 403
    assert dirk.get(f"/clients/{cid}").status_code == 403
    assert dirk.get("/practice").status_code == 403
    bram = site.browser(BRAM)
    short = bram.post(
        "/clients/break-glass",
        data={"csrf_token": token(bram), "client_id": cid, "justification": "now"},
    )
    assert short.status_code == 422 and 'id="e-justification"' in short.text
    why = "Client fainted in the waiting room, Anna is away"
    granted = bram.post(
        "/clients/break-glass",
        data={"csrf_token": token(bram), "client_id": cid, "justification": why},
        follow_redirects=False,
    )
    assert granted.status_code == 303
    page = bram.get(f"/clients/{cid}")
    assert page.status_code == 200 and "Mevrouw de Vries" in page.text
    reads = [
        e
        for e in site.audit("client.read")
        if e.user_id is not None
        and e.outcome == "success"
        and e.authorisation_protocol == "break-glass"
    ]
    assert reads and all(e.event_nature == "emergency" for e in reads)
    listed = dirk.get("/admin/break-glass")
    assert listed.status_code == 200 and why in listed.text and BRAM in listed.text
    assert "Mevrouw de Vries" not in listed.text  # the admin reads no client data
    grant_id = re.search(r"/admin/break-glass/([0-9a-f-]{36})/review", listed.text)
    assert grant_id
    reviewed = dirk.post(
        grant_id.group(0), data={"csrf_token": token(dirk)}, follow_redirects=False
    )
    assert reviewed.status_code == 303
    assert "/review" not in dirk.get("/admin/break-glass").text
    site.clock.advance(hours=5)  # the access has ended
    bram2 = site.browser(BRAM)
    assert bram2.get(f"/clients/{cid}").status_code == 404


def test_the_worklist_shows_overdue_and_due_this_week(site: Site) -> None:
    anna = site.browser(ANNA)
    early, soon = new_client(anna, name="Early"), new_client(anna, name="Soon")
    save_visit(anna, early, "2026-09-01")
    save_visit(anna, soon, "2026-11-02")
    with session_scope(site.engine) as s:
        dates = {v.client_id: v.follow_up_date for v in s.scalars(select(Visit))}
    due_soon = dates[uuid.UUID(soon)]
    assert due_soon is not None
    page = anna.get(f"/practice?as_of={(due_soon - timedelta(days=2)).isoformat()}")
    assert page.status_code == 200
    overdue, week = page.text.split('id="h-week"')
    assert "Early" in overdue and "Soon" in week
    assert "Planning view" in page.text or "Planning" in page.text
    later = anna.get(f"/practice?as_of={(due_soon + timedelta(days=1)).isoformat()}")
    overdue, week = later.text.split('id="h-week"')
    assert "Early" in overdue and "Soon" in overdue
    bad = anna.get("/practice?as_of=2026-13-45")
    assert bad.status_code == 200 and 'id="e-as_of"' in bad.text


def test_two_visits_compare_and_the_client_page_has_trend_charts(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    a = save_visit(anna, cid, "2026-09-01")
    b = save_visit(
        anna,
        cid,
        "2026-11-02",
        "changed",
        **{"change.elemental_mg": "150", "reason": "Started low because of the stomach"},
    )
    page = anna.get(f"/clients/{cid}")
    assert page.text.count('<svg class="trend"') >= 1 and "0,68" in page.text
    diff = anna.get(f"/clients/{cid}/compare?a={b}&b={a}")
    assert diff.status_code == 200
    assert "150" in diff.text
    assert anna.get(f"/clients/{cid}/compare").status_code == 200
    assert anna.get(f"/clients/{cid}/compare?a={a}&b={uuid.uuid4()}").status_code == 404


def test_login_is_needed(site: Site) -> None:
    anonymous = TestClient(site.app)
    response = anonymous.get("/clients", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert anonymous.get("/").status_code == 200  # the anonymous intake is unchanged


def test_export_and_erasure_with_the_retention_warning(site: Site) -> None:
    import zipfile

    anna = site.browser(ANNA)
    cid = new_client(anna)
    save_visit(anna, cid, "2026-11-02")
    exported = anna.get(f"/clients/{cid}/export")
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    assert "client.json" in zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert site.browser(BRAM).get(f"/clients/{cid}/export").status_code == 404
    withdraw = f"/clients/{cid}/consent/withdraw"
    assert anna.post(withdraw, data={"csrf_token": token(anna)}).status_code == 422
    withdrawn = anna.post(
        withdraw, data={"csrf_token": token(anna), "confirm": "1"}, follow_redirects=False
    )
    assert withdrawn.status_code == 303
    with session_scope(site.engine) as s:
        found = s.get(Client, uuid.UUID(cid))
        assert found is not None and found.consent_withdrawn_at == site.clock()
    assert [e.details for e in site.audit("client.update")] == ['{"consent":"withdrawn"}']
    form = anna.get(f"/clients/{cid}/erase")
    assert form.status_code == 200 and "WGBO" in form.text
    assert 'value="consent_withdrawn" checked' in form.text
    url = f"/clients/{cid}/erase"
    unconfirmed = anna.post(
        url,
        data={"csrf_token": token(anna), "basis": "request", "reason": "Client asked by letter"},
    )
    assert unconfirmed.status_code == 422 and 'id="f-confirm"' in unconfirmed.text
    assert "Client asked by letter" in unconfirmed.text
    no_retention = anna.post(
        url, data={"csrf_token": token(anna), "basis": "request", "confirm": "1"}
    )
    assert no_retention.status_code == 422 and "WGBO" in no_retention.text
    erased = anna.post(
        url,
        data={
            "csrf_token": token(anna),
            "basis": "request",
            "confirm": "1",
            "confirm_retention": "1",
            "reason": "Client asked by letter",
        },
    )
    assert erased.status_code == 200
    assert anna.get(f"/clients/{cid}").status_code == 404
    with session_scope(site.engine) as s:
        assert s.get(Client, uuid.UUID(cid)) is None
    assert len(site.audit("client.erase")) == 1


def test_the_pages_work_as_the_app_role_under_row_level_security(
    records_url: str, engine: Engine
) -> None:
    """PostgreSQL as a login role in the app's role: the database filters by the user too."""
    from datetime import UTC, datetime

    from auth_support import cipher
    from mgadvisor.records.database import APP_ROLE
    from mgadvisor.web.auth import use_records
    from records_support import drop_role, login_role

    if not records_url.startswith("postgresql"):
        pytest.skip("row-level security exists on PostgreSQL only")
    role, app_engine = login_role(engine, f"IN ROLE {APP_ROLE}")
    try:
        site = Site(engine)
        use_records(site.app, app_engine, cipher())
        site.clock.now = datetime.now(UTC)  # the policies compare grants with the database's now()
        anna, bram, dirk = site.browser(ANNA), site.browser(BRAM), site.browser(DIRK)
        cid = new_client(anna)
        vid = save_visit(anna, cid, "2026-11-02")
        assert anna.get(f"/clients/{cid}").status_code == 200
        assert anna.get(f"/clients/{cid}/visits/{vid}").status_code == 200
        assert "Mevrouw de Vries" in anna.get("/clients").text
        assert anna.get("/practice?as_of=2027-06-01").text.count(f"/clients/{cid}") >= 1
        assert bram.get(f"/clients/{cid}").status_code == 404
        why = "Client fainted in the waiting room, Anna is away"
        granted = bram.post(
            "/clients/break-glass",
            data={"csrf_token": token(bram), "client_id": cid, "justification": why},
            follow_redirects=False,
        )
        assert granted.status_code == 303, granted.text[:1000]
        assert bram.get(f"/clients/{cid}").status_code == 200
        assert bram.get(f"/clients/{cid}/visits/{vid}").status_code == 200
        listed = dirk.get("/admin/break-glass")
        assert why in listed.text
    finally:
        drop_role(engine, role, app_engine)


def test_a_client_name_with_markup_is_shown_as_text(site: Site) -> None:
    anna = site.browser(ANNA)
    xss = '<script>alert("x")</script>'
    cid = new_client(anna, name=xss)
    save_visit(anna, cid, "2026-11-02")
    for path in (
        f"/clients/{cid}",
        "/clients",
        "/practice?as_of=2027-06-01",
        f"/clients/{cid}/visits/new",
    ):
        page = anna.get(path)
        assert page.status_code == 200, path
        assert xss not in page.text and "&lt;script&gt;" in page.text, path
