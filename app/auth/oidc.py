"""OpenID Connect sign-in (docs/deployment.md, "Sign-in"): authorization code with PKCE,
the provider found by discovery at `<issuer>/.well-known/openid-configuration`, and the
RS256 id_token checked against the provider's JWKS: signature, issuer, audience, expiry,
nonce. Authlib runs the OAuth 2.0 exchange (state, PKCE S256, the token request) and its
joserfc verifies the JWT; nothing here is hand-rolled cryptography.

Groups (the `groups_claim`, a dotted path) map to a role at every sign-in through
`[auth.roles]`; no mapped group (or e-mail), no access.
"""
from __future__ import annotations

import os
import secrets
import threading
import time

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from app.auth import ROLES

DISCOVERY_TTL = 3600.0       # seconds a provider's discovery document and keys are reused
TIMEOUT = 10.0
CLOCK_SKEW = 60              # seconds of leeway on exp / iat


class SignInError(Exception):
    """A sign-in that must not succeed; `reason` is a short code for the audit log."""

    def __init__(self, reason: str, message: str, status: int = 401):
        super().__init__(message)
        self.reason, self.message, self.status = reason, message, status


def role_for(names: list[str], roles: dict[str, str]) -> str | None:
    """The highest role any of `names` (groups and the e-mail) maps to; None: no access.
    A Keycloak group path `/pm-leads` matches `pm-leads` too.

    >>> role_for(["/product", "ann@acme.com"], {"product": "estimator", "ann@acme.com": "planner"})
    'planner'
    >>> role_for(["sales"], {"product": "estimator"}) is None
    True
    """
    found = []
    for n in names:
        for key in (n, n.lstrip("/"), n.lower()):
            if key in roles:
                found.append(roles[key])
    return max(found, key=ROLES.index) if found else None


def claim_at(claims: dict, path: str):
    """`realm_access.roles` -> claims["realm_access"]["roles"]."""
    node = claims
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def groups_of(claims: dict, path: str) -> list[str]:
    raw = claim_at(claims, path)
    if isinstance(raw, str):
        raw = [g for g in raw.replace(",", " ").split()]
    return [str(g)[:255] for g in raw if isinstance(g, (str, int))][:1000] if isinstance(raw, list) else []


class Provider:
    """One identity provider: its discovery document and keys, fetched lazily and cached."""

    def __init__(self, cfg):
        self.cfg = cfg
        self._lock = threading.Lock()
        self._meta: dict | None = None
        self._keys: KeySet | None = None
        self._fetched = 0.0

    def _get(self, url: str) -> dict:
        try:
            r = requests.get(url, timeout=TIMEOUT, headers={"Accept": "application/json"})
            r.raise_for_status()
            return r.json()
        except (requests.RequestException, ValueError) as exc:
            raise SignInError("provider-unreachable", f"the identity provider did not answer at {url} "
                                                      f"({type(exc).__name__})", 502) from None

    def metadata(self) -> dict:
        with self._lock:
            if self._meta is None or time.monotonic() - self._fetched > DISCOVERY_TTL:
                issuer = self.cfg.issuer.rstrip("/")
                meta = self._get(issuer + "/.well-known/openid-configuration")
                if str(meta.get("issuer", "")).rstrip("/") != issuer:
                    raise SignInError("provider-mismatch", "the provider's discovery document names another "
                                                           "issuer than [auth] issuer", 502)
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(meta.get(key), str):
                        raise SignInError("provider-mismatch", f"the provider's discovery document has no {key}", 502)
                self._meta, self._keys, self._fetched = meta, None, time.monotonic()
            return self._meta

    def keys(self, refresh: bool = False) -> KeySet:
        meta = self.metadata()
        with self._lock:
            if self._keys is None or refresh:
                try:
                    self._keys = KeySet.import_key_set(self._get(meta["jwks_uri"]))
                except (JoseError, ValueError, TypeError, KeyError):
                    raise SignInError("provider-mismatch", "the provider's JWKS could not be read", 502) from None
            return self._keys

    def client(self, redirect_uri: str) -> OAuth2Session:
        secret = os.environ.get(self.cfg.client_secret_env) if self.cfg.client_secret_env else None
        return OAuth2Session(self.cfg.client_id, secret, scope="openid email profile", redirect_uri=redirect_uri,
                             code_challenge_method="S256",
                             token_endpoint_auth_method="client_secret_basic" if secret else "none")

    def start(self, redirect_uri: str) -> tuple[str, dict]:
        """The provider's sign-in URL, and what the session keeps until the callback."""
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        url, _ = self.client(redirect_uri).create_authorization_url(
            self.metadata()["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier)
        return url, {"state": state, "nonce": nonce, "verifier": verifier}

    def finish(self, redirect_uri: str, pending: dict | None, args: dict) -> dict:
        """The callback: check state, exchange the code (PKCE), verify the id_token. Returns
        its claims."""
        if args.get("error"):
            raise SignInError("provider-refused", "the identity provider refused the sign-in: "
                                                  + str(args.get("error"))[:100])
        if not pending or not args.get("state") or not secrets.compare_digest(
                str(args.get("state")), str(pending.get("state", ""))):
            raise SignInError("bad-state", "this sign-in was not started here, or was already used; "
                                           "sign in again")
        if not args.get("code"):
            raise SignInError("no-code", "the identity provider sent no authorization code")
        client = self.client(redirect_uri)
        try:
            token = client.fetch_token(self.metadata()["token_endpoint"], code=str(args["code"])[:2048],
                                       code_verifier=pending["verifier"], timeout=TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - authlib raises OAuthError, requests its own
            raise SignInError("code-refused", "the identity provider refused the authorization code "
                                              f"({type(exc).__name__})") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SignInError("no-id-token", "the identity provider sent no id_token")
        return self.verify(id_token, pending["nonce"])

    def verify(self, id_token: str, nonce: str) -> dict:
        try:
            try:
                tok = jwt.decode(id_token, self.keys(), algorithms=["RS256"])
            except (JoseError, ValueError, TypeError):
                tok = jwt.decode(id_token, self.keys(refresh=True), algorithms=["RS256"])  # keys may have rotated
        except (JoseError, ValueError, TypeError) as exc:
            raise SignInError("bad-signature", f"the id_token's signature does not verify ({type(exc).__name__})"
                              ) from None
        claims = tok.claims
        issuer = self.metadata()["issuer"]
        registry = jwt.JWTClaimsRegistry(leeway=CLOCK_SKEW, iss={"essential": True, "value": issuer},
                                         sub={"essential": True}, exp={"essential": True})
        try:
            registry.validate(claims)
        except JoseError as exc:
            reason = "expired" if "expire" in str(exc).lower() or "exp" in str(exc) else "bad-claims"
            raise SignInError(reason, f"the id_token is not valid here ({type(exc).__name__}: {exc})") from None
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if self.cfg.client_id not in auds or (len(auds) > 1 and claims.get("azp") != self.cfg.client_id):
            raise SignInError("wrong-audience", "the id_token was issued for another client")
        if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
            raise SignInError("bad-nonce", "the id_token's nonce does not match this sign-in")
        return claims
