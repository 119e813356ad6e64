"""The store, on SQLite and (where reachable) PostgreSQL: migrations, staged runs that
publish atomically, observations as history, bookmarks."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import create_engine, text

from app.store import migrations, schema
from app.store import StagedInitiative, Store, StoreError


def item(key, title="t", kpi="activation", lift=0.1, **row):
    return StagedInitiative(key, dict(title=title, **row), [(kpi, lift, lift, None)])


def publish_items(store, items, *, complete=True, connector="backlog"):
    run = store.start_run(connector, True)
    store.stage_initiatives(run, items)
    store.stage_seen(run, [i.key for i in items])
    return store.publish(run, connector, complete_listing=complete, failed_kpis=set(), bookmark={"n": run})


def test_schema_version_is_recorded_and_migrations_are_idempotent(db_url):
    s = Store(db_url)
    assert s.schema_version() == migrations.SCHEMA_VERSION
    Store(db_url)  # opening again migrates nothing and keeps the version
    assert s.schema_version() == migrations.SCHEMA_VERSION


def test_a_newer_schema_is_refused_with_advice(db_url):
    Store(db_url)
    eng = create_engine(db_url)
    with eng.begin() as c:
        c.execute(text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    eng.dispose()
    with pytest.raises(StoreError, match="schema version 99.*upgrade kpi-roadmap"):
        Store(db_url)


def test_publish_makes_a_run_visible_and_removes_what_left_the_listing(db_url):
    s = Store(db_url)
    publish_items(s, [item("A", effort=2.0), item("B")])
    b = s.load_backlog()
    assert b.keys == ["A", "B"] and b.effort[0] == 2.0 and b.link_kpi == ["activation", "activation"]
    removed = publish_items(s, [item("B", title="B v2")])
    assert removed == 1
    b = s.load_backlog()
    assert b.keys == ["B"] and s.texts(b.keys)["B"][0] == "B v2"
    assert s.raw_records("backlog")["A"][1] is False  # history kept, out of the ranking


def test_a_failed_run_leaves_the_ranking_exactly_as_it_was(db_url):
    s = Store(db_url)
    publish_items(s, [item("A"), item("B")])
    before = s.load_backlog()
    run = s.start_run("backlog", True)
    s.stage_initiatives(run, [item("A", title="half-synced"), item("Z")])
    s.stage_observations(run, "activation", {date(2026, 7, 1): 0.99})
    s.save_pending_bookmark("backlog", run, {"page": 3})
    s.fail_run(run, "source went away")
    after = s.load_backlog()
    assert after.keys == before.keys and s.texts(["A"])["A"][0] != "half-synced"
    assert s.currents(date(2026, 7, 2)) == {}
    assert s.runs(1)[0]["status"] == "failed"
    assert s.bookmark("backlog")[0] == {"n": 1}


def test_observations_keep_one_value_per_kpi_per_day_and_resync_updates(db_url):
    s = Store(db_url)
    run = s.start_run("obs", True)
    s.stage_observations(run, "nps", {date(2026, 7, 1): 50.0, date(2026, 7, 2): 51.0})
    s.stage_observations(run, "mrr", {date(2026, 7, 1): 100.0})
    s.publish(run, "obs", complete_listing=False, failed_kpis=set())
    run = s.start_run("obs", False)
    s.stage_observations(run, "nps", {date(2026, 7, 2): 55.0, date(2026, 7, 3): 56.0})
    s.stage_observations(run, "mrr", {date(2026, 7, 1): 999.0})
    s.publish(run, "obs", complete_listing=False, failed_kpis={"mrr"})   # mrr failed this time
    assert s.history("nps") == [(date(2026, 7, 1), 50.0), (date(2026, 7, 2), 55.0), (date(2026, 7, 3), 56.0)]
    assert s.history("mrr") == [(date(2026, 7, 1), 100.0)]
    cur = s.currents(date(2026, 7, 2))
    assert (cur["nps"].value, cur["nps"].date) == (55.0, date(2026, 7, 2))
    assert s.count("observations") == 4


def test_done_items_are_loaded_only_when_asked(db_url):
    s = Store(db_url)
    publish_items(s, [item("A"), item("B", status_category="done")])
    assert s.load_backlog().keys == ["A"]
    assert s.load_backlog(include_done=True).keys == ["A", "B"]


def test_a_record_staged_twice_in_one_run_keeps_the_later(db_url):
    s = Store(db_url)
    run = s.start_run("backlog", True)
    s.stage_initiatives(run, [item("A", title="first")])
    s.stage_initiatives(run, [item("A", title="second", kpi="nps")])
    s.publish(run, "backlog", complete_listing=False, failed_kpis=set())
    b = s.load_backlog()
    assert s.texts(b.keys)["A"][0] == "second" and b.link_kpi == ["nps"]


def test_data_version_moves_only_when_a_run_publishes(db_url):
    s = Store(db_url)
    assert s.data_version() == 0
    publish_items(s, [item("A")])
    v = s.data_version()
    s.fail_run(s.start_run("backlog", True), "boom")
    assert s.data_version() == v and v > 0
