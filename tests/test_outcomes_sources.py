"""Launch dates from the sources: CSV/JSON `launched_on` / `done_on` columns; Jira's
configured `launched` field, else `resolutiondate`, else the changelog's move into the
done status, else `statuscategorychangedate` (docs/model.md, "Outcomes")."""
from __future__ import annotations

from datetime import date

from connectors.files import initiative_from
from connectors.jira.fields import read_issue
from scoring.model import Initiative

# A real-shaped Jira Cloud search result issue (fields as /rest/api/3/search returns them:
# statuscategorychangedate as in vetri-soundar/vetri-soundar README.md, a
# `restapijira.atlassian.net/rest/api/2/search` response; resolutiondate and created in the
# same `+hhmm` form, as in ActionableAgile/jira-to-analytics test/jira/data/json/jira-issues-request.ts;
# the changelog's histories[].items[] of field/fieldtype/from/fromString/to/toString as in
# the `expand=changelog` answer of GET /rest/api/3/issue/{key}).
ISSUE = {
    "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
    "id": "10126", "self": "https://acme.atlassian.net/rest/api/3/issue/10126", "key": "ROAD-127",
    "fields": {
        "statuscategorychangedate": "2026-03-20T06:21:50.520+0530",
        "summary": "Guided onboarding",
        "status": {"self": "https://acme.atlassian.net/rest/api/3/status/10002", "name": "Done", "id": "10002",
                   "statusCategory": {"self": "https://acme.atlassian.net/rest/api/3/statuscategory/3", "id": 3,
                                      "key": "done", "colorName": "green", "name": "Done"}},
        "resolution": {"self": "https://acme.atlassian.net/rest/api/3/resolution/10000", "id": "10000",
                       "description": "Work has been completed on this issue.", "name": "Done"},
        "resolutiondate": "2026-03-18T17:02:11.000+0100",
        "created": "2025-11-21T07:03:02.000-0500", "updated": "2026-03-20T06:21:50.520+0530",
        "labels": [], "issuelinks": [], "description": None,
        "customfield_10071": "2026-04-02",
    },
    "changelog": {"startAt": 0, "maxResults": 2, "total": 2, "histories": [
        {"id": "130461", "created": "2026-02-06T12:33:18.235+0100",
         "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000",
                    "fromString": "To Do", "to": "10001", "toString": "In Progress"}]},
        {"id": "130462", "created": "2026-03-19T09:10:00.000+0100",
         "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10001",
                    "fromString": "In Progress", "to": "10002", "toString": "Done"}]}]},
}


def _read(issue, ids=None):
    return read_issue(issue, ids or {}, base_url="https://acme.atlassian.net", levels={}, text=str)


def _without(field):
    import copy
    out = copy.deepcopy(ISSUE)
    out["fields"].pop(field, None)
    return out


def test_jira_launched_field_then_resolution_then_changelog_then_status_category_change():
    rec = _read(ISSUE, {"launched": "customfield_10071"})
    assert rec.launched_on == date(2026, 4, 2) and rec.done_on == date(2026, 3, 18)
    rec = _read(ISSUE)
    assert rec.launched_on is None and rec.done_on == date(2026, 3, 18)
    no_resolution = _without("resolutiondate")
    assert _read(no_resolution).done_on == date(2026, 3, 19)            # the changelog's move into Done
    no_resolution.pop("changelog")
    assert _read(no_resolution).done_on == date(2026, 3, 20)            # statuscategorychangedate, its own day
    # reopened: not done any more, so no done day (the old resolution date is ignored)
    reopened = _without("resolutiondate")
    reopened["fields"]["status"] = {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}
    assert _read(reopened).done_on is None


def test_csv_launch_and_done_columns():
    rec = initiative_from({"key": "A", "title": "x", "status": "Done", "launched_on": "2026-05-04",
                           "done_on": "2026-05-01"})
    assert rec.launched_on == date(2026, 5, 4) and rec.done_on == date(2026, 5, 1)
    rec = initiative_from({"key": "A", "title": "x", "launched_on": "next week", "done_on": ""})
    assert rec.launched_on is None and "unreadable-date:launched_on" in rec.flags


def test_launch_date_of_an_initiative():
    assert Initiative(key="A", status_category="done", done_on=date(2026, 5, 1)).launch_date == date(2026, 5, 1)
    assert Initiative(key="A", status_category="indeterminate", done_on=date(2026, 5, 1)).launch_date is None
    assert Initiative(key="A", launched_on=date(2026, 6, 1), done_on=date(2026, 5, 1),
                      status_category="done").launch_date == date(2026, 6, 1)
