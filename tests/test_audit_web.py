"""The audit log in the web app, on SQLite and PostgreSQL: the admin's viewer (/admin/audit:
filters, keyset pages, the reading audited with its filter, the FHIR NDJSON download, the
chain check), a client's access history (/clients/{id}/access) for the practitioner with a
care relationship only, and the access history in the client's GDPR export."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from auth_support import login, make_user
from mgadvisor.records.audit import Actor, log_access, record
from mgadvisor.records.database import session_scope
from mgadvisor.records.models import AuditEvent, User
from test_practice_web import ANNA, BRAM, DIRK, Site, new_client, save_visit


class EnglishSite(Site):
    """The practice of test_practice_web, its browsers asking for English (Accept-Language)."""

    def browser(self, email: str) -> TestClient:
        client = super().browser(email)
        client.headers["accept-language"] = "en"
        return client


@pytest.fixture
def site(engine: Engine) -> Site:
    return EnglishSite(engine)


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<li data-seq="(\d+)"', html)]


def _last(engine: Engine, code: str) -> AuditEvent:
    with session_scope(engine) as s:
        found = s.scalars(
            select(AuditEvent).where(AuditEvent.event_code == code).order_by(AuditEvent.seq.desc())
        ).first()
        assert found is not None, code
        return found


def _user_id(engine: Engine, email: str) -> uuid.UUID:
    with session_scope(engine) as s:
        found = s.scalar(select(User.id).where(User.email == email))
        assert found is not None
        return found


def test_the_admin_sees_the_log_newest_first_and_the_reading_is_audited(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    dirk = site.browser(DIRK)
    page = dirk.get("/admin/audit")
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    seqs = _seqs(page.text)
    assert seqs == sorted(seqs, reverse=True) and len(seqs) >= 5
    assert f"<code>{cid}</code>" in page.text  # the client's number, never the name
    assert "Mevrouw de Vries" not in page.text and "06-12345678" not in page.text
    assert "anna@zuid.example (practitioner)" in page.text
    read = _last(site.engine, "audit.read")
    assert read.user_id == _user_id(site.engine, DIRK) and read.user_role == "admin"
    assert read.event_nature == "log" and read.authorisation_protocol == "admin"
    assert read.seq == seqs[0]  # written before the page was read: the page shows it too


def test_the_filters_narrow_the_rows_and_are_in_the_audit_record(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    other = new_client(anna, name="Meneer Jansen")
    anna.get(f"/clients/{cid}")
    dirk = site.browser(DIRK)
    anna_id = _user_id(site.engine, ANNA)
    page = dirk.get(
        "/admin/audit",
        params={
            "from": "2026-12-01",
            "to": "2026-12-01",
            "user": str(anna_id),
            "client": cid,
            "code": "client.",
            "outcome": "success",
        },
    )
    assert page.status_code == 200
    with session_scope(site.engine) as s:
        expected = list(
            s.scalars(
                select(AuditEvent.seq)
                .where(
                    AuditEvent.client_id == uuid.UUID(cid),
                    AuditEvent.user_id == anna_id,
                    AuditEvent.event_code.startswith("client."),
                )
                .order_by(AuditEvent.seq.desc())
            )
        )
    assert _seqs(page.text) == expected and len(expected) >= 2
    assert other not in page.text
    read = _last(site.engine, "audit.read")
    assert read.client_id == uuid.UUID(cid)
    assert json.loads(read.details or "{}") == {
        "since": "2026-12-01T00:00:00+00:00",
        "until": "2026-12-02T00:00:00+00:00",
        "user_id": str(anna_id),
        "event_code": "client.",
        "outcome": "success",
    }
    denied = dirk.get("/admin/audit", params={"outcome": "denied"})
    assert _seqs(denied.text) == []  # nothing was refused yet
    nothing = dirk.get("/admin/audit", params={"to": "2026-11-30"})
    assert _seqs(nothing.text) == [] and "No records match the filter." in nothing.text


def test_pages_are_keyset_on_seq(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    for _ in range(55):
        anna.get(f"/clients/{cid}")
    dirk = site.browser(DIRK)
    first = dirk.get("/admin/audit", params={"code": "client.read"})
    rows = _seqs(first.text)
    assert len(rows) == 50 and "Older records" in first.text and "Newer records" not in first.text
    link = re.search(r'href="(/admin/audit\?[^"]*before=(\d+))"', first.text)
    assert link and int(link.group(2)) == rows[-1]
    second = dirk.get(link.group(1).replace("&amp;", "&"))
    rest = _seqs(second.text)
    assert len(rest) == 5 and max(rest) < min(rows) and "Older records" not in second.text
    read = json.loads(_last(site.engine, "audit.read").details or "{}")
    assert read["before"] == link.group(2) and "after" not in read  # the cursor is logged
    back = re.search(r'href="(/admin/audit\?[^"]*after=(\d+))"', second.text)
    assert back and int(back.group(2)) == rest[0]
    assert _seqs(dirk.get(back.group(1).replace("&amp;", "&")).text) == rows
    assert json.loads(_last(site.engine, "audit.read").details or "{}")["after"] == back.group(2)


def test_a_practitioner_is_refused_the_viewer(site: Site) -> None:
    anna = site.browser(ANNA)
    for path in ("/admin/audit", "/admin/audit/export.ndjson"):
        refused = anna.get(path)
        assert refused.status_code == 403 and "data-seq" not in refused.text
    assert anna.post("/admin/audit/verify", data={}).status_code in (403, 400)
    assert _last(site.engine, "auth.forbidden").user_id == _user_id(site.engine, ANNA)
    with session_scope(site.engine) as s:
        assert not s.scalars(select(AuditEvent).where(AuditEvent.event_code == "audit.read")).all()


def test_the_log_of_another_practice_is_not_shown(site: Site) -> None:
    secret = make_user(site.engine, "carla@noord.example", "practitioner", "Praktijk Noord")
    from auth_support import login

    carla = TestClient(site.app)
    login(carla, site.clock, "carla@noord.example", secret)
    cid = new_client(carla)
    page = site.browser(DIRK).get("/admin/audit")
    assert cid not in page.text and "carla@noord.example" not in page.text
    with_user = site.browser(DIRK).get(
        "/admin/audit", params={"user": str(_user_id(site.engine, "carla@noord.example"))}
    )
    assert with_user.status_code == 422 and "User: expected a user of your practice" in (
        with_user.text
    )


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"from": "1-12-2026"},
            "from",
            "First day: expected a date as YYYY-MM-DD, got &#39;1-12-2026&#39;",
        ),
        (
            {"from": "2026-12-02", "to": "2026-12-01"},
            "to",
            "Last day: expected a date as YYYY-MM-DD, not before",
        ),
        ({"client": "Mevrouw"}, "client", "Client number: expected a client number"),
        ({"code": "client read"}, "code", "Event code: expected an event code"),
        ({"outcome": "ok"}, "outcome", "Outcome: expected success, denied, failure or error"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_field_and_keeping_the_input(
    site: Site, params: dict[str, str], field: str, message: str
) -> None:
    dirk = site.browser(DIRK)
    before = len(site.audit("audit.read"))
    page = dirk.get("/admin/audit", params={**params, "code": params.get("code", "auth.")})
    assert page.status_code == 422
    assert f'id="e-{field}"' in page.text and message in page.text
    typed = params[field]
    assert f'value="{typed}"' in page.text.replace("&#39;", "'")  # the form keeps it
    assert "data-seq" not in page.text and len(site.audit("audit.read")) == before
    assert dirk.get("/admin/audit/export.ndjson", params=params).status_code == 422
    assert not site.audit("audit.export")


def test_the_download_is_valid_fhir_ndjson_of_the_filtered_rows(site: Site) -> None:
    from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent

    anna = site.browser(ANNA)
    cid = new_client(anna)
    anna.get(f"/clients/{cid}")
    dirk = site.browser(DIRK)
    got = dirk.get("/admin/audit/export.ndjson", params={"client": cid})
    assert got.status_code == 200 and got.headers["content-type"] == "application/fhir+ndjson"
    lines = got.text.splitlines()
    events = [FhirAuditEvent.model_validate(json.loads(line)) for line in lines]
    with session_scope(site.engine) as s:
        ids = [
            str(i)
            for i in s.scalars(
                select(AuditEvent.id)
                .where(AuditEvent.client_id == uuid.UUID(cid))
                .order_by(AuditEvent.seq)
            )
        ]
    assert [e.id for e in events] == ids and len(ids) >= 3  # the export's own record last
    assert all(e.entity and e.entity[0].what.identifier.value == cid for e in events)
    export = _last(site.engine, "audit.export")
    assert export.action == "E" and export.client_id == uuid.UUID(cid)
    assert export.user_id == _user_id(site.engine, DIRK)
    assert json.loads(export.details or "{}")["format"] == "fhir-ndjson"


def _tamper(engine: Engine, statement: str) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events"
            )
        else:
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
        connection.exec_driver_sql(statement)


def _verify(browser: TestClient) -> Any:
    from auth_support import csrf

    return browser.post("/admin/audit/verify", data={"csrf_token": csrf(browser)})


def test_the_chain_check_shows_intact_then_the_first_broken_record(site: Site) -> None:
    anna = site.browser(ANNA)
    new_client(anna)
    dirk = site.browser(DIRK)
    intact = _verify(dirk)
    assert intact.status_code == 200 and 'data-chain="intact"' in intact.text
    assert json.loads(_last(site.engine, "audit.verify").details or "{}")["ok"] is True
    _tamper(site.engine, "UPDATE audit_events SET user_role = 'admin' WHERE seq = 3")
    site.clock.advance(minutes=1)  # one check a minute per admin
    broken = _verify(dirk)
    assert 'data-chain="broken"' in broken.text and 'data-first-bad="3"' in broken.text
    assert "record 3 was altered" in broken.text
    assert json.loads(_last(site.engine, "audit.verify").details or "{}") == {
        "ok": False,
        "count": 2,
        "first_bad_seq": 3,
    }


def test_dutch_and_a_phone_wide_page(site: Site) -> None:
    dirk = site.browser(DIRK)
    page = dirk.get("/admin/audit", params={"from": "gisteren", "lang": "nl"})
    assert "Auditlog" in page.text and "Eerste dag: verwacht" in page.text
    assert '<ol class="audit"' not in page.text
    ok = dirk.get("/admin/audit?lang=nl")
    assert '<ol class="audit"' in ok.text and "<table" not in ok.text  # no wide table


# -- a client's access history -----------------------------------------------------------------


def test_who_viewed_this_file_for_the_practitioner_of_the_client(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    anna.get(f"/clients/{cid}")
    assert f'href="/clients/{cid}/access"' in anna.get(f"/clients/{cid}").text
    page = anna.get(f"/clients/{cid}/access")
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    assert "anna@zuid.example (practitioner)" in page.text
    assert "opened the file" in page.text and "made the file" in page.text
    read = _last(site.engine, "audit.read")
    assert read.client_id == uuid.UUID(cid) and read.user_id == _user_id(site.engine, ANNA)
    assert read.action == "R" and read.authorisation_protocol == "care-relationship"
    assert "looked at who viewed the file" in anna.get(f"/clients/{cid}/access").text


def test_another_practitioner_cannot_see_a_clients_access_history(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    bram = site.browser(BRAM)
    refused = bram.get(f"/clients/{cid}/access")
    assert refused.status_code == 404 and "anna@zuid.example" not in refused.text
    denied = _last(site.engine, "audit.read")
    assert denied.outcome == "denied" and denied.user_id == _user_id(site.engine, BRAM)
    assert site.browser(DIRK).get(f"/clients/{cid}/access").status_code == 403


def test_the_gdpr_export_holds_the_access_history_in_the_clients_language(site: Site) -> None:
    anna = site.browser(ANNA)
    cid = new_client(anna)
    anna.headers["accept-language"] = "nl"  # the advice, and so the handout, in Dutch
    save_visit(anna, cid, "2026-11-20")
    anna.headers["accept-language"] = "en"  # the practitioner's pages in English
    site.browser(BRAM).get(f"/clients/{cid}")  # refused: no care relationship
    exported = anna.get(f"/clients/{cid}/export")
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    history = json.loads(archive.read("access_history.json"))
    codes = [h["event_code"] for h in history]
    assert codes[0] == "client.create" and "visit.create" in codes and codes[-1] == "client.export"
    assert {h["user"] for h in history if h["user"]} == {ANNA, BRAM}
    refused = [h for h in history if h["outcome"] == "denied"]
    assert refused and refused[0]["user"] == BRAM
    lang = json.loads(archive.read("manifest.json"))["client_lang"]
    text = archive.read(f"access_history.{lang}.txt").decode("utf-8")
    assert lang == "nl"  # the stored advice's language (the handout's)
    assert text.startswith("Wie heeft uw dossier bekeken") and "anna@zuid.example" in text
    assert "maakte het dossier aan" in text and "opende het dossier" in text
    assert "kreeg geen toegang" in text and "Mevrouw de Vries" not in text


def test_as_the_apps_database_role_row_level_security_gates_the_history(app_as: Any) -> None:
    """PostgreSQL, logged in as the app's role (RLS applies, no migration widened a grant): the
    history is read after the client was found through RLS; another practitioner's client stays
    404, and the admin's viewer and the export work with the role's own grants."""
    site = EnglishSite(app_as())
    anna = site.browser(ANNA)
    cid = new_client(anna)
    mine = anna.get(f"/clients/{cid}/access")
    assert mine.status_code == 200 and "made the file" in mine.text
    assert site.browser(BRAM).get(f"/clients/{cid}/access").status_code == 404
    dirk = site.browser(DIRK)
    assert _seqs(dirk.get("/admin/audit", params={"client": cid}).text)
    assert dirk.get("/admin/audit/export.ndjson", params={"client": cid}).text.count("\n") >= 3
    exported = zipfile.ZipFile(io.BytesIO(anna.get(f"/clients/{cid}/export").content))
    assert "access_history.json" in exported.namelist()


# -- the security review's findings (F1-F6) ---------------------------------------------------


def _noord(site: Site, email: str, role: str = "practitioner") -> TestClient:
    """A user of another practice (Praktijk Noord), logged in."""
    secret = make_user(site.engine, email, role, "Praktijk Noord")
    browser = TestClient(site.app)
    browser.headers["accept-language"] = "en"
    login(browser, site.clock, email, secret)
    return browser


def test_records_without_a_user_are_shown_only_for_the_admins_practice(site: Site) -> None:
    """F1: a user-less record is the practice's only when it is about a client or an account
    of the practice; CDS calls, unknown logins and another practice's are not shown."""
    carla = _noord(site, "carla@noord.example")
    theirs = new_client(carla)
    ours = new_client(site.browser(ANNA))
    cli = Actor(None, None, "cli:root@db-noord", protocol="system")
    with session_scope(site.engine) as s:
        log_access(s, cli, "audit.export", client_id=uuid.UUID(theirs))
        log_access(
            s, Actor(None, None, "cli:root@db-zuid", protocol="system"), client_id=(uuid.UUID(ours))
        )
        record(
            s,
            Actor(None, None, "10.9.8.7", "cds-client"),
            "cds.call",
            "E",
            object_type="Patient",
            object_id="noord-ehr-patient-4711",
        )
        for i in range(2000):  # a page over a few thousand server-wide records
            record(
                s, Actor(None, None, "10.9.8.8", "cds-client"), "cds.call", "E", object_id=str(i)
            )
    TestClient(site.app).post(
        "/login", data={"csrf_token": "x", "email": "nobody@noord.example", "password": "x"}
    )
    carla_id = str(_user_id(site.engine, "carla@noord.example"))
    anna_id = str(_user_id(site.engine, ANNA))
    foreign = (theirs, "cli:root@db-noord", "noord-ehr-patient-4711", "10.9.8.7", carla_id)
    dirk = site.browser(DIRK)
    for params in ({}, {"user": "system"}):
        page = dirk.get("/admin/audit", params=params)
        assert page.status_code == 200
        assert not [k for k in foreign if k in page.text], params
        assert "The rest (CDS calls" in page.text or "the rest (CDS calls" in page.text
    system = dirk.get("/admin/audit", params={"user": "system"}).text
    assert "cli:root@db-zuid" in system and f"<code>{ours}</code>" in system  # ours is shown
    assert f"<code>{anna_id}</code>" in system  # user.create of Anna's account (CLI)
    assert len(_seqs(system)) >= 4
    exported = dirk.get("/admin/audit/export.ndjson", params={"user": "system"}).text
    assert not [k for k in (*foreign, "10.9.8.8") if k in exported]
    assert ours in exported and "cli:root@db-zuid" in exported


