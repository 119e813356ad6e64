"""Absolute estimates (pp / pt) converted with the KPI's current value, `no-base`, and the
median effort default (docs/model.md), with values computed by hand."""
from __future__ import annotations

import pytest

from app import render
from scoring.goals.graph import GoalGraph
from scoring.model import Backlog, Initiative, Kpi, Link, Objective
from scoring.notation import parse_impact
from scoring.goals.progress import Current
from scoring.ranking import ScoringParams, rank_backlog
from tests.conftest import AS_OF, edge


@pytest.fixture
def graph():
    # no targets: every urgency is 1, so V_k = 100 · ŵ · e = 100 for each KPI
    return GoalGraph.build(
        [Objective(id="revenue", weight=1)],
        [Kpi(id="activation", unit="%"), Kpi(id="churn", unit="%", direction="down"),
         Kpi(id="nps", baseline=40), Kpi(id="visits"), Kpi(id="zero", baseline=0)],
        [edge(k, "revenue", 1.0) for k in ("activation", "churn", "nps", "visits", "zero")])


CURRENTS = {"activation": Current(0.31, AS_OF), "churn": Current(0.05, AS_OF)}


def rank(graph, *lines, currents=CURRENTS, **params):
    items = [Initiative(key=f"I{n}", effort=1, links=tuple(parse_impact(t).links), flags=tuple(parse_impact(t).flags))
             for n, t in enumerate(lines)]
    return rank_backlog(Backlog.from_initiatives(items), graph, ScoringParams(as_of=AS_OF, **params), currents)


def test_pp_is_divided_by_the_current_value(graph):
    r = rank(graph, "activation +2pp @50%")
    # ℓ = 0.02 / 0.31 = 0.0645161..., δ = 0.5 ℓ, I = 100 · δ = 3.2258064516
    assert r.impact[0] == pytest.approx(round(100 * 0.5 * 0.02 / 0.31, 10), abs=1e-12)
    (ln,) = r.item(0)["links"]
    assert ln == {"kpi": "activation", "lift": round(0.02 / 0.31, 10), "confidence": 0.5, "written": "+2pp",
                  "base": 0.31, "converted": "+2pp = +6.5 % of 31.0 %"}


def test_pp_range_and_a_down_kpi(graph):
    r = rank(graph, "activation +1pp..+3pp", "churn -0.5pp @100%")
    (ln,) = r.item(0)["links"]
    assert ln["range"] == [round(0.01 / 0.31, 10), round(0.03 / 0.31, 10)] and ln["written"] == "+1pp..+3pp"
    assert r.impact[0] == pytest.approx(100 * 0.5 * 0.02 / 0.31, abs=1e-9)
    # churn 5 % -> -0.5pp is ℓ = -0.005 / 0.05 = -0.1; improvement δ = (-1)(-0.1)(1) = 0.1; I = 10
    assert r.impact[1] == 10.0


def test_pt_falls_back_to_the_baseline(graph):
    r = rank(graph, "nps +3pt @100%", "nps +2pts..+4pts @100%")
    # nps has no observation: β = baseline 40, ℓ = 3 / 40 = 0.075, I = 7.5
    assert list(r.impact) == [7.5, 7.5]
    assert r.item(0)["links"][0]["converted"] == "+3pt = +7.5 % of 40"


def test_the_current_value_wins_over_the_baseline(graph):
    r = rank(graph, "nps +3pt @100%", currents={"nps": Current(60.0, AS_OF)})
    assert r.impact[0] == 5.0               # 3 / 60 = 0.05


def test_no_base_and_zero_base_are_unestimated_and_flagged(graph):
    r = rank(graph, "visits +3pt", "zero +1pt", "activation +2pp", currents={})
    assert (r.impact[0], r.item(0)["flags"], r.item(0)["links"][0]["lift"]) == (0.0, ["no-base:visits"], None)
    assert r.item(1)["flags"] == ["no-base:zero"]
    assert r.item(2)["flags"] == ["no-base:activation"]        # no current and no baseline
    assert r.item(0)["links"][0]["written"] == "+3pt" and "converted" not in r.item(0)["links"][0]


def test_pp_on_a_kpi_that_is_not_a_percentage_is_unreadable(graph):
    r = rank(graph, "nps +2pp")
    assert (r.impact[0], r.item(0)["flags"]) == (0.0, ["unreadable-impact:nps"])


