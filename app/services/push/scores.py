"""`roadmap push`: write score and rank back to the tracker, only where they changed.

Works through the connector interface (`supports_write_back`, `write_back_fields`,
`written_values`, `write_back`), so any tracker that can write back takes part. Items
that are no longer ranked (done, or gone from the query) get their fields cleared. What
was written is remembered, so the next push compares against it. `--dry-run` lists each
change (key, field, old -> new) and writes nothing.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from app import services
from app.config import ConfigError, missing_secrets
from connectors.base import Change, Connector


@dataclass
class PushReport:
    connector: str
    written: int = 0
    unchanged: int = 0
    cleared: int = 0
    failed: int = 0
    messages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)      # what was (or, dry run, would be) written
    seconds: float = 0.0


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    except (TypeError, ValueError):
        return False


def push(ws: services.Workspace, *, dry_run: bool = False, progress=None,
         estimates: bool = False) -> list[PushReport]:
    """`estimates`: also write the stored estimates into the impact field as lines with
    `by` (app/services/push/estimates.py)."""
    from app.services.push.estimates import impact_field
    s = ws.settings
    targets: list[Connector] = []
    for name in s.connectors:
        conn = s.connector(name)
        if conn.supports_write_back and (conn.write_back_fields() or (estimates and impact_field(conn))):
            targets.append(conn)
    if not targets:
        raise ConfigError(["no connector to push to: set fields.score and/or fields.rank of a jira connector "
                           "(for example score = \"customfield_10050\")"], s.path)
    if not dry_run:
        problems = missing_secrets(s, [c.name for c in targets])
        if problems:
            raise ConfigError(problems, s.path)
    ranking = services.ranking(ws)
    ranked = {ranking.backlog.keys[i]: (float(ranking.score[i]), int(ranking.rank_of[i])) for i in ranking.ranked}
    return [_push_one(ws, conn, ranked, dry_run, progress, estimates) for conn in targets]


def changes_for(ws, conn: Connector, ranked: dict, report: PushReport) -> tuple[list[Change], dict]:
    """Each field whose wanted value differs from what the tracker holds (or what we last
    wrote there), and the wanted (score, rank) per changed key."""
    roles = conn.write_back_fields()
    pushed = ws.store.push_state(conn.name)
    changes, wanted = [], {}
    for key, (raw, active) in ws.store.raw_records(conn.name).items():
        score, rank = ranked.get(key, (None, None)) if active else (None, None)
        want = {"score": score if "score" in roles else None, "rank": rank if "rank" in roles else None}
        if key in pushed:
            have = dict(zip(("score", "rank"), pushed[key]))
        else:
            have = conn.written_values(json.loads(raw) if raw else None)
        diff = [Change(key, role, have.get(role), want[role]) for role in roles if not _same(want[role], have.get(role))]
        if diff:
            changes += diff
            wanted[key] = (want["score"], want["rank"])
        else:
            report.unchanged += 1
    return changes, wanted


def _push_one(ws, conn: Connector, ranked: dict, dry_run: bool, progress, estimates: bool = False) -> PushReport:
    started = time.monotonic()
    report = PushReport(conn.name)
    if not dry_run:
        conn.prepare()
    changes, wanted = changes_for(ws, conn, ranked, report)
    if estimates:
        from app.services.push.estimates import estimate_changes
        extra = estimate_changes(ws, conn)
        changes += extra
        report.notes += [f"{len(extra)} item(s) get the stored estimates in their impact field"] if extra else []
    report.changes = changes
    if dry_run:
        report.written = sum(1 for w in wanted.values() if w[0] is not None or w[1] is not None) + len(
            {c.key for c in changes if c.field == "impact"} - set(wanted))
        report.cleared = len(wanted) - report.written
        report.notes.append("dry run: nothing was written")
        report.seconds = time.monotonic() - started
        return report
    result = conn.write_back(changes, progress=progress)
    for key, (score, rank) in wanted.items():
        if key not in result.failed_keys:
            ws.store.record_push(conn.name, key, score, rank)
    report.written, report.cleared, report.failed = result.written, result.cleared, result.failed
    report.messages, report.notes = result.messages, result.notes
    report.seconds = time.monotonic() - started
    return report