def test_a_client_of_another_practice_is_refused_as_filter(site: Site) -> None:
    """F2: an admin cannot write into another practice's client's history by filtering."""
    cid = new_client(site.browser(ANNA))
    nora = _noord(site, "nora@noord.example", "admin")
    before = (len(site.audit("audit.read")), len(site.audit("audit.export")))
    page = nora.get("/admin/audit", params={"client": cid})
    assert page.status_code == 422 and "data-seq" not in page.text
    assert "Client number: expected a client of your practice" in page.text
    assert nora.get("/admin/audit/export.ndjson", params={"client": cid}).status_code == 422
    unknown = nora.get("/admin/audit", params={"client": str(uuid.uuid4())})
    assert unknown.status_code == 422
    assert (len(site.audit("audit.read")), len(site.audit("audit.export"))) == before
    history = site.browser(ANNA).get(f"/clients/{cid}/access").text
    assert "nora@noord.example" not in history and "a user of another practice" not in history
    assert site.browser(DIRK).get("/admin/audit", params={"client": cid}).status_code == 200


def test_a_refused_user_of_another_practice_is_not_named_in_the_history(site: Site) -> None:
    """F2: a practitioner of another practice who tried the client's number is shown as "a
    user of another practice", on the page and in the GDPR export."""
    anna = site.browser(ANNA)
    cid = new_client(anna)
    carla = _noord(site, "carla@noord.example")
    assert carla.get(f"/clients/{cid}").status_code == 404
    carla_id = str(_user_id(site.engine, "carla@noord.example"))
    page = anna.get(f"/clients/{cid}/access").text
    assert "a user of another practice" in page and "carla@noord.example" not in page
    assert "tried to use the file but was refused" in page
    archive = zipfile.ZipFile(io.BytesIO(anna.get(f"/clients/{cid}/export").content))
    history = json.loads(archive.read("access_history.json"))
    theirs = [h for h in history if h["other_practice"]]
    assert theirs and theirs[0]["outcome"] == "denied" and theirs[0]["user_id"] is None
    for name in archive.namelist():
        if name.startswith(("access_history", "audit_trail")):
            text = archive.read(name).decode("utf-8")
            assert "carla@noord.example" not in text and carla_id not in text, name


