"""/admin/users (admins only) and the first run's /setup.

An admin sees and manages the users of their own practice: create an account (a temporary
password shown once, which the first login replaces before the second factor is set up),
disable or enable it, reset its second factor (the next login changes the password too, and
the user's sessions and tokens end). An admin reads no client data.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mgadvisor.i18n import Translator
from mgadvisor.records import accounts
from mgadvisor.records.database import session_scope
from mgadvisor.records.errors import InvalidRecord
from mgadvisor.records.models import Practice, User
from mgadvisor.web.auth import (
    Principal,
    admin_page_user,
    cipher,
    client_ip,
    now,
    records_engine,
    render,
    user_row,
    user_session,
)

router = APIRouter(include_in_schema=False)

Admin = Annotated[Principal, Depends(admin_page_user)]
Text = Annotated[str, Form(max_length=2000)]
FIELD_LABELS = {
    "email": "E-mail address",
    "role": "Role",
    "password": "Password",
    "practice": "Practice",
}


def _lang(request: Request) -> str:
    from mgadvisor.web.app import request_lang

    return request_lang(request)


def problem(t: Translator, exc: InvalidRecord) -> tuple[str, str]:
    """(field, the page's sentence) for an InvalidRecord of the accounts."""
    label = FIELD_LABELS.get(exc.field, exc.field)
    return exc.field, t(
        "{field}: expected {expected}, got {given}.",
        field=t(label),
        expected=exc.expected,
        given=exc.given.strip("'"),
    )


def _users_page(
    request: Request, session: Session, admin: User, status: int = 200, **context: Any
) -> HTMLResponse:
    practice = session.get(Practice, admin.practice_id)
    context.setdefault("errors", {})
    context.setdefault("values", {})
    return render(
        request,
        "auth/users.html",
        status,
        me=admin,
        practice=practice,
        users=accounts.list_users(session, practice),
        **context,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, principal: Admin) -> HTMLResponse:
    with user_session(request, principal) as session:
        return _users_page(request, session, user_row(session, principal))


@router.post("/admin/users", response_class=HTMLResponse)
def create(
    request: Request, principal: Admin, email: Text = "", role: Text = "practitioner"
) -> Response:
    t = Translator(_lang(request))
    with user_session(request, principal) as session:
        admin = user_row(session, principal)
        practice = session.get(Practice, admin.practice_id)
        assert practice is not None
        password = accounts.random_password()
        try:
            with session.begin_nested():
                user, _ = accounts.create_user(
                    session,
                    practice,
                    email,
                    role,
                    password,
                    principal.actor("admin"),
                    cipher(request),
                    temporary=True,  # the admin sees it: the first login replaces it
                )
        except InvalidRecord as exc:
            field, message = problem(t, exc)
            values = {"email": email[:320], "role": role}
            return _users_page(request, session, admin, 400, errors={field: message}, values=values)
        return _users_page(request, session, admin, created=user, password=password)


def _member(session: Session, admin: User, user_id: uuid.UUID) -> User | None:
    user = session.get(User, user_id)
    return user if user is not None and user.practice_id == admin.practice_id else None


@router.post("/admin/users/{user_id}/{action}", response_class=HTMLResponse)
def change(request: Request, principal: Admin, user_id: uuid.UUID, action: str) -> Response:
    """disable, enable or reset-2fa a user of the admin's practice (not oneself)."""
    t = Translator(_lang(request))
    if action not in ("disable", "enable", "reset-2fa"):
        from mgadvisor.web.pages import not_found_page

        return not_found_page(request, request.url.path)
    with user_session(request, principal) as session:
        admin = user_row(session, principal)
        user = _member(session, admin, user_id)
        if user is None or user.id == admin.id:
            message = t("You cannot change this account here.")
            return _users_page(request, session, admin, 400, notice=message)
        actor, when = principal.actor("admin"), now(request)
        if action == "disable":
            accounts.disable_user(session, user, actor, when)
        elif action == "enable":
            accounts.enable_user(session, user, actor)
        else:
            accounts.reset_second_factor(
                session, user, actor, cipher(request), when, new_password=True
            )
            temporary = accounts.issue_temporary_password(user)
            message = t(
                "The two-step verification of {email} is reset and the old password no longer "
                "works. Give this temporary password to its user (shown only now); at the next "
                "login they choose a new password and set up two-step verification again.",
                email=user.email,
            )
            return _users_page(request, session, admin, reset_notice=message, password=temporary)
        notice = {
            "disable": t("The account {email} is disabled.", email=user.email),
            "enable": t("The account {email} is enabled.", email=user.email),
        }[action]
        return _users_page(request, session, admin, notice=notice)


# -- first run ------------------------------------------------------------------------------


SETUP_NEXT = "/admin/users"  # where the first admin goes when the set-up link names nothing


@router.get("/setup", response_class=HTMLResponse)
def setup_form(request: Request, code: str = "", next: str = SETUP_NEXT) -> Response:
    """The set-up form; `next` (a local path only) is carried through the login after it."""
    from mgadvisor.web.auth_pages import safe_next
    from mgadvisor.web.first_run import setup_open
    from mgadvisor.web.pages import not_found_page

    if not setup_open(request.app, code):
        return not_found_page(request, request.url.path)
    next_path = safe_next(next)
    return render(request, "auth/setup.html", code=code, next_path=next_path, errors={}, values={})


@router.post("/setup", response_class=HTMLResponse)
def setup(
    request: Request,
    code: Text = "",
    practice: Text = "",
    email: Text = "",
    password: Text = "",
    repeat: Text = "",
    next: Text = SETUP_NEXT,
) -> Response:
    from urllib.parse import quote

    from mgadvisor.web.auth_pages import safe_next
    from mgadvisor.web.first_run import setup_done, setup_open
    from mgadvisor.web.pages import not_found_page

    if not setup_open(request.app, code):
        return not_found_page(request, request.url.path)
    t = Translator(_lang(request))
    values = {"practice": practice[:200], "email": email[:320]}
    next_path = safe_next(next)

    def again(field: str, message: str) -> Response:
        """The form once more, with what was typed (not the passwords) and the problem."""
        errors = {field: message}
        return render(
            request,
            "auth/setup.html",
            400,
            code=code,
            next_path=next_path,
            errors=errors,
            values=values,
        )

    if password != repeat:
        return again("repeat", t("Repeat: expected the same password twice."))
    try:
        with session_scope(records_engine(request)) as session:
            place = accounts.practice_named(session, practice, create=True)
            assert place is not None
            actor = accounts.user_actor(None, client_ip(request), "system")
            accounts.create_user(session, place, email, "admin", password, actor, cipher(request))
    except InvalidRecord as exc:
        return again(*problem(t, exc))
    setup_done(request.app)
    return RedirectResponse(f"/login?next={quote(next_path, safe='/')}", status_code=303)
