"""Issue 8, the data side: statements above the parameter limit, a source that yields
nothing, mass removal, a ranking read across a publish, dead runs and stray staging,
secrets in messages. SQLite always, PostgreSQL where $ROADMAP_TEST_POSTGRES_URL is set."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from app.config import load_settings
from app.secrets import redact, secret_values
from app.services import Workspace
from app.store import StagedInitiative, Store
from app.store import schema as s


def item(key, title=None, kpi="activation", lift=0.1, **row):
    return StagedInitiative(key, dict(title=title or f"title of {key}", **row), [(kpi, lift, lift, None)])


def staged_rows(store: Store) -> int:
    return sum(store.count(t.name) for t in (s.staged_initiatives, s.staged_links, s.staged_observations,
                                             s.staged_seen))


def test_statements_above_the_parameter_limit_are_batched(db_url):
    """70,000 keys: above PostgreSQL's 65,535 parameters and SQLite's 32,766 in one IN (...)."""
    store = Store(db_url)
    run = store.start_run("backlog", True)
    keys = [f"K-{n}" for n in range(70_000)]
    store.stage_initiatives(run, [item(k) for k in keys[:40_000]])
    store.stage_seen(run, keys)
    store.stage_seen(run, keys[:35_000])          # a re-listed page: still one row per key
    days = {date(1900, 1, 1) + timedelta(days=n): float(n) for n in range(40_000)}
    store.stage_observations(run, "nps", days)
    assert store.count("staged_seen") == 70_000 and store.count("staged_observations") == 40_000
    store.publish(run, "backlog", complete_listing=True, failed_kpis=set())
    assert store.count("initiatives") == 40_000 and store.count("observations") == 40_000
    assert staged_rows(store) == 0


def test_a_ranking_read_before_a_publish_shows_each_items_own_title(db_url):
    store = Store(db_url)

    def publish(keys, version):
        run = store.start_run("backlog", True)
        store.stage_initiatives(run, [item(k, title=f"{k} v{version}") for k in keys])
        store.stage_seen(run, keys)
        store.publish(run, "backlog", complete_listing=True, failed_kpis=set())
    publish(["A", "B", "C", "D"], 1)
    before = store.load_backlog()
    publish(["D", "C", "E", "B"], 2)          # A leaves, E arrives, the rest are re-published
    texts = store.texts(before.keys)           # the services join texts by key, never by row id
    titles = [texts[k][0] for k in before.keys]
    assert [t.split()[0] for t in titles] == before.keys == ["A", "B", "C", "D"]
    assert titles[0] == "A v1" and titles[1:] == ["B v2", "C v2", "D v2"]


def test_the_next_sync_fails_a_dead_run_and_drops_its_staging(db_url):
    store = Store(db_url)
    dead = store.start_run("backlog", True)           # a process killed here: the run stays "running"
    store.stage_initiatives(dead, [item("A"), item("B")])
    store.stage_seen(dead, ["A", "B"])
    other = store.start_run("obs", True)              # another connector's live run is not touched
    store.stage_observations(other, "nps", {date(2026, 7, 1): 1.0})
    with store.connector_lock("backlog"):
        assert store.recover("backlog") == 1
    runs = {r["id"]: r for r in store.runs()}
    assert runs[dead]["status"] == "failed" and "interrupted" in runs[dead]["message"]
    assert runs[other]["status"] == "running"
    assert store.count("staged_initiatives") == 0 and store.count("staged_observations") == 1


def test_a_run_with_a_resume_bookmark_keeps_its_pages_for_the_next_sync(db_url):
    store = Store(db_url)
    dead = store.start_run("backlog", False)
    store.stage_initiatives(dead, [item("A")])
    store.save_pending_bookmark("backlog", dead, {"page": 2})
    store.recover("backlog")
    nxt = store.start_run("backlog", False)
    assert store.resume("backlog", nxt) == {"page": 2}
    store.publish(nxt, "backlog", complete_listing=False, failed_kpis=set())
    assert store.load_backlog().keys == ["A"] and staged_rows(store) == 0


def test_one_sync_per_connector_at_a_time(db_url):
    from app.store import SyncBusy
    a, b = Store(db_url), Store(db_url)
    with a.connector_lock("backlog"):
        with pytest.raises(SyncBusy, match="another sync of 'backlog' is running"):
            with b.connector_lock("backlog"):
                pass
        with b.connector_lock("obs"):
            pass
    with b.connector_lock("backlog"):
        pass


@pytest.fixture
def cli(cli):
    """The shared `cli`, after a first sync."""
    assert cli("sync").exit_code == 0
    return cli


def keys_ranked(cli) -> list[str]:
    return [i["key"] for i in json.loads(cli("score", "--format", "json").output)["items"]]


@pytest.mark.parametrize("content", ["", "key,title,status,status_category,effort,confidence,impact,labels,url\n"])
def test_a_source_with_nothing_readable_fails_and_keeps_the_last_good_data(cli, workspace_dir, content):
    (workspace_dir / "initiatives.csv").write_text(content)
    res = cli("sync")
    assert res.exit_code == 3 and "backlog: FAILED" in res.output and "kept the last good data" in res.output
    assert keys_ranked(cli) == ["A", "C", "B", "D"]


def test_removing_more_than_half_the_backlog_needs_allow_removal_or_full(cli, workspace_dir):
    path = workspace_dir / "initiatives.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n")     # only A is left of A-E
    res = cli("sync")
    assert res.exit_code == 3
    assert "no longer lists 4 of the 5 initiatives it held (more than half)" in res.output
    assert "--allow-removal" in res.output and keys_ranked(cli) == ["A", "C", "B", "D"]
    res = cli("sync", "--allow-removal")
    assert res.exit_code == 0 and "4 removed" in res.output and keys_ranked(cli) == ["A"]
    path.write_text("\n".join(lines) + "\n")
    assert cli("sync").exit_code == 0 and len(keys_ranked(cli)) == 4
    path.write_text("\n".join(lines[:2]) + "\n")
    assert cli("sync", "--full").exit_code == 0 and keys_ranked(cli) == ["A"]


def test_secrets_a_source_echoes_are_redacted_everywhere(cli, workspace_dir, monkeypatch):
    """A source that echoes the request (with its bearer / basic-auth header) in its error body."""
    import base64

    from connectors.base import SourceError
    from connectors.files import CsvConnector
    toml = (workspace_dir / "roadmap.toml").read_text()
    (workspace_dir / "roadmap.toml").write_text('[service]\napi_token_env = "ROADMAP_API_TOKEN"\n' + toml)
    monkeypatch.setenv("ROADMAP_API_TOKEN", "s3cret-Tok/en+1")
    basic = base64.b64encode(b"pm@acme.com:s3cret-Tok/en+1").decode()

    def echo(self, run):
        raise SourceError(f"{self.name}: 400 from the source: echo 'Authorization: Bearer s3cret-Tok/en+1' "
                          f"'Authorization: Basic {basic}' url=?token=s3cret-Tok%2Fen%2B1")
    monkeypatch.setattr(CsvConnector, "pull", echo)
    res = cli("sync")
    assert res.exit_code == 3
    out = res.output
    assert "Bearer ***" in out and "Basic ***" in out and "token=***" in out
    assert "s3cret" not in out and basic not in out and "s3cret-Tok%2Fen%2B1" not in out
    settings = load_settings(workspace_dir / "roadmap.toml")
    store = Workspace(settings).store
    for run in store.runs(5):
        assert "s3cret" not in run["message"] and basic not in run["message"]
    assert redact("x s3cret-Tok/en+1 y", secret_values(settings)) == "x *** y"
    monkeypatch.delenv("ROADMAP_API_TOKEN")
    assert redact("x s3cret-Tok/en+1 y", secret_values(settings)) == "x s3cret-Tok/en+1 y"    # nothing configured, nothing masked


def test_redact_knows_two_part_basic_auth_and_database_passwords(workspace_dir, monkeypatch):
    import base64
    toml = (workspace_dir / "roadmap.toml").read_text()
    toml += ('\n[connectors.amp]\ntype = "amplitude"\napi_key_env = "AMP_KEY"\nsecret_key_env = "AMP_SECRET"\n'
             '\n[connectors.db]\ntype = "sql"\nurl_env = "KPI_DB"\n')
    (workspace_dir / "roadmap.toml").write_text(toml)
    monkeypatch.setenv("AMP_KEY", "key-1234")
    monkeypatch.setenv("AMP_SECRET", "sec-5678")
    monkeypatch.setenv("KPI_DB", "postgresql://kpi:pa55word@db.internal/kpis")
    settings = load_settings(workspace_dir / "roadmap.toml")
    pair = base64.b64encode(b"key-1234:sec-5678").decode()
    text = f"Basic {pair}; failed to connect as kpi with password pa55word"
    assert redact(text, secret_values(settings)) == "Basic ***; failed to connect as kpi with password ***"

