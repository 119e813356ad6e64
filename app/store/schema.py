"""The database schema as the code reads it today (SQLAlchemy Core; SQLite or PostgreSQL).

This is the *current* shape; how a database gets there is `app.store.migrations`, where
each released version's DDL is frozen. A change here needs a new migration there (a test
compares the two).
"""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, Date, DateTime, Float, Index, Integer, LargeBinary, MetaData, String,
                        Table, Text, UniqueConstraint)

from scoring.model import FACTOR_NAMES

metadata = MetaData()

meta = Table("meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text))


def _initiative_columns():
    return [
        Column("title", Text, nullable=False, default=""),
        Column("status", Text, nullable=False, default=""),
        Column("status_category", String(16), nullable=False, default="new"),
        Column("effort", Float), Column("confidence", Float),
        Column("impact", Text, nullable=False, default=""),
        Column("url", Text, nullable=False, default=""),
        Column("parent", Text, nullable=False, default=""),
        Column("labels", Text, nullable=False, default=""),       # space-separated
        Column("blocked_by", Text, nullable=False, default=""),   # space-separated
        Column("team", Text, nullable=False, default=""),         # since v2
        Column("mandatory", Boolean, nullable=False, default=False),  # since v2
        Column("due", Date), Column("period", Text, nullable=False, default=""),   # since m012_plan
        Column("flags", Text, nullable=False, default=""),        # space-separated codes
        *[Column(f, Float) for f in FACTOR_NAMES],
        Column("raw", Text, nullable=False, default="{}"),        # the source record, JSON
        Column("external_id", String(255)),                       # the source's own id (Jira's issue id)
        Column("estimator", Text, nullable=False, default=""),    # v6: who estimated (display name)
        Column("estimator_id", Text, nullable=False, default=""),  # v6: a stable id for them (Jira accountId)
        Column("launched_on", Date), Column("done_on", Date),     # since m007_outcomes
    ]


initiatives = Table(
    "initiatives", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("connector", String(128), nullable=False),
    *_initiative_columns(),
    Column("active", Boolean, nullable=False, default=True),   # False: left the source, kept as history
    Column("synced_at", DateTime(timezone=True)),
    Column("run_id", Integer),
)

# KPI ids as small integers, so the ranking reads links as plain numbers
kpi_refs = Table(
    "kpi_refs", metadata,
    Column("code", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
)

links = Table(
    "links", metadata,
    Column("item_id", Integer, nullable=False), Column("position", Integer, nullable=False),
    Column("kpi_code", Integer, nullable=False),
    Column("low", Float), Column("high", Float), Column("confidence", Float),
    Column("unit", Integer, nullable=False, default=0, server_default="0"),   # v2: scoring.model.LINK_UNITS code
    Column("estimator", Text),            # v6: who estimated this line (NULL: unknown)
    Index("links_item", "item_id"),
)

observations = Table(
    "observations", metadata,
    Column("kpi", String(255), primary_key=True), Column("day", Date, primary_key=True),
    Column("value", Float, nullable=False), Column("connector", String(128), nullable=False),
    Column("run_id", Integer),
)

sync_runs = Table(
    "sync_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connector", String(128), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False),     # running | ok | partial | failed
    Column("full", Boolean, nullable=False, default=False),
    Column("counts", Text, nullable=False, default="{}"),
    Column("message", Text, nullable=False, default=""),
)

bookmarks = Table(
    "bookmarks", metadata,
    Column("connector", String(128), primary_key=True),
    Column("value", Text),            # published with the last good sync, JSON
    Column("fingerprint", Text),      # the connector settings the bookmark was made under
    Column("pending", Text),          # saved page by page by a sync in progress (resume)
    Column("pending_run", Integer),
    Column("updated_at", DateTime(timezone=True)),
)

# What `roadmap push` last wrote to the tracker, so the next push writes only changes.
push_state = Table(
    "push_state", metadata,
    Column("key", String(255), primary_key=True), Column("connector", String(128), nullable=False),
    Column("score", Float), Column("rank", Integer),
    Column("pushed_at", DateTime(timezone=True), nullable=False),
)

# A sync writes here page by page; publishing moves a run's rows into the tables the
# ranking reads, in one transaction.
staged_initiatives = Table(
    "staged_initiatives", metadata,
    Column("run_id", Integer, nullable=False), Column("key", String(255), nullable=False),
    *_initiative_columns(),
    UniqueConstraint("run_id", "key"),
)
staged_links = Table(
    "staged_links", metadata,
    Column("run_id", Integer, nullable=False), Column("key", String(255), nullable=False),
    Column("position", Integer, nullable=False), Column("kpi", Text, nullable=False),
    Column("low", Float), Column("high", Float), Column("confidence", Float),
    Column("unit", Integer, nullable=False, default=0, server_default="0"),
    Column("estimator", Text),
    Index("staged_links_run", "run_id", "key"),
)
staged_observations = Table(
    "staged_observations", metadata,
    Column("run_id", Integer, nullable=False), Column("kpi", String(255), nullable=False),
    Column("day", Date, nullable=False), Column("value", Float, nullable=False),
    UniqueConstraint("run_id", "kpi", "day"),
)
staged_seen = Table(
    "staged_seen", metadata,
    Column("run_id", Integer, nullable=False), Column("key", String(255), nullable=False),
    UniqueConstraint("run_id", "key"),
)

# -- since v3: sync jobs, schedules and webhook deliveries (app/jobs.py, app/store/jobs.py) --
# A sync request from the API, a webhook or the schedule is a row here; `roadmap worker`
# (or the web process when no worker runs) claims one at a time under a lease.
jobs = Table(
    "jobs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),            # api | webhook | schedule
    Column("status", String(16), nullable=False),          # queued | running | ok | failed
    Column("scope", Text, nullable=False, default=""),     # connector names, space-separated; "" = every one
    Column("hint", Text, nullable=False, default=""),      # issue keys a webhook named, space-separated
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("lease_until", DateTime(timezone=True)),        # a running job whose lease passed lost its worker
    Column("worker", String(255)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("result", Text, nullable=False, default="[]"),  # per-connector reports, JSON
    Column("message", Text, nullable=False, default=""),
    Index("jobs_status", "status"),
)
schedule = Table(
    "schedule", metadata,
    Column("name", String(64), primary_key=True), Column("slot", String(32), primary_key=True),
    Column("job_id", Integer), Column("created_at", DateTime(timezone=True), nullable=False),
)
webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", String(255), primary_key=True),           # X-Atlassian-Webhook-Identifier
    Column("job_id", Integer), Column("received_at", DateTime(timezone=True), nullable=False),
    Index("webhook_deliveries_received", "received_at"),
)
workers = Table(
    "workers", metadata,
    Column("id", String(255), primary_key=True),           # host:pid:nonce
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)
snapshots = Table(
    "snapshots", metadata,
    Column("hash", String(64), primary_key=True),          # sha256(prev_hash + content), scoring.changes.snapshot
    Column("prev_hash", String(64), nullable=False, unique=True),   # "" for the first: one chain, no forks
    Column("name", String(255), unique=True),              # "sync-42" or a saved name
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Integer),                             # the newest published run when it was saved
    Column("item_count", Integer, nullable=False, default=0),
    Column("manifest", LargeBinary, nullable=False),       # zlib JSON: full, or a delta on the one before
    Column("is_full", Boolean, nullable=False),
)
snapshot_items = Table(
    "snapshot_items", metadata,
    Column("hash", String(64), primary_key=True),          # sha256 of the item's canonical bytes
    Column("blob", LargeBinary, nullable=False),           # the bytes, zlib with a preset dictionary
)
# since m013: the keys a snapshot ranks when re-scored, in rank order, kept once computed
# (the roadmap's "Moved" column reads them; app/store/snapshots.py `ranks`)
snapshot_ranks = Table(
    "snapshot_ranks", metadata,
    Column("hash", String(64), primary_key=True),          # the snapshot's
    Column("keys", LargeBinary, nullable=False),           # zlib JSON: {"format", "keys"}
)

