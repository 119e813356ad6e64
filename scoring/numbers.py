"""One rule for "is this a number we can compute with": finite, and not a boolean.

Every reader of user or source data (config, files, trackers, analytics rows, what-if
bodies) asks the same question; this is the one answer.

>>> finite_number(3), finite_number("2.5"), finite_number(True), finite_number(float("nan"))
(3.0, 2.5, None, None)
"""
from __future__ import annotations

import math


def finite_number(v: object, *, text: bool = True) -> float | None:
    """`v` as a float when it is a finite number (or, with `text`, a numeric string); None
    for booleans, NaN, infinities, empty or non-numeric values. A JSON body's numbers are
    read with `text=False`: "2.5" there is a mistake, not a number.

    >>> finite_number("2.5", text=False), finite_number(2, text=False)
    (None, 2.0)
    """
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, str):
        if not text:
            return None
        v = v.strip()
        if not v:
            return None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None
