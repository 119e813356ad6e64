"""A `RiskResult` as bytes and back, in the layout of scoring/packed.py: its arrays in one
`.npz` (no pickles) and its lists as JSON, so an analysis computed once (by a sync, or the
first web worker) is read by the others instead of simulated again. Pure: bytes in, bytes
out.

>>> from scoring.uncertainty import RiskInput, analyse_risk
>>> res = analyse_risk(RiskInput(keys=["A", "B"], effort=[1.0, 1.0], eligible=[True, True], kpis=["mrr"],
...     urgency=[1.0], objective_weight=[1.0], link_initiative=[0, 1], link_kpi=[0, 0], link_direction=[1, 1],
...     link_low=[0.10, 0.0], link_high=[0.10, 0.2], link_confidence=[1.0, 1.0], link_line=[1, 1],
...     edge_child=[0], edge_parent=[0], edge_to_objective=[True], edge_weight=[1.0], top=1, draws=200))
>>> unpack_risk(pack_risk(res)).as_dict() == res.as_dict()
True
"""
from __future__ import annotations

from dataclasses import fields

from scoring.packed import frame, unframe
from scoring.uncertainty import RiskResult
from scoring.uncertainty.draws import Simulation

FORMAT = 1       # bump when the layout changes: older packs are then computed again
_LISTS = ("keys", "link_key", "link_kpi", "link_line")
_ARRAYS = ("expected_impact", "expected_score", "expected_rank", "voi")


def pack_risk(res: RiskResult) -> bytes:
    small = {"draws": res.draws, "seed": res.seed, "percentile_draws": res.simulation.percentile_draws,
             **{name: list(getattr(res, name)) for name in _LISTS}}
    arrays = {name: getattr(res, name) for name in _ARRAYS}
    arrays.update({"sim." + f.name: getattr(res.simulation, f.name) for f in fields(Simulation)
                   if f.name != "percentile_draws"})
    return frame(FORMAT, small, arrays)


def unpack_risk(blob: bytes) -> RiskResult:
    """The result `pack_risk` stored; ValueError for another format."""
    small, arrays = unframe(blob, FORMAT, "risk analysis")
    sim = Simulation(percentile_draws=small["percentile_draws"],
                     **{k[4:]: v for k, v in arrays.items() if k.startswith("sim.")})
    return RiskResult(draws=small["draws"], seed=small["seed"], simulation=sim,
                      **{name: small[name] for name in _LISTS}, **{name: arrays[name] for name in _ARRAYS})
