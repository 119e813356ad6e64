"""Syncs killed mid-way, as systemd, Kubernetes or the OOM killer do it: `roadmap sync`
subprocesses stopped by SIGKILL and SIGTERM (alternately) at seeded random moments after
their run has started, on SQLite and PostgreSQL. Then one good sync: no run is left
"running", the staging tables are empty, the store did not grow and the ranking is the
last good sync's. Whenever a kill lands, these hold."""
from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
STAGING = ("staged_initiatives", "staged_links", "staged_observations", "staged_seen")
KILLS = 6


def big_workspace(workspace_dir: Path) -> Path:
    """The worked example's config with a large backlog and observation file, so a kill lands mid-sync."""
    rng = random.Random(11)
    with (workspace_dir / "initiatives.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "title", "status", "effort", "impact"])
        for n in range(6000):
            kpi = rng.choice(["activation", "churn", "nps"])
            lift = rng.uniform(1, 9) * (-1 if kpi == "churn" else 1)
            w.writerow([f"K-{n}", f"K-{n} initiative", "To Do", rng.choice([1, 2, 3, 5]), f"{kpi} {lift:+.1f}% @60%"])
    with (workspace_dir / "observations.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["kpi", "date", "value"])
        for kpi, base in (("activation", 0.3), ("churn", 0.05), ("mrr", 1e5), ("nps", 30)):
            for d in range(6000):
                day = f"{2010 + d // 365:04d}-{1 + (d % 365) // 31:02d}-{1 + (d % 365) % 28:02d}"
                w.writerow([kpi, day, base * (1 + d / 60000)])
    return workspace_dir / "roadmap.toml"


def roadmap(env, *args, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def finished(env, *args) -> tuple[int, str]:
    p = roadmap(env, *args)
    out = p.communicate(timeout=300)[0]
    return p.returncode, out


def test_killed_syncs_leave_no_running_run_no_staging_and_the_last_good_ranking(db_url, workspace_dir):
    cfg = big_workspace(workspace_dir)
    env = {**os.environ, "ROADMAP_DATABASE": db_url, "PYTHONPATH": str(ROOT)}
    env.pop("ROADMAP_CONFIG", None)
    code, out = finished(env, "sync", "--config", str(cfg))
    assert code == 0, out
    code, good = finished(env, "score", "--config", str(cfg), "--format", "json", "--limit", "40")
    assert code == 0, good
    engine = create_engine(db_url)

    def one(sql: str) -> int:
        with engine.connect() as c:
            return c.execute(text(sql)).scalar_one()
    sizes = {t: one(f"SELECT count(*) FROM {t}") for t in ("initiatives", "links", "observations")}
    rng = random.Random(20261125)
    for n in range(KILLS):
        sig = signal.SIGTERM if n % 2 == 0 else signal.SIGKILL
        runs_before = one("SELECT count(*) FROM sync_runs")
        proc = roadmap(env, "sync", "--config", str(cfg), "--full")
        deadline = time.monotonic() + 120
        while one("SELECT count(*) FROM sync_runs") == runs_before and proc.poll() is None:
            assert time.monotonic() < deadline, "the sync did not start"
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))     # seeded: somewhere in staging, publishing or after
        proc.send_signal(sig)
        out = proc.communicate(timeout=120)[0]
        assert "Traceback" not in out, out
        if sig == signal.SIGTERM and proc.returncode != 0:
            # handled like Ctrl+C: its run is failed at once, not left "running"
            with engine.connect() as c:
                rows = c.execute(text("SELECT id, connector, status, message FROM sync_runs ORDER BY id")).all()
            assert one("SELECT count(*) FROM sync_runs WHERE status = 'running'") == 0, (out, rows)
    code, out = finished(env, "sync", "--config", str(cfg))
    assert code == 0, out
    assert one("SELECT count(*) FROM sync_runs WHERE status = 'running'") == 0
    assert {t: one(f"SELECT count(*) FROM {t}") for t in STAGING} == {t: 0 for t in STAGING}
    assert {t: one(f"SELECT count(*) FROM {t}") for t in sizes} == sizes
    code, after = finished(env, "score", "--config", str(cfg), "--format", "json", "--limit", "40")
    assert code == 0 and json.loads(after) == json.loads(good)
    engine.dispose()
