"""Every command of docs/cli.md as a user runs it: output, formats and exit statuses."""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main


@pytest.fixture
def synced(cli):
    res = cli("sync")
    assert res.exit_code == 0, res.output
    return cli


def test_sync_prints_one_summary_line(cli):
    res = cli("sync")
    assert res.exit_code == 0
    assert res.output.startswith("synced 2 connector(s): 5 initiatives, 6 observations, 0 removed, 0 skipped, 0 failed in ")


def test_score_json_is_the_contract_object(synced):
    res = synced("score", "--format", "json")
    data = json.loads(res.output)
    assert (data["as_of"], data["method"], data["total"]) == ("2026-07-02", "kpi-impact", 4)
    a, c = data["items"][:2]
    # docs/model.md worked example: A 1.95, C 1.625, B 0.975, D 0
    assert a == {"rank": 1, "key": "A", "title": "Guided onboarding", "status": "To Do",
                 "url": "https://acme.atlassian.net/browse/A", "score": 1.95, "impact": 3.9, "effort": 2.0,
                 "effort_defaulted": False, "flags": [],
                 "links": [{"kpi": "activation", "lift": 0.1, "confidence": 0.8}],
                 "contributions": [{"kpi": "activation", "objective": "revenue", "impact": 3.9}]}
    assert c == {"rank": 2, "key": "C", "title": "NPS survey in app", "status": "In Progress", "url": "",
                 "score": 1.625, "impact": 1.625, "effort": 1.0, "effort_defaulted": False, "flags": [],
                 "links": [{"kpi": "nps", "lift": 0.2, "confidence": 0.5}],
                 "contributions": [{"kpi": "nps", "objective": "revenue", "impact": 0.375},
                                   {"kpi": "nps", "objective": "delight", "impact": 1.25}]}
    assert [(it["key"], it["score"]) for it in data["items"]] == [("A", 1.95), ("C", 1.625), ("B", 0.975),
                                                                  ("D", 0.0)]


def test_score_table_csv_limit_and_include_done(synced):
    table = synced("score").output.splitlines()
    assert table[0].split() == ["rank", "key", "title", "score", "impact", "effort", "flags"]
    assert table[2].split()[:2] == ["1", "A"] and table[-1] == "4 ranked by kpi-impact as of 2026-07-02"
    rows = list(csv.DictReader(io.StringIO(synced("score", "--format", "csv", "--limit", "2").output)))
    assert [(r["rank"], r["key"], r["score"]) for r in rows] == [("1", "A", "1.95"), ("2", "C", "1.625")]
    done = json.loads(synced("score", "--format", "json", "--include-done").output)
    assert done["total"] == 5 and done["items"][0]["key"] == "E"


def test_score_as_of_moves_the_current_value(synced):
    # on 2026-07-03 nps reads 60 (still met); before 2026-07-01 nothing was observed for mrr
    early = json.loads(synced("score", "--format", "json", "--as-of", "2026-06-30").output)
    assert early["as_of"] == "2026-06-30"
    a = next(it for it in early["items"] if it["key"] == "A")
    # mrr has no data: x = baseline, p = 0 against π = 180/364, u_mrr = 1 + 180/364;
    # activation reads 0.31: p = 0.1, u_act = 1 + 180/364 - 0.1; I = 0.08 · u_act · 0.5 · u_mrr · 75
    assert a["impact"] == pytest.approx(3.0 * (0.9 + 180 / 364) * (1 + 180 / 364), abs=1e-9)


def test_score_by_another_method(synced):
    data = json.loads(synced("score", "--format", "json", "--method", "wsjf").output)
    assert data["method"] == "wsjf" and all("missing-factor:business_value" in it["flags"] for it in data["items"])


