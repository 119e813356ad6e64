"""Server-side SVG for outcomes: an estimate against what happened (a dot with its interval
on a shared axis of relative change), and a KPI around its launch (observations, the
counterfactual with its band, the launch line and the measured window). Markup only: no
script, nothing loaded from elsewhere; text goes through escaping."""
from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

from app.web.svg.charts import ticks

EST = "#7c3aed"        # the estimate (purple)
REAL = "#1d4ed8"       # what happened (blue)
GOOD, BAD, MUTED = "#15803d", "#c2410c", "#64748b"


def pct(x: float) -> str:
    return f"{x * 100:+.0f}%" if abs(x) >= 0.1 else f"{x * 100:+.1f}%"


def scale_of(links: list[dict]) -> tuple[float, float]:
    """One axis for every row on the page (so rows compare): the span of estimates,
    ranges and intervals, with 0 inside, clipped to ±100 %."""
    vals = [0.0]
    for x in links:
        vals += [v for v in (x.get("lift"), x.get("expected"), x.get("realised"), x.get("low"), x.get("high"))
                 if v is not None]
        if x.get("range"):
            vals += list(x["range"])
    lo, hi = max(min(vals), -1.0), min(max(vals), 1.0)
    pad = (hi - lo) * 0.08 or 0.02
    return lo - pad, hi + pad


def estimate_vs_realised(x: dict, lo: float, hi: float, width: int = 260, height: int = 40) -> Markup:
    """The estimate (ℓ, its range as a band, ℓ·c as a hollow diamond) and the realised lift
    as a dot with its interval, on the page's shared axis."""
    def X(v: float) -> float:
        v = min(max(v, lo), hi)
        return 6 + (width - 12) * (v - lo) / ((hi - lo) or 1)
    parts = [f'<line x1="{X(0):.1f}" x2="{X(0):.1f}" y1="2" y2="{height - 12}" stroke="#94a3b8"/>',
             f'<text class="lbl" x="{X(0):.1f}" y="{height - 1}" text-anchor="middle">0</text>']
    for v, anchor in ((lo, "start"), (hi, "end")):       # the page's shared axis, named at both ends
        if abs(X(v) - X(0)) > 48:
            parts.append(f'<text class="lbl" x="{X(v):.1f}" y="{height - 1}" text-anchor="{anchor}">{pct(v)}</text>')
    ey, ry = 11, 26
    if x.get("range"):
        a, b = sorted(x["range"])
        parts.append(f'<rect x="{X(a):.1f}" y="{ey - 4}" width="{max(X(b) - X(a), 1):.1f}" height="8" '
                     f'fill="{EST}" opacity=".18"><title>estimated range {pct(a)}..{pct(b)}</title></rect>')
    if x.get("lift") is not None:
        parts.append(f'<line x1="{X(x["lift"]):.1f}" x2="{X(x["lift"]):.1f}" y1="{ey - 6}" y2="{ey + 6}" '
                     f'stroke="{EST}" stroke-width="2.5"><title>estimated lift {pct(x["lift"])}</title></line>')
    if x.get("expected") is not None:
        cx = X(x["expected"])
        parts.append(f'<path d="M{cx:.1f},{ey - 5} l5,5 l-5,5 l-5,-5 z" fill="#fff" stroke="{EST}" stroke-width="1.5">'
                     f'<title>expected, confidence-weighted {pct(x["expected"])}</title></path>')
    if x.get("realised") is not None:
        colour = {"moved": GOOD, "moved-wrong-way": BAD}.get(x["verdict"], REAL)
        if x.get("low") is not None:
            parts.append(f'<line x1="{X(x["low"]):.1f}" x2="{X(x["high"]):.1f}" y1="{ry}" y2="{ry}" '
                         f'stroke="{colour}" stroke-width="2"/>'
                         f'<line x1="{X(x["low"]):.1f}" x2="{X(x["low"]):.1f}" y1="{ry - 4}" y2="{ry + 4}" '
                         f'stroke="{colour}"/><line x1="{X(x["high"]):.1f}" x2="{X(x["high"]):.1f}" '
                         f'y1="{ry - 4}" y2="{ry + 4}" stroke="{colour}"/>')
        parts.append(f'<circle cx="{X(x["realised"]):.1f}" cy="{ry}" r="4.5" fill="{colour}">'
                     f'<title>realised {pct(x["realised"])}</title></circle>')
    label = (f'estimated {pct(x["lift"])}' if x.get("lift") is not None else "no estimate") + (
        f', realised {pct(x["realised"])} ({pct(x["low"])} to {pct(x["high"])})' if x.get("realised") is not None
        else ", not measured yet")
    return Markup(f'<svg class="evr" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
                  f'aria-label="{escape(label)}">{"".join(parts)}</svg>')


