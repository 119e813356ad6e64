"""The snapshot rows' own columns verified everywhere (app/services/chain.py): each edit an
operator (or an intruder) can make to a row with SQL — its hash, name, time, item count,
is_full, or deleting the newest — is caught by `roadmap snapshot list` (exit 1), the API
and `diff`; a sync that cannot chain says once "snapshot chain broken at <name>: ..." and
exits non-zero, and /metrics and /healthz show it, with the chain's head hash.

Fixture: the worked example synced three times (tests/test_changes.py's `three_syncs`)."""
from __future__ import annotations

import logging
import sqlite3

import pytest
from click.testing import CliRunner

from app import create_app
from app.cli import main
from app.services import chain, changes
from app.store import snapshots as store_snapshots
from tests.test_changes import A_EFFORT_8, _names, three_syncs  # noqa: F401 - the fixture
from tests.test_changes import _ws

EDITS = {
    "hash": "UPDATE snapshots SET hash = '0b47' || substr(hash, 5) WHERE name = :name",
    "name": "UPDATE snapshots SET name = 'renamed' WHERE name = :name",
    "created_at": "UPDATE snapshots SET created_at = '2020-01-01 00:00:00.000000' WHERE name = :name",
    "item_count": "UPDATE snapshots SET item_count = item_count + 1 WHERE name = :name",
    "is_full": "UPDATE snapshots SET is_full = NOT is_full WHERE name = :name",
}


def sql(workspace_dir, statement: str, **params) -> None:
    con = sqlite3.connect(str(workspace_dir / "roadmap.db"))
    con.execute(statement, params)
    con.commit()
    con.close()


def test_an_untouched_chain_verifies_and_records_its_head(three_syncs):
    found = chain.check(three_syncs.store)
    assert found.ok and found.head == found.recorded_head != ""
    res = CliRunner().invoke(main, ["snapshot", "list"])
    assert res.exit_code == 0 and "TAMPERED" not in res.output


@pytest.mark.parametrize("column", list(EDITS))
def test_each_row_edit_is_caught_by_snapshot_list_and_the_api(three_syncs, workspace_dir, column):
    ws = three_syncs
    first, second, third = _names(ws)
    sql(workspace_dir, EDITS[column], name=second)
    res = CliRunner().invoke(main, ["snapshot", "list"])
    assert res.exit_code == 1, res.output
    assert "TAMPERED" in res.output
    listing = changes.listing(ws)
    assert not listing["verified"]
    assert any("snapshot 2 (" in p for p in listing["problems"]), listing["problems"]
    api = create_app(workspace=ws).test_client().get("/api/v1/snapshots").get_json()
    assert api["verified"] is False and False in [r["verified"] for r in api["snapshots"]]
    ref = {"hash": "0b47", "name": "renamed"}.get(column, second)
    with pytest.raises(changes.TamperedSnapshot):
        changes.diff(ws, ref, third)


def test_a_deleted_head_is_caught(three_syncs, workspace_dir):
    ws = three_syncs
    *_, third = _names(ws)
    sql(workspace_dir, "DELETE FROM snapshots WHERE name = :name", name=third)
    res = CliRunner().invoke(main, ["snapshot", "list"])
    assert res.exit_code == 1
    assert "the newest snapshot saved is missing from the store" in res.output
    assert chain.status(ws.store)["ok"] is False


def test_the_row_findings_name_the_sealed_values(three_syncs, workspace_dir):
    ws = three_syncs
    second = _names(ws)[1]
    row = next(r for r in store_snapshots.rows(ws.store) if r["name"] == second)
    sql(workspace_dir, EDITS["item_count"], name=second)
    found = chain.check(ws.store)
    assert [str(f) for f in found.findings] == [
        f"snapshot 2 ({second}): its row's item count {row['item_count'] + 1} is not the sealed {row['item_count']}"]
    sql(workspace_dir, EDITS["name"], name=second)
    assert f"its row's name is not the sealed name '{second}'" in [f.problem for f in chain.check(ws.store).findings]


def test_a_sync_that_cannot_chain_says_so_once_and_exits_non_zero(three_syncs, workspace_dir, caplog):
    ws = three_syncs
    second = _names(ws)[1]
    sql(workspace_dir, EDITS["hash"], name=second)
    (workspace_dir / "initiatives.csv").write_text(A_EFFORT_8.replace("Guided onboarding", "Guided onboarding v2"))
    with caplog.at_level(logging.INFO):
        res = CliRunner().invoke(main, ["sync"])
    assert res.exit_code == 1, res.output
    said = [line for line in res.stderr.splitlines() if "snapshot chain broken at" in line]
    assert len(said) == 1 and said[0].startswith(f"roadmap: snapshot chain broken at {second}: its row's hash 0b47")
    assert "KeyError" not in res.output
    assert len(store_snapshots.rows(ws.store)) == 3            # nothing chained onto a broken chain
    client = create_app(workspace=ws).test_client()
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert health["snapshot_chain"]["problem"].startswith(f"snapshot chain broken at {second}")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "roadmap_snapshot_chain_ok 0.0" in metrics
    assert any("snapshot chain broken" in r.getMessage() for r in caplog.records)


def test_the_head_hash_is_in_metrics_and_the_log(workspace_dir, monkeypatch, caplog):
    from app.services.sync import sync
    ws = _ws(workspace_dir, monkeypatch)
    with caplog.at_level(logging.INFO, logger="roadmap.changes"):
        sync(ws)
    head = store_snapshots.head_of(store_snapshots.rows(ws.store))
    assert any(head in r.getMessage() and "head" in r.getMessage() for r in caplog.records)
    client = create_app(workspace=ws).test_client()
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'roadmap_snapshot_head{{hash="{head}",recorded="{head}"}} 1.0' in metrics
    assert "roadmap_snapshot_chain_ok 1.0" in metrics
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["snapshot_chain"] == {"ok": True, "head": head, "problem": None}
