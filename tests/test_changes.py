"""Snapshots in the store and what moved between them, through the real sync,
store, CLI and API: SQLite and PostgreSQL round trips, the snapshot a sync saves, named
snapshots, tamper detection, `roadmap diff` text and json, the API.

Fixtures: the worked example of docs/model.md (tests/conftest.py) synced from its CSV files;
the changes between syncs are edits a user would make to those files. Expected scores are
worked by hand from docs/model.md's example: A's impact is 3.9 (score 1.95 at effort 2)."""
from __future__ import annotations

import json
import sqlite3
import zlib

import re

import pytest
from click.testing import CliRunner

from app import create_app
from app.cli import main
from app.config import load_settings
from app.services import Workspace, changes, ranking
from app.store import snapshots as store_snapshots
from app.services.sync import sync
from scoring.changes import snapshot as sn
from tests.conftest import EXAMPLE_INITIATIVES, EXAMPLE_OBSERVATIONS
from tests.test_web import check

A_EFFORT_8 = EXAMPLE_INITIATIVES.replace("A,Guided onboarding,To Do,new,2,", "A,Guided onboarding,To Do,new,8,")
MRR_BEHIND = EXAMPLE_OBSERVATIONS.replace("mrr,2026-07-01,140000", "mrr,2026-07-01,120000")


def _ws(workspace_dir, monkeypatch, url: str | None = None) -> Workspace:
    monkeypatch.chdir(workspace_dir)
    monkeypatch.delenv("ROADMAP_CONFIG", raising=False)
    if url:
        monkeypatch.setenv("ROADMAP_DATABASE", url)
    else:
        monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    return Workspace(load_settings(workspace_dir / "roadmap.toml"))


@pytest.fixture
def three_syncs(workspace_dir, monkeypatch):
    """Sync, raise A's effort 2 -> 8 and sync, put mrr further behind and sync."""
    ws = _ws(workspace_dir, monkeypatch)
    sync(ws)
    (workspace_dir / "initiatives.csv").write_text(A_EFFORT_8)
    sync(ws)
    (workspace_dir / "observations.csv").write_text(MRR_BEHIND)
    sync(ws)
    return ws


def _names(ws) -> list[str]:
    return [r["name"] for r in changes.listing(ws)["snapshots"]]


def test_store_round_trip_rescores_to_the_live_ranking(workspace_dir, monkeypatch, db_url):
    ws = _ws(workspace_dir, monkeypatch, db_url)
    sync(ws)
    (workspace_dir / "initiatives.csv").write_text(A_EFFORT_8)
    sync(ws)
    listing = changes.listing(ws)
    assert [r["verified"] for r in listing["snapshots"]] == [True, True] and listing["problems"] == []
    first, last = listing["snapshots"]
    assert (first["full"], last["full"], last["prev_hash"]) == (True, False, first["hash"])
    assert first["items"] == 5                     # A B C D and the done E: a snapshot keeps done items
    # only A's new version was stored by the second snapshot
    assert store_snapshots.sizes(ws.store)["items"] == 6
    snap = store_snapshots.load(ws.store, last["hash"])
    assert sn.verify([snap]) == [] and snap.initiatives == changes.current(ws).initiatives
    live, again = ranking(ws), sn.rescore(snap)
    order = [live.backlog.keys[i] for i in live.ranked]
    assert order == [again.backlog.keys[i] for i in again.ranked] == ["C", "B", "A", "D"]
    live_scores = dict(zip(live.backlog.keys, live.score.tolist()))
    assert {k: s for k, s in zip(again.backlog.keys, again.score.tolist()) if k in live_scores} == live_scores
    assert live_scores["A"] == 0.4875              # 3.9 / 8
    ws.close()


def test_every_published_sync_saves_one_named_by_its_run(workspace_dir, monkeypatch):
    ws = _ws(workspace_dir, monkeypatch)
    sync(ws)
    rows = changes.listing(ws)["snapshots"]
    assert [r["name"] for r in rows] == [f"sync-{ws.store.data_version()}"]
    assert rows[0]["run_id"] == ws.store.data_version()


