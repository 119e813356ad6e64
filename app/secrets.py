"""Keep configured secrets out of every message (docs/deployment.md, "Secrets"):
`secret_values(settings)` is every form of every secret the config names (the value of each
environment variable named by a `*_env` key, the database URL's password), and
`redact(text, values)` masks them. The rule itself lives in `connectors.secrets`, so the
connectors (which never import `app`) use the same one.

Use them on anything printed, logged or stored (sync_runs.message, job rows, CLI output,
log lines, tracebacks): `redact(text, secret_values(ws.settings))`.
"""
from __future__ import annotations

import os

from connectors.secrets import MASK, MIN_LENGTH, forms, redact, url_password

__all__ = ["MASK", "MIN_LENGTH", "forms", "redact", "secret_values"]


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
    """Every form of every configured secret, longest first (empty without settings). A
    table's `email`/`username`/`user` is the user its secret pairs with in basic auth."""
    if settings is None:
        return []
    found: list[tuple[str, dict]] = []
    _env_names(settings.service.model_dump(), found)
    _env_names(settings.connectors, found)
    if getattr(settings, "auth", None) is not None:       # the OIDC client secret, the proxy secret, the session key
        _env_names(settings.auth.model_dump(), found)
    tables: dict[int, tuple[dict, list[str]]] = {}
    for var, table in found:
        tables.setdefault(id(table), (table, []))[1].append(os.environ.get(var) or "")
    values: set[str] = set()
    for table, secrets in tables.values():      # a table's secrets pair with each other and its user
        users = [u for u in (table.get("email"), table.get("username"), table.get("user")) if isinstance(u, str)]
        values.update(forms(secrets, users))
    password = url_password(str(getattr(settings, "database_url", "") or ""))
    if password:
        values.update(forms([password]))
    return sorted(values, key=len, reverse=True)
