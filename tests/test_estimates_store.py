"""Estimators in the store, on SQLite and (where reachable) PostgreSQL: who estimated each
tracker line survives publishing and comes back with the backlog; stored estimates are
replaced per person, counted unless blind, and blind ones count once revealed."""
from __future__ import annotations

import numpy as np

from app.store import StagedInitiative, Store
from app.store import estimates as stored
from scoring import pool


def publish(store, items):
    run = store.start_run("backlog", True)
    store.stage_initiatives(run, items)
    store.stage_seen(run, [i.key for i in items])
    store.publish(run, "backlog", complete_listing=True, failed_kpis=set(), bookmark={"n": run})


def test_who_estimated_each_line_comes_back_with_the_backlog(db_url):
    s = Store(db_url)
    publish(s, [StagedInitiative("A", dict(title="a", estimator="Rita", estimator_id="acc-1"), [
        ("act", 0.1, 0.1, 0.8, "", "Rita"), ("act", 0.02, 0.02, 0.5, "", "bob"), ("nps", None, None, None)]),
        StagedInitiative("B", dict(title="b"), [("nps", 0.05, 0.05, None)])])
    b = s.load_backlog()
    assert [b.by_of(j) for j in range(len(b.link_item))] == ["Rita", "bob", None, None]
    assert s.initiative("A")["estimator_id"] == "acc-1"
    # nobody named on B: a backlog without anyone named has link_by None (nothing pooled)
    publish(s, [StagedInitiative("B", dict(title="b"), [("nps", 0.05, 0.05, None)])])


def test_stored_estimates_replace_per_person_and_blind_ones_count_once_revealed(db_url):
    s = Store(db_url)
    common = dict(kpi="act", confidence=0.5, unit="", line="act +5%", source="web")
    stored.put(s, key="A", low=0.05, high=0.05, by="Alice", blind=True, **common)
    seen = s.cache_version()
    again = stored.put(s, key="A", low=0.07, high=0.07, by="alice ", blind=True, **common)
    assert s.cache_version() != seen             # a replaced estimate is a new version of the data
    cli = stored.put(s, key="A", low=0.01, high=0.03, by="bob", blind=False, **{**common, "source": "cli"})
    assert [e.id for e in stored.listed(s, "A")] == [again.id, cli.id]
    assert [e.by for e in stored.counted(s)] == ["bob"]
    before = s.cache_version()
    stored.reveal(s, "A", "pat")
    assert s.cache_version() != before
    assert [(e.by, e.low) for e in stored.counted(s)] == [("alice", 0.07), ("bob", 0.01)]
    assert stored.remove(s, cli.id) and not stored.remove(s, cli.id)


def test_merging_stored_estimates_into_a_backlog(db_url):
    s = Store(db_url)
    publish(s, [StagedInitiative("A", dict(title="a"), [("act", 0.1, 0.1, 0.8, "", "alice"), ("nps", None, None, None)]),
                StagedInitiative("B", dict(title="b"), [("act", 0.2, 0.2, None)])])
    b = pool.with_raters(s.load_backlog(), [("A", "act", 0.04, 0.04, 1.0, "", "ALICE"),
                                           ("A", "nps", 0.02, 0.02, None, "", "bob"),
                                           ("Z", "act", 0.5, 0.5, None, "", "carol")])   # Z: not in the store
    rows = [(b.keys[b.link_item[j]], b.kpi_of(j), b.link_low[j], b.by_of(j)) for j in range(len(b.link_item))]
    # alice's stored estimate replaces her tracker line; bob's replaces the unestimated nps link
    assert rows == [("B", "act", 0.2, None), ("A", "act", 0.04, "alice"), ("A", "nps", 0.02, "bob")]
    assert np.isnan(b.link_confidence[2])
