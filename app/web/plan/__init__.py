"""The plan and the risk analysis on the web (docs/http.md, "Plan" and "Risk"): one
blueprint, `planning`, in one package.

- `api`: GET/POST /api/v1/plan, GET /api/v1/risk and their OpenAPI parts;
- `board`: the /plan board (greedy plan at once, the exact plan and "enters if" fetched
  after as JSON, pins and capacities in the URL);
- `marks`: what the roadmap and initiative pages show of the plan and the risk.
"""
from __future__ import annotations

from app.web.plan.blueprint import planning
from app.web.plan import api, board  # noqa: E402,F401  (they register their routes on `planning`)

__all__ = ["planning"]
