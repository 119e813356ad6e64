"""The store's migrations, llm-style: each schema change is a named function applied once
and recorded in `meta.schema_version`. The first writes the original tables out in full,
frozen here (never generated from today's `schema`), so an upgrade from any released
version is tested against the DDL that version really had.

Never edit a released migration: append a new one, and change `schema` to match.
"""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, Date, DateTime, Float, Index, Integer, LargeBinary, MetaData, String, Table,
                        Text, UniqueConstraint, text)

_V1_FACTORS = ("reach", "factor_impact", "ease", "business_value", "time_criticality", "risk_reduction", "job_size")


def _v1_initiative_columns():
    return [
        Column("title", Text, nullable=False, default=""),
        Column("status", Text, nullable=False, default=""),
        Column("status_category", String(16), nullable=False, default="new"),
        Column("effort", Float), Column("confidence", Float),
        Column("impact", Text, nullable=False, default=""),
        Column("url", Text, nullable=False, default=""),
        Column("parent", Text, nullable=False, default=""),
        Column("labels", Text, nullable=False, default=""),
        Column("blocked_by", Text, nullable=False, default=""),
        Column("flags", Text, nullable=False, default=""),
        *[Column(f, Float) for f in _V1_FACTORS],
        Column("raw", Text, nullable=False, default="{}"),
        Column("external_id", String(255)),
    ]


def m001_initial(conn) -> None:
    """Version 1 as first released (kpi-roadmap 0.1.0)."""
    md = MetaData()
    Table("meta", md, Column("key", String(64), primary_key=True), Column("value", Text))
    Table("initiatives", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("key", String(255), nullable=False, unique=True),
          Column("connector", String(128), nullable=False),
          *_v1_initiative_columns(),
          Column("active", Boolean, nullable=False, default=True),
          Column("synced_at", DateTime(timezone=True)),
          Column("run_id", Integer))
    Table("kpi_refs", md, Column("code", Integer, primary_key=True, autoincrement=True),
          Column("name", String(255), nullable=False, unique=True))
    Table("links", md, Column("item_id", Integer, nullable=False), Column("position", Integer, nullable=False),
          Column("kpi_code", Integer, nullable=False), Column("low", Float), Column("high", Float),
          Column("confidence", Float), Index("links_item", "item_id"))
    Table("observations", md, Column("kpi", String(255), primary_key=True), Column("day", Date, primary_key=True),
          Column("value", Float, nullable=False), Column("connector", String(128), nullable=False),
          Column("run_id", Integer))
    Table("sync_runs", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("connector", String(128), nullable=False),
          Column("started_at", DateTime(timezone=True), nullable=False), Column("ended_at", DateTime(timezone=True)),
          Column("status", String(16), nullable=False), Column("full", Boolean, nullable=False, default=False),
          Column("counts", Text, nullable=False, default="{}"), Column("message", Text, nullable=False, default=""))
    Table("bookmarks", md, Column("connector", String(128), primary_key=True), Column("value", Text),
          Column("fingerprint", Text), Column("pending", Text), Column("pending_run", Integer),
          Column("updated_at", DateTime(timezone=True)))
    Table("push_state", md, Column("key", String(255), primary_key=True),
          Column("connector", String(128), nullable=False), Column("score", Float), Column("rank", Integer),
          Column("pushed_at", DateTime(timezone=True), nullable=False))
    Table("staged_initiatives", md, Column("run_id", Integer, nullable=False), Column("key", String(255), nullable=False),
          *_v1_initiative_columns(), UniqueConstraint("run_id", "key"))
    Table("staged_links", md, Column("run_id", Integer, nullable=False), Column("key", String(255), nullable=False),
          Column("position", Integer, nullable=False), Column("kpi", Text, nullable=False),
          Column("low", Float), Column("high", Float), Column("confidence", Float),
          Index("staged_links_run", "run_id", "key"))
    Table("staged_observations", md, Column("run_id", Integer, nullable=False),
          Column("kpi", String(255), nullable=False), Column("day", Date, nullable=False),
          Column("value", Float, nullable=False), UniqueConstraint("run_id", "kpi", "day"))
    Table("staged_seen", md, Column("run_id", Integer, nullable=False), Column("key", String(255), nullable=False),
          UniqueConstraint("run_id", "key"))
    md.create_all(conn)


