"""Keep configured secrets out of every message: `redact(text, settings)` replaces the value
of each environment variable the config names in a `*_env` key (and the forms a source
may echo: a bearer header, Jira's basic-auth string, URL-encoded) with `***`.

Use it on anything printed, logged or stored (sync_runs.message, CLI output, tracebacks).
"""
from __future__ import annotations

import base64
import os
import re
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
MIN_LENGTH = 4        # shorter values would mask ordinary words and digits; no real secret is this short


def _env_names(node, out: list[tuple[str, dict]]) -> None:
    """Every `*_env` value in a nested config, with the table it sits in."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str) and k.endswith("_env") and isinstance(v, str) and v:
                out.append((v, node))
            else:
                _env_names(v, out)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _env_names(v, out)


def secret_values(settings) -> list[str]:
    """The secret strings to mask, longest first (so a longer form is masked whole)."""
    if settings is None:
        return []
    found: list[tuple[str, dict]] = []
    _env_names(settings.service.model_dump(), found)
    _env_names(settings.connectors, found)
    if getattr(settings, "auth", None) is not None:       # the OIDC client secret, the proxy secret, the session key
        _env_names(settings.auth.model_dump(), found)
    tables: dict[int, tuple[dict, list[str]]] = {}
    for var, table in found:
        secret = os.environ.get(var) or ""
        if len(secret) >= MIN_LENGTH:
            tables.setdefault(id(table), (table, []))[1].append(secret)
    values: set[str] = set()
    for table, secrets in tables.values():
        for secret in list(secrets):
            password = urlsplit(secret).password if "://" in secret else None
            if password and len(password) >= MIN_LENGTH:     # a database URL: its password alone too
                secrets.append(unquote(password))
        users = [u for u in (table.get("email"), table.get("username"), table.get("user")) if isinstance(u, str)]
        for secret in secrets:
            values.update({secret, quote(secret, safe=""), quote_plus(secret), *_base64_cores(secret)})
        # basic auth as a source may echo it: user:secret, or two secrets (key:secret)
        for a in [*users, *secrets, ""]:
            for b in secrets:
                values.add(base64.b64encode(f"{a}:{b}".encode()).decode())
                values.add(base64.b64encode(f"{b}:{a}".encode()).decode())
    return sorted((v for v in values if len(v) >= MIN_LENGTH), key=len, reverse=True)


def _base64_cores(secret: str) -> list[str]:
    """What base64 of any text containing `secret` must contain, at each of the three
    alignments (so `user:secret` in a basic-auth header is found for any user)."""
    out = []
    for k in range(3):
        enc = base64.b64encode(b"\0" * k + secret.encode()).decode().rstrip("=")
        start = 4 if k else 0
        end = len(enc) - (len(enc) % 4 or 4) if (k + len(secret.encode())) % 3 else len(enc)
        core = enc[start:end]
        if len(core) >= 8:
            out.append(core)
    return out


_AROUND = re.compile(r"[A-Za-z0-9+/]*\*\*\*[A-Za-z0-9+/]*=*")


def redact(text, settings) -> str:
    """`text` with every configured secret value replaced by ***; a base64 run the secret
    sits in (a basic-auth header) is masked whole."""
    text = "" if text is None else str(text)
    found = False
    for value in secret_values(settings):
        if value in text:
            text = text.replace(value, MASK)
            found = True
    return _AROUND.sub(MASK, text) if found else text
