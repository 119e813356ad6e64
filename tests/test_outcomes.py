"""Outcomes through the real pipeline: sync, measured rows in the store, the frozen
estimate, recomputation of only what new data changes, `roadmap outcomes` and
`roadmap calibration` (docs/cli.md, "outcomes", "calibration")."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import load_settings
from app.services import Workspace
from app.services import outcomes as svc
from app.services.sync import sync
from tests import outcomes_workspace as ow


@pytest.fixture
def ws(tmp_path):
    ow.make(tmp_path)
    w = Workspace(load_settings(tmp_path / "roadmap.toml"))
    sync(w)
    yield w
    w.close()


def _by(links):
    return {(x["key"], x["kpi"]): x for x in links}


def test_verdicts_of_every_kind_after_a_sync(ws):
    d = svc.outcomes(ws)
    assert d["as_of"] == "2026-10-27" and d["level"] == 0.9
    got = _by(d["links"])
    assert set(k for k, _ in got) == {"A", "B", "C", "E", "F", "Y", "N", "Z"}     # R reopened, P not done
    a = got[("A", "activation")]
    assert a["verdict"] == "moved" and a["estimator"] == "alice" and a["launched_on"] == "2026-06-01"
    assert a["expected"] == pytest.approx(0.08) and a["lift"] == pytest.approx(0.10)
    # data from 2026-01-01: the two earliest placebos have fewer than 56 days before them
    assert a["low"] < 0.15 < a["high"] and abs(a["realised"] - 0.15) < 0.03 and a["placebos"] == 10
    assert a["se"] == pytest.approx((a["high"] - a["low"]) / (2 * 1.6448536), rel=1e-6)
    assert got[("B", "retention")]["verdict"] == "no-detectable-move"
    assert got[("C", "signups")]["verdict"] == "measuring" and "ends on 2026-11-11" in got[("C", "signups")]["reason"]
    e, f = got[("E", "signups")], got[("F", "signups")]
    assert e["verdict"] == f["verdict"] == "confounded" and e["group"] == ["E", "F"]
    assert e["realised"] == f["realised"] and 0.05 < e["realised"] < 0.16
    assert got[("Y", "young")]["verdict"] == "not-measurable" and "observed days" in got[("Y", "young")]["reason"]
    assert got[("N", "nosource")]["verdict"] == "not-measurable"
    assert "no observations" in got[("N", "nosource")]["reason"]
    assert got[("Z", "retention")]["verdict"] == "measuring" and "launches on 2026-12-01" in \
        got[("Z", "retention")]["reason"]
    assert set(d["links"][0]) >= {"key", "kpi", "estimator", "launched_on", "expected", "lift", "realised", "low",
                                  "high", "se", "verdict", "group", "placebos"}


def test_rows_are_stored_and_a_new_day_recomputes_only_links_in_their_post_window(ws, tmp_path):
    from app.store import outcomes as so
    stored = so.rows(ws.store)
    assert len(stored) == 8 and all(r["as_of"] == date(2026, 10, 27) for r in stored)
    again = svc.refresh(ws)
    # A, B, E, F and N are final; C and Y are in their post window, Z not launched yet
    assert again["recomputed"] == 3 and again["kept"] == 5
    # one more day of data, and the clock moves on a day
    (tmp_path / "observations.csv").write_text(ow.observations_csv(end=date(2026, 10, 28)))
    ws.settings.scoring.as_of = date(2026, 10, 28)
    sync(ws, connector="obs")
    rows = {(r["key"], r["kpi"]): r for r in so.rows(ws.store)}
    assert rows[("C", "signups")]["as_of"] == date(2026, 10, 28)          # still in its post window: recomputed
    assert rows[("A", "activation")]["as_of"] == date(2026, 10, 27)       # ended long ago: untouched
    assert svc.refresh(ws)["recomputed"] == 2       # C and Z; Y's window ended on 2026-10-28


def test_the_estimate_frozen_before_launch_is_measured(tmp_path):
    from app.store import snapshots as snaps
    from scoring.changes import snapshot as sn
    from scoring.ranking import ScoringParams
    before = ow.INITIATIVES.replace("A,Guided onboarding,Done,done,2,activation +10% @80% by alice,,2026-06-01",
                                    "A,Guided onboarding,In Progress,indeterminate,2,activation +10% @80% by alice,,")
    ow.make(tmp_path, before)
    w = Workspace(load_settings(tmp_path / "roadmap.toml"))
    sync(w)
    frozen = sn.snapshot_of(snaps.initiatives(w.store), [], [], [], {}, ScoringParams(as_of=date(2026, 5, 30)),
                            name="before-launch")
    snaps.save(w.store, frozen, run_id=None, created_at=datetime(2026, 5, 30, tzinfo=timezone.utc))
    # launched, and its estimate raised after launch: the frozen one is measured
    (tmp_path / "initiatives.csv").write_text(ow.INITIATIVES.replace("activation +10% @80% by alice",
                                                                     "activation +30% @90% by alice"))
    sync(w)
    a = _by(svc.outcomes(w)["links"])[("A", "activation")]
    assert a["lift"] == pytest.approx(0.10) and a["expected"] == pytest.approx(0.08)
    assert a["estimate_from"] == "before-launch"
    w.close()


def test_reopened_item_leaves_the_list_and_its_row_is_kept(ws, tmp_path):
    from app.store import outcomes as so
    (tmp_path / "initiatives.csv").write_text(ow.INITIATIVES.replace(
        "A,Guided onboarding,Done,done,2", "A,Guided onboarding,In Progress,indeterminate,2"))
    sync(ws, connector="backlog")
    assert ("A", "activation") not in _by(svc.outcomes(ws)["links"])
    kept = [r for r in so.rows(ws.store, active_only=False) if r["key"] == "A"]
    assert len(kept) == 1 and not kept[0]["active"] and kept[0]["verdict"] == "moved"


def test_calibration_from_the_resolved_links(ws):
    d = svc.calibration(ws)
    # resolved and not confounded: A (alice, moved) and B (alice, no move); E/F confounded
    assert d["team"]["resolved"] == 2 and [e["estimator"] for e in d["estimators"]] == ["alice"]
    alice = d["estimators"][0]
    assert alice["brier"] == pytest.approx(((0.8 - 1) ** 2 + (0.6 - 0) ** 2) / 2)
    assert 0 <= alice["factor"] <= 3 and d["prior_sd"] == 0.5
    from app.auth import Person
    assert svc.calibration(ws, person=Person("bob", "estimator"))["estimators"] == []
    assert len(svc.calibration(ws, person=Person("Alice", "viewer"))["estimators"]) == 1
    assert len(svc.calibration(ws, person=Person("carol", "planner"))["estimators"]) == 1


def test_cli_outcomes_and_calibration(ws):
    cfg = str(ws.settings.path)
    r = CliRunner().invoke(main, ["outcomes", "--config", cfg, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["links"]) == 8
    r = CliRunner().invoke(main, ["outcomes", "--config", cfg, "--key", "A"])
    assert r.exit_code == 0 and "moved as estimated" in r.output and "alice" in r.output
    r = CliRunner().invoke(main, ["outcomes", "--config", cfg, "--key", "NOPE"])
    assert r.exit_code == 2 and "no launched initiative 'NOPE'" in r.output
    r = CliRunner().invoke(main, ["outcomes", "--config", cfg, "--as-of", "2026-06-10", "--format", "json"])
    got = _by(json.loads(r.output)["links"])
    assert got[("A", "activation")]["verdict"] == "measuring"            # as it looked then
    r = CliRunner().invoke(main, ["calibration", "--config", cfg, "--format", "json"])
    assert r.exit_code == 0 and set(json.loads(r.output)) == {"prior_sd", "team", "estimators"}
    r = CliRunner().invoke(main, ["calibration", "--config", cfg])
    assert r.exit_code == 0 and "alice" in r.output and "team" in r.output


def test_calibrated_scoring_scales_each_estimate_by_its_estimators_factor(ws):
    from app.services import ranking, items
    cal = svc.calibration_model(ws)
    plain = ranking(ws)
    cal_r = ranking(ws, calibrated=True)
    i = plain.index_of("P")
    assert cal_r.impact[i] == pytest.approx(plain.impact[i] * cal.team.factor)
    (p,) = [d for d in items(ws, cal_r) if d["key"] == "P"]
    assert p["links"][0]["factor"] == pytest.approx(cal.team.factor)
    assert p["links"][0]["factor_why"].startswith(f"×{cal.team.factor:.2f}: the team's 2 measured estimates")
    r = CliRunner().invoke(main, ["score", "--config", str(ws.settings.path), "--calibrated", "--format", "json"])
    d = json.loads(r.output)
    assert d["calibrated"] is True and "factor" in d["items"][0]["links"][0]
    r = CliRunner().invoke(main, ["score", "--config", str(ws.settings.path), "--format", "json"])
    assert "calibrated" not in json.loads(r.output)
    for cmd in (["plan", "--capacity", "3"], ["risk", "--draws", "200"]):
        r = CliRunner().invoke(main, [*cmd, "--config", str(ws.settings.path), "--calibrated", "--format", "json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)["calibrated"] is True


def test_api_outcomes_calibration_and_calibrated_roadmap(ws):
    from app.web import build_app
    client = build_app(workspace=ws).test_client()
    d = client.get("/api/v1/outcomes").get_json()
    assert len(d["links"]) == 8 and d["level"] == 0.9
    assert client.get("/api/v1/outcomes?key=A").get_json()["links"][0]["verdict"] == "moved"
    assert client.get("/api/v1/outcomes?key=NOPE").status_code == 404
    assert client.get("/api/v1/outcomes?as_of=bad").status_code == 400
    c = client.get("/api/v1/calibration").get_json()
    assert c["estimators"][0]["estimator"] == "alice"           # no [auth]: the local admin sees all
    r = client.get("/api/v1/roadmap?calibrated=1").get_json()
    assert r["calibrated"] is True and "factor" in r["items"][0]["links"][0]
    assert "calibrated" not in client.get("/api/v1/roadmap").get_json()
    assert client.get("/api/v1/roadmap?calibrated=maybe").status_code == 400
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/outcomes", "/api/v1/calibration"} <= set(spec["paths"])


def test_calibration_cards_only_for_that_person_planners_and_admins(ws, monkeypatch):
    from app.auth import Person
    from app.web import build_app
    from app.web.outcomes import blueprint as web_outcomes
    client = build_app(workspace=ws).test_client()
    monkeypatch.setattr(web_outcomes, "current_person", lambda: Person("bob", "estimator"))
    assert client.get("/api/v1/calibration").get_json()["estimators"] == []
    monkeypatch.setattr(web_outcomes, "current_person", lambda: Person("alice", "viewer"))
    assert [e["estimator"] for e in client.get("/api/v1/calibration").get_json()["estimators"]] == ["alice"]


def test_pages_name_the_calibration(ws):
    from app.web import build_app
    client = build_app(workspace=ws).test_client()
    page = client.get("/?calibrated=1").get_data(as_text=True)
    assert 'id="calibrated"' in page and 'id="calibrated"' not in client.get("/").get_data(as_text=True)
    page = client.get("/initiatives/P?calibrated=1").get_data(as_text=True)
    assert "the team&#39;s 2 measured estimates" in page
    out = client.get("/outcomes").get_data(as_text=True)
    assert "moved, by more than estimated" in out and "too little history" in out


def test_a_failing_measure_never_fails_the_sync(ws, monkeypatch):
    from app.services import outcomes as o
    from app.store import outcomes as so
    before = so.rows(ws.store)

    def boom(*a, **k):
        raise RuntimeError("kaput")
    monkeypatch.setattr(o, "refresh", boom)
    reports = sync(ws)
    assert all(r.status == "ok" for r in reports)
    assert any(w == "outcomes" and "kaput" in why for r in reports for w, why in r.skipped)
    assert len(so.rows(ws.store)) == len(before)                    # nothing stored was lost


def test_snapshots_freeze_the_factors_and_diff_names_calibration(ws):
    from app.services import changes
    from app.store import snapshots as snaps
    ws.settings.calibration.apply = True
    changes.save(ws, "calibrated-a")
    row = snaps.resolve(ws.store, "calibrated-a")
    frozen = snaps.load(ws.store, row["hash"]).meta["calibration"]
    assert set(frozen) == {"factors", "default"} and "alice" in frozen["factors"]
    ws.settings.calibration.prior_sd = 0.05          # a tighter prior: every factor moves toward 1
    ws.__dict__.pop("_calibration", None)
    d = changes.diff_json(changes.diff(ws, "calibrated-a", None))
    moved = [i for i in d["items"] if i["status"] == "moved"]
    assert moved
    for i in moved:
        assert set(k for k, v in i["change"].items() if v) == {"calibration"}
        assert sum(i["change"].values()) == pytest.approx(i["score_to"] - i["score_from"], abs=1e-9)
