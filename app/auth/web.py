"""The role check on the web (docs/http.md, "Who may do what"; docs/deployment.md, "Sign-in,
roles and the audit log"): `install(app)` adds the one before-request check that finds the
person (session cookie, proxy headers, bearer token) and enforces `app.auth.rules`, the
audit of refusals and of writes no service recorded, signed sessions, and the sign-in
routes of app/auth/signin.py.

With no `[auth]` (or `mode = "none"`) every request is `LOCAL` and writes keep the old
guard: loopback, or the `[service] api_token_env` bearer token.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import secrets
import time
import uuid
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from app.auth import LOCAL, Person, audit, rules, tokens
from app.auth.oidc import Provider, role_for
from app.auth.signin import auth_bp, settings
from app.web.state import ApiError, require_token, workspace

PROXY_SECRET_HEADER = "X-Roadmap-Proxy-Secret"
SESSION_COOKIE = "roadmap_session"
SESSION_KEY_VAR = "ROADMAP_SESSION_KEY"
ANONYMOUS = Person(name="anonymous", role="none", id="", via="none")
WEBHOOK = Person(name="jira-webhook", role="none", id="webhook", via="webhook")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("app.auth")


class _Session(SecureCookieSessionInterface):
    """Flask's signed cookie session, `Secure` whenever the request came over https."""

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _session_key(ws) -> bytes:
    """From `$ROADMAP_SESSION_KEY`, else one random key kept in the store (shared by replicas)."""
    key = os.environ.get(SESSION_KEY_VAR)
    if key is not None:
        if len(key) < 16:
            from app.config import ConfigError
            raise ConfigError([f"${SESSION_KEY_VAR}: shorter than 16 characters; export a long random value "
                               "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"])
        return key.encode()
    from sqlalchemy import insert, select
    from sqlalchemy.exc import IntegrityError

    from app.store import schema as s
    store = ws.store
    with store.engine.connect() as c:
        found = c.execute(select(s.meta.c.value).where(s.meta.c.key == "auth.session_key")).scalar()
    if found is None:
        try:
            with store.engine.begin() as c:
                c.execute(insert(s.meta).values(key="auth.session_key", value=secrets.token_hex(32)))
        except IntegrityError:   # another replica made it first
            pass
        with store.engine.connect() as c:
            found = c.execute(select(s.meta.c.value).where(s.meta.c.key == "auth.session_key")).scalar()
    return found.encode()


def install(app) -> None:
    """Sessions, the before-request check, the audit hooks and the sign-in routes."""
    ws = app.extensions["roadmap"].ws
    cfg = ws.settings.auth
    if cfg is not None and cfg.mode != "none":
        if cfg.mode == "oidc" and cfg.client_secret_env and not os.environ.get(cfg.client_secret_env):
            from app.config import ConfigError
            raise ConfigError([f"auth.client_secret_env: the environment variable {cfg.client_secret_env} is not "
                               "set; export the client secret (or remove the key for a public client)"])
        if cfg.mode == "proxy" and not os.environ.get(cfg.proxy_secret_env or ""):
            log.error("auth.proxy_secret_env: %s is not set; every proxied request is refused", cfg.proxy_secret_env)
        app.secret_key = _session_key(ws)
        app.config.update(SESSION_COOKIE_NAME=SESSION_COOKIE, SESSION_COOKIE_HTTPONLY=True,
                          SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=int(cfg.session_hours * 3600))
        app.session_interface = _Session()
        app.extensions["roadmap.oidc"] = Provider(cfg) if cfg.mode == "oidc" else None
    app.register_blueprint(auth_bp)
    app.before_request(check)
    app.after_request(after)
    app.context_processor(lambda: {"person": _person_or_none(), "auth_on": settings() is not None,
                                   "can": _can})


def _person_or_none() -> Person | None:
    return getattr(g, "person", None)


def _can(role: str) -> bool:
    """For templates: `{% if can('planner') %}` shows a control only to those who may use it."""
    p = _person_or_none()
    if p is None:
        return settings() is None
    return p.can(role)


# -- who is asking -------------------------------------------------------------------
def _bearer() -> str | None:
    h = request.headers.get("Authorization", "")
    return h[7:].strip() if h[:7].lower() == "bearer " else None


def _from_token(token: str) -> Person:
    p = tokens.lookup(workspace().store, token)
    if p is None:
        raise _Refusal(401, "this token is unknown or revoked; make one with `roadmap token create`")
    return p


def _client_trusted(cfg) -> bool:
    try:
        addr = ipaddress.ip_address((request.remote_addr or "").split("%")[0])
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(n, strict=False) for n in cfg.trusted_proxies)


