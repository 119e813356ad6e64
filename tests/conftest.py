"""Shared fixtures: the worked example (docs/model.md, "Worked example") as plain data and as
a workspace (`workspace_dir`, synced: `ws`), the web's test `client`, the CLI's `runner`,
the databases (`db_url`: SQLite, and PostgreSQL where one is configured) and one
`wait_until(predicate, timeout)` for what another thread or process does."""
from __future__ import annotations

from datetime import date

import pytest

from scoring.goals.graph import GoalGraph
from scoring.model import Edge, Initiative, Kpi, Link, Objective
from scoring.goals.progress import Current

AS_OF = date(2026, 7, 2)


def edge(a, b, w):
    return Edge(**{"from": a, "to": b, "weight": w})


@pytest.fixture
def example_graph() -> GoalGraph:
    window = dict(start=date(2026, 1, 1), deadline=date(2026, 12, 31))
    return GoalGraph.build(
        [Objective(id="revenue", weight=3), Objective(id="delight", weight=1)],
        [Kpi(id="activation", baseline=0.30, target=0.40, **window),
         Kpi(id="churn", direction="down", baseline=0.05, target=0.03, **window),
         Kpi(id="mrr", baseline=100000, target=150000, **window),
         Kpi(id="nps", baseline=30, target=50)],
        [edge("activation", "mrr", 0.5), edge("churn", "mrr", 0.8), edge("mrr", "revenue", 1.0),
         edge("nps", "delight", 1.0), edge("nps", "mrr", 0.1)])


@pytest.fixture
def example_currents() -> dict[str, Current]:
    return {k: Current(v, AS_OF) for k, v in
            {"activation": 0.32, "churn": 0.046, "mrr": 140000, "nps": 52}.items()}


@pytest.fixture
def example_initiatives() -> list[Initiative]:
    return [
        Initiative(key="A", title="Guided onboarding", effort=2,
                   links=(Link(kpi="activation", low=0.10, high=0.10, confidence=0.8),)),
        Initiative(key="B", title="Cancellation flow", effort=4,
                   links=(Link(kpi="churn", low=-0.10, high=-0.10, confidence=0.5),)),
        Initiative(key="C", title="NPS survey in app", effort=1,
                   links=(Link(kpi="nps", low=0.20, high=0.20),)),
        Initiative(key="D", title="Churn research", effort=1, links=(Link(kpi="churn"),)),
    ]


# -- databases: SQLite always, PostgreSQL where $ROADMAP_TEST_POSTGRES_URL is set ------
import os  # noqa: E402

PG_URL = os.environ.get("ROADMAP_TEST_POSTGRES_URL")
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """A service the tests need is absent: skip on a workstation, but FAIL in CI (`CI=true`),
    so a CI run cannot go green by silently skipping the PostgreSQL or browser tests."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service fails the run)", pytrace=False)
    pytest.skip(reason)


def _fresh_postgres(url: str) -> str:
    from sqlalchemy import create_engine, text
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))
    eng.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'roadmap.db'}"
    if not PG_URL:
        missing("no PostgreSQL: set ROADMAP_TEST_POSTGRES_URL (.ci/run does when one answers on 127.0.0.1:5432)")
    return _fresh_postgres(PG_URL)


EXAMPLE_TOML = """
[scoring]
as_of = 2026-07-02

[[objectives]]
id = "revenue"
weight = 3

[[objectives]]
id = "delight"
weight = 1

[[kpis]]
id = "activation"
unit = "%"
baseline = 0.30
target = 0.40
start = 2026-01-01
deadline = 2026-12-31
source = { connector = "obs" }

[[kpis]]
id = "churn"
direction = "down"
baseline = 0.05
target = 0.03
start = 2026-01-01
deadline = 2026-12-31
source = { connector = "obs" }

[[kpis]]
id = "mrr"
baseline = 100000
target = 150000
start = 2026-01-01
deadline = 2026-12-31
source = { connector = "obs" }

[[kpis]]
id = "nps"
baseline = 30
target = 50
source = { connector = "obs" }

[[edges]]
from = "activation"
to = "mrr"
weight = 0.5

[[edges]]
from = "churn"
to = "mrr"
weight = 0.8