def m002_team_and_mandatory(conn) -> None:
    """The plan needs each initiative's team and whether it must be planned."""
    false = "false" if conn.dialect.name == "postgresql" else "0"
    for table in ("initiatives", "staged_initiatives"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN team TEXT NOT NULL DEFAULT ''"))
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN mandatory BOOLEAN NOT NULL DEFAULT {false}"))


def m003_link_unit(conn) -> None:
    """Links keep how an estimate was written (scoring.model.LINK_UNITS: 0 relative %, 1
    percentage points, 2 points), so that docs/model.md converts `+2pp` at ranking time."""
    for table in ("links", "staged_links"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN unit INTEGER NOT NULL DEFAULT 0"))


def m004_jobs(conn) -> None:
    """Sync jobs, schedule slots, webhook deliveries and live workers (`roadmap worker`)."""
    md = MetaData()
    Table("jobs", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("kind", String(16), nullable=False), Column("status", String(16), nullable=False),
          Column("scope", Text, nullable=False, default=""), Column("hint", Text, nullable=False, default=""),
          Column("requested_at", DateTime(timezone=True), nullable=False),
          Column("started_at", DateTime(timezone=True)), Column("ended_at", DateTime(timezone=True)),
          Column("lease_until", DateTime(timezone=True)), Column("worker", String(255)),
          Column("attempts", Integer, nullable=False, default=0),
          Column("result", Text, nullable=False, default="[]"), Column("message", Text, nullable=False, default=""),
          Index("jobs_status", "status"))
    Table("schedule", md, Column("name", String(64), primary_key=True), Column("slot", String(32), primary_key=True),
          Column("job_id", Integer), Column("created_at", DateTime(timezone=True), nullable=False))
    Table("webhook_deliveries", md, Column("id", String(255), primary_key=True), Column("job_id", Integer),
          Column("received_at", DateTime(timezone=True), nullable=False),
          Index("webhook_deliveries_received", "received_at"))
    Table("workers", md, Column("id", String(255), primary_key=True),
          Column("started_at", DateTime(timezone=True), nullable=False),
          Column("seen_at", DateTime(timezone=True), nullable=False))
    md.create_all(conn)


def m005_snapshots(conn) -> None:
    """Snapshots: each a zlib manifest chained by hash to the one before, and
    the item versions they share, stored once (scoring.changes.snapshot)."""
    md = MetaData()
    Table("snapshots", md, Column("hash", String(64), primary_key=True),
          Column("prev_hash", String(64), nullable=False, unique=True),
          Column("name", String(255), unique=True), Column("created_at", DateTime(timezone=True), nullable=False),
          Column("run_id", Integer), Column("item_count", Integer, nullable=False, default=0),
          Column("manifest", LargeBinary, nullable=False), Column("is_full", Boolean, nullable=False))
    Table("snapshot_items", md, Column("hash", String(64), primary_key=True),
          Column("blob", LargeBinary, nullable=False))
    md.create_all(conn)


def m006_estimates(conn) -> None:
    """Who estimated: the initiative's estimator (name and stable id) and each link's,
    and the estimates added outside the tracker with their blind rounds."""
    for table in ("initiatives", "staged_initiatives"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN estimator TEXT NOT NULL DEFAULT ''"))
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN estimator_id TEXT NOT NULL DEFAULT ''"))
    for table in ("links", "staged_links"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN estimator TEXT"))
    md = MetaData()
    Table("estimates", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("key", String(255), nullable=False), Column("kpi", String(255), nullable=False),
          Column("low", Float, nullable=False), Column("high", Float, nullable=False), Column("confidence", Float),
          Column("unit", Integer, nullable=False, default=0),
          Column("by_name", Text, nullable=False), Column("by_key", String(255), nullable=False),
          Column("line", Text, nullable=False, default=""), Column("source", String(16), nullable=False, default="web"),
          Column("blind", Boolean, nullable=False, default=False),
          Column("created_at", DateTime(timezone=True), nullable=False),
          UniqueConstraint("key", "kpi", "by_key"), Index("estimates_key", "key"))
    Table("estimate_rounds", md, Column("key", String(255), primary_key=True),
          Column("revealed_at", DateTime(timezone=True)), Column("revealed_by", Text))
    md.create_all(conn)


def m007_outcomes(conn) -> None:
    """Outcomes after launch (docs/model.md, "Outcomes"): each initiative's launch and done
    dates, and one row per launched estimate with what it did and the data it used."""
    for table in ("initiatives", "staged_initiatives"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN launched_on DATE"))
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN done_on DATE"))
    md = MetaData()
    Table("outcomes", md,
          Column("key", String(255), primary_key=True), Column("kpi", String(255), primary_key=True),
          Column("estimator", String(255), primary_key=True),
          Column("launched_on", Date, nullable=False), Column("snapshot", String(64), nullable=False, default=""),
          Column("low", Float), Column("high", Float), Column("confidence", Float), Column("expected", Float),
          Column("verdict", String(32), nullable=False), Column("reason", Text, nullable=False, default=""),
          Column("realised", Float), Column("realised_low", Float), Column("realised_high", Float),
          Column("se", Float), Column("observed", Float), Column("expected_level", Float),
          Column("placebos", Integer, nullable=False, default=0),
          Column("group_keys", Text, nullable=False, default=""), Column("group_expected", Float),
          Column("post_start", Date), Column("post_end", Date),
          Column("obs_through", Date), Column("obs_digest", String(64), nullable=False, default=""),
          Column("as_of", Date, nullable=False), Column("computed_at", DateTime(timezone=True), nullable=False),
          Column("active", Boolean, nullable=False, default=True))
    md.create_all(conn)


def m010_scenarios(conn) -> None:
    """Saved, named scenarios: a page's URL state (roadmap or plan), who saved it and when."""
    md = MetaData()
    Table("scenarios", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("name", String(255), nullable=False), Column("page", String(32), nullable=False),
          Column("query", Text, nullable=False, default=""), Column("saved_by", String(255), nullable=False),
          Column("saved_at", DateTime(timezone=True), nullable=False))
    md.create_all(conn)


def m008_auth(conn) -> None:
    """Who may do what (app/auth): the people seen at sign-in, API tokens (their hashes
    only) and the append-only audit log, each row chained by hash to the one before."""
    md = MetaData()
    Table("people", md, Column("id", String(255), primary_key=True), Column("name", String(255), nullable=False),
          Column("via", String(16), nullable=False), Column("role", String(16), nullable=False),
          Column("first_seen", DateTime(timezone=True), nullable=False),
          Column("last_seen", DateTime(timezone=True), nullable=False))
    Table("api_tokens", md, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("name", String(255), nullable=False), Column("role", String(16), nullable=False),
          Column("hash", String(64), nullable=False, unique=True),
          Column("created_at", DateTime(timezone=True), nullable=False),
          Column("created_by", String(255), nullable=False), Column("revoked_at", DateTime(timezone=True)),
          Column("last_used", DateTime(timezone=True)))
    Table("audit_log", md, Column("seq", Integer, primary_key=True, autoincrement=True),
          Column("at", String(40), nullable=False), Column("who", String(255), nullable=False),
          Column("via", String(16), nullable=False), Column("role", String(16), nullable=False),
          Column("action", String(64), nullable=False), Column("object", Text, nullable=False),
          Column("outcome", String(64), nullable=False), Column("request_id", String(64), nullable=False),
          Column("prev_hash", String(64), nullable=False, unique=True), Column("hash", String(64), nullable=False))
    md.create_all(conn)


def m009_published_ranking(conn) -> None:
    """The published ranking (docs/model.md, "The published ranking"): each ranking stored
    once per input key (data version and a hash of every scoring input), so reads never
    recompute it: its head, its first items as JSON, its CSV and its columns."""
    md = MetaData()
    Table("published_rankings", md, Column("key", String(64), primary_key=True),
          Column("data_version", Integer, nullable=False), Column("created_at", DateTime(timezone=True), nullable=False),
          Column("head", Text, nullable=False), Column("top", LargeBinary, nullable=False),
          Column("csv", LargeBinary, nullable=False), Column("columns", LargeBinary, nullable=False))
    md.create_all(conn)


def m012_plan(conn) -> None:
    """The plan's due dates and pins: each initiative's `due` date and the `period` it is
    pinned to."""
    for table in ("initiatives", "staged_initiatives"):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN due DATE"))
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN period TEXT NOT NULL DEFAULT ''"))


def m013_snapshot_ranks(conn) -> None:
    """The keys a snapshot ranks when re-scored, kept once computed (the roadmap's "Moved"
    column: re-scoring a large snapshot takes seconds and a lot of memory)."""
    md = MetaData()
    Table("snapshot_ranks", md, Column("hash", String(64), primary_key=True),
          Column("keys", LargeBinary, nullable=False))
    md.create_all(conn)


def m014_stored_analyses(conn) -> None:
    """The plan and the risk analysis of the published data, stored once computed (a sync
    computes them for a large backlog), so no web worker waits seconds to solve them again
    on its first roadmap page."""
    md = MetaData()
    Table("stored_analyses", md, Column("key", String(64), primary_key=True),
          Column("kind", String(16), nullable=False), Column("data_version", Integer, nullable=False),
          Column("created_at", DateTime(timezone=True), nullable=False), Column("body", LargeBinary, nullable=False))
    md.create_all(conn)


MIGRATIONS = [m001_initial, m002_team_and_mandatory, m003_link_unit, m004_jobs, m005_snapshots, m006_estimates,
              m007_outcomes, m008_auth, m009_published_ranking, m010_scenarios, m012_plan, m013_snapshot_ranks,
              m014_stored_analyses]
SCHEMA_VERSION = len(MIGRATIONS)
