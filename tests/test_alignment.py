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
        ("info", "kpi-off-track", "activation"),
        ("info", "kpi-off-track", "churn"),
        ("info", "unestimated-link", "D"),
    ]
    # effort split by contribution size (v2): A 2 and B 4 to revenue, C 1 as 0.375 : 1.25, D none;
    # revenue (6 + 0.375/1.625) / 7 = 0.8901 against 0.75: within the 0.15 tolerance
    alloc = {a["objective"]: a for a in data["allocation"]}
    assert alloc["revenue"]["effort_share"] == pytest.approx((6 + 0.375 / 1.625) / 7)
    assert alloc["delight"]["effort_share"] == pytest.approx((1.25 / 1.625) / 7)
    assert alloc["revenue"]["weight_share"] == 0.75
    assert res.exit_code == 0                     # warnings only
    assert check(workspace_dir, "--strict").exit_code == 1
    messages = {f["code"]: f["message"] for f in data["findings"]}
    assert messages["kpi-not-smart"] == ("KPI 'nps' is not SMART: no start, no deadline; "
                                         "set them so progress can be judged against time")
    assert messages["unestimated-link"] == ("initiative D links KPI 'churn' without an estimate: add an impact "
                                            "line such as 'churn -5% @50%'")    # churn goes down
    toml = (workspace_dir / "roadmap.toml").read_text()
    (workspace_dir / "roadmap.toml").write_text(toml.replace("[scoring]", "[alignment]\nallocation_tolerance = 0.1\n\n[scoring]"))
    drift = [f for f in json.loads(check(workspace_dir, "--format", "json").output)["findings"]
             if f["code"] == "allocation-drift"]
    assert [f["message"] for f in drift][-1] == ("objective 'revenue' gets 89% of the ranked effort against 75% of "
                                                 "the strategy's weight (tolerance 10%)")


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


def test_unreadable_items_with_did_you_mean_and_a_fix_in_the_kpis_direction(workspace_dir):
    with (workspace_dir / "initiatives.csv").open("a") as fh:
        fh.write("H,Typo,To Do,new,1,,actvation +5%,,\n"
                 "J,Churn typo,To Do,new,1,,chrun +5%,,\n"
                 "K,Garbled,To Do,new,lots,,nps +5%; nps lots; mrr +1% @high,,\n")
    data = json.loads(check(workspace_dir, "--format", "json").output)
    unreadable = {f["subject"]: f for f in data["findings"] if f["code"] == "initiative-unreadable"}
    assert set(unreadable) == {"H", "J", "K"} and unreadable["H"]["level"] == "warning"
    assert unreadable["H"]["message"] == ("initiative H: it names KPI 'actvation', which is not defined: did you "
                                          "mean `activation`? (for example 'activation +5% @50%')")
    assert "did you mean `churn`? (for example 'churn -5% @50%')" in unreadable["J"]["message"]
    k = unreadable["K"]["message"]
    assert "its 2nd estimate cannot be read" in k and "a confidence cannot be read" in k
    assert "its effort is not a positive number" in k


def test_effort_defaulted_is_an_info_finding_naming_the_median(workspace_dir):
    with (workspace_dir / "initiatives.csv").open("a") as fh:
        fh.write("N,No estimate,To Do,new,,,nps +5%,,\n")
    data = json.loads(check(workspace_dir, "--format", "json").output)
    found = [f for f in data["findings"] if f["code"] == "effort-defaulted"]
    # readable efforts of the ranked (not done) items: 2, 4, 1, 1 -> median (1 + 2) / 2 = 1.5
    assert found == [{"level": "info", "code": "effort-defaulted", "subject": "N",
                      "message": "initiative N has no effort, so it was given 1.5 (the median effort of the "
                                 "ranked items); set its effort"}]
