"""`roadmap check`: every finding code, its level, and the exit status rules."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli import main


def check(workspace_dir, *extra):
    CliRunner().invoke(main, ["sync", "--config", str(workspace_dir / "roadmap.toml")])
    res = CliRunner().invoke(main, ["check", "--config", str(workspace_dir / "roadmap.toml"), *extra])
    return res


def test_worked_example_findings_and_allocation_by_hand(workspace_dir):
    res = check(workspace_dir, "--format", "json")
    data = json.loads(res.output)
    got = [(f["level"], f["code"], f["subject"]) for f in data["findings"]]
    assert got == [
        ("warning", "kpi-not-smart", "nps"),
        ("warning", "allocation-drift", "delight"),
        ("warning", "allocation-drift", "revenue"),
        ("info", "kpi-off-track", "activation"),
        ("info", "kpi-off-track", "churn"),
        ("info", "unestimated-link", "D"),
    ]
    # effort split by contribution size: A 2 and B 4 to revenue, C 1 as 0.75 : 1.25, D none
    alloc = {a["objective"]: a for a in data["allocation"]}
    assert alloc["revenue"]["effort_share"] == pytest.approx(6.375 / 7)
    assert alloc["delight"]["effort_share"] == pytest.approx(0.625 / 7)
    assert alloc["revenue"]["weight_share"] == 0.75
    assert res.exit_code == 0                     # warnings only
    assert check(workspace_dir, "--strict").exit_code == 1
    messages = {f["code"]: f["message"] for f in data["findings"]}
    assert messages["kpi-not-smart"] == ("KPI 'nps' is not SMART: no start, no deadline; "
                                         "set them so progress can be judged against time")
    assert messages["allocation-drift"] == ("objective 'revenue' gets 91% of the ranked effort against 75% of "
                                            "the strategy's weight (tolerance 15%)")


def test_every_other_code(workspace_dir):
    toml = (workspace_dir / "roadmap.toml").read_text()
    toml = toml.replace("[scoring]", "[alignment]\nstale_days = 0\nmax_kpis_per_objective = 1\n\n[scoring]")
    toml += """
[[objectives]]
id = "ecosystem"
weight = 0

[[kpis]]
id = "pageviews"
direction = "up"

[[edges]]
from = "churn"
to = "revenue"
weight = 0.2
"""
    (workspace_dir / "roadmap.toml").write_text(toml)
    with (workspace_dir / "initiatives.csv").open("a") as fh:
        fh.write("F,Dark mode,To Do,new,1,,,,\nG,Blog redesign,To Do,new,1,,pageviews +20%,,\n"
                 "H,Typo,To Do,new,1,,actvation +5%,,\n")
    res = check(workspace_dir, "--format", "json")
    data = json.loads(res.output)
    codes = {(f["code"], f["subject"]) for f in data["findings"]}
    assert {("orphan-kpi", "pageviews"), ("objective-without-kpi", "ecosystem"), ("kpi-no-data", "pageviews"),
            ("kpi-not-smart", "pageviews"), ("kpi-stale", "activation"), ("too-many-kpis", "revenue"),
            ("initiative-unaligned", "F"), ("initiative-unaligned", "G"), ("initiative-unaligned", "H")} <= codes
    stale = next(f for f in data["findings"] if f["code"] == "kpi-stale")
    assert stale["message"] == ("KPI 'activation' was last observed on 2026-07-01, 1 days before 2026-07-02 "
                                "(stale after 0); check its source")


def test_unknown_node_is_an_error_finding_and_exit_1(workspace_dir):
    toml = (workspace_dir / "roadmap.toml").read_text()
    (workspace_dir / "roadmap.toml").write_text(toml + '\n[[edges]]\nfrom = "nps"\nto = "revenu"\nweight = 1\n')
    res = CliRunner().invoke(main, ["check", "--config", str(workspace_dir / "roadmap.toml")])
    assert res.exit_code == 1
    assert "error    unknown-node           revenu: edges[5] (nps -> revenu): 'revenu' is not a KPI" in res.output
    assert res.output.rstrip().splitlines()[-1].startswith("1 errors, ")
