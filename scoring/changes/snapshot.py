"""Snapshots: everything a ranking depends on, frozen as plain data (docs/model.md "What
moved, and why"), so that any snapshot can be re-scored exactly and compared.

A snapshot holds the initiatives (every field, in key order), the KPI definitions and
their current values with dates, the objectives and weights, the edges, the scoring
parameters and `as_of`. Its canonical encoding is JSON with sorted keys and floats
written by `repr` (exact round trip); its `hash` is sha256(prev_hash + content), so a
chain of snapshots exposes any edited one (`verify`).

Storage is content-addressed: each item's canonical bytes are hashed and kept once
(zlib with a preset dictionary); a snapshot's manifest lists item hashes by key, either
in full or as a delta against the previous manifest (a full one every `full_every`
snapshots), so a daily sync grows the store by the changed items only.

>>> from datetime import date
>>> from scoring.ranking import ScoringParams
>>> s = seal(snapshot_of([Initiative(key="A", effort=2)], [], [], [], {}, ScoringParams(as_of=date(2026, 7, 2))))
>>> manifest, items = encode(s)
>>> decode(manifest, lambda hs: {h: items[h] for h in hs}) == s
True
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterable, Mapping, Sequence

from scoring.goals.graph import GoalGraph
from scoring.model import Backlog, Edge, Initiative, Kpi, Objective
from scoring.goals.progress import Current
from scoring.ranking import Ranking, ScoringParams, rank_backlog

FORMAT = 1
# A preset dictionary for zlib: the field names and values most item encodings share, so
# that a 200-byte item compresses well on its own.
_ZDICT = (b'{"blocked_by":[],"confidence":0.5,"effort":1.0,"factors":{"business_value":,"ease":,'
          b'"factor_impact":,"job_size":,"reach":,"risk_reduction":,"time_criticality":},'
          b'"flags":["unreadable-impact:"],"key":"","labels":["kpi:","must"],'
          b'"links":[{"confidence":0.5,"high":0.05,"kpi":"","low":0.05,"unit":"pp"}],'
          b'"mandatory":true,"parent":"","status":"In Progress","status_category":"indeterminate",'
          b'"team":"","title":"","url":"https://')

FetchItems = Callable[[Sequence[str]], Mapping[str, bytes]]
FetchManifest = Callable[[str], bytes]


@dataclass
class Snapshot:
    """The inputs of one ranking. `initiatives` are in key order (the ranking does not
    depend on the order); `meta` is free JSON the store adds (run id, saved at)."""
    params: ScoringParams
    objectives: list[Objective]
    kpis: list[Kpi]
    edges: list[Edge]
    currents: dict[str, Current]
    initiatives: list[Initiative]
    name: str = ""
    meta: dict = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""                 # "" until sealed
    _item_hashes: list[str] | None = field(default=None, repr=False, compare=False)

    @property
    def as_of(self) -> date:
        return self.params.as_of

    def item_hashes(self) -> list[str]:
        if self._item_hashes is None or len(self._item_hashes) != len(self.initiatives):
            self._item_hashes = [item_hash(item_bytes(it)) for it in self.initiatives]
        return self._item_hashes


def snapshot_of(initiatives: Iterable[Initiative], objectives: Iterable[Objective], kpis: Iterable[Kpi],
                edges: Iterable[Edge], currents: Mapping[str, Current], params: ScoringParams, *,
                name: str = "", meta: dict | None = None) -> Snapshot:
    """A snapshot of these inputs (not yet sealed). Keys must be unique."""
    items = sorted(initiatives, key=lambda it: it.key)
    for a, b in zip(items, items[1:]):
        if a.key == b.key:
            raise ValueError(f"initiative key '{a.key}' appears twice; a snapshot needs unique keys")
    return Snapshot(params=params, objectives=list(objectives), kpis=list(kpis), edges=list(edges),
                    currents={k: currents[k] for k in sorted(currents)}, initiatives=items,
                    name=name, meta=dict(meta or {}))


def rescore(snapshot: Snapshot, *, include_done: bool = False) -> Ranking:
    """The ranking the snapshot's inputs give, through the same public call as `score`."""
    graph = GoalGraph.build(snapshot.objectives, snapshot.kpis, snapshot.edges)
    return rank_backlog(backlog_of(snapshot, snapshot.initiatives), graph, snapshot.params,
                        snapshot.currents, include_done=include_done)


def backlog_of(snapshot: Snapshot, initiatives) -> Backlog:
    """`initiatives` as a backlog, each estimate scaled by the calibration factors the
    snapshot froze, when it was ranked calibrated (docs/model.md, "Calibration")."""
    backlog = Backlog.from_initiatives(list(initiatives))
    if snapshot.meta.get("calibration"):
        from scoring.outcomes.apply import calibrate_backlog, from_frozen
        backlog = calibrate_backlog(backlog, from_frozen(snapshot.meta["calibration"]))[0]
    return backlog


