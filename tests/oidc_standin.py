"""An OpenID Connect provider stand-in on loopback, written from OpenID Connect Core 1.0
(3.1 the authorization code flow: 3.1.2 the authorization endpoint, 3.1.3 the token
endpoint, 2 the ID token's claims), OpenID Connect Discovery 1.0 (4 the provider
metadata at /.well-known/openid-configuration) and RFC 7636 (PKCE, S256), and RFC 7517
(the JWKS). It signs RS256 ID tokens with a test RSA key through joserfc.

`/authorize` approves at once as `user` (the claims the test sets) and redirects back with
a one-time code. `/token` checks the client, the redirect URI, the PKCE verifier and that
the code is unused (a replayed code is `invalid_grant`, as Core 3.1.3.2 requires).

Knobs for failure paths: `audience`, `expires_in` (negative: already expired), `sign_with`
(a key the JWKS does not hold: a bad signature), `nonce` (a forced nonce).
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import threading
import time
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class OidcStandIn:
    def __init__(self, client_id: str = "kpi-roadmap", client_secret: str | None = "s3cret-client-value"):
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig", "alg": "RS256"})
        self.user = {"sub": "u-1", "email": "ann@acme.com", "groups": ["pm-leads"]}
        self.audience: str | None = None
        self.expires_in = 300
        self.sign_with = None
        self.nonce: str | None = None
        self.codes: dict[str, dict] = {}
        self.used: set[str] = set()
        self.token_requests = 0
        self.lock = threading.Lock()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}/realms/acme"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "OidcStandIn":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    # -- endpoints ---------------------------------------------------------------
    def app(self, environ, start_response):
        req = Request(environ)
        path = req.path.removeprefix("/realms/acme")
        handler = {"/.well-known/openid-configuration": self.discovery, "/protocol/openid-connect/auth": self.authorize,
                   "/protocol/openid-connect/token": self.token, "/protocol/openid-connect/certs": self.jwks}.get(path)
        resp = handler(req) if handler else Response("not found", 404)
        return resp(environ, start_response)

    def _json(self, body: dict, status: int = 200) -> Response:
        return Response(json.dumps(body), status, content_type="application/json",
                        headers={"Cache-Control": "no-store"})

    def discovery(self, _req) -> Response:
        base = self.issuer + "/protocol/openid-connect"
        return self._json({"issuer": self.issuer, "authorization_endpoint": base + "/auth",
                           "token_endpoint": base + "/token", "jwks_uri": base + "/certs",
                           "response_types_supported": ["code"], "subject_types_supported": ["public"],
                           "id_token_signing_alg_values_supported": ["RS256"],
                           "code_challenge_methods_supported": ["S256"],
                           "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"]})

    def jwks(self, _req) -> Response:
        return self._json(KeySet([self.key]).as_dict(private=False))

    def authorize(self, req) -> Response:
        a = req.args
        if a.get("response_type") != "code" or a.get("client_id") != self.client_id or "openid" not in \
                a.get("scope", "").split() or a.get("code_challenge_method") != "S256" or not a.get("code_challenge"):
            return Response("invalid authorization request", 400)
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"redirect_uri": a["redirect_uri"], "challenge": a["code_challenge"],
                                "nonce": a.get("nonce"), "user": dict(self.user)}
        q = urlencode({"code": code, "state": a.get("state", "")})
        return Response("", 302, headers={"Location": a["redirect_uri"] + "?" + q})

    def token(self, req) -> Response:
        self.token_requests += 1
        f = req.form
        client_id, secret = f.get("client_id"), f.get("client_secret")
        auth = req.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if client_id != self.client_id or (self.client_secret and secret != self.client_secret):
            return self._json({"error": "invalid_client"}, 401)
        code = f.get("code", "")
        with self.lock:
            grant = self.codes.get(code)
            replay = code in self.used
            self.used.add(code)
        if f.get("grant_type") != "authorization_code" or grant is None or replay:
            return self._json({"error": "invalid_grant"}, 400)
        verifier = f.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"] or f.get("redirect_uri") != grant["redirect_uri"]:
            return self._json({"error": "invalid_grant"}, 400)
        now = int(time.time())
        claims = {**grant["user"], "iss": self.issuer, "aud": self.audience or self.client_id,
                  "iat": now, "exp": now + self.expires_in, "nonce": self.nonce or grant["nonce"],
                  "azp": self.client_id}
        id_token = jwt.encode({"alg": "RS256", "kid": "test-1"}, claims, self.sign_with or self.key)
        return self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                           "id_token": id_token})
