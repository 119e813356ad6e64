"""The published ranking: scored once per set of inputs, stored, and then read by every
view (CLI `score`, the API's roadmap and its CSV, the roadmap page) instead of being
scored again (docs/model.md, "The published ranking").

A ranking is stored under the hash of every input it depends on (app/ranking_inputs.py:
the data version, the config's scoring settings and goal graph, calibration, as_of, the
method). A sync stores the default ranking when it publishes; any other combination is
stored the first time it is asked for. What is stored: the ranking's arrays (read back
without loading the backlog or scoring it), its first items as `score --format json`
shows them, and the CSV of every ranked row.
"""
from __future__ import annotations

import json
from itertools import accumulate

from app import render
from app.ranking_inputs import TOP, csv_head, item_texts, items_slice, pack_text, ranking_key, unpack_text
from app.store import published as store_pub
from app.store.details import link_url
from scoring import packed
from scoring.ranking import Ranking

COMPUTED = [0]       # rankings scored (not read) by this process: the tests count them
CSV_HEADER = ["rank", "key", "title", "status", "score", "impact", "effort", "flags", "url"]


def key_of(ws, as_of=None, method=None, include_done: bool = False) -> tuple[str, int, object]:
    """The key of the ranking for these request inputs, the data version, and the params."""
    params = ws.params(as_of, method)
    values = store_pub.store_values(ws.store)
    key = ranking_key(ws.config_digest, values, params.as_of.isoformat(), params.method, include_done)
    return key, int(values[0][1] or 0), params


def ranking(ws, *, as_of=None, method=None, include_done: bool = False) -> Ranking:
    """The ranking for these inputs: the stored one when there is one, else scored now
    and stored (so the next read, in any process, reads it)."""
    key, version, params = key_of(ws, as_of, method, include_done)
    blob = store_pub.read(ws.store, key, "columns")
    if blob is not None:
        try:
            r = packed.unpack(blob, ws.graph)
        except (ValueError, KeyError, OSError):
            r = None              # another format: scored again below
        if r is not None:
            r.published_key = key
            return r
    from app.services import compute_ranking
    COMPUTED[0] += 1
    r = compute_ranking(ws, as_of=params.as_of, method=params.method, include_done=include_done, calibrated=False)
    publish(ws, r, key, version)
    return r


def publish(ws, r: Ranking, key: str, version: int) -> None:
    """Store `r` under `key`: its arrays, its first TOP items and its CSV."""
    texts = all_texts(ws)
    top = _top_items(ws, r, texts)
    csv, offsets = ranking_csv(r, texts, r.ranked, flags_column(ws, r, r.ranked))
    head = json.dumps({"as_of": r.params.as_of.isoformat(), "method": r.params.method, "total": r.total,
                       "top": len(top)})
    items = item_texts(top)
    r.published_key = key
    r.__dict__["_published"] = {"top": items, "csv": (csv, offsets)}
    store_pub.write(ws.store, key, version, head=head, top=pack_text(*items), csv=pack_text(csv, offsets),
                    columns=packed.pack(r))


def all_texts(ws) -> dict[str, tuple[str, str, str]]:
    """(title, status, url) of every active initiative, in one query."""
    from sqlalchemy import select

    from app.store import schema as s
    it = s.initiatives
    with ws.store.engine.connect() as c:
        rows = c.execute(select(it.c.key, it.c.title, it.c.status, it.c.url).where(it.c.active)).all()
    return {k: (t, st, link_url(u)) for k, t, st, u in rows}


def texts_of(ws, r: Ranking, idx) -> dict[str, tuple[str, str, str]]:
    """(title, status, url) of the items `idx` of `r`: in one scan for many, by key for a few."""
    if len(idx) > 2000:
        return all_texts(ws)
    return ws.store.texts([r.backlog.keys[i] for i in idx.tolist()])


