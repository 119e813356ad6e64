"""Sign-in, roles, tokens and the audit log (docs/http.md, "Who may do what").

OIDC runs against tests/oidc_standin.py (a provider on loopback written from the OpenID
Connect specs); every failure path is refused and audited. Proxy mode, the role table
against every write route, tokens across two app instances (SQLite and PostgreSQL), the
audit chain before and after an edit, CSRF, open redirects and session fixation.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import text

from app import create_app
from app.auth import ROLES, audit, rules, tokens
from app.config import AUTH_ROLES, ConfigError, load_settings
from app.services import Workspace
from app.services.sync import sync
from tests.oidc_standin import OidcStandIn

SECRET_VAR = "ROADMAP_TEST_OIDC_SECRET"
PROXY_VAR = "ROADMAP_TEST_PROXY_SECRET"
PROXY_SECRET = "proxy-secret-0123456789"
ROLE_MAP = '''
[auth.roles]
"pm-leads" = "planner"
"product" = "estimator"
"everyone" = "viewer"
"ops@acme.com" = "admin"
'''


@pytest.fixture(scope="module")
def idp():
    p = OidcStandIn().start()
    yield p
    p.stop()


@pytest.fixture(autouse=True)
def _reset_idp(request):
    yield
    if "idp" in request.fixturenames:
        p = request.getfixturevalue("idp")
        p.user = {"sub": "u-1", "email": "ann@acme.com", "groups": ["pm-leads"]}
        p.audience, p.expires_in, p.sign_with, p.nonce = None, 300, None, None


def _workspace(workspace_dir, monkeypatch, auth_toml: str, url: str | None = None) -> Workspace:
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    if url:
        monkeypatch.setenv("ROADMAP_DATABASE", url)
    cfg = workspace_dir / "roadmap.toml"
    cfg.write_text(cfg.read_text() + auth_toml)
    ws = Workspace(load_settings(cfg))
    sync(ws)
    import app.services.sync
    monkeypatch.setattr(app.services.sync, "sync", lambda *a, **k: [])    # a queued sync pulls nothing
    return ws


@pytest.fixture
def oidc_ws(workspace_dir, monkeypatch, idp):
    monkeypatch.setenv(SECRET_VAR, idp.client_secret)
    return _workspace(workspace_dir, monkeypatch, f'''
[auth]
mode = "oidc"
issuer = "{idp.issuer}"
client_id = "kpi-roadmap"
client_secret_env = "{SECRET_VAR}"
groups_claim = "groups"
''' + ROLE_MAP)


@pytest.fixture
def oidc_app(oidc_ws):
    return create_app(workspace=oidc_ws)


def start(client, next_path="/"):
    r = client.get("/login", query_string={"next": next_path})
    assert r.status_code == 302, r.data
    return r.headers["Location"]


def at_provider(location: str) -> str:
    """The browser at the provider: it answers with a redirect back to our callback."""
    r = requests.get(location, allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    back = urlsplit(r.headers["Location"])
    assert back.netloc == "localhost" and back.path == "/auth/callback"
    return back.path + "?" + back.query


def sign_in(client, next_path="/"):
    return client.get(at_provider(start(client, next_path)))


def session_cookie(client):
    c = client.get_cookie("roadmap_session")
    return c.value if c else None


def audit_rows(ws):
    return audit.rows(ws.store)


# -- OIDC ---------------------------------------------------------------------------
def test_sign_in_with_pkce_maps_the_group_and_shows_who_is_signed_in(oidc_app, oidc_ws, idp):
    client = oidc_app.test_client()
    assert client.get("/api/v1/roadmap").status_code == 401
    page = client.get("/kpis?x=1")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/kpis?x%3D1"
    location = start(client, "/kpis")
    q = parse_qs(urlsplit(location).query)
    assert location.startswith(idp.issuer + "/protocol/openid-connect/auth?")
    assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) == 43
    assert q["nonce"] and q["state"] and q["client_id"] == ["kpi-roadmap"]
    done = client.get(at_provider(location))
    assert done.status_code == 302 and done.headers["Location"] == "/kpis"
    cookie = done.headers.getlist("Set-Cookie")[-1]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie    # plain http here
    page = client.get("/kpis")
    assert page.status_code == 200
    assert re.search(r'id="who">ann@acme.com · planner<', page.get_data(as_text=True))
    assert client.get("/api/v1/roadmap").status_code == 200
    rows = audit_rows(oidc_ws)
    assert [(r["action"], r["who"], r["outcome"]) for r in rows if r["action"] == "signin"] == \
        [("signin", "ann@acme.com", "ok")]
    assert tokens.people(oidc_ws.store)[0]["role"] == "planner"


def test_the_cookie_is_secure_over_https(oidc_app):
    client = oidc_app.test_client()
    r = client.get("/login", base_url="https://localhost")
    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]


def test_a_new_session_at_sign_in_nothing_planted_survives(oidc_app):
    client = oidc_app.test_client()
    location = start(client)
    before = session_cookie(client)
    client.set_cookie("roadmap_session", before)            # a cookie an attacker planted ...
    client.get(at_provider(location))
    after = session_cookie(client)
    assert after and after != before
    from flask.sessions import SecureCookieSessionInterface
    data = SecureCookieSessionInterface().get_signing_serializer(oidc_app).loads(after)
    assert set(data) == {"who", "_permanent"} and "pending" not in data   # ... carries nothing over
    assert len(data["who"]["sid"]) >= 32


@pytest.mark.parametrize("next_path, lands", [("/kpis?a=1", "/kpis?a=1"), ("//evil.example/x", "/"),
                                              ("https://evil.example/", "/"), ("/\\evil.example", "/"),
                                              ("javascript:alert(1)", "/")])
def test_only_same_site_return_paths(oidc_app, next_path, lands):
    assert sign_in(oidc_app.test_client(), next_path).headers["Location"] == lands


def test_a_bad_state_is_refused_and_audited(oidc_app, oidc_ws, idp):
    client = oidc_app.test_client()
    back = at_provider(start(client))
    tampered = re.sub(r"state=[^&]+", "state=forged", back)
    r = client.get(tampered)
    assert r.status_code == 401 and b"not started here" in r.data
    last = audit_rows(oidc_ws)[-1]
    assert (last["action"], last["object"], last["outcome"]) == ("signin", "oidc bad-state", "refused-401")
    assert client.get("/api/v1/roadmap").status_code == 401
    # and a callback nobody started
    assert oidc_app.test_client().get(back).status_code == 401


def test_a_replayed_code_is_refused(oidc_app, idp):
    client = oidc_app.test_client()
    location = start(client)
    pending = session_cookie(client)
    back = at_provider(location)
    assert client.get(back).status_code == 302
    thief = oidc_app.test_client()
    thief.set_cookie("roadmap_session", pending)             # the old cookie and the same code, again
    r = thief.get(back)
    assert r.status_code == 401 and b"refused the authorization code" in r.data
    assert thief.get("/api/v1/roadmap").status_code == 401


@pytest.mark.parametrize("knob, value, reason", [
    ("audience", "another-client", "wrong-audience"),
    ("expires_in", -600, "expired"),
    ("nonce", "not-the-nonce", "bad-nonce"),
    ("sign_with", "other", "bad-signature"),
])
def test_a_bad_id_token_is_refused(oidc_app, oidc_ws, idp, knob, value, reason):
    setattr(idp, knob, idp.other_key if value == "other" else value)
    client = oidc_app.test_client()
    r = sign_in(client)
    assert r.status_code == 401
    last = audit_rows(oidc_ws)[-1]
    assert (last["action"], last["object"], last["outcome"]) == ("signin", f"oidc {reason}", "refused-401")
    assert client.get("/api/v1/roadmap").status_code == 401


def test_an_unknown_group_gets_no_access(oidc_app, oidc_ws, idp):
    idp.user = {"sub": "u-2", "email": "bob@acme.com", "groups": ["sales"]}
    client = oidc_app.test_client()
    r = sign_in(client)
    assert r.status_code == 403 and b"no role here" in r.data
    assert audit_rows(oidc_ws)[-1]["outcome"] == "refused-403"
    assert client.get("/api/v1/roadmap").status_code == 401


def test_roles_are_mapped_again_at_every_sign_in(oidc_app, oidc_ws, idp):
    client = oidc_app.test_client()
    sign_in(client)
    assert "ann@acme.com · planner" in client.get("/kpis").get_data(as_text=True)
    idp.user = {**idp.user, "groups": ["everyone"]}          # moved out of pm-leads at the provider
    assert sign_in(client).status_code == 302
    assert "ann@acme.com · viewer" in client.get("/kpis").get_data(as_text=True)
    assert client.post("/api/v1/snapshots", json={"name": "x"}, headers={"Origin": "http://localhost"}
                       ).status_code == 403


def test_an_email_maps_to_a_role_and_a_dotted_groups_claim(workspace_dir, monkeypatch, idp):
    monkeypatch.setenv(SECRET_VAR, idp.client_secret)
    ws = _workspace(workspace_dir, monkeypatch, f'''
[auth]
issuer = "{idp.issuer}"
client_id = "kpi-roadmap"
client_secret_env = "{SECRET_VAR}"
groups_claim = "realm_access.roles"
''' + ROLE_MAP)
    idp.user = {"sub": "u-3", "email": "ops@acme.com", "realm_access": {"roles": ["everyone"]}}
    client = create_app(workspace=ws).test_client()
    sign_in(client)
    assert client.get("/api/v1/audit").status_code == 200     # admin by e-mail
    idp.user = {"sub": "u-4", "email": "cy@acme.com", "realm_access": {"roles": ["/product"]}}
    sign_in(client)
    assert "cy@acme.com · estimator" in client.get("/kpis").get_data(as_text=True)


def test_sign_out_ends_the_session(oidc_app, oidc_ws):
    client = oidc_app.test_client()
    sign_in(client)
    assert b"Sign out" in client.get("/kpis").data
    assert client.post("/logout", headers={"Origin": "https://evil.example"}).status_code == 403
    r = client.post("/logout", headers={"Origin": "http://localhost"})
    assert r.status_code == 200 and b"signed out" in r.data
    assert [r["action"] for r in audit_rows(oidc_ws)][-1] == "signout"
    assert client.get("/api/v1/roadmap").status_code == 401


def test_cross_site_cookie_writes_are_refused(oidc_app, oidc_ws):
    client = oidc_app.test_client()
    sign_in(client)
    for headers in ({"Origin": "https://evil.example"}, {}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        r = client.post("/api/v1/snapshots", json={"name": "csrf"}, headers=headers)
        assert r.status_code == 403, headers
    ok = client.post("/api/v1/snapshots", json={"name": "mine"}, headers={"Origin": "http://localhost"})
    assert ok.status_code == 201
    saved = [r for r in audit_rows(oidc_ws) if r["action"] == "snapshot.save" and r["object"] == "mine"]
    assert [(r["who"], r["outcome"]) for r in saved] == [("ann@acme.com", "ok")]
    assert sum(r["action"] == "snapshot.save" and r["outcome"] == "refused-403" for r in audit_rows(oidc_ws)) == 4


# -- roles against every write route ---------------------------------------------------
WRITE_ROUTES = [   # (method, path, body, the role it needs, its status when allowed)
    ("POST", "/api/v1/snapshots", {"name": "snap-{role}"}, "planner", 201),
    ("POST", "/api/v1/sync", {}, "planner", 202),
    ("POST", "/api/v1/initiatives/A/estimates", {"line": "activation +5% @60%"}, "estimator", 201),
    ("POST", "/api/v1/initiatives/A/estimates/reveal", None, "planner", 200),
    ("POST", "/api/v1/scenarios", {"name": "s-{role}", "page": "roadmap", "query": "q=a"}, "planner", 201),
    ("GET", "/api/v1/audit", None, "admin", 200),
    ("POST", "/api/v1/what-if", {"objective_weights": {"revenue": 1}}, "viewer", 200),
    ("GET", "/api/v1/roadmap", None, "viewer", 200),
]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_each_route(oidc_app, oidc_ws, role):
    _row, token = tokens.create(oidc_ws.store, f"tool-{role}", role)
    client = oidc_app.test_client()
    for method, path, body, needs, ok in WRITE_ROUTES:
        body = {k: (v.format(role=role) if isinstance(v, str) else v) for k, v in (body or {}).items()} or None
        r = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
        want = ok if ROLES.index(role) >= ROLES.index(needs) else 403
        assert r.status_code == want, (role, method, path, r.data[:200])
        if want == 403:
            assert r.get_json()["error"]["code"] == "forbidden"
        anonymous = client.open(path, method=method, json=body)
        assert anonymous.status_code == 401, (method, path)
    done = [(r["who"], r["action"]) for r in audit_rows(oidc_ws) if not r["outcome"].startswith("refused")]
    wanted = [a for _m, _p, _b, needs, _ok in WRITE_ROUTES if ROLES.index(role) >= ROLES.index(needs)
              for a in [rules.needed(_m, _p.replace("/A/", "/<key>/"))[1]] if a not in ("read",)]
    assert [a for who, a in done if who == f"token:tool-{role}"] == [a for a in wanted if a != "audit.read"]


def test_every_route_has_a_role_in_the_one_table(oidc_app):
    """A new write route must be given its role in app/auth/rules.py (else it is admin only)."""
    for rule in oidc_app.url_map.iter_rules():
        for method in rule.methods - {"HEAD", "OPTIONS", "GET"}:
            key = (method, rules.normal(rule.rule))
            assert key in rules.WRITES or key in rules.READS or key in rules.OPEN, key
    assert AUTH_ROLES == ROLES


def test_writes_are_audited_with_who_and_the_request_id(oidc_app, oidc_ws):
    _row, token = tokens.create(oidc_ws.store, "ci", "planner")
    r = oidc_app.test_client().post("/api/v1/sync", json={}, headers={"Authorization": f"Bearer {token}",
                                                                         "X-Request-Id": "req-000042"})
    assert r.status_code == 202 and r.headers["X-Request-Id"] == "req-000042"
    row = audit_rows(oidc_ws)[-1]
    assert (row["who"], row["role"], row["via"], row["action"], row["request_id"]) == \
        ("token:ci", "planner", "token", "sync.queue", "req-000042")
    assert len([x for x in audit_rows(oidc_ws) if x["request_id"] == "req-000042"]) == 1   # once, with the job
    everything = " ".join(str(v) for x in audit_rows(oidc_ws) for v in x.values())
    assert token not in everything and token[4:20] not in everything


# -- proxy mode -----------------------------------------------------------------------
@pytest.fixture
def proxy_app(workspace_dir, monkeypatch):
    monkeypatch.setenv(PROXY_VAR, PROXY_SECRET)
    ws = _workspace(workspace_dir, monkeypatch, f'''
[auth]
mode = "proxy"
proxy_user_header = "X-Forwarded-Email"
proxy_groups_header = "X-Forwarded-Groups"
proxy_secret_env = "{PROXY_VAR}"
trusted_proxies = ["10.0.0.0/8"]
''' + ROLE_MAP)
    return create_app(workspace=ws), ws


def _proxied(app, addr="10.1.2.3", secret=PROXY_SECRET, user="ann@acme.com", groups="everyone,pm-leads", **extra):
    headers = {"X-Forwarded-Email": user, "X-Forwarded-Groups": groups, **extra}
    if secret is not None:
        headers["X-Roadmap-Proxy-Secret"] = secret
    return app.test_client().get("/kpis", headers=headers, environ_base={"REMOTE_ADDR": addr})


def test_proxy_mode_trusts_the_headers_only_from_the_proxy_with_its_secret(proxy_app):
    app, ws = proxy_app
    ok = _proxied(app)
    assert ok.status_code == 200 and "ann@acme.com · planner" in ok.get_data(as_text=True)
    assert _proxied(app, secret=None).status_code == 401
    assert _proxied(app, secret="proxy-secret-0123456780").status_code == 401
    assert _proxied(app, addr="192.168.1.9").status_code == 401          # the secret leaked, not the address
    assert _proxied(app, addr="127.0.0.1").status_code == 401
    assert _proxied(app, groups="sales", user="eve@acme.com").status_code == 403
    assert _proxied(app, groups="", user="ops@acme.com").status_code == 200    # mapped by e-mail
    outcomes = [r["outcome"] for r in audit_rows(ws)]
    assert outcomes.count("refused-401") == 4 and outcomes.count("refused-403") == 1
    assert PROXY_SECRET not in " ".join(str(v) for r in audit_rows(ws) for v in r.values())


def test_proxy_writes_need_the_role_and_the_same_origin(proxy_app):
    app, _ws = proxy_app
    c = app.test_client()
    base = {"X-Forwarded-Email": "ann@acme.com", "X-Roadmap-Proxy-Secret": PROXY_SECRET,
            "Origin": "http://localhost"}
    env = {"REMOTE_ADDR": "10.0.0.5"}
    assert c.post("/api/v1/snapshots", json={"name": "p1"}, environ_base=env,
                  headers={**base, "X-Forwarded-Groups": "pm-leads"}).status_code == 201
    assert c.post("/api/v1/snapshots", json={"name": "p2"}, environ_base=env,
                  headers={**base, "X-Forwarded-Groups": "product"}).status_code == 403
    assert c.post("/api/v1/snapshots", json={"name": "p3"}, environ_base=env,
                  headers={**base, "X-Forwarded-Groups": "pm-leads", "Origin": "https://evil.example"}
                  ).status_code == 403
    assert c.get("/login").status_code == 404          # the proxy signs people in


# -- tokens across replicas -------------------------------------------------------------
def test_a_revoked_token_is_refused_at_once_by_every_replica(workspace_dir, monkeypatch, db_url, idp):
    monkeypatch.setenv(SECRET_VAR, idp.client_secret)
    ws = _workspace(workspace_dir, monkeypatch, f'''
[auth]
issuer = "{idp.issuer}"
client_id = "kpi-roadmap"
client_secret_env = "{SECRET_VAR}"
''' + ROLE_MAP, url=db_url)
    other = Workspace(load_settings(workspace_dir / "roadmap.toml"))     # a second replica, same database
    a, b = create_app(workspace=ws).test_client(), create_app(workspace=other).test_client()
    row, token = tokens.create(other.store, "ci", "viewer")
    assert row["status"] == "active" and token.startswith("rmt_")
    auth = {"Authorization": f"Bearer {token}"}
    assert a.get("/api/v1/kpis", headers=auth).status_code == 200
    assert b.get("/api/v1/kpis", headers=auth).status_code == 200
    with ws.store.engine.connect() as c:
        stored = c.execute(text("SELECT hash FROM api_tokens")).scalar()
    assert stored != token and len(stored) == 64                          # only its hash is kept
    tokens.revoke(ws.store, row["id"])
    assert a.get("/api/v1/kpis", headers=auth).status_code == 401
    assert b.get("/api/v1/kpis", headers=auth).status_code == 401
    assert a.get("/api/v1/kpis", headers={"Authorization": "Bearer rmt_guessed"}).status_code == 401
    assert audit.verify(audit.rows(ws.store)).verified
    other.close()


# -- the audit log ----------------------------------------------------------------------
def _cli(args, cfg, **env):
    from click.testing import CliRunner

    from app.cli import main
    return CliRunner().invoke(main, [*args, "--config", str(cfg)], env=env, catch_exceptions=False)


def test_audit_verify_names_the_first_edited_or_deleted_row(workspace_dir, monkeypatch, db_url):
    ws = _workspace(workspace_dir, monkeypatch, "", url=db_url)
    cfg = workspace_dir / "roadmap.toml"
    assert _cli(["token", "create", "ci", "--role", "planner"], cfg).exit_code == 0
    assert _cli(["token", "revoke", "1"], cfg).exit_code == 0
    assert _cli(["snapshot", "save", "before"], cfg).exit_code == 0
    n = len(audit.rows(ws.store))
    assert n == 4            # the sync's snapshot, create, revoke, save
    ok = _cli(["audit", "--verify"], cfg)
    assert ok.exit_code == 0 and "chain verified" in ok.output
    client = create_app(workspace=ws).test_client()
    assert client.get("/api/v1/audit").get_json()["verified"] is True
    with ws.store.engine.begin() as c:
        c.execute(text("UPDATE audit_log SET who = 'mallory' WHERE seq = 2"))
    bad = _cli(["audit", "--verify"], cfg)
    assert bad.exit_code == 1 and "BROKEN at row 2: row 2 was changed after it was written" in bad.output
    body = client.get("/api/v1/audit").get_json()
    assert (body["verified"], body["broken_at"]) == (False, 2)
    with ws.store.engine.begin() as c:
        c.execute(text("UPDATE audit_log SET who = 'local' WHERE seq = 2"))
        c.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    gone = _cli(["audit", "--verify", "--format", "json"], cfg)
    assert gone.exit_code == 1 and "broken at row 3: row 3 is missing" in gone.output


def test_the_cli_checks_a_tools_role_and_audits_the_refusal(workspace_dir, monkeypatch):
    ws = _workspace(workspace_dir, monkeypatch, "")
    cfg = workspace_dir / "roadmap.toml"
    _r, viewer = tokens.create(ws.store, "dash", "viewer")
    _r, planner = tokens.create(ws.store, "ci", "planner")
    no = _cli(["snapshot", "save", "x"], cfg, ROADMAP_TOKEN=viewer)
    assert no.exit_code == 2 and "needs the planner role; token:dash is viewer" in no.output
    assert _cli(["token", "create", "sneaky", "--role", "admin"], cfg, ROADMAP_TOKEN=planner).exit_code == 2
    yes = _cli(["snapshot", "save", "x"], cfg, ROADMAP_TOKEN=planner)
    assert yes.exit_code == 0, yes.output
    tail = [(r["who"], r["action"], r["outcome"]) for r in audit.rows(ws.store)][-3:]
    assert tail == [("token:dash", "snapshot.save", "refused-403"), ("token:ci", "token.create", "refused-403"),
                    ("token:ci", "snapshot.save", "ok")]
    users = _cli(["users"], cfg)
    assert "dash" in users.output and "ci" in users.output and viewer not in users.output


def test_without_auth_writes_stay_loopback_or_the_api_token_and_are_audited(workspace_dir, monkeypatch):
    ws = _workspace(workspace_dir, monkeypatch, "")
    client = create_app(workspace=ws).test_client()
    far = client.post("/api/v1/snapshots", json={"name": "far"}, environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert far.status_code == 403
    assert client.post("/api/v1/snapshots", json={"name": "near"}).status_code == 201
    assert client.get("/api/v1/roadmap", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 200
    assert [(r["who"], r["outcome"]) for r in audit.rows(ws.store)][-2:] == [("anonymous", "refused-403"),
                                                                              ("local", "ok")]
    assert client.post("/logout").status_code == 404


# -- config ---------------------------------------------------------------------------
def test_auth_config_problems_are_located(workspace_dir):
    cfg = workspace_dir / "roadmap.toml"
    cfg.write_text(cfg.read_text() + '''
[auth]
mode = "oidc"
trusted_proxies = ["not-an-address"]
[auth.roles]
"pm-leads" = "boss"
''')
    with pytest.raises(ConfigError) as e:
        load_settings(cfg)
    text_ = str(e.value)
    assert "auth.roles: Value error, 'pm-leads' = 'boss': a role must be one of viewer, estimator, planner, admin" \
        in text_ or "auth.roles: 'pm-leads' = 'boss': a role must be one of" in text_
    assert "auth.trusted_proxies" in text_ and "not-an-address" in text_
    cfg.write_text(cfg.read_text().replace('trusted_proxies = ["not-an-address"]', "").replace('"boss"', '"viewer"'))
    with pytest.raises(ConfigError) as e:
        load_settings(cfg)
    assert "auth.issuer: missing; mode = \"oidc\" needs it" in str(e.value)
    assert "auth.client_id: missing" in str(e.value)


def test_an_unset_client_secret_refuses_to_start(oidc_ws, monkeypatch):
    monkeypatch.delenv(SECRET_VAR)
    with pytest.raises(ConfigError, match="auth.client_secret_env: the environment variable"):
        create_app(workspace=oidc_ws)


def test_a_session_from_one_replica_is_good_on_another(oidc_ws, monkeypatch):
    monkeypatch.delenv("ROADMAP_SESSION_KEY", raising=False)
    a = create_app(workspace=oidc_ws)
    b = create_app(workspace=Workspace(oidc_ws.settings))       # the key is kept in the shared store
    ca = a.test_client()
    sign_in(ca)
    cb = b.test_client()
    cb.set_cookie("roadmap_session", session_cookie(ca))
    assert cb.get("/api/v1/kpis").status_code == 200
    monkeypatch.setenv("ROADMAP_SESSION_KEY", "another-key-0123456789-abcdef")
    cc = create_app(workspace=Workspace(oidc_ws.settings)).test_client()
    cc.set_cookie("roadmap_session", session_cookie(ca))
    assert cc.get("/api/v1/kpis").status_code == 401               # signed with another key: not ours


def test_every_command_is_in_the_clis_one_table():
    """A new command that writes must be given its role in app/cli/auth.py COMMANDS."""
    import click

    from app.cli import auth as cli_auth, main

    def walk(group, prefix=""):
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                yield from walk(cmd, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", cmd
    for path, cmd in walk(main):
        assert path in cli_auth.COMMANDS or path in cli_auth.READS, path
        assert getattr(cmd.callback, "_roadmap_guarded", False) == (path in cli_auth.COMMANDS), path


def test_templates_hide_controls_a_role_cannot_use(oidc_app, oidc_ws):
    """`can(role)` in templates: true only for a person whose role allows it."""
    from flask import render_template_string
    _r, viewer = tokens.create(oidc_ws.store, "v", "viewer")
    _r, planner = tokens.create(oidc_ws.store, "p", "planner")
    tpl = "{% if can('planner') %}<button>Reveal</button>{% endif %}"
    shown = {}
    for name, token in (("viewer", viewer), ("planner", planner), ("nobody", None)):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with oidc_app.test_request_context("/kpis", headers=headers):
            oidc_app.preprocess_request()
            shown[name] = "Reveal" in render_template_string(tpl)
    assert shown == {"viewer": False, "planner": True, "nobody": False}
