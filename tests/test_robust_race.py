"""`roadmap score` racing publishing syncs (3 of 88 runs ended in a KeyError
traceback and a ranking built before a sync showed other items' titles). Every score
run must exit 0 and show each item with its own title, whichever version it read."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORES = 8


def write_backlog(path: Path, version: int) -> None:
    """Version 1 and 2 share most keys (titles differ), and each has keys of its own, so a
    publish re-stages, adds and removes rows (under half: no --allow-removal needed)."""
    keys = [f"K-{n}" for n in range(1500)]
    keys += [f"V{version}-{n}" for n in range(300)]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "title", "status", "effort", "impact"])
        for n, k in enumerate(keys):
            w.writerow([k, f"{k} title v{version}", "To Do", 1 + n % 5, f"nps +{1 + (n * 7 + version) % 9}% @60%"])


def test_score_racing_publishing_syncs_shows_each_items_own_title(workspace_dir):
    cfg = workspace_dir / "roadmap.toml"
    backlog = workspace_dir / "initiatives.csv"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ROADMAP_DATABASE", None)
    env.pop("ROADMAP_CONFIG", None)

    def roadmap(*args) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app.cli", *args, "--config", str(cfg)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    write_backlog(backlog, 1)
    assert roadmap("sync").returncode == 0
    stop = threading.Event()
    syncs: list[int] = []

    def syncing():
        version = 1
        while not stop.is_set():
            version = 3 - version
            write_backlog(backlog, version)
            syncs.append(roadmap("sync", "--connector", "backlog").returncode)
    t = threading.Thread(target=syncing)
    t.start()
    try:
        runs = [roadmap("score", "--format", "json") for _ in range(SCORES)]
    finally:
        stop.set()
        t.join()
    assert set(syncs) == {0} and len(syncs) >= 2
    for res in runs:
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
        items = json.loads(res.stdout)["items"]
        assert len(items) == 1800
        wrong = [(it["key"], it["title"]) for it in items if it["title"].split(" title ")[0] != it["key"]]
        assert wrong == []
