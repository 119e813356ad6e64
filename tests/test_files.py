"""The csv / json file connectors through the real sync: malformed rows are skipped,
counted and reported with their row number; the rest goes in."""
from __future__ import annotations

import json

import pytest

from app.config import load_settings
from app.services import Workspace, items, ranking
from app.services.sync import sync


def run(ws_dir, **kw):
    ws = Workspace(load_settings(ws_dir / "roadmap.toml"))
    return ws, {r.connector: r for r in sync(ws, **kw)}


def test_csv_initiatives_and_observations_sync_and_rank(workspace_dir):
    ws, reports = run(workspace_dir)
    assert (reports["backlog"].initiatives, reports["backlog"].skipped) == (5, [])
    assert reports["obs"].observations == 6 and reports["obs"].status == "ok"
    r = ranking(ws)
    assert [(it["key"], it["score"]) for it in r.items()] == [("A", 1.95), ("C", 1.625), ("B", 0.975), ("D", 0.0)]  # docs/model.md
    assert items(ws, r)[0]["url"] == "https://acme.atlassian.net/browse/A"   # text joined by the services


def test_malformed_rows_are_skipped_with_their_row_number(workspace_dir):
    (workspace_dir / "initiatives.csv").write_text(
        "key,title,status_category,effort,confidence,impact\n"
        "A,Good one,new,2,80%,activation +10%\n"
        ",No key,new,1,,\n"
        "C,Bad category,someday,1,,\n"
        "A,Duplicate key,new,1,,\n"
        "E,Odd numbers,new,lots,very,activation +1%; ???\n"
        "F,Too many cells,new,1,,,extra\n")
    ws, reports = run(workspace_dir, connector="backlog")
    rep = reports["backlog"]
    assert rep.initiatives == 2
    assert rep.skipped == [
        ("initiatives.csv row 3", "no key"),
        ("initiatives.csv row 4", "status_category 'someday' is not new, indeterminate or done"),
        ("initiatives.csv row 5", "key A repeats row 2"),
        ("initiatives.csv row 7", "has more cells than the header row"),
    ]
    e = ranking(ws).item(ranking(ws).index_of("E"))
    assert e["flags"] == ["unreadable-effort", "unreadable-confidence", "unreadable-impact:2", "effort-defaulted"]


def test_malformed_observations_are_skipped_and_other_kpis_reported(workspace_dir):
    (workspace_dir / "observations.csv").write_text(
        "kpi,date,value\nnps,2026-07-01,40\nnps,July 2,41\nmrr,2026-07-01,abc\nmrr,2026-07-01,nan\n"
        "activation,20260701,0.3\nchurn,2026-07-01,0.04\nvisits,2026-07-01,9\nvisits,2026-07-02,9\n")
    ws, reports = run(workspace_dir, connector="obs")
    rep = reports["obs"]
    assert rep.skipped[:3] == [
        ("observations.csv row 3", "date 'July 2' is not a date (YYYY-MM-DD)"),
        ("observations.csv row 4", "'abc' is not a finite number"),
        ("observations.csv row 5", "'nan' is not a finite number"),
    ]
    assert rep.skipped[3] == ("observations.csv", "2 rows for 'visits', which is not a KPI fed by connector 'obs'")
    assert rep.failures == [("mrr", "observations.csv has no rows for KPI 'mrr'")]
    assert rep.status == "partial" and rep.observations == 3
    assert ws.store.history("activation")[0][1] == 0.3


def test_json_files_hold_lists_of_objects(workspace_dir):
    (workspace_dir / "items.json").write_text(json.dumps({"initiatives": [
        {"key": "J-1", "title": "From JSON", "effort": 2, "impact": ["activation +10% @80%"], "labels": ["kpi:nps"]},
        {"key": "J-2"},
        "not an object",
    ]}))
    toml = (workspace_dir / "roadmap.toml").read_text().replace(
        'type = "csv"\npath = "initiatives.csv"', 'type = "json"\npath = "items.json"')
    (workspace_dir / "roadmap.toml").write_text(toml)
    ws, reports = run(workspace_dir)
    assert reports["backlog"].skipped == [("items.json item 2", "no title"), ("items.json item 3", "is not an object")]
    it = ranking(ws).items()[0]
    assert it["key"] == "J-1" and it["impact"] == 3.9 and it["flags"] == ["unestimated-link:nps"]


def test_a_missing_file_fails_that_source_and_keeps_its_last_good_data(workspace_dir):
    ws, _ = run(workspace_dir)
    (workspace_dir / "initiatives.csv").unlink()
    ws, reports = run(workspace_dir)
    assert reports["backlog"].status == "failed"
    assert "file not found" in reports["backlog"].failures[0][1]
    assert reports["obs"].status == "ok"              # the other source went on
    assert [it["key"] for it in ranking(ws).items()] == ["A", "C", "B", "D"]


