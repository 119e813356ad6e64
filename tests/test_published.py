"""The published ranking (docs/model.md, "The published ranking"): scored once per set of
inputs, stored, read by every view; a change to any input group gives a fresh ranking and
an unchanged one reads the stored ranking (the computations are counted)."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import config_cache, fastpath, ranking_inputs
from app.cli import main
from app.services import Workspace, compute_ranking, published
from app.services.sync import sync
from app.store import published as store_pub

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ROADMAP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)


def _ws(d: Path) -> Workspace:
    return Workspace(config_cache.load(d / "roadmap.toml"))


def _synced(d: Path) -> Workspace:
    ws = _ws(d)
    sync(ws)
    return ws


def _computed() -> int:
    return published.COMPUTED[0]


def test_a_sync_publishes_and_every_read_reads_it(workspace_dir):
    before = _computed()
    ws = _synced(workspace_dir)
    assert _computed() == before + 1                     # scored once, at publish
    r = published.ranking(ws)
    assert [r.backlog.keys[i] for i in r.ranked] == ["A", "C", "B", "D"]   # the worked example
    assert float(r.score[r.index_of("A")]) == 1.95
    again = _ws(workspace_dir)                           # another process: read from the store
    published.ranking(again)
    runner = CliRunner()
    for args in (["--format", "json", "--limit", "2"], ["--format", "csv"], []):
        assert runner.invoke(main, ["score", "--config", str(workspace_dir / "roadmap.toml"), *args]).exit_code == 0
    assert _computed() == before + 1


def _edit(d: Path, old: str, new: str) -> None:
    p = d / "roadmap.toml"
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))


CHANGES = {   # one per input group: how to change it in the config file
    "urgency": ("[scoring]\n", "[scoring]\nurgency = 2.0\n"),
    "met_target_factor": ("[scoring]\n", "[scoring]\nmet_target_factor = 0.25\n"),
    "default_confidence": ("[scoring]\n", "[scoring]\ndefault_confidence = 0.9\n"),
    "default_effort": ("[scoring]\n", "[scoring]\ndefault_effort = 3\n"),
    "as_of in the config": ("as_of = 2026-07-02", "as_of = 2026-08-02"),
    "method in the config": ("[scoring]\n", '[scoring]\nmethod = "rice"\n'),
    "objective weight": ('id = "revenue"\nweight = 3', 'id = "revenue"\nweight = 4'),
    "KPI target": ("target = 0.40", "target = 0.45"),
    "KPI direction": ('id = "nps"\n', 'id = "nps"\ndirection = "down"\n'),
    "KPI window": ('id = "activation"\n', 'id = "activation"\nwindow_days = 7\naggregate = "mean"\n'),
    "edge weight": ('to = "mrr"\nweight = 0.5', 'to = "mrr"\nweight = 0.6'),
    "new edge": ("[connectors.backlog]", '[[edges]]\nfrom = "activation"\nto = "delight"\nweight = 0.2\n\n'
                                         "[connectors.backlog]"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_each_config_input_group_gives_a_fresh_ranking(workspace_dir, change):
    ws = _synced(workspace_dir)
    key = published.key_of(ws)[0]
    _edit(workspace_dir, *CHANGES[change])
    fresh = _ws(workspace_dir)
    n = _computed()
    published.ranking(fresh)
    assert _computed() == n + 1, change
    assert published.key_of(fresh)[0] != key
    published.ranking(_ws(workspace_dir))                # and then it is stored
    assert _computed() == n + 1


@pytest.mark.parametrize("change", ["a comment", "service port", "alignment", "a connector's path", "KPI source"])
def test_a_config_change_that_is_no_input_reads_the_stored_ranking(workspace_dir, change):
    ws = _synced(workspace_dir)
    key = published.key_of(ws)[0]
    edits = {"a comment": ("[scoring]\n", "# a note\n[scoring]\n"),
             "service port": ("[scoring]\n", "[service]\nport = 9999\n\n[scoring]\n"),
             "alignment": ("[scoring]\n", "[alignment]\nstale_days = 30\n\n[scoring]\n"),
             "a connector's path": ('path = "observations.csv"', 'path = "./observations.csv"'),
             "KPI source": ('id = "nps"\nbaseline = 30\ntarget = 50\nsource = { connector = "obs" }',
                            'id = "nps"\nbaseline = 30\ntarget = 50\nsource = { connector = "obs", x = 1 }')}
    _edit(workspace_dir, *edits[change])
    fresh = _ws(workspace_dir)
    n = _computed()
    published.ranking(fresh)
    assert _computed() == n and published.key_of(fresh)[0] == key, change


def test_request_and_store_inputs_give_a_fresh_ranking(workspace_dir, monkeypatch):
    ws = _synced(workspace_dir)
    n = _computed()

    def fresh(**kw) -> None:
        nonlocal n
        published.ranking(ws, **kw)
        assert _computed() == n + 1, kw
        published.ranking(ws, **kw)
        assert _computed() == n + 1, kw           # stored now
        n += 1
    fresh(as_of=date(2026, 7, 9))
    fresh(method="ice")
    fresh(include_done=True)
    store_pub.bump_inputs(ws.store)               # what calibration factors and estimates written outside a sync do
    fresh()
    with ws.store.engine.begin() as c:            # an estimate added on the web
        from sqlalchemy import text
        c.execute(text("INSERT INTO estimates (key, kpi, low, high, confidence, unit, by_name, by_key, line, source, "
                       "blind, created_at) VALUES ('A', 'activation', 0.2, 0.2, 0.5, 0, 'Ann', 'ann', '', 'web', "
                       ":f, :t)"), {"f": False, "t": "2026-07-01 00:00:00"})
    fresh()
    (workspace_dir / "initiatives.csv").write_text((workspace_dir / "initiatives.csv").read_text()
                                                   + "F,New idea,To Do,new,1,,nps +5%,,\n")
    sync(ws)                                      # a new data version: the sync publishes it
    assert _computed() == n + 1
    n += 1
    published.ranking(ws)
    assert _computed() == n
    monkeypatch.setattr(ranking_inputs, "FORMAT", ranking_inputs.FORMAT + 1)   # the scoring code changed
    fresh()


def test_the_stored_ranking_is_the_computed_one(workspace_dir):
    ws = _synced(workspace_dir)
    stored = published.ranking(_ws(workspace_dir))
    assert getattr(stored, "published_key", None)
    computed = compute_ranking(ws)
    assert stored.ranked.tolist() == computed.ranked.tolist()
    assert [stored.item(i) for i in stored.ranked] == [computed.item(i) for i in computed.ranked]
    assert stored.objective_impact.tolist() == computed.objective_impact.tolist()


def _run(args: list[str], cwd: Path, env_extra: dict) -> str:
    import os
    env = dict(os.environ, PYTHONPATH=str(ROOT), **env_extra)
    out = subprocess.run([sys.executable, "-m", "app", *args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("args", [["--format", "json", "--limit", "3"], ["--format", "csv"],
                                  ["--format", "csv", "--limit", "2"], ["--format", "json", "--limit", "0"],
                                  ["--format", "csv", "--as-of", "2026-07-09", "--method", "ice"]])
def test_the_fast_path_prints_what_the_full_cli_prints(workspace_dir, args, tmp_path):
    _synced(workspace_dir)
    cfg = str(workspace_dir / "roadmap.toml")
    full = CliRunner().invoke(main, ["score", "--config", cfg, *args])
    assert full.exit_code == 0
    assert fastpath.answer(["score", "--config", cfg, *args]) == full.output       # read from the store
    env = {"ROADMAP_CACHE_DIR": str(tmp_path / "cache")}
    assert _run(["--config", cfg, "score", *args], workspace_dir, env) == full.output


def test_python_m_app_cli_answers_score_from_the_store_too(workspace_dir, tmp_path):
    import os
    _synced(workspace_dir)
    cfg = str(workspace_dir / "roadmap.toml")
    args = ["score", "--config", cfg, "--format", "json", "--limit", "3"]
    full = CliRunner().invoke(main, args)
    assert full.exit_code == 0
    env = dict(os.environ, PYTHONPATH=str(ROOT), ROADMAP_CACHE_DIR=str(tmp_path / "cache"))
    CliRunner().invoke(main, args)                    # the config cache entry: in place, as after any command
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "app.cli", *args], cwd=workspace_dir, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == full.output
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "app.fastpath" in imported
    assert not imported & {"numpy", "sqlalchemy", "pydantic", "scoring.ranking"}      # read, not scored
    usage = subprocess.run([sys.executable, "-m", "app.cli", "score", "--bogus"], cwd=workspace_dir, env=env,
                           capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "Usage: python -m app.cli score [OPTIONS]" in usage.stderr


def test_the_fast_path_leaves_what_it_does_not_handle_to_the_cli(workspace_dir):
    _synced(workspace_dir)
    cfg = str(workspace_dir / "roadmap.toml")
    for args in (["score"], ["score", "--format", "table"], ["score", "--format", "json"], ["kpis"],
                 ["score", "--format", "csv", "--limit", "-1"], ["score", "--as-of", "2026-7-2", "--format", "csv"],
                 ["score", "--format", "csv", "--method", "nope"], ["score", "--format", "csv", "--bogus"]):
        assert fastpath.answer([*args, "--config", cfg]) is None, args
    assert fastpath.METHODS == tuple(__import__("app.cli.main", fromlist=["METHODS"]).METHODS)


def test_the_head_of_a_stored_text_reads_as_the_whole():
    import random
    rng = random.Random(11)
    letters = ["a", "é", "€", "😀", "\n", '"', ","]
    items = [{"key": f"K{n}", "title": "".join(rng.choice(letters) for _ in range(rng.randint(0, 300)))}
             for n in range(120)]
    blob = ranking_inputs.pack_text(*ranking_inputs.item_texts(items))
    whole, ends = ranking_inputs.unpack_text(blob)
    for limit in (1, 2, 50, 119, 120, 500):
        head, head_ends = ranking_inputs.unpack_head(blob, limit)
        assert list(head_ends) == list(ends)
        assert ranking_inputs.items_slice(head, head_ends, 0, limit) == ranking_inputs.items_slice(whole, ends, 0, limit)
        assert ranking_inputs.csv_head(head, head_ends, limit) == ranking_inputs.csv_head(whole, ends, limit)
        assert json.loads("[" + ranking_inputs.items_slice(head, head_ends, 0, limit) + "]") == items[:limit]
    assert len(ranking_inputs.unpack_head(blob, 2)[0]) == ends[1] < len(whole)      # only the head decompressed


def test_csv_columns_escape_like_csv_writer():
    import csv
    import random
    from app import render
    rng = random.Random(5)
    alphabet = ['a', 'b', ',', '"', '\n', '\r', '\t', '=', '+', '-', '@', ' ', 'é', "'", '\x00']
    cells = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(3000)]
    want = io.StringIO()
    csv.writer(want, lineterminator="\n").writerows([[render.csv_cell(c), "x"] for c in cells])
    assert "".join(g + ",x\n" for g in render.csv_column(cells)) == want.getvalue()
    plain = [f"cell {n}" for n in range(100)]
    assert render.csv_column(plain) is plain              # nothing to change: the column as it is


def test_the_config_cache_is_keyed_by_the_files_content(workspace_dir):
    cfg = workspace_dir / "roadmap.toml"
    s0 = dict(config_cache.STATS)
    a = config_cache.load(cfg)
    b = config_cache.load(cfg)
    assert config_cache.STATS["parsed"] == s0["parsed"] + 1 and config_cache.STATS["cached"] == s0["cached"] + 1
    assert b.model_dump() == a.model_dump() and b.path == a.path
    assert config_cache.summary(cfg)["digest"] == ranking_inputs.config_digest(a)
    Workspace(b).graph                                   # built once, then kept with the entry
    assert config_cache.graph_of(config_cache.load(cfg)).kpi_order == Workspace(a).graph.kpi_order
    _edit(workspace_dir, "weight = 3", "weight = 5")     # a changed file is parsed again
    c = config_cache.load(cfg)
    assert config_cache.STATS["parsed"] == s0["parsed"] + 2
    assert c.objectives[0].weight == 5 and Workspace(c).graph.objectives[0].weight == 5
    _edit(workspace_dir, "[scoring]", "[scoring\n")      # a broken file is refused, never served from the cache
    from app.config import ConfigError
    with pytest.raises(ConfigError):
        config_cache.load(cfg)


def test_a_cache_entry_writable_by_others_is_not_read(workspace_dir, tmp_path):
    cfg = workspace_dir / "roadmap.toml"
    config_cache.load(cfg)
    for f in (tmp_path / "cache").iterdir():
        f.chmod(0o666)
    assert config_cache.summary(cfg) is None              # the fast path does not trust it
    n = config_cache.STATS["parsed"]
    config_cache.load(cfg)                                # parsed again, and written back private
    assert config_cache.STATS["parsed"] == n + 1
    assert config_cache.summary(cfg) is not None


def test_the_api_serves_the_stored_items(workspace_dir):
    from app import create_app
    ws = _synced(workspace_dir)
    client = create_app(workspace=_ws(workspace_dir)).test_client()
    n = _computed()
    got = client.get("/api/v1/roadmap?limit=3").get_json()
    assert [it["key"] for it in got["items"]] == ["A", "C", "B"] and got["total"] == 4
    from app import services
    assert got["items"] == json.loads(json.dumps(services.items(ws, compute_ranking(ws), 0, 3)))
    csv_text = client.get("/api/v1/roadmap.csv").get_data(as_text=True)
    assert csv_text.splitlines()[1].startswith("1,A,Guided onboarding,To Do,1.95,3.9,2.0,,")
    client.get("/")
    assert _computed() == n
