"""Jira rich text read as docs/cli.md's impact lines: ADF expand / panel titled KPI impact,
decision, task and list items one estimate each, tables, wiki marks and mixed lists; and
no ADF document, however odd, breaks a sync (fuzzed with hypothesis)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.jira.richtext import UnreadableRichText, adf_to_text, wiki_to_text
from scoring.notation import estimates, impact_section, parse_impact
from tests.fixtures.payloads import (DECISIONS, EXPAND_KPI_IMPACT, PANEL_KPI_IMPACT, TABLE, TASKS, para, text)


def doc(*blocks):
    return {"type": "doc", "version": 1, "content": list(blocks)}


def heading(t, level=2):
    return {"type": "heading", "attrs": {"level": level}, "content": [text(t)]}


def links(description_text):
    parsed = parse_impact(impact_section(description_text) or "")
    return [(ln.kpi, ln.low, ln.high, ln.confidence) for ln in parsed.links], parsed.flags


def test_an_expand_titled_kpi_impact_holds_the_section_and_ends_with_it():
    got = links(adf_to_text(doc(para("Why: onboarding."), EXPAND_KPI_IMPACT, para("activation +50% (a risk)"))))
    assert got == ([("activation", 0.08, 0.08, 0.7), ("churn", -0.03, -0.03, None)], [])


def test_a_panel_opening_with_kpi_impact_holds_the_section():
    assert links(adf_to_text(doc(PANEL_KPI_IMPACT, para("nps +40 (not an estimate)")))) == \
        ([("nps", 0.02, 0.02, None)], [])


def test_decision_and_task_items_are_one_estimate_each():
    text = adf_to_text(doc(heading("KPI impact"), DECISIONS, TASKS))
    assert len(estimates(impact_section(text))) == 4
    # the same person's later line for activation replaces the earlier one (docs/model.md "Several estimators")
    assert links(text) == ([("churn", -0.02, -0.02, 0.6), ("nps", 0.01, 0.01, None),
                            ("activation", 0.01, 0.01, None)], [])


def test_an_adf_table_under_the_heading_reads_kpi_lift_confidence_per_row():
    assert adf_to_text(doc(heading("KPI impact"), TABLE)).splitlines() == [
        "## KPI impact", "- activation +8% @70%", "- churn -5%..-2%"]
    assert links(adf_to_text(doc(heading("KPI impact"), TABLE))) == \
        ([("activation", 0.08, 0.08, 0.7), ("churn", -0.05, -0.02, None)], [])


def test_a_table_titled_kpi_impact_by_its_header_row():
    titled = {**TABLE, "content": [{"type": "tableRow", "content": [
        {"type": "tableHeader", "content": [para("KPI impact")]}, {"type": "tableHeader", "content": []}]},
        *TABLE["content"][1:]]}
    assert links(adf_to_text(doc(para("Intro"), titled, para("churn +99%")))) == \
        ([("activation", 0.08, 0.08, 0.7), ("churn", -0.05, -0.02, None)], [])


def test_wiki_table_marks_and_mixed_lists():
    wiki = ("h2. KPI impact\n||KPI||Lift||Confidence||\n|activation|+8%|70%|\n|*churn*|-3%| |\n"
            "* *nps* +2% @50%\n#- _retention_ +1%\nh2. Risks\n* activation +50%")
    assert links(wiki_to_text(wiki)) == ([("activation", 0.08, 0.08, 0.7), ("churn", -0.03, -0.03, None),
                                          ("nps", 0.02, 0.02, 0.5), ("retention", 0.01, 0.01, None)], [])


def test_a_wiki_panel_titled_kpi_impact():
    wiki = "Intro\n{panel:title=KPI impact|borderStyle=solid}\nactivation +4%\n{panel}\nchurn +99%"
    assert links(wiki_to_text(wiki)) == ([("activation", 0.04, 0.04, None)], [])


def test_odd_attributes_are_read_leniently():
    odd = doc({"type": "heading", "attrs": {"level": "two"}, "content": [text("KPI impact")]},
              {"type": "orderedList", "attrs": {"order": "a"}, "content": [
                  {"type": "listItem", "content": [para("activation +2%")]}]},
              {"type": "paragraph", "attrs": ["not", "a", "dict"], "content": 7},
              {"type": "date", "attrs": {"timestamp": "9" * 40}})
    assert adf_to_text(odd).splitlines()[:2] == ["## KPI impact", "1. activation +2%"]


def test_nesting_450_deep_is_unreadable_not_a_crash():
    node = para("activation +1%")
    for _ in range(450):
        node = {"type": "bulletList", "content": [{"type": "listItem", "content": [node]}]}
    try:
        adf_to_text(doc(node))
    except UnreadableRichText as exc:
        assert "nested deeper than 100 levels" in str(exc)
    else:
        raise AssertionError("450 levels were read")


# -- fuzz: what the fuzzed documents in the issue held, and everything around it -----------
TYPES = ["doc", "paragraph", "text", "heading", "bulletList", "orderedList", "listItem", "taskList", "taskItem",
         "decisionList", "decisionItem", "table", "tableRow", "tableCell", "tableHeader", "expand", "panel",
         "nestedExpand", "mention", "emoji", "date", "status", "inlineCard", "hardBreak", "codeBlock", "rule",
         "blockquote", "mediaSingle", "layoutSection", "unknownThing"]
ODD = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                st.floats(allow_nan=True), st.text(max_size=8), st.sampled_from(["two", "a", "-1", "1e400"]))
ATTRS = st.one_of(ODD, st.lists(ODD, max_size=3), st.dictionaries(
    st.sampled_from(["level", "order", "timestamp", "title", "text", "url", "localId", "panelType"]), ODD,
    max_size=3))
NODES = st.recursive(
    st.fixed_dictionaries({"type": st.sampled_from(TYPES)}, optional={"text": ODD, "attrs": ATTRS}),
    lambda children: st.fixed_dictionaries({"type": st.sampled_from(TYPES)}, optional={
        "content": st.one_of(ODD, st.lists(st.one_of(children, ODD), max_size=4)), "attrs": ATTRS, "text": ODD}),
    max_leaves=25)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NODES)
def test_no_adf_document_raises_anything_but_unreadable(node):
    try:
        out = adf_to_text(node)
    except UnreadableRichText:
        return
    assert isinstance(out, str)
    parse_impact(impact_section(out) or out)          # and the parser reads whatever came out


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_no_wiki_text_raises(wiki):
    assert isinstance(wiki_to_text(wiki), str)


class _Skips:
    def __init__(self):
        self.skipped = []

    def skip(self, where, reason):
        self.skipped.append((where, reason))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NODES, st.one_of(NODES, ODD))
def test_a_connector_never_raises_on_an_issue_whatever_its_rich_text(description, impact):
    """Any description or impact field: the issue is read, or skipped by its key; never a crash."""
    from connectors.jira import JiraConnector, JiraOptions
    conn = JiraConnector("backlog", JiraOptions(url="https://acme.atlassian.net", token_env="T", jql="x",
                                                fields={"impact": "customfield_10040"}))
    conn.field_ids = {"impact": "customfield_10040"}
    run = _Skips()
    issue = {"id": "10001", "key": "ROAD-1", "fields": {"summary": "S", "description": description,
                                                         "customfield_10040": impact}}
    rec = conn._read(run, issue)
    assert (rec is None) == bool(run.skipped)
    assert rec is not None or run.skipped[0][0] == "ROAD-1"
