"""What moved since a snapshot, and why: saving snapshots of the current data,
listing them with whether their chain verifies, and the diff between two of them (or one
and now) as docs/cli.md's `diff` json and as the lines the CLI and the page show.

Shared by the CLI (`roadmap snapshot`, `roadmap diff`), the web (`/changes`, the API) and
the sync (one snapshot per published sync). Nothing here prints or knows HTTP.
"""
from __future__ import annotations

import logging
import re
import threading
from datetime import datetime, timezone

from app.services import Workspace, chain, currents
from app.store import snapshots as store_snapshots
from app.store.snapshots import DuplicateName
from scoring.changes import snapshot as sn
from scoring.changes.attribution import Diff, attribute
from scoring.model import Kpi
from scoring.errors import BadInput, Conflict

log = logging.getLogger("roadmap.changes")
CUT = 10            # the plan's cut line: the top N of the ranking
SHOWN = 10          # movers shown per direction
NOW = "now"

__all__ = ["DuplicateName", "UnknownSnapshot", "TamperedSnapshot", "current", "save", "auto_save", "listing",
           "diff", "diff_json", "summary", "edit_lines", "rank_move", "moved", "default_from", "CUT", "NOW"]


class UnknownSnapshot(BadInput):
    """No snapshot has this name or hash prefix; `known` lists the names there are."""
    code = "unknown-snapshot"

    def __init__(self, ref: str, known: list[str]):
        self.ref, self.known = ref, known
        names = ", ".join(known[-20:]) or "none saved yet"
        super().__init__(f"no snapshot named '{ref}' (nor a hash starting so); known: {names}")


class TamperedSnapshot(Conflict):
    """A snapshot's stored bytes no longer give its hash: the diff would not be trustworthy."""
    code = "snapshot-tampered"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def current(ws: Workspace, *, name: str = "", meta: dict | None = None) -> sn.Snapshot:
    """The current data as a snapshot (unsealed): every active initiative, the config's
    objectives, KPIs and edges, each KPI's current value, the scoring parameters and as_of."""
    s = ws.settings
    params = ws.params()
    kpis = [Kpi.model_validate(k.model_dump(include=set(Kpi.model_fields))) for k in s.kpis]
    if s.calibration.apply:       # the factors in force are frozen with the data they rank
        from app.services.calibrated import model
        from scoring.outcomes.apply import frozen
        cal = model(ws)
        meta = {**(meta or {}), "calibration": frozen({e.estimator: e.factor for e in cal.estimators},
                                                      cal.team.factor)}
    return sn.snapshot_of(store_snapshots.initiatives(ws.store), s.objectives, kpis, s.edges,
                          currents(ws, params.as_of), params, name=name, meta=meta)


def save(ws: Workspace, name: str, *, run_id: int | None = None) -> dict:
    """Freeze the current data under `name` (DuplicateName when taken). Returns the row."""
    name = name.strip()
    if not name or len(name) > 255 or re.search(r"\s", name):
        raise BadInput("a snapshot name is 1 to 255 characters without spaces")
    if run_id is None and re.fullmatch(r"sync-\d+", name):
        raise BadInput(f"'{name}' is kept for the snapshot a sync saves; choose another name")
    version, at = ws.store.data_version(), _now()
    snap = current(ws, name=name, meta={"run": run_id if run_id is not None else version, "saved_at": at.isoformat()})
    row = store_snapshots.save(ws.store, snap, run_id=run_id if run_id is not None else version, created_at=at)
    chain.saved(row)
    if run_id is not None:      # a sync's: the roadmap's Moved column compares with it after the next sync;
        _ranked_keys(ws, row["hash"], snap)     # its ranks kept while its items are in memory (never fails the save)
    return _public(row)


def _ranked(snap: sn.Snapshot) -> list[str]:
    base = sn.rescore(snap)
    return [base.backlog.keys[i] for i in base.ranked.tolist()]


