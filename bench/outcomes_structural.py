"""Would a structural time-series counterfactual pay for its weight? statsmodels'
UnobservedComponents (local linear trend + weekly seasonal, on log values, its own
simulated interval for the window's mean) against the least-squares counterfactual with
placebos (scoring.outcomes), on the simulated series of tests/test_outcomes_kernel.py:
coverage of the 90 % interval, median half-width, median error, time per link.

statsmodels (and pandas) are not dependencies of kpi-roadmap; install them beside it to
run this: `pip install --target /tmp/sm statsmodels pandas patsy python-dateutil` and
`PYTHONPATH=/tmp/sm:. python3 bench/outcomes_structural.py [--links N]`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from datetime import timedelta

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scoring.outcomes import measure  # noqa: E402
from tests.test_outcomes_kernel import simulated  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--links", type=int, default=60)
    n_links = ap.parse_args().links
    try:
        from statsmodels.tsa.statespace.structural import UnobservedComponents
    except ImportError:
        print("statsmodels is not installed: see this file's docstring")
        return
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(11)
    rows = {"least squares + 12 placebos": [], "UnobservedComponents": []}
    spent = dict.fromkeys(rows, 0.0)
    for k in range(n_links):
        lift = (0.0, 0.05, 0.15)[k % 3]
        days, y, launch = simulated(rng, lift)
        t = time.perf_counter()
        m = measure(days, y, launch, 0.1, as_of=launch + timedelta(40))
        spent["least squares + 12 placebos"] += time.perf_counter() - t
        rows["least squares + 12 placebos"].append((m.low <= lift <= m.high, (m.high - m.low) / 2,
                                                    abs(m.realised - lift)))
        n = days.index(launch)
        pre, post = np.asarray(y[n - 140:n]), np.asarray(y[n:n + 28])
        t = time.perf_counter()
        fit = UnobservedComponents(np.log(pre), level="local linear trend", seasonal=7).fit(disp=False)
        paths = np.exp(np.asarray(fit.simulate(28, repetitions=400, anchor="end")).reshape(28, -1))
        r_paths = post.mean() / paths.mean(0) - 1
        lo, hi = np.quantile(r_paths, [0.05, 0.95])
        r = post.mean() / np.median(paths.mean(0)) - 1
        spent["UnobservedComponents"] += time.perf_counter() - t
        rows["UnobservedComponents"].append((lo <= lift <= hi, (hi - lo) / 2, abs(r - lift)))
    for name, got in rows.items():
        a = np.array(got, dtype=float)
        print(f"{name}: coverage {a[:, 0].mean():.2f}, median half-width {np.median(a[:, 1]):.4f}, "
              f"median error {np.median(a[:, 2]):.4f}, {spent[name] / n_links * 1000:.1f} ms per link")
    ratio = spent["UnobservedComponents"] / spent["least squares + 12 placebos"]
    print(f"UnobservedComponents costs {ratio:.0f}x the time per link")


if __name__ == "__main__":
    main()
