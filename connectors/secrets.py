"""The one redaction rule (docs/deployment.md, "Secrets"): `forms(secrets)` lists every form
in which a secret can show up in a message, and `redact(text, values)` masks them with `***`.

A secret shows up as itself, URL-encoded (a query string, a database URL), or inside a
basic-auth header, base64 of `user:secret`. Pure (no settings, no I/O), so both
`connectors` (which never imports `app`) and `app` (`app.secrets.secret_values(settings)`,
which finds the secrets a config names) use this one implementation.

>>> values = forms(["s3cret-Tok/en+1"], users=["pm@acme.com"])
>>> import base64
>>> basic = base64.b64encode(b"pm@acme.com:s3cret-Tok/en+1").decode()
>>> redact(f"Bearer s3cret-Tok/en+1 | Basic {basic} | ?token=s3cret-Tok%2Fen%2B1", values)
'Bearer *** | Basic *** | ?token=***'
>>> redact("401 for Authorization: Bearer abc123secret", forms(["abc123secret"]))
'401 for Authorization: Bearer ***'
"""
from __future__ import annotations

import base64
import re
from typing import Iterable
from urllib.parse import quote, quote_plus, unquote, urlsplit

MASK = "***"
MIN_LENGTH = 4        # shorter values would mask ordinary words and digits; no real secret is this short

_AROUND = re.compile(r"[A-Za-z0-9+/]*\*\*\*[A-Za-z0-9+/]*=*")


def forms(secrets: Iterable[str], users: Iterable[str] = ()) -> list[str]:
    """Every string to mask for these secrets, longest first (so a longer form is masked
    whole): each secret, a URL's password on its own, their URL-encoded forms, and the
    base64 of `user:secret` (any user, and two secrets as a key:secret pair)."""
    secrets = [s for s in dict.fromkeys(secrets) if isinstance(s, str) and len(s) >= MIN_LENGTH]
    for secret in list(secrets):
        password = url_password(secret)
        if password and len(password) >= MIN_LENGTH and password not in secrets:
            secrets.append(password)
    users = [u for u in users if isinstance(u, str) and u]
    values: set[str] = set()
    for secret in secrets:
        values.update({secret, quote(secret, safe=""), quote(secret, safe="/:"), quote_plus(secret),
                       *_base64_cores(secret)})
    for a in [*users, *secrets, ""]:
        for b in secrets:
            values.add(base64.b64encode(f"{a}:{b}".encode()).decode())
            values.add(base64.b64encode(f"{b}:{a}".encode()).decode())
    return sorted((v for v in values if len(v) >= MIN_LENGTH), key=len, reverse=True)


def redact(text, values: list[str] | tuple[str, ...] | set[str] | frozenset[str]) -> str:
    """`text` (anything; None is "") with every value in `values` replaced by ***; a base64
    run a value sits in (a basic-auth header) is masked whole. `values` comes from
    `forms(...)` or `app.secrets.secret_values(settings)`."""
    if not isinstance(values, (list, tuple, set, frozenset)):
        raise TypeError("redact(text, values): pass the values to mask, e.g. app.secrets.secret_values(settings)")
    text = "" if text is None else str(text)
    found = False
    for value in values:
        if value and value in text:
            text = text.replace(value, MASK)
            found = True
    return _AROUND.sub(MASK, text) if found else text


def url_password(secret: str) -> str | None:
    """The password inside a URL secret (a database URL), decoded; None otherwise."""
    if "://" not in secret:
        return None
    try:
        password = urlsplit(secret).password
    except ValueError:
        return None
    return unquote(password) if password else None


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