def _from_proxy(cfg) -> Person | None:
    """The person the signing-in proxy names, only from a trusted address carrying the secret."""
    user = request.headers.get(cfg.proxy_user_header, "").strip()
    if not _client_trusted(cfg):
        raise _Refusal(401, "this service answers only through its signing-in proxy")
    expected = os.environ.get(cfg.proxy_secret_env or "") or ""
    given = request.headers.get(PROXY_SECRET_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
        raise _Refusal(401, f"the proxy's {PROXY_SECRET_HEADER} header is missing or wrong")
    if not user:
        return None
    groups = []
    if cfg.proxy_groups_header:
        groups = [x.strip() for x in request.headers.get(cfg.proxy_groups_header, "").split(",") if x.strip()]
    role = role_for(groups[:1000] + [user], cfg.roles)
    if role is None:
        raise _Refusal(403, f"{user[:100]} has no role here: none of their groups is in [auth.roles]",
                       person=Person(name=user[:255], role="none", id=user[:255], via="proxy"))
    p = Person(name=user[:255], role=role, id=user[:255], via="proxy")
    memo = current_app.extensions.setdefault("roadmap.people_seen", {})
    if memo.get(p.id) != p.role or len(memo) > 10_000:
        tokens.seen(workspace().store, p)
        audit.record_alone(workspace().store, "signin", f"proxy {p.name}", "ok", person=p)
        memo[p.id] = p.role
    return p


def _from_session(cfg) -> Person | None:
    who = session.get("who")
    if not isinstance(who, dict) or not isinstance(who.get("exp"), (int, float)) or who["exp"] < time.time():
        return None
    return Person(name=str(who.get("name")), role=str(who.get("role")), id=str(who.get("id")), via="oidc")


class _Refusal(Exception):
    def __init__(self, status: int, message: str, person: Person | None = None):
        super().__init__(message)
        self.status, self.message, self.person = status, message, person


# -- the one check --------------------------------------------------------------------
def check():
    """Every request: who is asking, and whether their role allows this route."""
    if g.get("request_id") is None:      # app.web's guard sets it first (the proxy's X-Request-Id, else new)
        rid = request.headers.get("X-Request-Id", "")
        g.request_id = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex
    if request.url_rule is None:
        return None                       # a 404 or 405 of Flask's own
    need, action = rules.needed(request.method, request.url_rule.rule)
    g.audit_action = action if rules.is_write(request.method, request.url_rule.rule) or need == "admin" else None
    cfg = settings()
    if rules.normal(request.url_rule.rule) == "/api/v1/webhooks/jira":
        g.person = WEBHOOK                # its HMAC is its credential; the audit names it
        return None
    if cfg is None:                      # as before: LOCAL, writes from loopback or with the API token
        g.person = LOCAL
        if need not in (rules.PUBLIC, "viewer"):
            try:
                require_token()
            except ApiError as exc:
                _audit_refusal(exc.status, action, None)
                raise
        return None
    if need == rules.PUBLIC:
        g.person = ANONYMOUS
        return None
    try:
        token = _bearer()
        if token is not None:
            person = _from_token(token)
        elif cfg.mode == "proxy":
            person = _from_proxy(cfg)
        else:
            person = _from_session(cfg)
        if person is None:
            raise _Refusal(401, "sign in first")
        g.person = person
        if person.via != "token" and request.method not in rules.SAFE_METHODS:
            _same_origin()
        if not person.can(need):
            raise _Refusal(403, f"this needs the {need} role; {person.name} is {person.role}")
    except _Refusal as r:
        if r.status == 401 and cfg.mode == "oidc" and not request.path.startswith(("/api/", "/metrics")) \
                and request.method in rules.SAFE_METHODS and _bearer() is None:
            return redirect(url_for("auth.login", next=_here()))     # the way in, not a refusal: the sign-in is logged
        _audit_refusal(r.status, action, r.person or getattr(g, "person", None))
        raise ApiError(r.status, "unauthorized" if r.status == 401 else "forbidden", r.message) from None
    return None


def _same_origin() -> None:
    """A cookie- or proxy-authenticated write must come from this site's own pages."""
    origin = request.headers.get("Origin")
    site = request.headers.get("Sec-Fetch-Site")
    if origin is not None and origin != "null":
        if urlsplit(origin).netloc.lower() == (request.host or "").lower():
            return
        raise _Refusal(403, "writes from a page of another origin are refused")
    if site in ("same-origin", "none"):
        return
    raise _Refusal(403, "a signed-in write must come from this site's pages (no Origin header was sent)")


def _here() -> str:
    qs = request.query_string.decode("utf-8", "replace")
    return request.path + ("?" + qs if qs else "")


ANONYMOUS_PER_MINUTE = 120      # refusals of nobody recorded per process and minute; beyond, only counted in the log


def _audit_refusal(status: int, action: str, person: Person | None) -> None:
    who = person or ANONYMOUS
    g.audited = True
    if person is None:                 # a flood of anonymous requests must not flood the log (or the database)
        ext = current_app.extensions
        minute = int(time.time() // 60)
        seen = ext.get("roadmap.anonymous_refusals")
        if not seen or seen[0] != minute:
            seen = ext["roadmap.anonymous_refusals"] = [minute, 0]
        seen[1] += 1
        if seen[1] > ANONYMOUS_PER_MINUTE:
            log.warning("refused %s %s (%d); anonymous refusals over %d a minute are not audited",
                        request.method, request.path[:200], status, ANONYMOUS_PER_MINUTE)
            return
    try:
        audit.record_alone(workspace().store, action or "read", f"{request.method} {request.path[:300]}",
                           f"refused-{status}", person=who)
    except Exception:  # noqa: BLE001 - the refusal stands even if the log cannot be written
        log.exception("the audit log could not record a refusal")


def after(resp):
    """The request id on every answer; a write that no service recorded is recorded here."""
    resp.headers.setdefault("X-Request-Id", getattr(g, "request_id", ""))
    action = getattr(g, "audit_action", None)
    if action and not getattr(g, "audited", False) and request.url_rule is not None \
            and (request.method not in rules.SAFE_METHODS):
        outcome = "ok" if resp.status_code < 400 else f"failed-{resp.status_code}"
        try:
            audit.record_alone(workspace().store, action, f"{request.method} {request.path[:300]}", outcome)
        except Exception:  # noqa: BLE001
            log.exception("the audit log could not record a write")
    return resp
