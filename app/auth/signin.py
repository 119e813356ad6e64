"""The sign-in routes and the audit API (docs/http.md, "Who may do what"; docs/deployment.md,
"Sign-in, roles and the audit log"): `GET /login` (to the provider, with PKCE), `GET
/auth/callback` (a new session, the role mapped from the groups), `POST /logout` and
`GET /api/v1/audit` (admins). The role each needs is in app/auth/rules.py, checked by
app/auth/web.py like every other route.
"""
from __future__ import annotations

import re
import secrets
import time
from datetime import date, datetime, time as dt_time, timezone
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, session, url_for

from app.auth import Person, audit, tokens
from app.auth.oidc import Provider, SignInError, groups_of, role_for
from app.web.state import ApiError, arg, workspace

auth_bp = Blueprint("auth", __name__)


def settings():
    a = workspace().settings.auth
    return a if a is not None and a.mode != "none" else None


def safe_next(raw: str | None) -> str:
    """Only a path on this site: '/kpis?x=1' stays; 'https://evil', '//evil', '/\\\\evil' become '/'.

    >>> [safe_next(x) for x in ("/kpis?a=1", "//evil.com", "https://evil.com/", "/\\\\evil", "kpis", None)]
    ['/kpis?a=1', '/', '/', '/', '/', '/']
    """
    if not raw or not raw.startswith("/") or raw.startswith(("//", "/\\")) or len(raw) > 2000:
        return "/"
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 or ch == "\\" for ch in raw):
        return "/"
    return raw


def _provider() -> Provider:
    p = current_app.extensions.get("roadmap.oidc")
    if p is None:
        raise ApiError(404, "not-found", "sign-in by OIDC is not configured here ([auth] mode)")
    return p


@auth_bp.get("/login")
def login():
    provider = _provider()
    target = safe_next(request.args.get("next"))
    try:
        url, pending = provider.start(url_for("auth.callback", _external=True))
    except SignInError as exc:
        raise ApiError(exc.status, "sign-in-failed", exc.message) from None
    session.clear()
    session["pending"] = {**pending, "next": target}
    return redirect(url)


@auth_bp.get("/auth/callback")
def callback():
    provider = _provider()
    cfg = settings()
    pending = session.pop("pending", None)
    store = workspace().store
    anon = Person(name="anonymous", role="none", id="", via="oidc")
    try:
        claims = provider.finish(url_for("auth.callback", _external=True), pending, request.args)
    except SignInError as exc:
        session.clear()
        audit.record_alone(store, "signin", f"oidc {exc.reason}", f"refused-{exc.status}", person=anon)
        return _sign_in_error(exc.status, exc.message)
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    name = (email or claims.get("preferred_username") or claims.get("name") or claims["sub"])
    name = str(name)[:255]
    groups = groups_of(claims, cfg.groups_claim)
    role = role_for(groups + ([email] if email else []), cfg.roles)
    if role is None:
        session.clear()
        audit.record_alone(store, "signin", f"oidc {name}: no mapped group", "refused-403",
                           person=Person(name=name, role="none", id=str(claims["sub"])[:200], via="oidc"))
        return _sign_in_error(403, f"{name} has no role here: none of your groups is in [auth.roles]; "
                                   "ask an admin to map one")
    person = Person(name=name, role=role, id="oidc:" + str(claims["sub"])[:200], via="oidc")
    session.clear()                          # a new session: nothing from before sign-in survives
    session.permanent = True
    session["who"] = {"sid": secrets.token_urlsafe(24), "id": person.id, "name": person.name, "role": role,
                      "exp": time.time() + cfg.session_hours * 3600}
    tokens.seen(store, person)
    audit.record_alone(store, "signin", f"oidc {name}", "ok", person=person)
    return redirect(safe_next((pending or {}).get("next")))


def _sign_in_error(status: int, message: str):
    return render_template("error.html", status=status, title="Sign-in failed", message=message,
                           problems=[]), status


@auth_bp.post("/logout")
def logout():
    g.audited = True
    if settings() is None:
        raise ApiError(404, "not-found", "there is no sign-in here ([auth] is not configured)")
    person = getattr(g, "person", None)
    if person is not None and person.via != "local":
        audit.record_alone(workspace().store, "signout", person.name, "ok", person=person)
    session.clear()
    g.person = None                          # the page below shows nobody signed in
    return render_template("signed_out.html"), 200


@auth_bp.get("/api/v1/audit")
def audit_log():
    since = arg("since")
    when = None
    if since is not None:
        try:
            when = datetime.combine(date.fromisoformat(since), dt_time(), timezone.utc) \
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", since) else None
        except ValueError:
            when = None
        if when is None:
            raise ApiError(400, "bad-request", "since must be a date, YYYY-MM-DD")
    return jsonify(audit.report(workspace().store, when))