def around_launch(path: dict, launch: date, post_start: date | None, post_end: date | None,
                  half_width: float | None, fmt, label: str, shown_before: int | None = 56) -> Markup:
    """The KPI's observations before and after launch, the counterfactual (dashed) with its
    band over the measured window (counterfactual × (1 ± half-width)), the launch line."""
    days, obs, cf = path["days"], path["observed"], path["counterfactual"]
    if shown_before is not None:          # the fit used the whole pre window; draw its last weeks
        keep = [n for n, d in enumerate(days) if (d - launch).days >= -shown_before]
        days, obs, cf = [days[n] for n in keep], [obs[n] for n in keep], [cf[n] for n in keep]
    pts = [(d, v) for d, v in zip(days, obs) if v is not None]
    if len(pts) < 2:
        return Markup('<p class="muted">Too few observations around the launch to draw.</p>')
    band = []
    if half_width is not None and post_start and post_end:
        band = [(d, c * (1 - half_width), c * (1 + half_width)) for d, c in zip(days, cf)
                if c is not None and post_start <= d <= post_end]
    ys = [v for _, v in pts] + [c for c in cf if c is not None] + [b for _, a, z in band for b in (a, z)]
    tk = ticks(min(ys), max(ys), 3)
    labels = [fmt(t) for t in tk]
    left = 12 + 7 * max(len(t) for t in labels)
    w, h, top, bottom, right = 440, 170, 10, 34, 10
    x0, x1 = days[0], days[-1]
    span = max(1, (x1 - x0).days)
    y0, y1 = tk[0], tk[-1]

    def X(d):
        return left + (w - left - right) * (d - x0).days / span

    def Y(v):
        return top + (h - top - bottom) * (1 - (v - y0) / ((y1 - y0) or 1))
    parts = []
    for t, text in zip(tk, labels):
        parts.append(f'<line class="grid" x1="{left}" x2="{w - right}" y1="{Y(t):.1f}" y2="{Y(t):.1f}"/>'
                     f'<text class="lbl ylbl" x="{left - 5}" y="{Y(t) + 4:.1f}" text-anchor="end">{escape(text)}</text>')
    if post_start and post_end:
        parts.append(f'<rect class="window" x="{X(post_start):.1f}" y="{top}" '
                     f'width="{max(X(post_end) - X(post_start), 1):.1f}" height="{h - top - bottom}">'
                     f'<title>measured window {post_start:%d %b} to {post_end:%d %b}</title></rect>')
    if band:
        upper = " ".join(f"{'M' if n == 0 else 'L'}{X(d):.1f},{Y(z):.1f}" for n, (d, _a, z) in enumerate(band))
        lower = " ".join(f"L{X(d):.1f},{Y(a):.1f}" for d, a, _z in reversed(band))
        parts.append(f'<path d="{upper} {lower} Z" fill="#94a3b8" opacity=".35"><title>without the launch, '
                     f'the KPI would most likely have stayed in this band</title></path>')
    line = " ".join(f"{'M' if n == 0 else 'L'}{X(d):.1f},{Y(v):.1f}" for n, (d, v) in enumerate(pts))
    parts.append(f'<path d="{line}" fill="none" stroke="{REAL}" stroke-width="1.4"/>')
    cf_pts = [(d, c) for d, c in zip(days, cf) if c is not None]
    if cf_pts:
        cpath = " ".join(f"{'M' if n == 0 else 'L'}{X(d):.1f},{Y(c):.1f}" for n, (d, c) in enumerate(cf_pts))
        parts.append(f'<path d="{cpath}" fill="none" stroke="#0f172a" stroke-width="1.4" stroke-dasharray="4 3"/>')
    lx = X(launch)
    parts.append(f'<line x1="{lx:.1f}" x2="{lx:.1f}" y1="{top}" y2="{h - bottom}" stroke="{BAD}" stroke-width="1.5"/>'
                 f'<text class="lbl" x="{lx - 4:.1f}" y="{top + 11}" text-anchor="end">launch {launch:%d %b}</text>'
                 f'<line class="axis" x1="{left}" x2="{w - right}" y1="{h - bottom}" y2="{h - bottom}"/>'
                 f'<text class="lbl" x="{left}" y="{h - bottom + 14}">{x0:%d %b}</text>'
                 f'<text class="lbl" x="{w - right}" y="{h - bottom + 14}" text-anchor="end">{x1:%d %b}</text>')
    return Markup(f'<svg class="trend" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(label)} around its '
                  f'launch on {launch:%d %b %Y}: observed (solid), without the launch (dashed, with its band)">'
                  f'{"".join(parts)}</svg>')
