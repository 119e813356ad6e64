"""Several estimators per item as a use case (docs/model.md "Several estimators", docs/cli.md
`roadmap estimate`, docs/http.md "JSON API"): adding, listing, deleting and revealing the
estimates kept in the store, merging the counted ones into the ranking's backlog, and the
`discuss` flags of the disputed links that can change the plan.

Who may do what is decided here on the `Person` asking (`app.auth`): anyone may read, an
estimator adds and deletes their own estimates, a planner reveals a round and sees blind
estimates; an admin may do everything. While an item's round is open, a web estimate is
blind: its author and planners see it, others see only the tracker's and their own, and
the ranking leaves it out until the round is revealed.
"""
from __future__ import annotations

import numpy as np

from app.auth import Person
from app.store import estimates as stored
from scoring import pool
from scoring.errors import BadInput, Forbidden, NotFound
from scoring.model import Backlog, LINK_UNITS
from scoring.notation import parse_impact, person_key, split_by
from scoring.ranking import Ranking

MAX_LINE = 1000


def merged(ws, backlog: Backlog) -> Backlog:
    """The backlog with the stored estimates the ranking counts, as more estimators."""
    rows = stored.counted(ws.store)
    if not rows:
        return backlog
    return pool.with_raters(backlog, [(e.key, e.kpi, e.low, e.high, e.confidence, e.unit, e.by) for e in rows])


def _exists(ws, key: str) -> None:
    if ws.store.initiative(key) is None:
        raise NotFound(f"no initiative '{key}' in the store; run `roadmap sync` or check the key")


def add(ws, key: str, line: str, *, by: str, source: str = "web") -> dict:
    """Add or replace `by`'s estimate on `key` from one impact line (`act +10% @70%`).
    BadInput names what is wrong with the line."""
    _exists(ws, key)
    line = " ".join(str(line or "").split())
    if not line or len(line) > MAX_LINE:
        raise BadInput(f"line: give one impact line such as 'activation +5% @70%' (at most {MAX_LINE} characters)")
    body, named = split_by(line)
    if named is not None and source == "web":
        raise BadInput("line: leave out `by NAME`: a web estimate is the signed-in person's")
    by = " ".join((named or by or "").split())
    if not by:
        raise BadInput("by: name who estimated (`--by NAME`)")
    parsed = parse_impact(body)
    estimated = [ln for ln in parsed.links if ln.low is not None]
    if parsed.flags or len(parsed.links) != 1 or not estimated:
        raise BadInput(f"line: '{line[:80]}' is not one estimate; write '<kpi-id> <lift> [@<confidence>]', "
                       "e.g. 'activation +5% @70%', a range '-5%..-2%' or '+2pp'")
    ln = estimated[0]
    known = {k.id for k in ws.settings.kpis}
    if ln.kpi not in known:
        raise BadInput(f"line: names KPI '{ln.kpi}', which the config does not define "
                       f"(known: {', '.join(sorted(known))[:200]})")
    e = stored.put(ws.store, key=key, kpi=ln.kpi, low=ln.low, high=ln.high, confidence=ln.confidence,
                   unit=ln.unit, by=by, line=body.strip(), source=source,
                   blind=source == "web" and key not in stored.revealed(ws.store, [key]))
    return as_dict(e)


def as_dict(e) -> dict:
    scale = 100 if e.unit in ("", "pp") else 1
    lift = (e.low + e.high) / 2
    return {"id": e.id, "by": e.by, "kpi": e.kpi, "lift": lift, "range": [e.low, e.high] if e.low != e.high else None,
            "confidence": e.confidence, "unit": e.unit, "line": e.line, "source": e.source, "blind": e.blind,
            "written": f"{lift * scale:+g}{'%' if e.unit == '' else e.unit}"}


PUBLIC = ("id", "by", "kpi", "lift", "range", "confidence", "source")


def public(d: dict) -> dict:
    """An estimate as the API shows it."""
    return {k: d.get(k) for k in PUBLIC}