def test_a_crash_mid_sync_leaves_the_last_ranking(workspace_dir, monkeypatch):
    ws, _ = run(workspace_dir)
    (workspace_dir / "initiatives.csv").write_text("key,title,impact\nNEW,Only one,nps +1%\n")
    from connectors import files

    def boom(self, run, rows):
        run.initiatives([files.initiative_from(next(iter(rows))[1])])
        raise KeyboardInterrupt
    monkeypatch.setattr(files._FileConnector, "_initiatives", boom)
    with pytest.raises(KeyboardInterrupt):
        run(workspace_dir, connector="backlog")
    ws2 = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    assert [it["key"] for it in ranking(ws2).items()] == ["A", "C", "B", "D"]
    assert ws2.store.runs(1)[0]["status"] == "failed"


@pytest.mark.parametrize("content, what", [
    ("", "initiatives.csv is empty; nothing was changed"),
    ("key,title,effort\n", "initiatives.csv has a header but no rows; nothing was changed"),
    ("Issue key,Summary\nA,Something\n", "initiatives.csv has no column key or title in its header row "
     "(found: issue key, summary); a file of initiatives needs key, title; nothing was changed"),
    ("key,title\n,no key\n", "initiatives.csv has no readable row (all 1 were skipped); nothing was changed"),
])
def test_an_empty_header_only_or_wrong_header_file_fails_and_removes_nothing(workspace_dir, content, what):
    run(workspace_dir)
    (workspace_dir / "initiatives.csv").write_text(content)
    ws, reports = run(workspace_dir, connector="backlog")
    assert reports["backlog"].status == "failed"
    assert reports["backlog"].failures == [("backlog", what)]
    assert [it["key"] for it in ranking(ws).items()] == ["A", "C", "B", "D"]     # the last good data


def test_an_empty_json_list_and_an_observations_file_without_rows_fail(workspace_dir):
    run(workspace_dir)
    (workspace_dir / "observations.csv").write_text("kpi,date,value\n")
    (workspace_dir / "items.json").write_text('{"initiatives": []}')
    toml = (workspace_dir / "roadmap.toml").read_text().replace(
        'type = "csv"\npath = "initiatives.csv"', 'type = "json"\npath = "items.json"')
    (workspace_dir / "roadmap.toml").write_text(toml)
    ws, reports = run(workspace_dir)
    assert reports["backlog"].failures == [("backlog", "items.json has a header but no rows; nothing was changed")]
    assert reports["obs"].failures == [("obs", "observations.csv has a header but no rows; nothing was changed")]
    assert ws.store.history("activation")                                      # kept


def test_team_and_mandatory_columns_are_read():
    from connectors.files import initiative_from
    rows = [{"key": "A", "title": "a", "team": " growth ", "mandatory": "yes"},
            {"key": "B", "title": "b", "team": "", "mandatory": "0"},
            {"key": "C", "title": "c", "mandatory": True}, {"key": "D", "title": "d", "mandatory": "TRUE"}]
    assert [(r.team, r.mandatory) for r in map(initiative_from, rows)] == \
        [("growth", True), ("", False), ("", True), ("", True)]


def test_large_files_are_streamed_not_held(tmp_path):
    """Rows are handed on as they are read: when the first batch is staged, only that
    batch has been read from the file (CSV line by line, JSON in 64 KiB chunks)."""
    import io

    from connectors import jsonstream
    from connectors.base import KpiSource
    from connectors.files import BATCH, CsvConnector, FileOptions, JsonConnector
    rows = 3 * BATCH
    day = lambda n: f"{2000 + n // 336}-{1 + n % 336 // 28:02d}-{1 + n % 28:02d}"  # noqa: E731
    (tmp_path / "obs.csv").write_text("kpi,date,value\n" + "".join(f"k,{day(n)},{n}\n" for n in range(rows)))
    (tmp_path / "obs.json").write_text(json.dumps({"observations": [
        {"kpi": "k", "date": day(n), "value": n} for n in range(rows)]}))

    class FirstBatch:
        kpis, full, bookmark, resume = [KpiSource("k", {})], True, None, None

        def observations(self, kpi, got):
            raise StopIteration(len(got))

        def skip(self, *a):
            pass

        def progress(self, *a):
            pass
    for cls, name in ((CsvConnector, "obs.csv"), (JsonConnector, "obs.json")):
        conn = cls("obs", FileOptions(path=str(tmp_path / name), holds="observations"))
        read = []
        rows_of = conn._rows
        conn._rows = lambda: (read.append(1) or row for row in rows_of())
        with pytest.raises(StopIteration) as stop:
            conn.pull(FirstBatch())
        assert stop.value.value == BATCH and len(read) == BATCH          # not the whole file first
    reads = []

    class Counting(io.StringIO):
        def read(self, n=-1):
            reads.append(n)
            return super().read(n)
    text = (tmp_path / "obs.json").read_text()
    first = next(jsonstream.items(Counting(text), ("observations",)))
    assert first == {"kpi": "k", "date": "2000-01-01", "value": 0}
    assert reads == [1 << 16] and len(text) > 4 * (1 << 16)              # one chunk of a much larger file