def _top_items(ws, r: Ranking, texts: dict) -> list[dict]:
    """The first TOP items as `score --format json` shows them (services.items)."""
    from app import services
    return services.items(ws, r, 0, TOP, texts=lambda keys: {k: texts[k] for k in keys if k in texts})


def flags_column(ws, r: Ranking, idx) -> list[str]:
    """Each item's flags as the views show them: its own, then `discuss:<kpi>` for the
    disputed links worth discussing (app/services/estimates.py)."""
    from app import services
    extra = services.discuss(ws, r) if ws is not None and hasattr(services, "discuss") else {}
    out = []
    for i, maybe in zip(idx.tolist(), r.maybe_flagged[idx].tolist()):
        flags = r.flags(i) if maybe else []
        for f in extra.get(r.backlog.keys[i], ()):
            code = f"discuss:{f['kpi']}"
            if code not in flags:
                flags = [*flags, code]
        out.append(" ".join(flags))
    return out


def csv_for(ws, r: Ranking, idx) -> str:
    """The CSV of the items `idx` of `r` (a filtered selection), written from columns."""
    return ranking_csv(r, texts_of(ws, r, idx), idx, flags_column(ws, r, idx))[0]


def ranking_csv(r: Ranking, texts: dict | None = None, idx=None, flags: list[str] | None = None
                ) -> tuple[str, list[int]]:
    """The CSV of the ranked rows (`roadmap score --format csv`), written from columns, and
    the character offset where each row ends (so a --limit is a slice)."""
    idx = r.ranked if idx is None else idx
    b = r.backlog
    keys = [b.keys[i] for i in idx.tolist()]
    none = ("", "", "")
    texts = texts or {}
    own = b.texts if b.texts is not None else [None] * len(b)
    got = [own[i] or texts.get(k, none) for i, k in zip(idx.tolist(), keys)]
    titles, statuses, urls = ([t[n] for t in got] for n in range(3))
    effort, defaulted = r.effort[idx].tolist(), r.effort_defaulted[idx].tolist()
    efforts = ["" if e != e else f"{e}{'*' if d else ''}" for e, d in zip(effort, defaulted)]
    if flags is None:
        flags = flags_column(None, r, idx)
    columns = [list(map(str, r.rank_of[idx].tolist())), render.csv_column(keys), render.csv_column(titles),
               render.csv_column(statuses), list(map(repr, r.score[idx].tolist())),
               list(map(repr, r.impact[idx].tolist())), efforts, render.csv_column(flags), render.csv_column(urls)]
    lines = [",".join(CSV_HEADER)]
    lines.extend(map(",".join, zip(*columns)))
    offsets = list(accumulate(len(x) + 1 for x in lines))[1:]
    return "\n".join(lines) + "\n", offsets


def stored_parts(ws, r: Ranking):
    """(top items, (csv text, offsets)) of a published ranking, or None when it is not one."""
    mine = r.__dict__.get("_published")
    if mine is not None:
        return mine
    key = getattr(r, "published_key", None)
    if key is None:
        return None
    top, csv = store_pub.read(ws.store, key, "top"), store_pub.read(ws.store, key, "csv")
    if top is None or csv is None:
        return None
    mine = r.__dict__["_published"] = {"top": unpack_text(top), "csv": unpack_text(csv)}
    return mine


def top_items(ws, r: Ranking, offset: int, limit: int | None) -> list[dict] | None:
    """Items offset .. offset + limit as `score --format json` shows them, when stored."""
    if limit is None or offset + limit > TOP:
        return None
    parts = stored_parts(ws, r)
    if parts is None:
        return None
    text, ends = parts["top"]
    if len(ends) < offset + limit and len(ends) < r.total:
        return None
    return json.loads("[" + items_slice(text, ends, offset, limit) + "]")


def csv_of(ws, r: Ranking, limit: int | None = None) -> str | None:
    parts = stored_parts(ws, r)
    return None if parts is None else csv_head(*parts["csv"], limit)
