"""`roadmap push` for Jira: PUT score and rank into the configured fields, without
notifying watchers where Jira allows it, and say exactly what Jira refused."""
from __future__ import annotations

import re
from typing import Any, Protocol

from connectors.base import Change, WriteBackResult
from connectors.http import error_messages


class Writable(Protocol):
    """What writing back needs of the connector (`JiraConnector` is one); a protocol, so this
    module does not import the connector that imports it."""
    name: str
    api: Any

    def write_back_fields(self) -> dict[str, str]: ...

_SCREEN = re.compile(r"not on the appropriate screen|unknown", re.I)


def write_back(conn: Writable, changes: list[Change], *, progress=None) -> WriteBackResult:
    """One PUT per issue with its changed fields; None clears a field."""
    ids = conn.write_back_fields()
    if any(c.field == "impact" for c in changes):       # `push --estimates`: lines with `by`
        ids = {**ids, "impact": conn.field_ids.get("impact", conn.options.fields.impact)}
    by_key: dict[str, dict[str, object]] = {}
    for c in changes:
        if c.field in ids:
            by_key.setdefault(c.key, {})[ids[c.field]] = c.new
    result = WriteBackResult()
    notify = False
    for n, (key, fields) in enumerate(by_key.items(), start=1):
        resp = conn.api.put_issue(key, fields, notify)
        if resp.status_code in (400, 403) and not notify and re.search(r"notifyusers|notification", resp.text, re.I):
            # only admins may silence notifications: write anyway, and say so once
            notify = True
            result.notes.append("Jira refused notifyUsers=false (it needs admin permission): "
                                "wrote with notifications on")
            resp = conn.api.put_issue(key, fields, notify)
        if resp.status_code in (200, 204):
            if all(v is None for v in fields.values()):
                result.cleared += 1
            else:
                result.written += 1
        else:
            result.failed += 1
            result.failed_keys.add(key)
            result.messages.append(_push_error(conn, key, resp))
        if progress:
            progress(conn.name, n, len(by_key))
    return result


def _push_error(conn: Writable, key: str, resp) -> str:
    errors = {}
    try:
        body = resp.json()
        errors = body.get("errors") or {} if isinstance(body, dict) else {}
    except ValueError:
        pass
    roles = {v: r for r, v in conn.write_back_fields().items()}
    for field_id, text in errors.items():
        if _SCREEN.search(str(text)):
            role = roles.get(field_id, field_id)
            return (f"{key}: Jira refused field {role} ({field_id}): it is not on the issue's edit screen or is "
                    f"unknown; add it to the edit screen of the issue type in Jira, or fix "
                    f"[connectors.{conn.name}.fields] {role}")
    if resp.status_code in (401, 403):
        return f"{key}: {resp.status_code}: check the email and API token, and that the account may edit issues"
    return f"{key}: {resp.status_code}: {'; '.join(error_messages(resp)) or 'no detail given'}"
