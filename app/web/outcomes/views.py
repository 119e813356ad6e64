"""What the /outcomes page shows, in a PM's words: shipped initiatives with each estimate
against what happened, each KPI's chart around launch, and the estimators' track records
(docs/http.md, "Outcomes")."""
from __future__ import annotations

from app import render
from app.services import outcomes as svc
from app.web.outcomes import charts as oc
from scoring.outcomes import counterfactual_path

MAX_ITEMS = 60          # the most recent launches drawn on the page (the API lists every one)


def verdict_words(x: dict) -> tuple[str, str]:
    """(words, css class) for a link's verdict."""
    v, reason = x["verdict"], x.get("reason") or ""
    if v == "moved":
        lift, r = x.get("lift"), x.get("realised")
        if lift and r is not None:        # the estimate's range, else half to one and a half of it
            lo, hi = sorted(x["range"]) if x.get("range") else sorted((0.5 * lift, 1.5 * lift))
            if abs(r) < min(abs(lo), abs(hi)):
                return "moved, by less than estimated", "good"
            if abs(r) > max(abs(lo), abs(hi)):
                return "moved, by more than estimated", "good"
        return "moved as estimated", "good"
    if v == "moved-wrong-way":
        return "moved the wrong way", "bad"
    if v == "no-detectable-move":
        return "no detectable move", "flat"
    if v == "confounded":
        return "moved together with " + ", ".join(k for k in x["group"] if k != x["key"]), "flat"
    if v == "measuring":
        if "launches on" in reason:
            return "not launched yet", "wait"
        return f"no detectable move yet: measuring until {x['post_end']}" if x.get("post_end") else \
            "no detectable move yet", "wait"
    if "observed days" in reason:
        return "too little history", "muted"
    if "no observations" in reason:
        return "no KPI data", "muted"
    return "cannot be measured", "muted"


def track_words(e: dict) -> str:
    f, n = e["factor"], e["resolved"]
    if n == 0:
        return "no measured outcome yet: the team's factor applies"
    if f < 0.85:
        return f"over-estimates: about {f * 100:.0f} % of what they expect happens"
    if f > 1.15:
        return f"under-estimates: about {f:.1f}× what they expect happens"
    return "estimates about right"


def page_data(ws, ev, cal: dict) -> dict:
    kpis = {k.id: k for k in ws.settings.kpis}
    texts = ws.store.texts(sorted({r["key"] for r in ev.rows}))
    links = [svc.link_json(r, texts.get(r["key"], ("",))[0]) for r in ev.rows]
    lo, hi = oc.scale_of(links)
    items: dict[str, dict] = {}
    histories: dict[str, list] = {}
    for x in links:
        it = items.get(x["key"])
        if it is None:
            if len(items) >= MAX_ITEMS:
                continue
            it = items[x["key"]] = {"key": x["key"], "title": x["title"], "launched_on": x["launched_on"],
                                    "links": [], "url": texts.get(x["key"], ("", "", ""))[2]}
        words, cls = verdict_words(x)
        k = kpis.get(x["kpi"])
        chart = None
        if x["verdict"] not in ("not-measurable",) and k is not None and "launches on" not in x["reason"]:
            if x["kpi"] not in histories:
                histories[x["kpi"]] = ws.store.history(x["kpi"], until=ev.as_of)
            hist = histories[x["kpi"]]
            from datetime import date
            launch = date.fromisoformat(x["launched_on"])
            path = counterfactual_path([d for d, _ in hist], [v for _, v in hist], launch, as_of=ev.as_of,
                                       params=ev.params)
            half = None if x["high"] is None else (x["high"] - x["low"]) / 2
            chart = oc.around_launch(path, launch, _d(x["post_start"]), _d(x["post_end"]), half,
                                     lambda v, u=k.unit: render.value(v, u), k.name or k.id)
        it["links"].append({**x, "words": words, "cls": cls, "kpi_name": (k.name or k.id) if k else x["kpi"],
                            "dot": oc.estimate_vs_realised(x, lo, hi), "chart": chart})
    counts = {"shipped": len({x["key"] for x in links}),
              "moved": sum(x["verdict"] == "moved" for x in links),
              "flat": sum(x["verdict"] in ("no-detectable-move", "moved-wrong-way") for x in links),
              "measuring": sum(x["verdict"] == "measuring" for x in links)}
    cards = [{**e, "words": track_words(e)} for e in cal["estimators"]]
    return {"as_of": ev.as_of.isoformat(), "level": ev.params.level, "items": list(items.values()),
            "counts": counts, "cards": cards, "team": cal["team"], "prior_sd": cal["prior_sd"],
            "post_days": ev.params.post_days, "pct": oc.pct, "axis": (lo, hi)}


def _d(text):
    from datetime import date
    return date.fromisoformat(text) if text else None
