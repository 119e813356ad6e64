"""`roadmap push --estimates`: write the estimates kept in the store back to the tracker's
impact field as lines with `by` (docs/cli.md "Commands"), so the tracker holds every person's
estimate. A person's stored estimate replaces their own line for that KPI; every other
line is kept as written: a push never deletes a person's line.

Only connectors with a configured `impact` field take part (an impact section in the
description is left alone); a rich-text field (Atlassian Document Format) is written as
one paragraph per line.
"""
from __future__ import annotations

import json

from app.store import estimates as stored
from connectors.base import Change, Connector
from scoring.notation import estimates as pieces, person_key, read_estimate, split_by


def impact_field(conn: Connector) -> str | None:
    fields = getattr(getattr(conn, "options", None), "fields", None)
    impact = getattr(fields, "impact", None)
    if not impact:
        return None
    return getattr(conn, "field_ids", {}).get("impact", impact)


def merged_text(text: str, estimator: str | None, mine: list) -> str:
    """`text`'s lines with each stored estimate in `mine` replacing its author's line of
    that KPI (a line without `by` is the item's `estimator`'s), or added at the end."""
    lines = pieces(text)
    placed = set()
    out = []
    for line in lines:
        body, by = split_by(line)
        m = read_estimate(body)
        who = person_key(by or estimator)
        hit = next((e for e in mine if m and m[0] == e.kpi and who == e.by_key), None) if m else None
        if hit is not None and hit.id not in placed:
            out.append(f"{hit.line} by {hit.by}")
            placed.add(hit.id)
        elif hit is None:
            out.append(line)
    out += [f"{e.line} by {e.by}" for e in mine if e.id not in placed]
    return "\n".join(out)


def _adf(text: str) -> dict:
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in text.splitlines()]}


def estimate_changes(ws, conn: Connector) -> list[Change]:
    """One `impact` change per item whose tracker text lacks a stored estimate."""
    field = impact_field(conn)
    if field is None:
        return []
    mine: dict[str, list] = {}
    for e in stored.counted(ws.store):
        mine.setdefault(e.key, []).append(e)
    if not mine:
        return []
    out = []
    records = ws.store.raw_records(conn.name)
    for key, ests in mine.items():
        raw, active = records.get(key, (None, False))
        if raw is None or not active:
            continue
        record = json.loads(raw) if raw else {}
        value = (record.get("fields") or {}).get(field) if isinstance(record, dict) else None
        text = conn._text(value) if hasattr(conn, "_text") else str(value or "")
        row = ws.store.initiative(key) or {}
        new = merged_text(text, row.get("estimator") or None, ests)
        if new.strip() != "\n".join(pieces(text)).strip():
            out.append(Change(key, "impact", text, _adf(new) if isinstance(value, dict) else new))
    return out
