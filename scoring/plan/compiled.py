"""Compiled loops (numba) for the walks that are sequential within a row but independent
across rows: the plan's greedy and the simulation's per-draw impacts and orders.

`compiled(fn)` compiles `fn` on its first call (numba imported then, so commands that
never plan or simulate do not pay for it; later processes load it from numba's cache).
`by_rows(kernel, B, row_args, shared)` runs the kernel over slices of B rows, one slice
per core: the kernels release the GIL and each writes only its own rows, so the answer
is the same whatever the split.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ROWS_PER_THREAD = 64          # below this a batch is not split


def threads() -> int:
    """Threads a batch is split over: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:          # not on Linux
        return max(1, os.cpu_count() or 1)


def compiled(fn):
    """`fn`, compiled with numba on first use (nogil, cached on disk)."""
    state = {}

    def call(*args):
        kernel = state.get("kernel")
        if kernel is None:
            from numba import njit
            try:
                kernel = njit(cache=True, nogil=True)(fn)
            except RuntimeError:        # no writable cache beside the code nor in the user's: compile each run
                kernel = njit(nogil=True)(fn)
            state["kernel"] = kernel
        return kernel(*args)
    call.__doc__, call.__name__ = fn.__doc__, fn.__name__
    return call


def by_rows(kernel, rows: int, row_args: tuple[np.ndarray, ...], shared: tuple) -> None:
    """kernel(*(a[s] for a in row_args), *shared) for slices s of the rows, in threads."""
    parts = min(threads(), max(1, rows // ROWS_PER_THREAD))
    if parts == 1:
        kernel(*row_args, *shared)
        return
    bounds = np.linspace(0, rows, parts + 1).astype(int)
    with ThreadPoolExecutor(parts) as pool:
        for _ in pool.map(lambda s: kernel(*(a[s] for a in row_args), *shared),
                          [slice(a, b) for a, b in zip(bounds, bounds[1:])]):
            pass
