"""Several estimators as a user meets them: `roadmap estimate`, the pooled link in `score
--format json`, `discuss` where a dispute can change the plan, estimates surviving a sync,
frozen in snapshots and attributed by `diff` (docs/cli.md "Commands")."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app.cli import main


# Four items of effort 1, the plan's line after the top 2: A 3.9, B 3.9 | C 1.625, D 0.78
AT_THE_LINE = """key,title,status,status_category,effort,confidence,impact,labels,url
A,Guided onboarding,To Do,new,1,,activation +10% @80%,,
B,Cancellation flow,To Do,new,1,,churn -10% @50%,,
C,NPS survey in app,To Do,new,1,,nps +20% @50%,,
D,Churn research,To Do,new,1,,churn -2% @50%,,
"""


@pytest.fixture
def cli(workspace_dir, monkeypatch, request):
    monkeypatch.chdir(workspace_dir)
    monkeypatch.delenv("ROADMAP_CONFIG", raising=False)
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    (workspace_dir / "roadmap.toml").write_text((workspace_dir / "roadmap.toml").read_text()
                                                + "\n[uncertainty]\ntop = 2\ndraws = 2000\n")
    if getattr(request, "param", None) == "at_the_line":
        (workspace_dir / "initiatives.csv").write_text(AT_THE_LINE)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)
    assert invoke("sync").exit_code == 0
    return invoke


def score(cli) -> dict:
    res = cli("score", "--format", "json")
    assert res.exit_code == 0, res.output
    return {it["key"]: it for it in json.loads(res.output)["items"]}


def test_estimate_adds_a_second_estimator_pooled_with_the_tracker_line(cli):
    res = cli("estimate", "B", "churn -30% @90%", "--by", "Alice")
    assert res.exit_code == 0, res.output
    assert "Alice" in res.output
    b = score(cli)["B"]
    (link,) = b["links"]
    # tracker (unknown): ℓc = -0.10 · 0.5 = -0.05; alice -0.30 · 0.9 = -0.27; pooled -0.16
    assert link["expected"] == pytest.approx(-0.16)
    assert link["lift"] * link["confidence"] == pytest.approx(-0.16)
    assert link["disagreement"] == pytest.approx(0.22 / 0.16)
    assert [(e["by"], e["lift"], e["confidence"]) for e in link["estimators"]] == [
        ("unknown", -0.1, 0.5), ("Alice", -0.3, 0.9)]
    # B's impact is the pool's: 3.2 × the worked example's 0.975 × 4 / 0.05 ... by hand:
    # V_churn through mrr = 0.8 · u_mrr · 100 · 3/4; the tracker line alone gave I = 3.9, so I = 3.9 · 0.16 / 0.05
    assert b["impact"] == pytest.approx(3.9 * 0.16 / 0.05)


def test_a_later_estimate_of_the_same_person_replaces_theirs_and_survives_a_sync(cli):
    cli("estimate", "B", "churn -30% @90%", "--by", "alice")
    cli("estimate", "B", "churn -20% @100%", "--by", "ALICE")
    assert cli("sync").exit_code == 0
    (link,) = score(cli)["B"]["links"]
    assert [(e["by"], e["lift"]) for e in link["estimators"]] == [("unknown", -0.1), ("ALICE", -0.2)]


@pytest.mark.parametrize("cli", ["at_the_line"], indirect=True)
def test_discuss_flags_a_dispute_at_the_plans_line_not_a_single_estimator_link(cli):
    cli("estimate", "C", "nps +60% @50%", "--by", "alice")
    items = score(cli)
    # C pools 0.1 (tracker) and 0.3 (alice): ℓc 0.2, I = 3.25, just under the line; D = 0.2 / 0.2 = 1
    (link,) = items["C"]["links"]
    assert (items["C"]["impact"], link["disagreement"]) == (pytest.approx(3.25), 1.0)
    assert "discuss:nps" in items["C"]["flags"]
    # A and B sit on the line too and are worth refining, but have one estimator each
    assert not any(f.startswith("discuss") for k in "ABD" for f in items[k]["flags"])
    res = cli("check", "--format", "json")
    found = [f for f in json.loads(res.output)["findings"] if f["code"] == "discuss"]
    assert [(f["subject"], f["level"]) for f in found] == [("C", "warning")]
    assert "discuss this estimate" in found[0]["message"]
    res = cli("risk", "--format", "json")
    assert [(x["key"], x["kpi"]) for x in json.loads(res.output)["refine_first"][:3]] == [
        ("C", "nps"), ("B", "churn"), ("A", "activation")]


@pytest.mark.parametrize("cli", ["at_the_line"], indirect=True)
def test_agreeing_estimators_are_not_flagged(cli):
    cli("estimate", "C", "nps +26% @50%", "--by", "alice")     # D = 0.03 / 0.115 < 1
    items = score(cli)
    assert items["C"]["links"][0]["disagreement"] == pytest.approx(0.03 / 0.115)
    assert not any(f.startswith("discuss") for f in items["C"]["flags"])


def test_unreadable_lines_and_unknown_items_are_refused_with_the_reason(cli):
    res = cli("estimate", "B", "churn lots", "--by", "alice")
    assert res.exit_code == 2 and "is not one estimate" in res.output
    res = cli("estimate", "B", "nsp +3%", "--by", "alice")
    assert res.exit_code == 2 and "names KPI 'nsp'" in res.output
    res = cli("estimate", "NOPE", "nps +3%", "--by", "alice")
    assert res.exit_code != 0 and "no initiative 'NOPE'" in res.output
    res = cli("estimate", "B", "nps +3%")
    assert res.exit_code == 2 and "--by" in res.output


def test_a_new_estimator_is_frozen_in_snapshots_and_diff_names_estimates(cli):
    assert cli("snapshot", "save", "before").exit_code == 0, cli("snapshot", "--help").output
    cli("estimate", "B", "churn -30% @90%", "--by", "alice")
    assert cli("snapshot", "save", "after").exit_code == 0
    res = cli("diff", "before", "after", "--format", "json")
    assert res.exit_code == 0, res.output
    b = next(it for it in json.loads(res.output)["items"] if it["key"] == "B")
    assert b["change"] == {"estimates": pytest.approx(3.9 * 0.16 / 0.05 / 4 - 0.975)}


def test_explain_lists_each_estimator_and_the_pool(cli):
    cli("estimate", "B", "churn -30% @90%", "--by", "alice")
    res = cli("explain", "B")
    assert res.exit_code == 0, res.output
    assert "pooled l*c -16.00%, disagreement D = 1.38" in res.output
    assert "alice                    -30.0% @ 90%" in res.output
    assert res.output.count("mrr -> revenue") == 1        # one path per KPI, not one per estimator


def test_diff_names_whose_estimate_was_added(cli):
    cli("snapshot", "save", "before")
    cli("estimate", "B", "churn -30% @90%", "--by", "alice")
    res = cli("diff", "before")
    assert res.exit_code == 0, res.output
    assert "B: #3 -> #1: estimates +2.15 (churn -30 % @90 % by alice added)" in res.output, res.output
