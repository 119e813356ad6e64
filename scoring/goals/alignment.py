"""KPI-to-strategy alignment: the findings of `roadmap check` (docs/cli.md).

Levels: `cycle` and `unknown-node` are errors; `kpi-off-track`, `unestimated-link` and
`effort-defaulted` are info; every other code is a warning. A suggested estimate follows
the KPI's direction (`churn -5% @50%`, never `churn +5%`).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date

import numpy as np

from scoring.goals.graph import GoalGraph, GraphProblem
from scoring.model import Kpi
from scoring.goals.progress import KpiState
from scoring.ranking import Ranking

LEVELS = {"cycle": "error", "unknown-node": "error",
          "kpi-off-track": "info", "unestimated-link": "info", "effort-defaulted": "info"}
CODES = ("cycle", "unknown-node", "orphan-kpi", "objective-without-kpi", "kpi-not-smart",
         "kpi-no-data", "kpi-stale", "kpi-off-track", "initiative-unaligned",
         "unestimated-link", "too-many-kpis", "allocation-drift", "initiative-unreadable",
         "effort-defaulted", "discuss", "kpi-outlier")


@dataclass(frozen=True)
class Finding:
    code: str
    subject: str
    message: str

    @property
    def level(self) -> str:
        return LEVELS.get(self.code, "warning")

    def as_dict(self) -> dict:
        return {"level": self.level, "code": self.code, "subject": self.subject, "message": self.message}


@dataclass(frozen=True)
class AlignmentRules:
    as_of: date
    stale_days: int = 7
    max_kpis_per_objective: int = 5
    allocation_tolerance: float = 0.15


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def pct_pair(a: float, b: float) -> tuple[str, str]:
    """Two shares as percentages with as many decimals (up to 2) as it takes for unequal
    values to read differently: 0.4162 vs 0.42 is "41.6%" vs "42.0%", never "42%" vs "42%".

    >>> pct_pair(0.4162, 0.42), pct_pair(0.30, 0.50)
    (('41.6%', '42.0%'), ('30%', '50%'))
    """
    for digits in (0, 1, 2):
        x, y = f"{100 * a:.{digits}f}%", f"{100 * b:.{digits}f}%"
        if x != y or a == b:
            return x, y
    return x, y


def suggested_estimate(kpi: Kpi | None, kpi_id: str) -> str:
    """An impact line that improves the KPI: `activation +5% @50%`, `churn -5% @50%`."""
    sign = "-" if kpi is not None and kpi.direction == "down" else "+"
    return f"{kpi_id} {sign}5% @50%"


def did_you_mean(name: str, known: list[str]) -> str | None:
    """The known id closest to a mistyped one (difflib), if any is close."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return close[0] if close else None


_ORDINAL = {1: "1st", 2: "2nd", 3: "3rd"}


def _unreadable_problems(flags: list[str], graph: GoalGraph) -> list[str]:
    """Plain words for an item's data-quality flags, each with its fix."""
    ids = list(graph.kpi_order)
    out = []
    for f in flags:
        code, _, d = f.partition(":")
        if code == "unreadable-impact" and d.isdigit():
            nth = _ORDINAL.get(int(d), f"{d}th")
            out.append(f"its {nth} estimate cannot be read (write it as '<kpi-id> +5% @70%', a range "
                       "'-5%..-2%', or an absolute change '+2pp' / '+3pt')")
        elif code == "unreadable-impact":
            kpi = graph.kpi(d) if d in graph.kpi_order else None
            out.append(f"its estimate on '{d}' is in percentage points, but '{d}' is not a % KPI "
                       f"(unit '{kpi.unit if kpi else ''}'); write it in points ('{d} +3pt') or percent")
        elif code == "unreadable-confidence":
            out.append("a confidence cannot be read (write it as 70%, 70 or 0.7)")
        elif code == "unreadable-effort":
            out.append("its effort is not a positive number, so the default effort was used")
        elif code == "unknown-kpi":
            near = did_you_mean(d, ids)
            if near:
                out.append(f"it names KPI '{d}', which is not defined: did you mean `{near}`? "
                           f"(for example '{suggested_estimate(graph.kpi(near), near)}')")
            else:
                out.append(f"it names KPI '{d}', which is not defined (known: {', '.join(ids[:10])}); "
                           "fix the id or add the KPI")
        elif code == "no-base":
            out.append(f"its absolute estimate on '{d}' cannot be converted: '{d}' has no current value "
                       "and no baseline (or they are 0); give it a baseline or a source")
    return out