def test_the_gdpr_history_leaves_out_records_outside_the_chain_as_the_viewer_does(
    site: Site,
) -> None:
    """F6: a record without a seq (not in the chain) is in neither the viewer nor the export."""
    anna = site.browser(ANNA)
    cid = new_client(anna)
    with session_scope(site.engine) as s:
        s.add(
            AuditEvent(
                event_code="visit.print",
                action="E",
                outcome="success",
                client_id=uuid.UUID(cid),
                source_id="elsewhere",
            )
        )
    assert "printed or downloaded" not in anna.get(f"/clients/{cid}/access").text
    archive = zipfile.ZipFile(io.BytesIO(anna.get(f"/clients/{cid}/export").content))
    for name in ("access_history.json", "audit_trail.json"):
        codes = [h["event_code"] for h in json.loads(archive.read(name))]
        assert "visit.print" not in codes and all(
            h["seq"] is not None for h in json.loads(archive.read(name))
        ), name


@pytest.mark.parametrize("cursor", ["before", "after"])
@pytest.mark.parametrize("given", ["\u00b2", "\u0663", "-1", "1e9", "9" * 19])
def test_a_bad_page_cursor_is_refused_naming_the_field(site: Site, cursor: str, given: str) -> None:
    """F3: cursors are digits 0-9 (str.isdigit took '²'): 422 naming the field, not 500."""
    dirk = site.browser(DIRK)
    before = len(site.audit("audit.read"))
    page = dirk.get("/admin/audit", params={cursor: given})
    label = {"before": "Older than record", "after": "Newer than record"}[cursor]
    assert page.status_code == 422 and f"{label}: expected a record number" in page.text
    assert "data-seq" not in page.text and len(site.audit("audit.read")) == before
    if cursor == "before":
        anna = site.browser(ANNA)
        cid = new_client(anna)
        reads = len(site.audit("audit.read"))
        access = anna.get(f"/clients/{cid}/access", params={"before": given})
        assert access.status_code == 422 and "Older than record: expected" in access.text
        assert len(site.audit("audit.read")) == reads


