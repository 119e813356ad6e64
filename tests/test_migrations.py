"""Upgrades from every released schema version, llm-style: each version's DDL is frozen in
app/store/migrations.py; after every step the exact columns are checked, data written at
an old version survives the upgrade, and the last step equals the schema the code reads."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

from app.store import Store, migrations, schema

_V1_INITIATIVE = ["title", "status", "status_category", "effort", "confidence", "impact", "url", "parent",
                  "labels", "blocked_by", "flags", "reach", "factor_impact", "ease", "business_value",
                  "time_criticality", "risk_reduction", "job_size", "raw", "external_id"]
V1 = {
    "meta": ["key", "value"],
    "initiatives": ["id", "key", "connector", *_V1_INITIATIVE, "active", "synced_at", "run_id"],
    "kpi_refs": ["code", "name"],
    "links": ["item_id", "position", "kpi_code", "low", "high", "confidence"],
    "observations": ["kpi", "day", "value", "connector", "run_id"],
    "sync_runs": ["id", "connector", "started_at", "ended_at", "status", "full", "counts", "message"],
    "bookmarks": ["connector", "value", "fingerprint", "pending", "pending_run", "updated_at"],
    "push_state": ["key", "connector", "score", "rank", "pushed_at"],
    "staged_initiatives": ["run_id", "key", *_V1_INITIATIVE],
    "staged_links": ["run_id", "key", "position", "kpi", "low", "high", "confidence"],
    "staged_observations": ["run_id", "kpi", "day", "value"],
    "staged_seen": ["run_id", "key"],
}


def _plus(prev: dict, **added: list[str]) -> dict:
    out = {t: list(c) for t, c in prev.items()}
    for table, cols in added.items():
        out.setdefault(table, []).extend(cols)
    return out


V2 = _plus(V1, initiatives=["team", "mandatory"], staged_initiatives=["team", "mandatory"])
V3 = _plus(V2, links=["unit"], staged_links=["unit"])
V4 = _plus(V3, jobs=["id", "kind", "status", "scope", "hint", "requested_at", "started_at", "ended_at",
                     "lease_until", "worker", "attempts", "result", "message"],
           schedule=["name", "slot", "job_id", "created_at"],
           webhook_deliveries=["id", "job_id", "received_at"],
           workers=["id", "started_at", "seen_at"])
V5 = _plus(V4, snapshots=["hash", "prev_hash", "name", "created_at", "run_id", "item_count", "manifest", "is_full"],
           snapshot_items=["hash", "blob"])
V6 = _plus(V5, initiatives=["estimator", "estimator_id"], staged_initiatives=["estimator", "estimator_id"],
           links=["estimator"], staged_links=["estimator"],
           estimates=["id", "key", "kpi", "low", "high", "confidence", "unit", "by_name", "by_key", "line",
                      "source", "blind", "created_at"],
           estimate_rounds=["key", "revealed_at", "revealed_by"])
EXPECTED = {1: V1, 2: V2, 3: V3, 4: V4, 5: V5, 6: V6}   # one entry per released version; a new migration adds one
# Each later migration by what it adds (tables' columns), applied in MIGRATIONS' order.
ADDED = {
    migrations.m007_outcomes: dict(     # launch and done dates; one row per launched estimate
        initiatives=["launched_on", "done_on"], staged_initiatives=["launched_on", "done_on"],
        outcomes=["key", "kpi", "estimator", "launched_on", "snapshot", "low", "high", "confidence",
                  "expected", "verdict", "reason", "realised", "realised_low", "realised_high", "se",
                  "observed", "expected_level", "placebos", "group_keys", "group_expected",
                  "post_start", "post_end", "obs_through", "obs_digest", "as_of", "computed_at", "active"]),
    migrations.m008_auth: dict(         # people seen, API tokens (hashes only), the hash-chained audit log
        people=["id", "name", "via", "role", "first_seen", "last_seen"],
        api_tokens=["id", "name", "role", "hash", "created_at", "created_by", "revoked_at", "last_used"],
        audit_log=["seq", "at", "who", "via", "role", "action", "object", "outcome", "request_id", "prev_hash",
                   "hash"]),
    migrations.m009_published_ranking: dict(   # the published ranking, stored once per input key
        published_rankings=["key", "data_version", "created_at", "head", "top", "csv", "columns"]),
    migrations.m010_scenarios: dict(scenarios=["id", "name", "page", "query", "saved_by", "saved_at"]),
    migrations.m012_plan: dict(initiatives=["due", "period"], staged_initiatives=["due", "period"]),
    migrations.m013_snapshot_ranks: dict(snapshot_ranks=["hash", "keys"]),   # a snapshot's ranked keys, kept
    migrations.m014_stored_analyses: dict(      # the plan and the risk analysis, kept once computed
        stored_analyses=["key", "kind", "data_version", "created_at", "body"]),
}
for _n, _step in enumerate(migrations.MIGRATIONS, start=1):
    if _step in ADDED:
        EXPECTED[_n] = _plus(EXPECTED[_n - 1], **ADDED[_step])


def _columns(engine) -> dict:
    insp = inspect(engine)
    return {t: [c["name"] for c in insp.get_columns(t)] for t in insp.get_table_names()}


def _at_version(url: str, n: int):
    """A database built by the first `n` frozen migrations only."""
    engine = create_engine(url)
    for step in migrations.MIGRATIONS[:n]:
        with engine.begin() as c:
            step(c)
    with engine.begin() as c:
        c.execute(text("INSERT INTO meta (key, value) VALUES ('schema_version', :v)"), {"v": str(n)})
    return engine


def test_every_released_version_has_its_expected_columns():
    assert sorted(EXPECTED) == list(range(1, migrations.SCHEMA_VERSION + 1)), \
        "a new migration needs its expected columns here"


@pytest.mark.parametrize("version", range(1, migrations.SCHEMA_VERSION + 1))
def test_columns_after_each_step(db_url, version):
    engine = _at_version(db_url, version)
    assert _columns(engine) == EXPECTED[version]
    engine.dispose()


@pytest.mark.parametrize("start", range(1, migrations.SCHEMA_VERSION))
def test_upgrade_from_every_earlier_version_keeps_the_data(db_url, start):
    engine = _at_version(db_url, start)
    with engine.begin() as c:
        c.execute(text("INSERT INTO initiatives (key, connector, title, status, status_category, impact, url, "
                       "parent, labels, blocked_by, flags, raw, active) VALUES ('OLD-1', 'backlog', 'Kept', '', "
                       "'new', '', '', '', '', '', '', '{}', :t)"), {"t": True})
    engine.dispose()
    store = Store(db_url)                 # opening the store upgrades it
    assert store.schema_version() == migrations.SCHEMA_VERSION
    assert _columns(store.engine) == EXPECTED[migrations.SCHEMA_VERSION]
    with store.engine.connect() as c:
        assert c.execute(text("SELECT title FROM initiatives WHERE key = 'OLD-1'")).scalar() == "Kept"
    store.close()


def test_the_last_migration_gives_the_schema_the_code_reads():
    engine = _at_version("sqlite://", migrations.SCHEMA_VERSION)
    want = {t.name: [c.name for c in t.columns] for t in schema.metadata.sorted_tables}
    got = _columns(engine)
    assert {t: sorted(c) for t, c in got.items()} == {t: sorted(c) for t, c in want.items()}