def smart_gaps(kpi: Kpi) -> list[str]:
    """What keeps a KPI from being SMART (measurable against a time-bound target)."""
    gaps = [f"no {name}" for name in ("baseline", "target", "start", "deadline") if getattr(kpi, name) is None]
    if kpi.start and kpi.deadline and kpi.deadline <= kpi.start:
        gaps.append("deadline not after start")
    if kpi.baseline is not None and kpi.target is not None and kpi.sign * (kpi.target - kpi.baseline) < 0:
        gaps.append(f"target {kpi.target:g} is worse than baseline {kpi.baseline:g} for a KPI that should go {kpi.direction}")
    return gaps


def kpi_findings(kpis: list[Kpi], states: dict[str, KpiState], rules: AlignmentRules) -> list[Finding]:
    """Findings about each KPI on its own: SMART fields and its data."""
    out = []
    for k in kpis:
        gaps = smart_gaps(k)
        if gaps:
            out.append(Finding("kpi-not-smart", k.id, f"KPI '{k.id}' is not SMART: {', '.join(gaps)}; "
                               "set them so progress can be judged against time"))
        st = states.get(k.id)
        if st is None or st.current_date is None:
            out.append(Finding("kpi-no-data", k.id, f"KPI '{k.id}' has no observation on or before {rules.as_of}; "
                               "give it a source and run `roadmap sync`"))
            continue
        age = (rules.as_of - st.current_date).days
        if age > rules.stale_days:
            out.append(Finding("kpi-stale", k.id, f"KPI '{k.id}' was last observed on {st.current_date}, {age} days "
                               f"before {rules.as_of} (stale after {rules.stale_days}); check its source"))
        if st.status == "off-track":
            now, due = pct_pair(st.progress, st.expected_progress)
            out.append(Finding("kpi-off-track", k.id, f"KPI '{k.id}' is at {now} of its way to target "
                               f"against {due} expected by {rules.as_of}"))
    return out


def outlier_findings(kpis: list[Kpi], histories: dict[str, list[tuple[date, float]]],
                     as_of: date) -> list[Finding]:
    """`kpi-outlier`: a value in a mean- or sum-aggregated KPI's current window more than
    5 median absolute deviations from the window's median (the spread read over 28 days at
    least, scaled to a standard deviation: `scoring.goals.windows.window_outliers`), so one day
    pulls the current value, and with it the urgency; the fix suggests `aggregate = "median"`."""
    from scoring.goals.windows import OUTLIER_MADS, window_outliers
    out = []
    for k in kpis:
        if k.aggregate not in ("mean", "sum") or k.window_days < 3 or k.id not in histories:
            continue
        hist = histories[k.id]
        found = window_outliers([d for d, _ in hist], [v for _, v in hist], k.window_days, as_of)
        for day, value, dist in found:
            out.append(Finding("kpi-outlier", k.id, (
                f"KPI '{k.id}' has {value:g} on {day}, more than {OUTLIER_MADS:g} median absolute deviations "
                f"(its usual day-to-day spread) from the median of its {k.window_days}-day window, so it alone "
                f"pulls the {k.aggregate} "
                f"(and the urgency); check that day at the source, or set aggregate = \"median\" for "
                f"'{k.id}' in roadmap.toml")))
    return out


def graph_findings(graph: GoalGraph, rules: AlignmentRules) -> list[Finding]:
    """Orphan KPIs, objectives nothing feeds, objectives with too many KPIs."""
    out = []
    reach = graph.reaches_objective()
    for k in graph.kpis:
        if not reach[k.id]:
            out.append(Finding("orphan-kpi", k.id, f"KPI '{k.id}' feeds no objective: add an edge to the KPI or "
                               "objective it serves, or stop tracking it"))
    for o in graph.objectives:
        direct = [k for k in graph.graph.predecessors(o.id)]
        if not direct:
            out.append(Finding("objective-without-kpi", o.id, f"objective '{o.id}' has no KPI feeding it: "
                               "add an edge from a KPI that measures it"))
        elif len(direct) > rules.max_kpis_per_objective:
            out.append(Finding("too-many-kpis", o.id, f"objective '{o.id}' is fed directly by {len(direct)} KPIs "
                               f"(more than {rules.max_kpis_per_objective}): focus on the few that matter"))
    return out


