"""Titles, statuses, URLs and source flags of stored initiatives, fetched only for the
rows a view shows (a ranking of 200,000 items needs the text of fifty).

An initiative keeps its id across publishes (the store updates rows in place), so a
ranking read before a sync still gets each item's own text. Only http(s) URLs are given
out: anything else (`javascript:`, `data:`) becomes "" and never a link."""
from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine

from app.store import schema as s


def link_url(url: str | None) -> str:
    """`url` when it is an http(s) address, else "" (a tracker URL becomes a link only then)."""
    url = (url or "").strip()
    scheme, sep, rest = url.partition(":")
    return url if sep and scheme.lower() in ("http", "https") and rest.startswith("//") else ""


class SqlDetails:
    """Titles, statuses, URLs and source flags, fetched for the rows on show."""

    def __init__(self, engine: Engine, ids: np.ndarray):
        self.engine, self.ids = engine, ids
        self._rows: dict[int, tuple[str, str, str, tuple[str, ...]]] = {}

    def prefetch(self, indices) -> None:
        wanted = [i for i in indices if i not in self._rows]
        if not wanted:
            return
        it = s.initiatives
        cols = (it.c.id, it.c.title, it.c.status, it.c.url, it.c.flags)
        where = {int(self.ids[i]): i for i in wanted}
        with self.engine.connect() as c:
            if len(wanted) > 2000:       # most of the backlog: one scan beats many look-ups
                result = c.execute(select(*cols)).all()
            else:
                result = [r for chunk in range(0, len(wanted), 500)
                          for r in c.execute(select(*cols).where(it.c.id.in_(list(where)[chunk:chunk + 500])))]
        for r in result:
            i = where.get(r[0])
            if i is not None:
                self._rows[i] = (r[1], r[2], link_url(r[3]), tuple(r[4].split()))

    def get(self, i: int) -> tuple[str, str, str, tuple[str, ...]]:
        if i not in self._rows:
            self.prefetch([i])
        return self._rows[i]