def test_rice_reads_factor_columns_from_the_file(cli, workspace_dir):
    (workspace_dir / "initiatives.csv").write_text(
        "key,title,effort,confidence,reach,factor_impact\n"
        "P1,Project 1,2,100%,450,3\nP2,Project 2,4,80%,2000,1\nP3,Project 3,1,50%,800,2\n")
    assert cli("sync").exit_code == 0
    data = json.loads(cli("score", "--format", "json", "--method", "rice").output)
    assert [(it["key"], it["score"], it["flags"]) for it in data["items"]] == [
        ("P3", 800.0, []), ("P1", 675.0, []), ("P2", 400.0, [])]
    assert data["items"][1]["factors"] == {"reach": 450.0, "factor_impact": 3.0, "confidence": 1.0, "effort": 2.0}


def test_explain_text_and_json(synced):
    text = synced("explain", "A").output
    assert "A  Guided onboarding" in text and "#1 of 4" in text
    assert "activation ×1.30: 20 % of the way, 50 % expected by now" in text
    assert "mrr ×1.00: 80 % of the way, 50 % expected by now" in text
    assert "forecast (expected, confidence-weighted):" in text
    assert "activation           -> revenue" in text
    assert "activation -> mrr -> revenue" in text
    assert "Activation: 32.0% -> 34.6%" not in text  # KPI has no name: its id is shown
    assert "activation: 32.0% -> 34.6%" in text     # 0.32 · (1 + 0.08)
    data = json.loads(synced("explain", "A", "--format", "json").output)
    assert data["rank"] == 1 and data["total"] == 4
    assert [f["kpi"] for f in data["forecasts"]] == ["activation", "mrr"]
    assert data["forecasts"][1]["forecast"] == pytest.approx(140000 * 1.04)
    # the path carries u_activation · 0.5 · u_mrr · 1.0 = 1.3 · 0.5 · 1 · 1 = 0.65: 0.08 · 0.65 · 75 = 3.9
    path = data["paths"][0]
    assert (path["path"], path["weight"], path["impact"]) == (["activation", "mrr", "revenue"], pytest.approx(0.65),
                                                              pytest.approx(3.9))
    assert [(u["kpi"], u["urgency"]) for u in path["urgency"]] == [("activation", pytest.approx(1.3)), ("mrr", 1.0)]
    assert path["urgency"][0]["why"] == "20 % of the way, 50 % expected by now"
    d = json.loads(synced("explain", "D", "--format", "json").output)
    assert d["flags"][0]["flag"] == "unestimated-link:churn" and "churn -5% @50%" in d["flags"][0]["fix"]
    res = synced("explain", "NOPE")
    assert res.exit_code == 2 and "no initiative with key 'NOPE'" in res.output


def test_kpis_table_and_json(synced):
    data = json.loads(synced("kpis", "--format", "json").output)
    by_id = {k["id"]: k for k in data["kpis"]}
    assert by_id["mrr"] == {"id": "mrr", "name": "mrr", "unit": "", "direction": "up", "current": 140000.0,
                            "current_date": "2026-07-01", "baseline": 100000.0, "target": 150000.0,
                            "progress": pytest.approx(0.8), "expected_progress": 0.5, "status": "on-track",
                            "urgency": 1.0, "window": "value of 2026-07-01"}
    assert by_id["nps"]["status"] == "met" and by_id["nps"]["urgency"] == 0.5
    assert by_id["churn"]["status"] == "off-track" and by_id["churn"]["urgency"] == pytest.approx(1.3)
    table = synced("kpis").output
    assert "activation" in table and "32.0%" in table and "off-track" in table


