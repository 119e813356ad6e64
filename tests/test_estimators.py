"""Several estimators per link: who estimated (`by NAME`, the initiative's estimator), a
person's later line replacing their earlier one, and the linear pool of the raters'
ℓ·c, with values computed by hand (docs/model.md "Several estimators")."""
from __future__ import annotations

import pytest

from connectors.files import initiative_from
from connectors.jira.fields import read_issue
from connectors.jira.richtext import adf_to_text, wiki_to_text
from scoring.goals.graph import GoalGraph
from scoring.model import Backlog, Initiative, Kpi, Objective
from scoring.notation import parse_impact
from scoring.ranking import ScoringParams, rank_backlog
from tests.conftest import AS_OF, edge


@pytest.fixture
def flat():
    # no targets: every urgency is 1, so V_k = 100 · ŵ · e = 100 (and -100 for churn's sign)
    return GoalGraph.build([Objective(id="revenue", weight=1)],
                           [Kpi(id="act"), Kpi(id="churn", direction="down"), Kpi(id="nps")],
                           [edge(k, "revenue", 1.0) for k in ("act", "churn", "nps")])


def rank(graph, *texts, estimator=None):
    items = [Initiative(key=f"I{n}", effort=1, estimator=estimator, links=tuple(parse_impact(t).links))
             for n, t in enumerate(texts)]
    return rank_backlog(Backlog.from_initiatives(items), graph, ScoringParams(as_of=AS_OF))


def test_by_name_is_read_and_compared_case_insensitively():
    r = parse_impact("act +8% @70% by Alice Smith; act  +2%..+4% @0.5 BY bob@acme.com; nps +3 by alice  SMITH")
    assert [(ln.kpi, ln.low, ln.high, ln.confidence, ln.by) for ln in r.links] == [
        ("act", 0.08, 0.08, 0.7, "Alice Smith"), ("act", 0.02, 0.04, 0.5, "bob@acme.com"),
        ("nps", 0.03, 0.03, None, "alice SMITH")]
    assert r.flags == []
    assert parse_impact("act +8% by").flags == ["unreadable-impact:1"]


def test_a_later_line_of_the_same_person_replaces_the_earlier(flat):
    r = rank(flat, "act +8% @50% by alice; act +2% @100% by ALICE")
    # alice's later line alone: I = 100 · 0.02 · 1.0 = 2
    assert r.impact[0] == 2.0
    assert [ln["lift"] for ln in r.item(0)["links"]] == [0.02]
    # a line without `by` is the initiative's estimator's: the same person as `by alice`
    r = rank(flat, "act +8% @50% by alice; act +4% @100%", estimator="Alice")
    assert r.impact[0] == 4.0


def test_two_raters_are_pooled_as_the_mean_of_their_l_times_c(flat):
    r = rank(flat, "act +8% @50% by alice; act +2% @100% by bob")
    # (0.08 · 0.5 + 0.02 · 1.0) / 2 = 0.03; I = 100 · 0.03 = 3
    assert r.impact[0] == pytest.approx(3.0, abs=1e-12)
    assert sum(c["impact"] for c in r.item(0)["contributions"]) == pytest.approx(3.0)


def test_three_raters_a_range_and_a_point_and_a_down_kpi(flat):
    r = rank(flat, "churn -4%..-2% @50% by alice; churn -6% @100% by bob; churn +3% @20%",
             estimator="carol")
    # ℓc: alice -0.03 · 0.5 = -0.015, bob -0.06, carol +0.006; mean -0.023; improvement +0.023 -> I = 2.3
    assert r.impact[0] == pytest.approx(2.3, abs=1e-12)


def test_one_estimator_changes_nothing(flat):
    named = rank(flat, "act +8% @50% by alice; nps +3% by alice")
    plain = rank(flat, "act +8% @50%; nps +3%")
    assert named.impact.tolist() == plain.impact.tolist() == [100 * (0.08 * 0.5 + 0.03 * 0.5)]


def test_the_initiative_estimator_from_a_file_and_from_jira():
    rec = initiative_from({"key": "R-1", "title": "t", "estimator": "  Alice   Smith "})
    assert rec.estimator == "Alice Smith"
    issue = {"key": "R-2", "id": "10002", "fields": {
        "summary": "t", "reporter": {"accountId": "5b10ac", "displayName": "Rita Reporter",
                                     "emailAddress": "rita@acme.com"},
        "customfield_10070": {"accountId": "70aa", "displayName": "Eve Estimator", "emailAddress": "eve@acme.com"}}}
    got = read_issue(issue, {"estimator": "customfield_10070"}, base_url="https://x", levels={}, text=str)
    assert (got.estimator_id, got.estimator) == ("70aa", "Eve Estimator")
    got = read_issue(issue, {}, base_url="https://x", levels={}, text=str)
    assert (got.estimator_id, got.estimator) == ("5b10ac", "Rita Reporter")     # the reporter; never the e-mail


