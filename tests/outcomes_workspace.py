"""A workspace with launched initiatives and seeded KPI series around their launches, for
the outcomes tests (service, CLI, API, page)."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np

START = date(2026, 1, 1)
AS_OF = date(2026, 10, 27)
SEASON = np.array([1.0, 1.03, 1.04, 1.02, 0.99, 0.93, 0.90])

TOML = """
[service]
database = "sqlite:///roadmap.db"

[scoring]
as_of = 2026-10-27

[[objectives]]
id = "growth"
weight = 1

[[kpis]]
id = "activation"
baseline = 100
source = { connector = "obs" }

[[kpis]]
id = "retention"
baseline = 50
source = { connector = "obs" }

[[kpis]]
id = "signups"
baseline = 80
source = { connector = "obs" }

[[kpis]]
id = "young"
baseline = 10
source = { connector = "obs" }

[[kpis]]
id = "nosource"
baseline = 5

[[edges]]
from = "activation"
to = "growth"
weight = 1

[[edges]]
from = "retention"
to = "growth"
weight = 1

[[edges]]
from = "signups"
to = "growth"
weight = 1

[[edges]]
from = "young"
to = "growth"
weight = 1

[[edges]]
from = "nosource"
to = "growth"
weight = 1

[connectors.backlog]
type = "csv"
path = "initiatives.csv"
holds = "initiatives"

[connectors.obs]
type = "csv"
path = "observations.csv"
holds = "observations"
"""

# launches: A lifts activation 15 % on 2026-06-01; B on retention changes nothing on
# 2026-07-01; C (signups) launched 2026-10-15, still measuring; E and F launch 10 days
# apart on signups (confounded, +10 % together); Y's KPI has 40 days of history; N's KPI
# has no source; R was done and reopened; Z launches after as_of.
INITIATIVES = """key,title,status,status_category,effort,impact,launched_on,done_on
A,Guided onboarding,Done,done,2,activation +10% @80% by alice,,2026-06-01
B,Win-back emails,Done,done,3,retention +8% @60% by alice,2026-07-01,
C,Referral prompt,Done,done,1,signups +5% @50% by bob,,2026-10-15
E,Landing page,Done,done,2,signups +4% @50% by bob,,2026-04-01
F,Signup form,Done,done,2,signups +3% @50% by alice,,2026-04-11
Y,Young KPI item,Done,done,1,young +5% @50%,,2026-10-01
N,No source item,Done,done,1,nosource +5% @50%,,2026-06-01
R,Reopened item,In Progress,indeterminate,1,activation +5% @50%,,2026-08-01
Z,Future launch,In Progress,indeterminate,1,retention +5% @50%,2026-12-01,
P,Planned item,To Do,new,1,activation +5% @50%,,
"""


def series(seed: int, level: float, lifts: list[tuple[date, float]], start: date = START, end: date = AS_OF):
    n = (end - start).days + 1           # two generators: a longer series keeps the same start
    days = [start + timedelta(i) for i in range(n)]
    walk = level * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.002, n)))
    dow = np.array([d.weekday() for d in days])
    y = walk * SEASON[dow] * (1 + np.random.default_rng(seed + 1000).normal(0, 0.03, n))
    for when, lift in lifts:
        y[[d >= when for d in days]] *= 1 + lift
    return days, y


def observations_csv(end: date = AS_OF) -> str:
    rows = ["kpi,date,value"]
    kpis = {"activation": series(1, 100, [(date(2026, 6, 1), 0.15)], end=end),
            "retention": series(2, 50, [], end=end),
            "signups": series(3, 80, [(date(2026, 4, 1), 0.05), (date(2026, 4, 11), 0.05)], end=end),
            "young": series(4, 10, [], start=date(2026, 9, 1), end=end)}
    for k, (days, y) in kpis.items():
        rows += [f"{k},{d.isoformat()},{v:.4f}" for d, v in zip(days, y)]
    return "\n".join(rows) + "\n"


def make(tmp_path, initiatives: str = INITIATIVES):
    (tmp_path / "roadmap.toml").write_text(TOML)
    (tmp_path / "initiatives.csv").write_text(initiatives)
    (tmp_path / "observations.csv").write_text(observations_csv())
    return tmp_path