# -- since v6: estimates added outside the tracker (app/store/estimates.py) --
# One row per person, item and KPI (a person's later estimate replaces theirs); the
# tracker's lines stay in `links`. Web estimates are blind until their item's round is
# revealed (`estimate_rounds`).
estimates = Table(
    "estimates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False), Column("kpi", String(255), nullable=False),
    Column("low", Float, nullable=False), Column("high", Float, nullable=False), Column("confidence", Float),
    Column("unit", Integer, nullable=False, default=0),
    Column("by_name", Text, nullable=False), Column("by_key", String(255), nullable=False),
    Column("line", Text, nullable=False, default=""),
    Column("source", String(16), nullable=False, default="web"),   # web | cli
    Column("blind", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("key", "kpi", "by_key"),
    Index("estimates_key", "key"),
)
estimate_rounds = Table(
    "estimate_rounds", metadata,
    Column("key", String(255), primary_key=True),
    Column("revealed_at", DateTime(timezone=True)), Column("revealed_by", Text),
)

# -- since m007_outcomes: what each launched estimate did (app/services/outcomes.py) --------
# One row per estimate (initiative, KPI, estimator): the estimate measured (frozen before
# launch: `snapshot` names the snapshot it came from, "" when first measured after launch
# with no snapshot before it), the measure, and the observations it used (`obs_digest`
# over the window's days and values, `obs_through` the newest day read).
outcomes = Table(
    "outcomes", metadata,
    Column("key", String(255), primary_key=True), Column("kpi", String(255), primary_key=True),
    Column("estimator", String(255), primary_key=True),
    Column("launched_on", Date, nullable=False),
    Column("snapshot", String(64), nullable=False, default=""),
    Column("low", Float), Column("high", Float), Column("confidence", Float), Column("expected", Float),
    Column("verdict", String(32), nullable=False), Column("reason", Text, nullable=False, default=""),
    Column("realised", Float), Column("realised_low", Float), Column("realised_high", Float), Column("se", Float),
    Column("observed", Float), Column("expected_level", Float),
    Column("placebos", Integer, nullable=False, default=0),
    Column("group_keys", Text, nullable=False, default=""),              # a confounded group, space-separated
    Column("group_expected", Float),
    Column("post_start", Date), Column("post_end", Date),
    Column("obs_through", Date), Column("obs_digest", String(64), nullable=False, default=""),
    Column("as_of", Date, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False, default=True),             # False: no longer launched (reopened)
)


# -- saved scenarios (migration m010_scenarios) -------------------------------------------
scenarios = Table(
    "scenarios", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("page", String(32), nullable=False),             # roadmap | plan
    Column("query", Text, nullable=False, default=""),      # the page's URL query string (its scenario)
    Column("saved_by", String(255), nullable=False),        # the person's name (app.auth.current_person)
    Column("saved_at", DateTime(timezone=True), nullable=False),
)

# -- since m009: the published ranking, stored once per input key (app/services/published.py) --
published_rankings = Table(
    "published_rankings", metadata,
    Column("key", String(64), primary_key=True),           # sha256 of every input group (app/ranking_inputs.py)
    Column("data_version", Integer, nullable=False),       # the newest published run when it was stored
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("head", Text, nullable=False),                  # JSON: as_of, method, total, top count, format
    Column("top", LargeBinary, nullable=False),            # zlib JSON: the first items as `score --format json`
    Column("csv", LargeBinary, nullable=False),            # zlib: the CSV of every ranked row, then row offsets
    Column("columns", LargeBinary, nullable=False),        # the ranking's arrays (scoring/packed.py)
)

# -- since m014: the plan and the risk analysis of the published data, once computed
# (app/store/analyses.py): a web worker reads them instead of solving again
stored_analyses = Table(
    "stored_analyses", metadata,
    Column("key", String(64), primary_key=True),           # sha256 of the kind, the inputs and the request
    Column("kind", String(16), nullable=False),            # "plan" or "risk"
    Column("data_version", Integer, nullable=False),       # the newest published run when it was stored
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("body", LargeBinary, nullable=False),           # zlib JSON (plan) or the packed result (risk)
)


# -- who may do what (app/auth; since m008_auth) ----------------------------------
people = Table(
    "people", metadata,
    Column("id", String(255), primary_key=True),          # OIDC `sub`, or the proxy's user
    Column("name", String(255), nullable=False),
    Column("via", String(16), nullable=False),
    Column("role", String(16), nullable=False),            # the role of their last sign-in
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),   # sha256 of the token; the token is never stored
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used", DateTime(timezone=True)),
)

audit_log = Table(
    "audit_log", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),              # ISO 8601 UTC, as hashed
    Column("who", String(255), nullable=False),
    Column("via", String(16), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object", Text, nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False, unique=True),   # one chain: no two rows follow the same one
    Column("hash", String(64), nullable=False),
)