def test_init_writes_a_starter_that_works_end_to_end(tmp_path, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    runner = CliRunner()
    res = runner.invoke(main, ["init", str(tmp_path / "new")])
    assert res.exit_code == 0 and "wrote" in res.output
    cfg = str(tmp_path / "new" / "roadmap.toml")
    assert runner.invoke(main, ["sync", "--config", cfg]).exit_code == 0
    data = json.loads(runner.invoke(main, ["score", "--config", cfg, "--format", "json", "--as-of", "2026-07-02"]).output)
    assert [it["key"] for it in data["items"]][:2] == ["ROAD-1", "ROAD-2"]
    again = runner.invoke(main, ["init", str(tmp_path / "new")])
    assert again.exit_code == 2 and "already exists; pass --force" in again.output


def test_bad_config_exits_2_with_located_problems_and_no_traceback(cli, workspace_dir):
    (workspace_dir / "roadmap.toml").write_text("[scoring]\ndefault_effort = 0\n[[kpis]]\nid = 'a'\nbaseline = 'x'\n")
    res = cli("score")
    assert res.exit_code == 2
    assert "scoring.default_effort: input should be greater than 0" in res.output
    assert "kpis[0].baseline: input should be a valid number" in res.output
    assert "Traceback" not in res.output


def test_graph_errors_stop_every_command_but_check_reports_them(synced, workspace_dir):
    toml = (workspace_dir / "roadmap.toml").read_text()
    (workspace_dir / "roadmap.toml").write_text(toml + '\n[[edges]]\nfrom = "mrr"\nto = "activation"\nweight = 0.1\n')
    for args in (["score"], ["sync"], ["explain", "A"]):
        res = synced(*args)
        assert res.exit_code == 2 and "cycle: activation -> mrr -> activation" in res.output
    res = synced("check", "--format", "json")
    assert res.exit_code == 1
    errors = [f for f in json.loads(res.output)["findings"] if f["level"] == "error"]
    assert errors == [{"level": "error", "code": "cycle", "subject": "activation -> mrr -> activation",
                       "message": "the goal graph has a cycle: activation -> mrr -> activation"}]


def test_failing_source_exits_3_and_keeps_data(synced, workspace_dir):
    (workspace_dir / "observations.csv").unlink()
    res = synced("sync")
    assert res.exit_code == 3
    assert "obs: FAILED: file not found" in res.output and "kept the last good data" in res.output
    assert json.loads(synced("kpis", "--format", "json").output)["kpis"][2]["current"] == 140000.0


def test_unknown_connector_option_is_usage_error(synced):
    res = synced("sync", "--connector", "jira")
    assert res.exit_code == 2 and "no connector named 'jira'" in res.output
    assert synced("score", "--format", "xml").exit_code == 2


def test_demo_builds_the_sample_through_sync_and_prints_the_ranking(tmp_path):
    res = CliRunner().invoke(main, ["demo", "--no-serve", "--dir", str(tmp_path / "demo")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[1].startswith("synced 2 connector(s): 68 initiatives, ")   # 65 before the three launched ones
    assert "0 skipped, 0 failed" in lines[1]
    assert lines[-2].startswith("61 ranked by kpi-impact as of 2026-11-20")
    assert lines[-1].startswith("outcomes: 7 launched, 3 estimates moved their KPI, 4 did not, 1 still measuring; "
                                "track records: alice x0.37, bob x1.55")
    assert (tmp_path / "demo" / "roadmap.db").exists()


def test_config_before_the_command_means_the_same(workspace_dir):
    cfg = str(workspace_dir / "roadmap.toml")
    runner = CliRunner()
    assert runner.invoke(main, ["sync", "--config", cfg]).exit_code == 0
    before = runner.invoke(main, ["--config", cfg, "score", "--format", "json"])
    after = runner.invoke(main, ["score", "--format", "json", "--config", cfg])
    assert before.exit_code == 0, before.output
    assert before.output == after.output
    assert '"key": "A"' in before.output


def test_help_and_init_do_not_import_the_heavy_libraries(tmp_path):
    import subprocess
    code = ("import sys; from app.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('numpy', 'scipy', 'sqlalchemy', 'networkx', 'pydantic') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_the_cli_method_choices_are_the_registered_scorers():
    from app.cli.main import METHODS as CLI_METHODS
    from scoring.ranking import METHODS
    assert tuple(CLI_METHODS) == tuple(METHODS)


def test_connectors_lists_built_ins_and_broken_plugins(monkeypatch):
    from connectors.base import registry
    monkeypatch.setitem(registry.broken, "broken", "ImportError: No module named 'nowhere'")
    res = CliRunner().invoke(main, ["connectors"])
    assert res.exit_code == 0
    assert "jira         built-in  connectors.jira.connector:JiraConnector" in res.output
    assert "broken       FAILED    ImportError: No module named 'nowhere'" in res.output
