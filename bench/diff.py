"""Snapshot and diff benchmark: prints figures measured in this one run.

- attribution: a diff of two N-item snapshots (default 10,000) where every group of
  inputs changed (all 7: 128 subsets, which take 64 impact scorings and 2 effort
  resolutions of the whole backlog), against the goal of 1 s, in wall and CPU time (the
  machine's load is printed: other processes inflate the wall time); also one plain
  re-scoring, for the ratio;
- storage: a backlog of M items (default 50,000) synced daily with 1 % of the items
  changing each day, encoded as the store would (content-addressed items, a full
  manifest every 30 snapshots, deltas between); bytes per snapshot, per 30-day cycle
  and per year (365/30 cycles: the growth is the same every cycle).

Run: python3 bench/diff.py [--items N] [--backlog M] [--days D]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scoring.changes.attribution import attribute  # noqa: E402
from scoring.model import Edge, Initiative, Kpi, Link, Objective  # noqa: E402
from scoring.goals.progress import Current  # noqa: E402
from scoring.ranking import ScoringParams  # noqa: E402
from scoring.changes.snapshot import decode, encode, rescore, seal, snapshot_of, verify_stored  # noqa: E402

AS_OF = date(2026, 7, 2)


def workspace(rng: random.Random, n_items: int, n_kpis: int = 200):
    """KPIs in 4 levels feeding 5 objectives, items with 1-3 links (real-shaped keys,
    titles and URLs), a few efforts left out (defaulted)."""
    objectives = [Objective(id=f"obj{o}", weight=rng.randint(1, 5)) for o in range(5)]
    kpis, edges = [], []
    level = {}
    for k in range(n_kpis):
        level[k] = k * 4 // n_kpis
        kpis.append(Kpi(id=f"kpi{k}", direction=rng.choice(["up", "down"]), baseline=100.0,
                        target=rng.choice([120.0, 80.0]), start=date(2026, 1, 1), deadline=date(2026, 12, 31)))
    for k in range(n_kpis):
        if level[k] == 3:
            edges.append(Edge(**{"from": f"kpi{k}", "to": f"obj{rng.randrange(5)}", "weight": rng.uniform(0.2, 1)}))
        else:
            ups = [j for j in range(n_kpis) if level[j] == level[k] + 1]
            for j in rng.sample(ups, 2):
                edges.append(Edge(**{"from": f"kpi{k}", "to": f"kpi{j}", "weight": rng.uniform(-0.2, 0.8)}))
    currents = {k.id: Current(rng.uniform(85, 125), AS_OF) for k in kpis}
    items = [item(rng, i, n_kpis) for i in range(n_items)]
    return objectives, kpis, edges, currents, items


def item(rng: random.Random, i: int, n_kpis: int) -> Initiative:
    links = tuple(Link(kpi=f"kpi{rng.randrange(n_kpis)}", low=(v := round(rng.uniform(-0.05, 0.15), 3)),
                       high=v, confidence=rng.choice([None, 0.5, 0.8])) for _ in range(rng.randint(1, 3)))
    return Initiative(key=f"ROAD-{i + 1}", title=f"Initiative {i + 1}: improve the onboarding flow",
                      status="To Do", effort=None if rng.random() < 0.05 else rng.choice([1, 2, 3, 5, 8, 13]),
                      links=links, url=f"https://acme.atlassian.net/browse/ROAD-{i + 1}")


def changed_everything(rng: random.Random, objectives, kpis, edges, currents, items):
    """B: every group changed (10 % of items' estimates and efforts, a fifth of the KPI
    values, one weight, two edges, three targets, the urgency), 1 % items added/removed."""
    currents = {k: (Current(c.value * rng.uniform(0.9, 1.1), c.date) if rng.random() < 0.2 else c)
                for k, c in currents.items()}
    new = []
    for it in items:
        r = rng.random()
        if r < 0.1:
            it = it.model_copy(update={"links": tuple(ln.model_copy(update={"low": ln.low + 0.01, "high": ln.high + 0.01})
                                                      for ln in it.links)})
        elif r < 0.2:
            it = it.model_copy(update={"effort": rng.choice([1, 2, 3, 5, 8, 13])})
        elif r < 0.21:
            continue
        new.append(it)
    new += [item(rng, len(items) + j, len(kpis)) for j in range(len(items) // 100)]
    objectives = [objectives[0].model_copy(update={"weight": objectives[0].weight + 2}), *objectives[1:]]
    edges = [edges[0].model_copy(update={"weight": edges[0].weight + 0.3}), *edges[1:-1]]
    kpis = [k.model_copy(update={"target": k.target * 1.05}) if n < 3 else k for n, k in enumerate(kpis)]
    return objectives, kpis, edges, currents, new


def bench_diff(n: int) -> None:
    rng = random.Random(1)
    objectives, kpis, edges, currents, items = workspace(rng, n)
    a = seal(snapshot_of(items, objectives, kpis, edges, currents, ScoringParams(as_of=AS_OF), name="A"))
    o2, k2, e2, c2, i2 = changed_everything(rng, objectives, kpis, edges, currents, items)
    b = seal(snapshot_of(i2, o2, k2, e2, c2, ScoringParams(as_of=AS_OF + timedelta(days=7), urgency=1.5),
                         name="B"), a.hash)
    t = time.perf_counter()
    rescore(b)
    one = time.perf_counter() - t
    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        d = attribute(a, b)
        best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.process_time() - c)
    t = time.perf_counter()
    body = d.as_dict()
    as_dict = time.perf_counter() - t
    worst = max(abs(sum(c["change"].values()) - (c["score_to"] - c["score_from"]))
                for c in body["items"] if c["status"] in ("moved", "unchanged"))
    moved = sum(c["status"] == "moved" for c in body["items"])
    print(f"diff of two {n:,}-item snapshots, groups changed: {len(d.groups)} ({', '.join(d.groups)})")
    print(f"  whole-backlog scorings: {d.scorings}; one re-scoring {one * 1000:.1f} ms")
    print(f"  attribute(): {best:.3f} s wall, {best_cpu:.3f} s CPU (best of 3), goal < 1 s: "
          f"{'met' if best < 1 else 'NOT met'}; {best / one:.1f}x one re-scoring; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  as_dict(): {as_dict * 1000:.1f} ms; items moved {moved:,}, "
          f"added {sum(c['status'] == 'added' for c in body['items']):,}, "
          f"removed {sum(c['status'] == 'removed' for c in body['items']):,}")
    print(f"  largest |sum of parts - change|: {worst:.2e} (must be < 1e-9)")
    top = max(body["items"], key=lambda c: abs((c["rank_to"] or 0) - (c["rank_from"] or 0))
              if c["status"] == "moved" else -1)
    print(f"  e.g. {top['key']} {top['reason']}")


def bench_storage(m: int, days: int, full_every: int = 30) -> None:
    rng = random.Random(2)
    objectives, kpis, edges, currents, items = workspace(rng, m)
    params = ScoringParams(as_of=AS_OF)
    manifests: dict[str, bytes] = {}
    store: dict[str, bytes] = {}
    previous, prev_hash = None, ""
    sizes, item_growth, t_encode, order = [], [], 0.0, []
    for day in range(days):
        if day:
            for j in rng.sample(range(len(items)), len(items) // 100):
                it = items[j]
                items[j] = it.model_copy(update={"effort": rng.choice([1, 2, 3, 5, 8, 13]),
                                                 "status": rng.choice(["To Do", "In Progress"])})
        s = seal(snapshot_of(items, objectives, kpis, edges, currents, params, name=f"sync {day + 1}"), prev_hash)
        t = time.perf_counter()
        manifest, new_items = encode(s, previous, manifests.__getitem__, full_every=full_every)
        t_encode += time.perf_counter() - t
        added = {h: v for h, v in new_items.items() if h not in store}
        store.update(added)
        manifests[s.hash] = manifest
        order.append(manifest)
        sizes.append(len(manifest))
        item_growth.append(sum(map(len, added.values())))
        previous, prev_hash = manifest, s.hash
    t = time.perf_counter()
    back = decode(previous, lambda hs: {h: store[h] for h in hs}, manifests.__getitem__)
    t_decode = time.perf_counter() - t
    assert back.hash == s.hash and back.initiatives == s.initiatives
    t = time.perf_counter()
    problems = verify_stored(order, lambda hs: {h: store[h] for h in hs}, manifests.__getitem__)
    t_verify = time.perf_counter() - t
    assert problems == []
    first = sizes[0] + item_growth[0]
    later = [a + b for a, b in zip(sizes[1:], item_growth[1:])]
    cycle = sum(sizes[:full_every]) + full_every * sum(item_growth[1:]) / (days - 1)
    mb = 1024 * 1024
    print(f"storage: {m:,} items, 1 % changed per day, {days} daily snapshots, full manifest every {full_every}")
    print(f"  first snapshot (all items + full manifest): {first / mb:.2f} MiB "
          f"(items {item_growth[0] / m:.0f} B each compressed; full manifest {sizes[0] / mb:.2f} MiB)")
    deltas = [x for n, x in enumerate(sizes) if n % full_every]
    print(f"  a daily snapshot after that: {sum(later) / len(later) / 1024:.0f} KiB on average, full manifests "
          f"included (a delta manifest {sum(deltas) / len(deltas) / 1024:.0f} KiB, "
          f"changed items {sum(item_growth[1:]) / (days - 1) / 1024:.0f} KiB)")
    if days >= full_every:
        print(f"  one {full_every}-day cycle: {cycle / mb:.1f} MiB -> per year "
              f"{first / mb + cycle * 365 / full_every / mb:.0f} MiB (first snapshot + 365/{full_every} cycles)")
    print(f"  encode {t_encode / days:.2f} s per snapshot; decode of the last {t_decode:.2f} s; "
          f"verify_stored of all {days} ({len(store):,} item versions) {t_verify:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--backlog", type=int, default=50_000)
    ap.add_argument("--days", type=int, default=31)
    args = ap.parse_args()
    bench_diff(args.items)
    bench_storage(args.backlog, args.days)


if __name__ == "__main__":
    main()