[[edges]]
from = "mrr"
to = "revenue"
weight = 1.0

[[edges]]
from = "nps"
to = "delight"
weight = 1.0

[[edges]]
from = "nps"
to = "mrr"
weight = 0.1

[connectors.backlog]
type = "csv"
path = "initiatives.csv"
holds = "initiatives"

[connectors.obs]
type = "csv"
path = "observations.csv"
holds = "observations"
"""

EXAMPLE_INITIATIVES = """key,title,status,status_category,effort,confidence,impact,labels,url
A,Guided onboarding,To Do,new,2,,activation +10% @80%,,https://acme.atlassian.net/browse/A
B,Cancellation flow,To Do,new,4,,churn -10% @50%,,
C,NPS survey in app,In Progress,indeterminate,1,,nps +20%,,
D,Churn research,To Do,new,1,,,kpi:churn,
E,Old launch,Done,done,1,,nps +50%,,
"""

EXAMPLE_OBSERVATIONS = """kpi,date,value
activation,2026-06-30,0.31
activation,2026-07-01,0.32
churn,2026-07-01,0.046
mrr,2026-07-01,140000
nps,2026-07-01,52
nps,2026-07-03,60
"""


@pytest.fixture
def workspace_dir(tmp_path):
    """The worked example as a config with CSV sources (as a user would lay it out)."""
    (tmp_path / "roadmap.toml").write_text(EXAMPLE_TOML)
    (tmp_path / "initiatives.csv").write_text(EXAMPLE_INITIATIVES)
    (tmp_path / "observations.csv").write_text(EXAMPLE_OBSERVATIONS)
    return tmp_path


def synced_example(d, extra_toml: str = ""):
    """The worked example written into folder `d` (paths absolute, the store in `d`, `extra_toml`
    appended to the config) and synced once: a Workspace for a module-scoped server."""
    from app.config import load_settings
    from app.services import Workspace
    from app.services.sync import sync
    (d / "roadmap.toml").write_text(EXAMPLE_TOML.replace('path = "', f'path = "{d}/') + extra_toml)
    (d / "initiatives.csv").write_text(EXAMPLE_INITIATIVES)
    (d / "observations.csv").write_text(EXAMPLE_OBSERVATIONS)
    settings = load_settings(d / "roadmap.toml")
    settings.service.database = f"sqlite:///{d / 'roadmap.db'}"
    ws = Workspace(settings)
    sync(ws)
    return ws


def add_service(workspace_dir, lines: str) -> None:
    """Give the example config a `[service]` table with these lines (before sync)."""
    path = workspace_dir / "roadmap.toml"
    path.write_text("[service]\n" + lines.strip() + "\n" + path.read_text())


@pytest.fixture
def ws(workspace_dir, monkeypatch):
    """The worked example synced into its own SQLite database. A module changes what is
    synced by overriding `workspace_dir` (which may ask for the shared one)."""
    from app.config import load_settings
    from app.services import Workspace
    from app.services.sync import sync
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    w = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    sync(w)
    yield w
    w.close()


@pytest.fixture
def client(ws):
    """Flask's test client on `ws`."""
    from app import create_app
    return create_app(workspace=ws).test_client()


@pytest.fixture
def runner(monkeypatch):
    """click's runner for `roadmap` commands: `runner.invoke(main, [...])`."""
    from click.testing import CliRunner
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    monkeypatch.delenv("ROADMAP_CONFIG", raising=False)
    return CliRunner()


@pytest.fixture
def cli(workspace_dir, runner, monkeypatch):
    """`cli("score", "--format", "json")`: a `roadmap` command run in the example workspace
    (its roadmap.toml found in the working directory), exceptions not caught."""
    from app.cli import main
    monkeypatch.chdir(workspace_dir)

    def invoke(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)
    return invoke


def wait_until(predicate, timeout: float = 30.0, message: str = "", interval: float = 0.02):
    """Poll `predicate` until it is true and return its value; fail the test after `timeout`
    seconds. For what another thread or process does: never a timed assertion."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{message or 'gave up waiting'} (waited {timeout:g} s)", pytrace=False)
        time.sleep(interval)