def objective_effort(ranking: Ranking) -> np.ndarray:
    """Effort per objective: each ranked item's effort split over the objectives in
    proportion to the size of its contribution to each."""
    size = np.abs(ranking.objective_impact[ranking.ranked])
    totals = size.sum(axis=1)
    share = np.divide(size, totals[:, None], out=np.zeros_like(size), where=totals[:, None] > 0)
    return (share * ranking.effort[ranking.ranked][:, None]).sum(axis=0)


def allocation(ranking: Ranking) -> list[dict]:
    effort = objective_effort(ranking)
    total = effort.sum()
    return [{"objective": o.id, "weight_share": ranking.weights[o.id],
             "effort_share": float(effort[n] / total) if total > 0 else 0.0}
            for n, o in enumerate(ranking.graph.objectives)]


def disagreement_findings(flags: dict[str, list[dict]]) -> list[Finding]:
    """`discuss` per disputed link that can change the plan (the `discuss:<kpi>`
    flags: docs/model.md "Several estimators")."""
    return [Finding("discuss", key,
                    f"initiative {key}: the estimators disagree on '{f['kpi']}' (D = {f['disagreement']:.2f}), "
                    f"and it can change the plan (refining it is worth {f['voi']:.3g} impact points): "
                    "discuss this estimate")
            for key, found in flags.items() for f in found]


def initiative_findings(ranking: Ranking) -> list[Finding]:
    """Ranked initiatives that serve no objective, and links without an estimate."""
    b = ranking.backlog
    known = ranking.link_kpi_index >= 0
    serves = np.zeros(len(b.link_item), dtype=bool)
    serves[known] = ranking.reach.any(axis=1)[ranking.link_kpi_index[known]]
    aligned = np.bincount(b.link_item[serves], minlength=len(b)) > 0
    out = []
    for i in ranking.ranked:
        if not aligned[i]:
            out.append(Finding("initiative-unaligned", b.keys[i], f"initiative {b.keys[i]} moves no KPI that serves "
                               "an objective: add an impact line or a kpi:<id> label, or question its place"))
    unestimated = np.flatnonzero(known & np.isnan(b.link_low))
    ranked = ranking.rank_of > 0
    for j in unestimated:
        i = b.link_item[j]
        if ranked[i]:
            kpi = b.kpi_of(j)
            example = suggested_estimate(ranking.graph.kpi(kpi), kpi)
            out.append(Finding("unestimated-link", b.keys[i], f"initiative {b.keys[i]} links KPI '{kpi}' "
                               f"without an estimate: add an impact line such as '{example}'"))
    return out


def data_quality_findings(ranking: Ranking) -> list[Finding]:
    """`initiative-unreadable` for ranked items whose impact lines, effort or confidence
    cannot be read or that name unknown KPIs (with a "did you mean"); `effort-defaulted`
    for ranked items with no effort, naming the effort they were given."""
    out = []
    defaulted = ranking.effort_defaulted
    may = ranking.maybe_flagged
    todo = [int(i) for i in ranking.ranked if may[i]]
    for i in todo:
        key = ranking.backlog.keys[i]
        problems = _unreadable_problems(ranking.flags(i), ranking.graph)
        if problems:
            out.append(Finding("initiative-unreadable", key, f"initiative {key}: " + "; ".join(problems)))
        if defaulted[i]:
            out.append(Finding("effort-defaulted", key, f"initiative {key} has no effort, so it was given "
                               f"{ranking.default_effort:g} ({_effort_rule(ranking)}); set its effort"))
    return out


def _effort_rule(ranking: Ranking) -> str:
    if ranking.params.default_effort == "median":
        return "the median effort of the ranked items"
    return "scoring.default_effort"


def allocation_findings(alloc: list[dict], rules: AlignmentRules) -> list[Finding]:
    return [Finding("allocation-drift", a["objective"],
                    f"objective '{a['objective']}' gets {_pct(a['effort_share'])} of the ranked effort against "
                    f"{_pct(a['weight_share'])} of the strategy's weight (tolerance {_pct(rules.allocation_tolerance)})")
            for a in alloc if abs(a["effort_share"] - a["weight_share"]) > rules.allocation_tolerance]


def problem_findings(problems: list[GraphProblem]) -> list[Finding]:
    return [Finding(p.code, p.subject, p.message) for p in problems]
