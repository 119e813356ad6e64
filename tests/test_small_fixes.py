"""Small things a planning session tripped on: the effort-defaulted text names the effort
actually shown, equal-looking progress figures are printed so they differ, confidence
words from a CSV in any case."""
from __future__ import annotations

from datetime import date

import pytest

from app import create_app
from app.config import load_settings
from app.services import Workspace, explain
from app.services.sync import sync
from connectors.files import initiative_from
from scoring.goals.alignment import AlignmentRules, kpi_findings
from scoring.model import Kpi
from scoring.goals.progress import KpiState


@pytest.fixture
def ws(workspace_dir, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    csv = (workspace_dir / "initiatives.csv").read_text()
    # F has no effort: it gets the median of the ranked efforts (1, 1, 2, 4, 5, 7 -> 3.0)
    csv += ("F,No effort yet,To Do,new,,Medium,activation +5%,,\nG,Shouty,To Do,new,5,low,nps +5%,,\n"
            "H,Bigger,To Do,new,7,,nps +1%,,\n")
    (workspace_dir / "initiatives.csv").write_text(csv)
    w = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    sync(w)
    return w


def test_the_effort_defaulted_text_says_the_effort_shown(ws):
    item = explain(ws, "F")
    assert item["effort"] == 3.0 and item["effort_defaulted"]
    [fix] = [f["fix"] for f in item["flags"] if f["flag"] == "effort-defaulted"]
    assert "(shown as 3.0*)" in fix and "2.0*" not in fix
    page = create_app(workspace=ws).test_client().get("/?q=F").get_data(as_text=True)
    assert "3.0*" in page and "(shown as 3.0*)" in page and "shown as 2.0*" not in page


def test_confidence_words_from_csv_are_read_in_any_case(ws):
    assert explain(ws, "F")["flags"] == [{"flag": "effort-defaulted", "fix": explain(ws, "F")["flags"][0]["fix"]}]
    rows = [{"key": "X", "title": "x", "confidence": word} for word in ("Medium", "low", "HIGH", "0.6", "sure")]
    got = [initiative_from(r) for r in rows]
    assert [r.confidence for r in got] == [0.7, 0.5, 0.9, 0.6, None]
    assert "unreadable-confidence" in got[-1].flags and not got[0].flags


def test_progress_that_rounds_to_the_expected_is_printed_so_they_differ(ws):
    kpi = Kpi(id="act", baseline=0.0, target=1.0, start=date(2026, 1, 1), deadline=date(2026, 12, 31))
    state = KpiState(kpi="act", current=0.4162, current_date=date(2026, 6, 2), progress=0.4162, expected_progress=0.42,
                     status="off-track", urgency=1.0)
    [f] = kpi_findings([kpi], {"act": state}, AlignmentRules(as_of=date(2026, 6, 2)))
    assert "is at 41.6% of its way to target against 42.0% expected" in f.message
    far = KpiState(kpi="act", current=0.3, current_date=date(2026, 6, 2), progress=0.3, expected_progress=0.5,
                   status="off-track", urgency=1.2)
    assert "at 30% of its way to target against 50% expected" in kpi_findings(
        [kpi], {"act": far}, AlignmentRules(as_of=date(2026, 6, 2)))[0].message