def test_relative_estimates_are_unchanged_beside_absolute_ones(graph):
    r = rank(graph, "activation +10% @50%; nps +3pt @100%")
    assert r.impact[0] == pytest.approx(5.0 + 7.5, abs=1e-12)


# -- effort default -----------------------------------------------------------------
def effort_items(*efforts, done_effort=None):
    items = [Initiative(key=f"E{n}", effort=e, links=(Link(kpi="nps", low=0.1, high=0.1, confidence=1),))
             for n, e in enumerate(efforts)]
    if done_effort is not None:
        items.append(Initiative(key="DONE", effort=done_effort, status_category="done"))
    return Backlog.from_initiatives(items)


def test_median_of_an_even_count_is_the_mean_of_the_two_middle(graph):
    r = rank_backlog(effort_items(1, 8, None, 2, 4, done_effort=100), graph, ScoringParams(as_of=AS_OF))
    # ranked efforts 1, 2, 4, 8 (the done item's 100 is not ranked): (2 + 4) / 2 = 3
    assert r.default_effort == 3.0
    missing = r.item(2)
    assert (missing["effort"], missing["effort_defaulted"], missing["score"]) == (3.0, True, round(10 / 3, 10))
    assert "effort-defaulted" in missing["flags"]
    # showing done items too changes no score: the median stays that of the items ranked by default
    assert rank_backlog(effort_items(1, 8, None, 2, 4, done_effort=100), graph, ScoringParams(as_of=AS_OF),
                        include_done=True).default_effort == 3.0


def test_median_with_no_effort_anywhere_is_1_and_a_number_still_works(graph):
    assert rank_backlog(effort_items(None, None), graph, ScoringParams(as_of=AS_OF)).default_effort == 1.0
    r = rank_backlog(effort_items(1, None), graph, ScoringParams(as_of=AS_OF, default_effort=5.0))
    assert (r.default_effort, r.effort[1]) == (5.0, 5.0)


def test_a_defaulted_effort_shows_as_such_in_table_and_csv(graph):
    r = rank_backlog(effort_items(2, None, 4), graph, ScoringParams(as_of=AS_OF))
    rows = r.rows()
    table = render.ranking_table(rows)
    lines = table.splitlines()
    assert lines[2].split()[-1] == "2.0" and lines[3].split()[-2:] == ["3.0*", "effort-defaulted"]
    csv_rows = render.ranking_csv(rows).splitlines()
    efforts = {line.split(",")[1]: line.split(",")[6] for line in csv_rows[1:]}
    assert efforts == {"E0": "2.0", "E1": "3.0*", "E2": "4.0"}


def test_frameworks_use_the_same_median_default(graph):
    items = [Initiative(key=k, effort=e, factors={"reach": 100, "factor_impact": 1}, confidence=1.0)
             for k, e in (("R1", 2), ("R2", None), ("R3", 6))]
    r = rank_backlog(Backlog.from_initiatives(items), graph, ScoringParams(as_of=AS_OF, method="rice"))
    # R2 gets the median of 2 and 6 = 4: 100 · 1 · 1 / 4 = 25
    assert r.item(1)["score"] == 25.0 and r.item(1)["effort_defaulted"] is True


# -- through the store: the written unit survives a sync ------------------------------
def test_absolute_estimates_survive_sync_and_rank_from_the_store(workspace_dir, db_url, monkeypatch):
    from app.config import load_settings
    from app.services import Workspace, explain, ranking
    from app.services.sync import sync
    monkeypatch.setenv("ROADMAP_DATABASE", db_url)
    with (workspace_dir / "initiatives.csv").open("a") as fh:
        fh.write("P,Points,To Do,new,1,1,activation +2pp,,\nQ,Score points,To Do,new,1,1,nps +13pt,,\n")
    ws = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    sync(ws)
    r = ranking(ws)
    got = {k: r.impact[r.index_of(k)] for k in ("P", "Q")}
    # P: activation reads 0.32, ℓ = 0.02 / 0.32 = 0.0625, δ = 0.0625, I = 0.0625 · V_activation 48.75
    # Q: nps reads 52, ℓ = 13 / 52 = 0.25, I = 0.25 · V_nps 16.25
    assert got == {"P": pytest.approx(0.0625 * 48.75, abs=1e-9), "Q": pytest.approx(0.25 * 16.25, abs=1e-9)}
    p = explain(ws, "P")
    assert p["links"][0]["converted"] == "+2pp = +6.2 % of 32.0 %" and p["title"] == "Points"
    ws.close()
