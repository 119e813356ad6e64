"""`roadmap push`: write score and rank back to the tracker, only where they changed.

Items that are no longer ranked (done, or gone from the query) get their fields cleared.
What was written is remembered, so the next push compares against it.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from app import services
from app.config import ConfigError, missing_secrets
from connectors.jira import JiraConnector, write_back


@dataclass
class PushReport:
    connector: str
    written: int = 0
    unchanged: int = 0
    cleared: int = 0
    failed: int = 0
    messages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))


def push(ws: services.Workspace, *, dry_run: bool = False, progress=None) -> list[PushReport]:
    s = ws.settings
    names = [n for n in s.connectors if s.connectors[n].get("type") == "jira"]
    targets = []
    for name in names:
        conn = s.connector(name)
        if conn.options.fields.score or conn.options.fields.rank:
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
    return [_push_one(ws, conn, ranked, dry_run, progress) for conn in targets]


def _push_one(ws, conn: JiraConnector, ranked: dict, dry_run: bool, progress) -> PushReport:
    started = time.monotonic()
    report = PushReport(conn.name)
    if not dry_run:
        conn.prepare()
    opts = conn.options.fields
    score_id = conn.field_ids.get("score", opts.score)
    rank_id = conn.field_ids.get("rank", opts.rank)
    pushed = ws.store.push_state(conn.name)
    changes = []
    for key, (raw, active) in ws.store.raw_records(conn.name).items():
        want = ranked.get(key, (None, None)) if active else (None, None)
        want = (want[0] if opts.score else None, want[1] if opts.rank else None)
        if key in pushed:
            have = pushed[key]
        else:
            fields = (json.loads(raw) or {}).get("fields") or {}
            have = (fields.get(score_id) if opts.score else None, fields.get(rank_id) if opts.rank else None)
        if _same(want[0], have[0]) and _same(want[1], have[1]):
            report.unchanged += 1
        else:
            changes.append((key, *want))
    if dry_run:
        report.written = sum(1 for c in changes if c[1] is not None or c[2] is not None)
        report.cleared = len(changes) - report.written
        report.notes.append("dry run: nothing was written")
        report.seconds = time.monotonic() - started
        return report
    result = write_back(conn, changes, progress=progress)
    failed_keys = {m.split(":", 1)[0] for m in result.messages}
    for key, score, rank in changes:
        if key not in failed_keys:
            ws.store.record_push(conn.name, key, score, rank)
    report.written, report.cleared, report.failed = result.written, result.cleared, result.failed
    report.messages = result.messages
    if result.notify_fallback:
        report.notes.append("Jira refused notifyUsers=false (it needs admin permission): "
                            "wrote with notifications on")
    report.seconds = time.monotonic() - started
    return report