def _cell(text, header=False):
    return {"type": "tableHeader" if header else "tableCell",
            "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


def test_a_by_column_in_adf_and_wiki_tables():
    rows = [["KPI", "Lift", "Confidence", "By"], ["act", "+8%", "70%", "Alice Smith"], ["nps", "+2", "", ""]]
    doc = {"type": "doc", "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "KPI impact"}]},
        {"type": "table", "content": [{"type": "tableRow", "content": [_cell(c, n == 0) for c in row]}
                                      for n, row in enumerate(rows)]}]}
    assert adf_to_text(doc).splitlines()[1:] == ["- act +8% @70% by Alice Smith", "- nps +2"]
    assert wiki_to_text("h2. KPI impact\n||KPI||By||Lift||\n|act|bob|+5%|").splitlines()[1:] == ["- act +5% by bob"]


def test_the_mixture_impact_percentiles_match_their_closed_form():
    """One item, one link, two raters: alice +10% @80%, bob 0..+4% @100%; V = 100.
    Each draw picks a rater (1/2 each), then its Bernoulli and range, so the impact is
    0.5·[0.2·δ(0) + 0.8·δ(10)] + 0.5·Normal(2, s), s = 4 / (2 · 1.645) = 1.21581.
    F(x) = 0.1·[x >= 0] + 0.4·[x >= 10] + 0.5·Φ((x - 2) / s):
    p5: F(0-) = 0.5·Φ(-1.645) = 0.025 < 0.05 <= F(0) = 0.125, so p5 = 0;
    p50: 0.1 + 0.5·Φ(z) = 0.5, Φ(z) = 0.8, p50 = 2 + 0.84162·s = 3.02324;
    p95: F(10-) = 0.6 < 0.95 <= F(10) = 1, so p95 = 10. The mean is 0.5·8 + 0.5·2 = 5."""
    from scipy.stats import norm

    from scoring.uncertainty import RiskInput, analyse_risk
    res = analyse_risk(RiskInput(
        keys=["A"], effort=[1.0], eligible=[True], kpis=["act"], urgency=[1.0], objective_weight=[1.0],
        link_initiative=[0, 0], link_kpi=[0, 0], link_direction=[1, 1], link_low=[0.10, 0.0],
        link_high=[0.10, 0.04], link_confidence=[0.8, 1.0], link_line=[1, 2], link_pool=[0, 0],
        edge_child=[0], edge_parent=[0], edge_to_objective=[True], edge_weight=[1.0], top=1,
        draws=40_000, seed=7))
    s = 4 / (2 * 1.645)
    assert res.expected_impact[0] == pytest.approx(5.0)
    p5, p50, p95 = res.simulation.impact_percentiles[:, 0]
    assert p5 == 0.0 and p95 == pytest.approx(10.0)
    assert p50 == pytest.approx(2 + norm.ppf(0.8) * s, abs=0.03)       # Monte Carlo error ~ 0.01
    assert res.simulation.impact_mean[0] == pytest.approx(5.0, abs=0.06)


def test_one_rater_per_link_draws_exactly_as_before():
    from scoring.uncertainty import RiskInput, analyse_risk
    base = dict(keys=["A", "B"], effort=[1.0, 2.0], eligible=[True, True], kpis=["act"], urgency=[1.0],
                objective_weight=[1.0], link_initiative=[0, 1], link_kpi=[0, 0], link_direction=[1, 1],
                link_low=[0.05, 0.0], link_high=[0.10, 0.2], link_confidence=[0.6, 0.9], link_line=[1, 1],
                edge_child=[0], edge_parent=[0], edge_to_objective=[True], edge_weight=[1.0], top=1, draws=500)
    a, b = analyse_risk(RiskInput(**base)), analyse_risk(RiskInput(**base, link_pool=[0, 1]))
    assert a.simulation.impact_percentiles.tolist() == b.simulation.impact_percentiles.tolist()
    assert a.voi.tolist() == b.voi.tolist()


def test_the_docs_example_alice_and_bob(flat):
    """docs/model.md "Several estimators": alice +10% @80%, bob +2% @50%: the pool is
    (0.08 + 0.01) / 2 = 0.045 and D = (0.08 - 0.01) / 0.045 = 1.56."""
    r = rank(flat, "act +10% @80% by alice; act +2% @50% by bob")
    assert r.impact[0] == pytest.approx(4.5, abs=1e-12)
    (link,) = r.item(0)["links"]
    assert link["expected"] == 0.045 and round(link["disagreement"], 2) == 1.56
    assert link["lift"] * link["confidence"] == pytest.approx(0.045)
    assert link["estimators"] == [{"by": "alice", "lift": 0.1, "range": None, "confidence": 0.8},
                                  {"by": "bob", "lift": 0.02, "range": None, "confidence": 0.5}]
