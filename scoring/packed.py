"""A `Ranking` as bytes and back: its arrays in one `.npz` (no pickles) and its small
parts (keys, KPI states, weights, flags) as JSON, so a ranking stored once is read back
without loading the backlog row by row or scoring it again (docs/model.md, "The
published ranking").

Pure: bytes in, bytes out; the goal graph is the caller's (the stored key says which).

>>> from datetime import date
>>> from scoring.goals.graph import GoalGraph
>>> from scoring.model import Backlog, Edge, Initiative, Kpi, Link, Objective
>>> from scoring.ranking import ScoringParams, rank_backlog
>>> g = GoalGraph.build([Objective(id="rev", weight=1)], [Kpi(id="mrr")],
...                    [Edge(**{"from": "mrr", "to": "rev", "weight": 1.0})])
>>> b = Backlog.from_initiatives([Initiative(key="A", effort=2, links=(Link(kpi="mrr", low=0.1, high=0.1),))])
>>> r = rank_backlog(b, g, ScoringParams(as_of=date(2026, 7, 2)))
>>> back = unpack(pack(r), g)
>>> float(back.score[0]), back.backlog.keys, back.item(0)["contributions"]
(2.5, ['A'], [{'kpi': 'mrr', 'objective': 'rev', 'impact': 5.0}])
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict
from datetime import date

import numpy as np

from scoring.goals.graph import GoalGraph
from scoring.model import Backlog
from scoring.goals.progress import KpiState
from scoring.ranking import Ranking, ScoringParams

FORMAT = 1       # bump when the packed layout changes: older packs are then recomputed

_BACKLOG = ("done", "effort", "confidence", "has_source_flags", "link_item", "link_kpi_code", "link_low",
            "link_high", "link_confidence")
_RANKING = ("V", "reach", "impact", "score", "effort", "effort_given", "link_kpi_index", "link_delta",
            "link_confidence", "ranked", "link_low", "link_high", "link_problem", "link_base")


def pack(r: Ranking) -> bytes:
    """The ranking's arrays and small parts as bytes (`unpack` reads them back)."""
    b = r.backlog
    arrays: dict[str, np.ndarray] = {}
    same: list[str] = []
    for name in _BACKLOG:
        arrays["b." + name] = getattr(b, name)
    for name in ("link_unit", "link_by"):         # optional columns: absent means None
        if getattr(b, name, None) is not None:
            arrays["b." + name] = getattr(b, name)
    if getattr(r, "link_share", None) is not None:
        arrays["r.link_share"] = r.link_share
    for name in _RANKING:
        a = getattr(r, name)
        twin = arrays.get("b." + name)       # unconverted lifts are the backlog's own: stored once
        if twin is not None and twin.shape == a.shape and np.array_equal(twin, a, equal_nan=True):
            same.append(name)
        else:
            arrays["r." + name] = a
    arrays["r.objective_impact"] = r.objective_impact
    for name, col in b.factors.items():
        arrays["bf." + name] = col
    for name, col in (r.factors or {}).items():
        arrays["rf." + name] = np.asarray(col)
    small = {"keys": b.keys, "kpi_names": b.kpi_names, "same": same,
             "estimator_names": list(getattr(b, "estimator_names", [])), "ranking_factors": r.factors is not None,
             "source_flags": [[i, list(f)] for i, f in b.source_flags.items()],
             "weights": r.weights, "default_effort": r.default_effort,
             "params": {**asdict(r.params), "as_of": r.params.as_of.isoformat()},
             "states": [{**asdict(s), "current_date": s.current_date.isoformat() if s.current_date else None}
                        for s in r.states.values()]}
    return frame(FORMAT, small, arrays)


def frame(fmt: int, small: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """The layout every pack shares: its format (2 bytes), the length of its JSON part (8),
    the JSON part, then the arrays as one `.npz`."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    head = json.dumps(small, separators=(",", ":")).encode()
    return fmt.to_bytes(2, "little") + len(head).to_bytes(8, "little") + head + buf.getvalue()


def unframe(blob: bytes, fmt: int, what: str) -> tuple[dict, dict[str, np.ndarray]]:
    """`frame` read back (no pickles); ValueError for a pack of another format."""
    if int.from_bytes(blob[:2], "little") != fmt:
        raise ValueError(f"packed {what} of another format")
    n = int.from_bytes(blob[2:10], "little")
    small = json.loads(blob[10:10 + n])
    with np.load(io.BytesIO(blob[10 + n:]), allow_pickle=False) as z:
        return small, {k: z[k] for k in z.files}


def unpack(blob: bytes, graph: GoalGraph) -> Ranking:
    """The ranking `pack` stored, scored through `graph` (the caller's, same inputs)."""
    small, arrays = unframe(blob, FORMAT, "ranking")
    bf = {k[3:]: v for k, v in arrays.items() if k.startswith("bf.")}
    optional = {"link_by": arrays.get("b.link_by"), "estimator_names": small["estimator_names"]} \
        if "link_by" in Backlog.__dataclass_fields__ else {}
    backlog = Backlog(keys=small["keys"], kpi_names=small["kpi_names"], factors=bf,
                      link_unit=arrays.get("b.link_unit"), **optional,
                      source_flags={int(i): tuple(f) for i, f in small["source_flags"]},
                      **{name: arrays["b." + name] for name in _BACKLOG})
    fields = {name: arrays["b." + name] if name in small["same"] else arrays["r." + name] for name in _RANKING}
    p = small["params"]
    params = ScoringParams(**{**p, "as_of": date.fromisoformat(p["as_of"])})
    states = {s["kpi"]: KpiState(**{**s, "current_date": date.fromisoformat(s["current_date"])
                                    if s["current_date"] else None}) for s in small["states"]}
    rf = {k[3:]: v for k, v in arrays.items() if k.startswith("rf.")} if small["ranking_factors"] else None
    if "r.link_share" in arrays:
        fields["link_share"] = arrays["r.link_share"]
    r = Ranking(params=params, backlog=backlog, graph=graph, weights=small["weights"], states=states,
                factors=rf, default_effort=small["default_effort"], **fields)
    r.__dict__["objective_impact"] = arrays["r.objective_impact"]
    return r