@pytest.mark.parametrize(
    "params", [{"to": "9999-12-31"}, {"from": "0001-01-01"}, {"from": "2101-01-01"}]
)
def test_a_date_outside_1900_2100_is_refused(site: Site, params: dict[str, str]) -> None:
    """F3: ?to=9999-12-31 overflowed (the day after it) into a 500."""
    dirk = site.browser(DIRK)
    page = dirk.get("/admin/audit", params=params)
    assert page.status_code == 422 and "expected a date as YYYY-MM-DD" in page.text
    assert dirk.get("/admin/audit/export.ndjson", params=params).status_code == 422
    assert not site.audit("audit.export")


def test_the_chain_check_runs_once_at_a_time_and_once_a_minute_per_admin(site: Site) -> None:
    """F4: the check reads every record: one at a time in the process (409), one a minute per
    admin (429); a refused check reads and logs nothing."""
    from mgadvisor.web.audit_pages import verify_guard

    dirk = site.browser(DIRK)
    assert 'data-chain="intact"' in _verify(dirk).text
    again = _verify(dirk)
    assert again.status_code == 429 and "less than a minute ago" in again.text
    assert len(site.audit("audit.verify")) == 1 and "data-seq" not in again.text
    site.clock.advance(seconds=61)
    guard = verify_guard(site.app)
    assert guard.running.acquire(blocking=False)  # another check is running
    try:
        busy = _verify(dirk)
    finally:
        guard.running.release()
    assert busy.status_code == 409 and "one check at a time" in busy.text
    assert len(site.audit("audit.verify")) == 1
    site.clock.advance(seconds=61)
    assert _verify(dirk).status_code == 200 and len(site.audit("audit.verify")) == 2


