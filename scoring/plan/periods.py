"""When plan periods end, and the last period an item with a due date may go in
(docs/model.md, "The plan"; docs/configuration.md, "[planning]").

A period named `YYYY-Qn`, `YYYY-Hn` or `YYYY-MM` ends where its name says; any other needs
an explicit end date (`{id = "...", ends = 2027-03-31}` in `[planning] periods`).
"""
from __future__ import annotations

import calendar
import re
from datetime import date

_NAMED = re.compile(r"^(\d{4})-(?:Q([1-4])|H([12])|(0[1-9]|1[0-2]))$")


def named_end(name: str) -> date | None:
    """The end date a period's name says, else None.

    >>> named_end("2027-Q1"), named_end("2027-H2"), named_end("2028-02"), named_end("Sprint 4")
    (datetime.date(2027, 3, 31), datetime.date(2027, 12, 31), datetime.date(2028, 2, 29), None)
    """
    m = _NAMED.match(name.strip())
    if not m:
        return None
    year = int(m.group(1))
    month = 3 * int(m.group(2)) if m.group(2) else 6 * int(m.group(3)) if m.group(3) else int(m.group(4))
    return date(year, month, calendar.monthrange(year, month)[1])


def latest_period(due: date | None, ends: list[date | None]) -> int:
    """The last period (index) that ends on or before `due`; -1 when none does; the last
    period when there is no due date. Periods without an end date never satisfy a due date.

    >>> e = [date(2027, 3, 31), date(2027, 6, 30)]
    >>> latest_period(date(2027, 5, 1), e), latest_period(date(2027, 6, 30), e), latest_period(date(2027, 1, 1), e)
    (0, 1, -1)
    """
    if due is None:
        return len(ends) - 1
    ok = [p for p, end in enumerate(ends) if end is not None and end <= due]
    return max(ok, default=-1)
