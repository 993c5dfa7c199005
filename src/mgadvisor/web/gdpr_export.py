"""The handout PDFs of a client's GDPR export (records/gdpr.py `export_client(handout_pdf=)`).

The records layer renders no pages, so the web app gives it this renderer: each stored visit's
handout is made exactly like the app's own handout PDF (POST /handout.pdf): the same template
and document context (web/pages.py, web/documents.py) and the same PDF worker pool
(web/pdf_pool.py), from the advice as stored (nothing is computed again).

    from mgadvisor.web.gdpr_export import handout_renderer
    data = export_client(session, user, client_id, actor=..., handout_pdf=handout_renderer(request))

Call it from a plain `def` route (FastAPI runs those in its thread pool): the renderer waits for
the PDF pool through `anyio.from_thread`. A full pool raises PdfUnavailable (answer 503).
"""

from __future__ import annotations

import json
from typing import Any

import anyio.from_thread
from fastapi import Request

from mgadvisor.records.gdpr import HandoutPdf
from mgadvisor.records.models import Client, Visit


def _form(client: Client, visit: Visit) -> dict[str, str]:
    """What the practitioner would have typed for the handout: the client's name (none for a
    pseudonym) and the stored follow-up date, with the stored intake."""
    return {
        "intake_json": visit.intake_json,
        "client_name": "" if client.pseudonymous else client.name,
        "follow_up": "" if visit.follow_up_date is None else visit.follow_up_date.isoformat(),
    }


def handout_renderer(request: Request) -> HandoutPdf:
    """A function (client, visit) -> the handout PDF of the visit's stored advice."""
    from mgadvisor.web.app import HERE
    from mgadvisor.web.documents import document_context
    from mgadvisor.web.pages import _page
    from mgadvisor.web.pdf_pool import pool_for

    static = (HERE / "static").as_uri()  # WeasyPrint reads the stylesheet from disk
    pool = pool_for(request.app.state)

    def render(client: Client, visit: Visit) -> bytes:
        document: dict[str, Any] = json.loads(visit.advice_json)
        form = _form(client, visit)
        context = document_context(request, form, document)
        page = _page(
            request, "handout.html", advice=document, pdf=True, static_root=static, **context
        )
        html = bytes(page.body).decode("utf-8")
        return anyio.from_thread.run(pool.render, html, static + "/")

    return render