def _tracker_rows(ws, key: str) -> list[dict]:
    """The tracker's estimates of one item, with who made them (the store's links)."""
    from sqlalchemy import select

    from app.store import schema as s
    it, ln, refs = s.initiatives, s.links, s.kpi_refs
    q = (select(ln.c.position, refs.c.name, ln.c.low, ln.c.high, ln.c.confidence, ln.c.unit, ln.c.estimator)
         .join(it, it.c.id == ln.c.item_id).join(refs, refs.c.code == ln.c.kpi_code)
         .where(it.c.key == key, ln.c.low.is_not(None)).order_by(ln.c.position))
    with ws.store.engine.connect() as c:
        rows = c.execute(q).all()
    return [{"id": f"tracker-{r.position + 1}", "by": r.estimator or "unknown", "kpi": r.name,
             "lift": (r.low + r.high) / 2, "range": [r.low, r.high] if r.low != r.high else None,
             "confidence": r.confidence, "unit": LINK_UNITS[r.unit or 0], "source": "tracker"} for r in rows]


def sees_all(person: Person) -> bool:
    return person.can("planner")


def listing(ws, key: str, person: Person) -> dict:
    """`GET /api/v1/initiatives/<key>/estimates`: the item's estimates the person may see."""
    _exists(ws, key)
    open_round = key not in stored.revealed(ws.store, [key])
    me = person_key(person.name)
    shown = []
    for e in stored.listed(ws.store, key):
        if e.blind and open_round and not sees_all(person) and e.by_key != me:
            continue
        d = as_dict(e)
        d["source"] = "web" if e.source == "web" else "cli"
        shown.append(d)
    out = [public(d) for d in _tracker_rows(ws, key) + shown]
    return {"key": key, "round": "open" if open_round else "revealed", "estimates": out}


def delete(ws, key: str, estimate_id: int, person: Person) -> None:
    """Delete a stored estimate: its author (or an admin) only."""
    e = stored.get(ws.store, estimate_id)
    if e is None or e.key != key:
        raise NotFound(f"no estimate {estimate_id} on '{key}'")
    if e.by_key != person_key(person.name) and not person.can("admin"):
        raise Forbidden("only its author may delete an estimate")
    stored.remove(ws.store, estimate_id)


def reveal(ws, key: str, person: Person) -> dict:
    """Reveal the item's round (planners): its blind estimates count from now on."""
    if not person.can("planner"):
        raise Forbidden("revealing an estimate round needs the planner role")
    _exists(ws, key)
    stored.reveal(ws.store, key, person.name)
    return listing(ws, key, person)


def can_add(person: Person) -> bool:
    return person.can("estimator")


# -- disagreement and `discuss` -----------------------------------------------------------

def pooled(r: Ranking) -> bool:
    return r.link_share is not None and bool((r.link_share < 1).any())


def discuss(ws, r: Ranking, *, among: int = pool.DISCUSS_AMONG) -> dict[str, list[dict]]:
    """{key: [{"kpi", "disagreement", "voi"}]}: the links with several estimators whose
    disagreement D >= 1 and that are among the `among` estimates most worth refining
    (value of information, docs/model.md "Uncertainty"). Empty when no link is pooled."""
    if not pooled(r) or r.params.method != "kpi-impact":
        return {}
    from app.services.planning.risk import risk_input
    from scoring.uncertainty import prepare, value_of_information
    u = ws.settings.uncertainty
    inp = risk_input(ws, r, draws=1, seed=u.seed, top=u.top)
    p = prepare(inp)
    voi = np.full(len(inp.link_initiative), np.nan)
    voi[p.link_source] = value_of_information(p)
    lines = np.asarray(inp.link_line)
    keys = r.backlog.keys
    ranked = sorted((-float(v), keys[int(r.backlog.link_item[j])], int(lines[j]), j)
                    for j, v in enumerate(voi) if not np.isnan(v) and v > 0)[:among]
    out: dict[str, list[dict]] = {}
    for neg, key, _line, j in ranked:
        i = int(r.backlog.link_item[j])
        kpi = r.backlog.kpi_of(j)
        link = next((d for d in r.links(i) if d["kpi"] == kpi and "disagreement" in d), None)
        if link is None or link["disagreement"] < pool.DISCUSS_AT:
            continue
        if all(d["kpi"] != kpi for d in out.get(key, [])):
            out.setdefault(key, []).append({"kpi": kpi, "disagreement": link["disagreement"], "voi": -neg})
    return out


def flag_items(shown: list[dict], flags: dict[str, list[dict]]) -> list[dict]:
    """Add `discuss:<kpi>` to the flags of the shown items (score JSON, pages)."""
    if not flags:
        return shown
    for d in shown:
        for f in flags.get(d["key"], ()):
            code = f"discuss:{f['kpi']}"
            if isinstance(d.get("flags"), list) and code not in d["flags"]:
                d["flags"].append(code)
    return shown