def test_a_failing_snapshot_is_reported_and_never_fails_the_sync(workspace_dir, monkeypatch):
    ws = _ws(workspace_dir, monkeypatch)

    def broken(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(store_snapshots, "save", broken)
    reports = sync(ws)
    assert [r.status for r in reports] == ["ok", "ok"]
    assert ("snapshot", "OSError: disk full") in [s for r in reports for s in r.skipped]
    assert ranking(ws).total == 4


def test_named_snapshot_and_a_duplicate_name(three_syncs):
    ws = three_syncs
    row = changes.save(ws, "week-48")
    assert row["name"] == "week-48" and row["prev_hash"] == changes.listing(ws)["snapshots"][-2]["hash"]
    with pytest.raises(changes.DuplicateName):
        changes.save(ws, "week-48")
    res = CliRunner().invoke(main, ["snapshot", "save", "week-48"])
    assert res.exit_code == 2 and "a snapshot named 'week-48' exists already" in res.output
    res = CliRunner().invoke(main, ["snapshot", "save", "sync-99"])
    assert res.exit_code == 2 and "'sync-99' is kept for the snapshot a sync saves" in res.output
    res = CliRunner().invoke(main, ["snapshot", "save", "q3"])
    assert res.exit_code == 0 and res.output.startswith("saved snapshot q3: 5 items, hash ")


def _edit_item(db: str, key: str, old: bytes, new: bytes) -> None:
    con = sqlite3.connect(db)
    for h, blob in con.execute("SELECT hash, blob FROM snapshot_items").fetchall():
        text = sn.decompress(blob)
        if f'"key":"{key}"'.encode() in text and old in text:
            con.execute("UPDATE snapshot_items SET blob = ? WHERE hash = ?", (sn.compress(text.replace(old, new)), h))
    con.commit()
    con.close()


def test_an_edited_item_is_detected_by_list_diff_and_api(three_syncs, workspace_dir):
    ws = three_syncs
    first, second, third = _names(ws)
    _edit_item(str(workspace_dir / "roadmap.db"), "A", b'"effort":2', b'"effort":3')   # A's version in the first
    listing = changes.listing(ws)
    assert [r["verified"] for r in listing["snapshots"]] == [False, True, True]
    assert len(listing["problems"]) == 1 and "its bytes do not match its hash (edited)" in listing["problems"][0]
    with pytest.raises(changes.TamperedSnapshot, match=f"snapshot {first} was tampered with"):
        changes.diff(ws, first, second)
    changes.diff(ws, second, third)                # the others still compare
    res = CliRunner().invoke(main, ["snapshot", "list"])
    assert res.exit_code == 1 and "TAMPERED" in res.output
    res = CliRunner().invoke(main, ["diff", first])
    assert res.exit_code == 2 and "tampered with" in res.output
    api = create_app(workspace=ws).test_client()
    got = api.get(f"/api/v1/diff?from={first}")
    assert got.status_code == 409 and got.get_json()["error"]["code"] == "snapshot-tampered"
    assert [r["verified"] for r in api.get("/api/v1/snapshots").get_json()["snapshots"]] == [False, True, True]


def test_an_edited_manifest_is_detected(three_syncs, workspace_dir):
    ws = three_syncs
    first, second, _third = _names(ws)
    con = sqlite3.connect(str(workspace_dir / "roadmap.db"))
    h, blob = con.execute("SELECT hash, manifest FROM snapshots WHERE name = ?", (second,)).fetchone()
    body = sn.header(blob)
    body["objectives"][0]["weight"] = 30        # revenue 3 -> 30, the hash left as it was

    con.execute("UPDATE snapshots SET manifest = ? WHERE hash = ?", (zlib.compress(sn.canonical(body)), h))
    con.commit()
    con.close()
    assert [r["verified"] for r in changes.listing(ws)["snapshots"]] == [True, False, True]
    with pytest.raises(changes.TamperedSnapshot):
        changes.diff(ws, first, second)


def test_cli_diff_attributes_an_effort_change_wholly_to_effort(three_syncs):
    first, second, _third = _names(three_syncs)
    res = CliRunner().invoke(main, ["diff", first, second, "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert set(data) == {"from", "to", "edits", "items"} and (data["from"], data["to"]) == (first, second)
    assert data["edits"] == [{"key": "A", "group": "effort", "field": "effort", "from": 2.0, "to": 8.0, "by": None}]
    items = {it["key"]: it for it in data["items"]}
    assert set(items["A"]) == {"key", "rank_from", "rank_to", "score_from", "score_to", "change", "status", "edited"}
    assert items["A"]["edited"] and not items["B"]["edited"]
    a = items["A"]
    assert (a["rank_from"], a["rank_to"], a["score_from"], a["score_to"], a["status"]) == (1, 3, 1.95, 0.4875, "moved")
    assert a["change"] == {"effort": pytest.approx(0.4875 - 1.95, abs=1e-12)}
    for it in data["items"]:
        assert set(it["change"]) <= {"effort"}
        assert abs(sum(it["change"].values()) - (it["score_to"] - it["score_from"])) < 1e-9
    assert [(k, items[k]["rank_from"], items[k]["rank_to"]) for k in "CB"] == [("C", 2, 1), ("B", 3, 2)]
    text = CliRunner().invoke(main, ["diff", first, second])
    assert text.exit_code == 0
    assert "inputs changed: effort" in text.output
    lines = text.output.splitlines()
    assert lines[1:3] == ["edits people made (1):", "  A (#1 -> #3): effort 2 -> 8"]
    assert "  A: #1 -> #3: effort -1.46 (effort 2 -> 8), overtaken by B, C" in text.output.splitlines()
    assert "moved up:" in text.output and "moved down:" in text.output


def test_cli_diff_attributes_a_kpi_value_to_kpi_values_on_every_item_it_feeds(three_syncs):
    _first, second, third = _names(three_syncs)
    data = json.loads(CliRunner().invoke(main, ["diff", second, third, "--format", "json"]).output)
    items = {it["key"]: it for it in data["items"]}
    # mrr fell from 140000 to 120000 (behind its expected progress): every item whose KPI
    # feeds mrr (A via activation, B via churn, C via nps) gains urgency; D has no estimate
    for key in "ABC":
        it = items[key]
        assert set(it["change"]) == {"kpi-values"} and it["change"]["kpi-values"] > 0, it
        assert abs(it["change"]["kpi-values"] - (it["score_to"] - it["score_from"])) < 1e-9
    assert items["D"]["status"] == "unchanged" and items["D"]["score_to"] == 0.0


def test_diff_to_now_by_hash_prefix_and_unknown_names(three_syncs):
    ws = three_syncs
    rows = changes.listing(ws)["snapshots"]
    d = changes.diff(ws, rows[1]["hash"][:8])
    assert d.to_name == "now" and d.from_name == rows[1]["name"]
    assert d.groups == ["kpi-values"]              # the second snapshot is after the effort change
    with pytest.raises(changes.UnknownSnapshot, match="known: " + ", ".join(r["name"] for r in rows)):
        changes.diff(ws, "last-week")
    res = CliRunner().invoke(main, ["diff", "last-week"])
    assert res.exit_code == 2 and "no snapshot named 'last-week'" in res.output


def test_moved_gives_each_ranked_items_rank_before_the_last_sync(workspace_dir, monkeypatch):
    ws = _ws(workspace_dir, monkeypatch)
    sync(ws)
    (workspace_dir / "initiatives.csv").write_text(A_EFFORT_8.replace("D,Churn research", "F,New idea,To Do,new,1,,"
                                                                      "nps +1%,,\nD,Churn research"))
    sync(ws)
    r = ranking(ws)
    assert changes.moved(ws, r) == {"C": 2, "B": 3, "A": 1, "F": None, "D": 4}
    before = changes.default_from(ws)["hash"]
    from app.ranking_inputs import FORMAT
    kept = store_snapshots.ranks(ws.store, before, FORMAT)          # stored by the sync that saved the snapshot
    assert kept == ["A", "C", "B", "D"]
    rescored = sn.rescore(store_snapshots.load(ws.store, before))   # what the column would score from the store
    assert kept == [rescored.backlog.keys[i] for i in rescored.ranked.tolist()]
    assert store_snapshots.ranks(ws.store, before, FORMAT + 1) is None               # scored another way: again
    changes._moved_cache.clear()                       # another process: reads them, scores nothing
    rescore = sn.rescore
    monkeypatch.setattr(sn, "rescore", lambda *a, **k: pytest.fail("re-scored a snapshot whose ranks are stored"))
    assert changes.moved(ws, r) == {"C": 2, "B": 3, "A": 1, "F": None, "D": 4}
    with ws.store.engine.begin() as c:                 # not kept (a store from before): scored once, then kept
        c.execute(store_snapshots.s.snapshot_ranks.delete())
    changes._moved_cache.clear()
    monkeypatch.setattr(sn, "rescore", rescore)
    assert changes.moved(ws, r) == {"C": 2, "B": 3, "A": 1, "F": None, "D": 4}
    assert store_snapshots.ranks(ws.store, before, FORMAT) == kept


def test_api_snapshots_and_diff(three_syncs, monkeypatch):
    ws = three_syncs
    first, second, _third = _names(ws)
    ws.settings.service.api_token_env = "ROADMAP_API_TOKEN"
    monkeypatch.setenv("ROADMAP_API_TOKEN", "tok-15")
    api = create_app(workspace=ws).test_client()
    got = api.get("/api/v1/snapshots").get_json()
    check("Snapshots", got)
    assert [r["name"] for r in got["snapshots"]] == [first, second, _third] and got["verified"] is True
    assert api.post("/api/v1/snapshots", json={"name": "q3"}).status_code == 401
    res = api.post("/api/v1/snapshots", json={"name": "q3"}, headers={"Authorization": "Bearer tok-15"})
    assert res.status_code == 201 and res.get_json()["name"] == "q3"
    check("Snapshot", res.get_json())
    res = api.post("/api/v1/snapshots", json={"name": "q3"}, headers={"Authorization": "Bearer tok-15"})
    assert res.status_code == 409
    res = api.post("/api/v1/snapshots", json={"nom": "x"}, headers={"Authorization": "Bearer tok-15"})
    assert res.status_code == 400
    diff = api.get(f"/api/v1/diff?from={first}&to={second}").get_json()
    check("Diff", diff)
    assert {it["key"]: it["change"] for it in diff["items"]}["A"] == {"effort": pytest.approx(-1.4625, abs=1e-12)}
    res = api.get("/api/v1/diff?from=nope")
    assert res.status_code == 400 and res.get_json()["error"]["code"] == "unknown-snapshot"
    assert f"known: {first}, {second}" in res.get_json()["error"]["message"]
    assert api.get("/api/v1/diff").status_code == 200      # default: before the last sync, to now


def test_changes_page_shows_the_movers_with_reasons(three_syncs):
    first, second, _third = _names(three_syncs)
    page = create_app(workspace=three_syncs).test_client().get(f"/changes?from={first}&to={second}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<a class="key" href="/initiatives/A"><strong>A</strong></a>' in html
    assert "#1 -&gt; #3: effort -1.46 (effort 2 -&gt; 8), overtaken by B, C" in html
    # the page leads with the edits people made, then the drift
    assert html.index("Edits people made (1)") < html.index("Drift and its effects") < html.index("Moved up")
    assert '<span class="chip">#1 -&gt; #3</span>' in html and "effort 2 -&gt; 8" in html
    assert "<script" not in html and "style=" not in html
    bad = create_app(workspace=three_syncs).test_client().get("/changes?from=%3Cb%3Enope")
    assert bad.status_code == 400 and "&lt;b&gt;nope" in bad.get_data(as_text=True)


def test_the_roadmap_page_moved_column_compares_with_the_snapshot_before_the_last_sync(workspace_dir, monkeypatch):
    from app import create_app
    ws = _ws(workspace_dir, monkeypatch)
    sync(ws)
    page = create_app(workspace=ws).test_client().get("/").get_data(as_text=True)
    assert "▲" not in page and "▼" not in page               # one sync: nothing moved since its snapshot
    (workspace_dir / "initiatives.csv").write_text(A_EFFORT_8)
    sync(ws)
    html = create_app(workspace=ws).test_client().get("/").get_data(as_text=True)
    # A: 1.95 at effort 2 -> 0.4875 at effort 8, #1 -> #3; C and B move up one each
    def moved(key):
        return re.search(rf'<tr data-key="{key}".*?<td class="n moved"[^>]*>(.*?)</td>', html, re.S).group(1)
    assert moved("A") == '<span class="down" title="was #1">▼ 2</span>'
    assert moved("C") == '<span class="up" title="was #2">▲ 1</span>'
    assert moved("B") == '<span class="up" title="was #3">▲ 1</span>'