# -- canonical encoding ---------------------------------------------------------------

def canonical(obj) -> bytes:
    """Sorted keys, no spaces, floats by repr (exact), UTF-8; NaN and infinities refused."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def item_bytes(item: Initiative) -> bytes:
    d = item.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if "factors" in d:   # NaN means "not given" for a factor: leave it out
        d["factors"] = {k: v for k, v in d["factors"].items() if isinstance(v, (int, float)) and v == v
                        and abs(v) != float("inf")}
    return canonical(d)


def item_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plain(value):
    """A dataclass value as JSON data (dates as ISO text)."""
    if isinstance(value, date):
        return value.isoformat()
    return value


def _dataclass_dict(obj) -> dict:
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def _dataclass_from(cls, data: dict):
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        v = data[f.name]
        if isinstance(v, str) and "date" in str(hints.get(f.name)) and "str" not in str(hints.get(f.name)):
            v = date.fromisoformat(v)
        kwargs[f.name] = v
    return cls(**kwargs)


def _models(models: Iterable) -> list[dict]:
    return [m.model_dump(mode="json", by_alias=True, exclude_defaults=True) for m in models]


def _rest(s: Snapshot) -> dict:
    """Everything but the items, as JSON data."""
    return {"format": FORMAT, "name": s.name, "meta": s.meta, "params": _dataclass_dict(s.params),
            "objectives": _models(s.objectives), "kpis": _models(s.kpis), "edges": _models(s.edges),
            "currents": {k: _dataclass_dict(c) for k, c in s.currents.items()}}


def content(snapshot: Snapshot) -> bytes:
    """The canonical bytes the hash covers: the rest, and the item hashes in key order
    (each item hash covers that item's canonical bytes)."""
    return canonical({**_rest(snapshot), "items": snapshot.item_hashes()})


def chain_hash(prev_hash: str, content_bytes: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + content_bytes).hexdigest()


def seal(snapshot: Snapshot, prev_hash: str = "") -> Snapshot:
    """The snapshot chained to `prev_hash` (the previous snapshot's hash, "" for the first)."""
    out = dataclasses.replace(snapshot, prev_hash=prev_hash, hash="")
    out._item_hashes = snapshot._item_hashes
    out.hash = chain_hash(prev_hash, content(out))
    return out


def verify(chain: Sequence[Snapshot]) -> list[str]:
    """Problems found in a chain of snapshots, oldest first: a snapshot whose content no
    longer gives its hash (edited), or whose `prev_hash` is not the previous one's hash
    (removed, inserted or reordered). An empty list means the chain is intact. Editing the
    newest snapshot *and* its hash is only caught against a hash kept elsewhere."""
    problems = []
    for n, s in enumerate(chain):
        label = f"snapshot {n + 1} ({s.name or s.hash[:12]})"
        s._item_hashes = None          # recompute from the items as decoded, never trust
        if chain_hash(s.prev_hash, content(s)) != s.hash:
            problems.append(f"{label}: its content does not match its hash (edited)")
        if n and s.prev_hash != chain[n - 1].hash:
            problems.append(f"{label}: its previous hash is not snapshot {n}'s (chain broken)")
    return problems


# -- storage: content-addressed items, full or delta manifests --------------------------

def compress(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, _ZDICT)
    return c.compress(data) + c.flush()


def decompress(data: bytes) -> bytes:
    d = zlib.decompressobj(15, _ZDICT)
    return d.decompress(data) + d.flush()


def header(manifest: bytes) -> dict:
    """A manifest's own data without its items resolved: hash, prev_hash, name, meta,
    params, and `items` ({"base", "depth", "set", "drop"})."""
    return json.loads(zlib.decompress(manifest))


def manifest_index(manifest: bytes, fetch_manifest: FetchManifest | None = None) -> dict[str, str]:
    """Key -> item hash of a stored snapshot, following its delta chain to a full manifest."""
    chain = [header(manifest)]
    while chain[-1]["items"]["base"]:
        if fetch_manifest is None:
            raise ValueError("this manifest is a delta; decoding it needs fetch_manifest")
        chain.append(header(fetch_manifest(chain[-1]["items"]["base"])))
    index: dict[str, str] = {}
    for h in reversed(chain):
        for key in h["items"]["drop"]:
            index.pop(key, None)
        index.update(h["items"]["set"])
    return dict(sorted(index.items()))


def encode(snapshot: Snapshot, previous: bytes | None = None, fetch_manifest: FetchManifest | None = None,
           *, full_every: int = 30) -> tuple[bytes, dict[str, bytes]]:
    """(manifest bytes, {item hash: compressed item bytes}) for the store, both zlib
    compressed. With `previous` (the last stored manifest), the manifest lists only the
    items that changed, appeared or went since it, and only item versions `previous` does
    not hold are returned; every `full_every`-th manifest is written in full. The
    snapshot should be sealed first (`seal`) so its hash is stored with it."""
    if not snapshot.hash:
        raise ValueError("seal the snapshot (chain it to the previous one) before encoding it")
    hashes = snapshot.item_hashes()
    index = {it.key: h for it, h in zip(snapshot.initiatives, hashes)}
    base, depth, old = None, 0, {}
    if previous is not None:
        prev = header(previous)
        old = manifest_index(previous, fetch_manifest)
        if prev["items"]["depth"] + 1 < full_every:
            base, depth = prev["hash"], prev["items"]["depth"] + 1
    known = set(old.values())
    items = {h: compress(item_bytes(it)) for it, h in zip(snapshot.initiatives, hashes) if h not in known}
    if base is None:
        listing = {"base": None, "depth": 0, "set": index, "drop": []}
    else:
        listing = {"base": base, "depth": depth,
                   "set": {k: h for k, h in index.items() if old.get(k) != h},
                   "drop": sorted(k for k in old if k not in index)}
    manifest = {**_rest(snapshot), "hash": snapshot.hash, "prev_hash": snapshot.prev_hash, "items": listing}
    return zlib.compress(canonical(manifest), 9), items


def verify_stored(manifests: Sequence[bytes], fetch_items: FetchItems,
                  fetch_manifest: FetchManifest | None = None) -> list[str]:
    """`verify` on the stored bytes, oldest first, without decoding any item: each
    manifest's content against its hash and its previous hash, then each distinct stored
    item once against the hash it is stored under (a year of daily 50,000-item snapshots
    checks each item version once)."""
    problems: list[str] = []
    seen: set[str] = set()
    indexes: list[dict[str, str]] = []
    prev: dict | None = None
    for n, manifest in enumerate(manifests):
        h = header(manifest)
        label = f"snapshot {n + 1} ({h['name'] or h['hash'][:12]})"
        listing = h["items"]
        if prev is not None and listing["base"] == prev["hash"]:     # a delta on the one before
            drop = set(listing["drop"])
            index = {k: v for k, v in indexes[-1].items() if k not in drop}
            index.update(listing["set"])
            index = dict(sorted(index.items()))
        else:
            index = manifest_index(manifest, fetch_manifest)
        rest = {k: h[k] for k in ("format", "name", "meta", "params", "objectives", "kpis", "edges", "currents")}
        if chain_hash(h["prev_hash"], canonical({**rest, "items": list(index.values())})) != h["hash"]:
            problems.append(f"{label}: its content does not match its hash (edited)")
        if prev is not None and h["prev_hash"] != prev["hash"]:
            problems.append(f"{label}: its previous hash is not snapshot {n}'s (chain broken)")
        seen.update(index.values())
        indexes = [index]
        prev = h
    stored = fetch_items(sorted(seen))
    for ih in sorted(seen):
        data = stored.get(ih)
        if data is None:
            problems.append(f"item {ih[:12]}: missing from the store")
        elif item_hash(decompress(data)) != ih:
            key = json.loads(decompress(data)).get("key", "?")
            problems.append(f"item {ih[:12]} ({key}): its bytes do not match its hash (edited)")
    return problems


def decode(manifest: bytes, fetch_items: FetchItems, fetch_manifest: FetchManifest | None = None) -> Snapshot:
    """The snapshot a manifest describes. `fetch_items(hashes)` returns the stored
    (compressed) bytes of those items; `fetch_manifest(hash)` a stored manifest, needed
    for a delta. Items are read as stored: `verify` says whether they were edited."""
    h = header(manifest)
    index = manifest_index(manifest, fetch_manifest)
    wanted = sorted(set(index.values()))
    stored = fetch_items(wanted)
    missing = [x for x in wanted if x not in stored]
    if missing:
        raise ValueError(f"snapshot {h['hash'][:12]}: {len(missing)} item(s) missing from the store, "
                         f"first {missing[0][:12]}")
    initiatives = [Initiative.model_validate_json(decompress(stored[ih])) for ih in index.values()]
    return Snapshot(
        params=_dataclass_from(ScoringParams, h["params"]),
        objectives=[Objective.model_validate(o) for o in h["objectives"]],
        kpis=[Kpi.model_validate(k) for k in h["kpis"]],
        edges=[Edge.model_validate(e) for e in h["edges"]],
        currents={k: _dataclass_from(Current, c) for k, c in h["currents"].items()},
        initiatives=initiatives, name=h["name"], meta=h["meta"],
        prev_hash=h["prev_hash"], hash=h["hash"])
