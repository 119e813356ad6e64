"""Several estimators per link: who estimated (`by NAME`, the initiative's estimator), a
person's later line replacing their earlier one, and the linear pool of the raters'
ℓ·c, with values computed by hand (docs/model.md "Who estimated")."""
from __future__ import annotations

import pytest

from connectors.files import initiative_from
from connectors.jira.fields import read_issue
from connectors.jira.richtext import adf_to_text, wiki_to_text
from scoring.graph import GoalGraph
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