def test_the_download_stops_at_the_limit_pointing_to_the_command_line(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F4: more records than EXPORT_LIMIT: 422 naming `mgadvisor audit export`, no export."""
    import mgadvisor.web.audit_pages as pages

    anna = site.browser(ANNA)
    cid = new_client(anna)
    for _ in range(3):
        anna.get(f"/clients/{cid}")
    monkeypatch.setattr(pages, "EXPORT_LIMIT", 3)
    dirk = site.browser(DIRK)
    refused = dirk.get("/admin/audit/export.ndjson", params={"client": cid})
    assert refused.status_code == 422 and "mgadvisor audit export" in refused.text
    assert not site.audit("audit.export")
    narrow = dirk.get("/admin/audit/export.ndjson", params={"client": cid, "code": "client.read"})
    assert narrow.status_code == 200 and narrow.text.count("\n") == 3


def test_the_access_page_logs_its_cursor(site: Site) -> None:
    """F5: the audit.read of 'who viewed this file' holds the page cursor."""
    anna = site.browser(ANNA)
    cid = new_client(anna)
    anna.get(f"/clients/{cid}/access", params={"before": "999"})
    assert json.loads(_last(site.engine, "audit.read").details or "{}") == {"before": "999"}


def test_as_the_apps_role_the_download_keeps_the_practices_records_without_a_user(
    app_as: Any, owner: Any
) -> None:
    """PostgreSQL as the app's role (RLS): a record without a user about one of the practice's
    clients (the command line read its log) is in the admin's download as on the page; the
    download's session is the admin's, so RLS lets it see which clients are the practice's."""
    site = EnglishSite(app_as())
    ours = new_client(site.browser(ANNA))
    with session_scope(owner) as s:
        cli = Actor(None, None, "cli:root@db-zuid", protocol="system")
        log_access(s, cli, client_id=uuid.UUID(ours))
    dirk = site.browser(DIRK)
    page = dirk.get("/admin/audit", params={"user": "system"})
    exported = dirk.get("/admin/audit/export.ndjson", params={"user": "system"})
    assert page.status_code == exported.status_code == 200
    assert "cli:root@db-zuid" in page.text
    assert "cli:root@db-zuid" in exported.text