def auto_save(ws: Workspace) -> dict | None:
    """The snapshot of a published sync, named by its run (`sync-42`); None when that run
    has one already. Never raises: a failure is logged and returned as {"error": ...}."""
    try:
        run = ws.store.data_version()
        if not run:
            return None
        name = f"sync-{run}"
        if any(r["name"] == name for r in store_snapshots.rows(ws.store)):
            return None
        broken = chain.before_saving(ws.store)
        if broken:
            return {"error": broken}
        return save(ws, name, run_id=run)
    except DuplicateName:
        return None
    except Exception as exc:  # noqa: BLE001 - a snapshot must never fail the sync
        log.warning("snapshot after sync failed: %s: %s", type(exc).__name__, exc)
        return {"error": f"{type(exc).__name__}: {exc}"}


def _public(row: dict) -> dict:
    created = row["created_at"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return {"name": row["name"], "hash": row["hash"], "prev_hash": row["prev_hash"] or None,
            "created_at": created.isoformat(timespec="seconds"), "run_id": row["run_id"],
            "items": row["item_count"], "full": bool(row["is_full"])}


_listings: dict = {}
_listings_lock = threading.Lock()


def listing(ws: Workspace, *, reuse: bool = False) -> dict:
    """Every snapshot, oldest first, each with `verified` (its bytes still give its hash
    and it is chained to the one before), and the problems found, in words. With `reuse`
    (the web), a check is reused while the rows and the stored byte counts are the same;
    a diff always checks the two snapshots it compares."""
    store = ws.store
    known = store_snapshots.rows(store)
    if reuse:
        key = (store.url, tuple(tuple(r.values()) for r in known), tuple(store_snapshots.sizes(store).items()),
               chain.get_meta(store, chain.HEAD_KEY))
        with _listings_lock:
            hit = _listings.get(store.url)
        if hit is not None and hit[0] == key:
            return hit[1]
        out = listing(ws)
        with _listings_lock:
            _listings[store.url] = (key, out)
        return out
    blobs = store_snapshots.manifests(store)
    bad: set[int] = set()
    problems: list[str] = []
    try:
        problems = sn.verify_stored([blobs[r["hash"]] for r in known], lambda hs: store_snapshots.items(store, hs),
                                    chain.sealed_lookup(blobs))
    except Exception as exc:  # noqa: BLE001 - unreadable bytes are a finding, not a crash
        problems = [f"the stored snapshots cannot be read ({type(exc).__name__}: {exc})"]
        bad = set(range(len(known)))
    for p in problems:
        m = re.match(r"snapshot (\d+) ", p)
        if m:
            bad.add(int(m.group(1)) - 1)
        m = re.match(r"item ([0-9a-f]{12})", p)
        if m:
            for n, r in enumerate(known):
                try:
                    index = sn.manifest_index(blobs[r["hash"]], blobs.__getitem__)
                except Exception:  # noqa: BLE001
                    bad.add(n)
                    continue
                if any(h.startswith(m.group(1)) for h in index.values()):
                    bad.add(n)
    for f in chain.check(store, known, blobs).findings:      # the rows against their sealed headers
        bad.add(f.index)
        problems.append(str(f))
    out = [dict(_public(r), verified=n not in bad) for n, r in enumerate(known)]
    return {"snapshots": out, "verified": not problems, "problems": problems}


def default_from(ws: Workspace, known: list[dict] | None = None) -> dict | None:
    """The snapshot before the last sync: the newest saved before the data last changed,
    else the oldest there is (None when there is none)."""
    known = store_snapshots.rows(ws.store) if known is None else known
    if not known:
        return None
    version = ws.store.data_version()
    before = [r for r in known if r["run_id"] is not None and r["run_id"] < version]
    return before[-1] if before else known[0]


def _load(ws: Workspace, ref: str, known: list[dict]) -> sn.Snapshot:
    row = store_snapshots.resolve(ws.store, ref, known)
    if row is None:
        raise UnknownSnapshot(ref, [r["name"] or r["hash"][:12] for r in known])
    label = row["name"] or row["hash"][:12]
    try:
        snap = store_snapshots.load(ws.store, row["hash"])
    except Exception as exc:  # noqa: BLE001 - bytes edited past reading
        raise TamperedSnapshot(f"snapshot {label} cannot be read ({type(exc).__name__}); "
                               "its stored bytes were edited or lost") from None
    pos = [r["hash"] for r in known].index(row["hash"])
    problems = sn.verify([snap])
    if snap.hash != row["hash"]:
        problems.append("its stored hash differs from the row's")
    problems += [f.problem for f in chain.check(ws.store, known).findings if f.index == pos]
    nxt = known[pos + 1] if pos + 1 < len(known) else None
    if nxt is not None and nxt["prev_hash"] != row["hash"]:
        problems.append("the snapshot after it does not chain to it")
    if problems:
        raise TamperedSnapshot(f"snapshot {label} was tampered with: " + "; ".join(p.split(": ", 1)[-1] for p in problems)
                               + ". Refusing to compare it; `roadmap snapshot list` shows which verify.")
    if not snap.name:
        snap.name = label
    return snap


def diff(ws: Workspace, from_ref: str | None, to_ref: str | None = None) -> Diff:
    """The diff from snapshot `from_ref` (None: the one before the last sync) to `to_ref`
    (None or "now": the current data, unsaved). UnknownSnapshot, TamperedSnapshot."""
    known = store_snapshots.rows(ws.store)
    if from_ref is None:
        row = default_from(ws, known)
        if row is None:
            raise UnknownSnapshot("(default)", [])
        from_ref = row["name"] or row["hash"]
    a = _load(ws, from_ref, known)
    b = current(ws, name=NOW) if to_ref in (None, "", NOW) else _load(ws, to_ref, known)
    return attribute(a, b)


def diff_json(d: Diff) -> dict:
    """docs/cli.md's `diff --format json`: each item's parts sum to score_to - score_from."""
    keys = ("key", "rank_from", "rank_to", "score_from", "score_to", "change", "status", "edited")
    return {"from": d.from_name, "to": d.to_name, "edits": [e.as_dict() for e in d.edits],
            "items": [{k: getattr(c, k) if k != "change" else dict(c.change) for k in keys} for c in d.items]}


def edit_lines(d: Diff) -> list[dict]:
    """The edits people made, grouped by what they edited (an item, KPI, objective or
    edge), each with its rank move when it is a ranked item, in the order edited items
    rank now (then the rest): what the CLI text and the page lead with."""
    groups: dict[str, dict] = {}
    for e in d.edits:
        g = groups.get(e.key)
        if g is None:
            c = d.item(e.key)
            g = groups[e.key] = {"key": e.key, "rank_from": c.rank_from if c else None,
                                 "rank_to": c.rank_to if c else None, "status": c.status if c else None,
                                 "group": e.group, "edits": []}
        g["edits"].append({**e.as_dict(), "text": _edit_text(e)})
    for g in groups.values():
        g["people"] = sorted({e["by"] for e in g["edits"] if e["by"]})
    big = 10 ** 9
    return sorted(groups.values(), key=lambda g: (g["rank_to"] is None, g["rank_to"] or big,
                                                  g["rank_from"] or big, g["key"]))


def _by_person(d: Diff) -> list[tuple[str, int]]:
    """(person, edits) for the edits that name who made them, most first."""
    counts: dict[str, int] = {}
    for e in d.edits:
        if e.by:
            counts[e.by] = counts.get(e.by, 0) + 1
    return sorted(counts.items(), key=lambda x: (-x[1], x[0].lower()))


def _edit_text(e) -> str:
    def v(x):
        if x is None:
            return "none"
        return f"{x:g}" if isinstance(x, float) else str(x)
    what = e.field.removeprefix("link:") + " estimate" if e.field.startswith("link:") else e.field
    return f"{what} {v(e.from_)} -> {v(e.to)}" + (f" (by {e.by})" if e.by else "")


def rank_move(g: dict) -> str:
    """`#8 -> #4`, `stays #3`, `new at #5`, `was #7` or '' (not a ranked item)."""
    rf, rt = g.get("rank_from"), g.get("rank_to")
    if rf is not None and rt is not None:
        return f"#{rf} -> #{rt}" if rf != rt else f"stays #{rt}"
    if rt is not None:
        return f"now #{rt}"
    if rf is not None:
        return f"was #{rf}"
    return ""


def summary(d: Diff, *, cut: int = CUT, shown: int = SHOWN) -> dict:
    """What the CLI text and the page show: movers up and down with their reasons, added,
    removed, entered and left the cut line (the top `cut`)."""
    def line(c) -> dict:
        return {"key": c.key, "rank_from": c.rank_from, "rank_to": c.rank_to, "status": c.status,
                "score_from": c.score_from, "score_to": c.score_to, "reason": c.reason}
    up, down = d.movers(shown)
    entered, left = d.crossed(cut)
    return {"from": d.from_name, "to": d.to_name, "groups": list(d.groups), "cut": cut,
            "up": [line(c) for c in up], "down": [line(c) for c in down],
            "added": [line(c) for c in d.items if c.status == "added"],
            "removed": [line(c) for c in d.items if c.status == "removed"],
            "entered": [line(c) for c in entered], "left": [line(c) for c in left],
            "moved": sum(c.status == "moved" for c in d.items),
            "edits": [dict(g, move=rank_move(g)) for g in edit_lines(d)],
            "people": _by_person(d),
            "edited": sum(c.edited for c in d.items),
            "drift_only": sum(c.status == "moved" and not c.edited for c in d.items)}


# -- the roadmap's "Moved" column ---------------------------------------------------------

_moved_cache: dict[str, tuple[str, dict[str, int]]] = {}
_moved_lock = threading.Lock()


def _ranked_keys(ws: Workspace, h: str, snap: sn.Snapshot | None = None) -> list[str] | None:
    """The keys snapshot `h` ranks, in rank order: as a sync stored them with its snapshot,
    else re-scored (from `snap` when the caller holds it: reading it back takes several
    times longer and far more memory) and stored, since re-scoring a large snapshot takes
    seconds; None when the snapshot cannot be read."""
    from app.ranking_inputs import FORMAT
    try:
        keys = store_snapshots.ranks(ws.store, h, FORMAT)
        if keys is not None:
            return keys
        keys = _ranked(snap if snap is not None else store_snapshots.load(ws.store, h))
    except Exception as exc:  # noqa: BLE001 - no Moved column (and a snapshot saved all the same)
        log.warning("the ranks of snapshot %s cannot be read: %s: %s", h[:12], type(exc).__name__, exc)
        return None
    try:
        store_snapshots.save_ranks(ws.store, h, FORMAT, keys)
    except Exception as exc:  # noqa: BLE001 - not kept: the next process scores it again
        log.warning("the Moved column's ranks cannot be stored: %s", exc)
    return keys


def moved(ws: Workspace, ranking) -> dict:
    """{key: rank_before | None} for the items `ranking` ranks, against the snapshot before
    the last sync (`default_from`): None for an item that snapshot did not rank. {} when
    there is no snapshot. The baseline's ranks are computed once per baseline and reused."""
    try:
        row = default_from(ws)
    except Exception:  # noqa: BLE001 - a missing table or an unreadable store: no column
        return {}
    if row is None:
        return {}
    with _moved_lock:
        hit = _moved_cache.get(ws.store.url)
    if hit is None or hit[0] != row["hash"]:
        ranked = _ranked_keys(ws, row["hash"])
        if ranked is None:
            return {}
        hit = (row["hash"], {k: n + 1 for n, k in enumerate(ranked)})
        with _moved_lock:
            _moved_cache[ws.store.url] = hit
    ranks = hit[1]
    keys = ranking.backlog.keys
    return {keys[i]: ranks.get(keys[i]) for i in ranking.ranked.tolist()}
