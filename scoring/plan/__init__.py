"""The capacity plan (docs/model.md "The plan"): which initiatives to do, in which period.

A pure kernel over plain data: `solve_plan(PlanInput) -> PlanResult`, or `PlanInfeasible`
when the mandatory items cannot all be planned. Modules: `model` (data, pre-solve),
`heuristics` (greedy plan and the plain cut), `milp` (the mixed-integer program on HiGHS),
`explain` (`enters_if`, infeasibility), `solve` (the entry point).
"""
from scoring.plan.model import PlanInfeasible, PlanInput, PlanResult, time_factors
from scoring.plan.solve import solve_plan

__all__ = ["PlanInfeasible", "PlanInput", "PlanResult", "solve_plan", "time_factors"]
