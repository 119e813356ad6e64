"""Server-side SVG: KPI trend lines, impact bars, effort-vs-weight bars, the goal graph.
Drawn as markup so pages need no script and load nothing from elsewhere; every text
goes through the template engine's escaping."""
from __future__ import annotations

from datetime import date

from markupsafe import Markup, escape

# objective colours: no orange or red, which mean harm (WARNING) and "behind plan"
PALETTE = ["#2563eb", "#16a34a", "#9333ea", "#0891b2", "#4d7c0f", "#be185d", "#475569", "#0d9488"]


def color(n: int) -> str:
    return PALETTE[n % len(PALETTE)]


WARNING = "#c2410c"


def impact_bar(parts: list[tuple[str, float, str]], pos_scale: float, neg_scale: float, total: float,
               width: int = 150, height: int = 14) -> Markup:
    """One bar per item split by objective (`parts` are (objective name, contribution, colour)),
    drawn from a zero line: gains grow right in the objective's colour, harm grows left in
    the warning colour. The page's largest gain and harm set the scales, so bars compare."""
    span = pos_scale + neg_scale
    zero = width * neg_scale / span if span > 0 else 0.0
    unit = width / span if span > 0 else 0.0
    rects, right, left = [], zero, zero
    for name, value, fill in parts:
        w = abs(value) * unit
        if w <= 0:
            continue
        if value > 0:
            x, right = right, right + w
            cls = ""
        else:
            left -= w
            x, fill, cls = left, WARNING, ' class="harm"'
        rects.append(f'<rect{cls} x="{x:.1f}" y="1" width="{w:.1f}" height="{height - 2}" fill="{fill}">'
                     f'<title>{escape(name)}: {value:+.3f}</title></rect>')
    axis = f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="{height}" stroke="#475569"/>' if neg_scale > 0 else ""
    label = ", ".join(f"{n} {v:+.3f}" for n, v, _ in parts if v)
    return Markup(f'<span class="barcell{" negative" if total < 0 else ""}">'
                  f'<span class="num">{"−" if total < 0 else ""}{abs(total):.3f}</span><svg class="bar" width="{width}" '
                  f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="impact {total:+.3f}'
                  f'{escape(": " + label if label else "")}">{"".join(rects)}{axis}</svg>'
                  '</span>')


def ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """About `n` round values covering lo..hi (1, 2, 2.5 or 5 times a power of ten apart)."""
    import math
    if hi <= lo:
        hi, lo = lo + 1, lo - 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    out, v = [], start
    while v <= hi + step * 1e-9:
        out.append(round(v, 12))
        v += step
    if out[-1] < hi:
        out.append(round(v, 12))
    return out


def trend_series(history: list[tuple[date, float]], kpi) -> tuple[list[tuple[date, float]], list[tuple[date, float]]]:
    """(daily points, the line): a KPI whose current value aggregates a window (mean, sum
    or median over `window_days` > 1) is drawn as that rolling aggregate, so the line is
    in the target's unit (a weekly sum as weekly sums); otherwise the line is the daily
    values and there are no separate daily points."""
    from scoring.goals.windows import rolling
    window, agg = getattr(kpi, "window_days", 1) or 1, getattr(kpi, "aggregate", "last")
    if window <= 1 or agg not in ("mean", "sum", "median"):
        return [], list(history)
    return list(history), rolling([d for d, _ in history], [v for _, v in history], window, agg)


def trend(history: list[tuple[date, float]], kpi, as_of: date, fmt, label: str = "",
          current: tuple[date, float] | None = None, outliers: list[tuple[date, float]] = ()) -> Markup:
    """The KPI's history with its target and the expected-progress line (baseline at start
    to target at deadline). A windowed KPI is drawn as its rolling aggregate with the daily
    values faint behind (`trend_series`); `outliers` (day, value) are ringed. Value labels
    sit in a left margin wide enough for them and the line labels in a right margin, so no
    text lies on a line."""
    if not history:
        return Markup('<p class="muted">No observations yet.</p>')
    daily, history = trend_series(history, kpi)
    days = [d for d, _ in history] + [d for d, _ in daily]
    values = [v for _, v in history] + [v for _, v in daily]
    x0 = min(days + [d for d in (kpi.start,) if d])
    x1 = max(days + [d for d in (kpi.deadline,) if d] + [as_of])
    ys = values + [v for v in (kpi.target, kpi.baseline) if v is not None]
    tk = ticks(min(ys), max(ys))
    labels = [fmt(t) for t in tk]
    left = 14 + 7.6 * max(len(t) for t in labels)          # 13px digits are about 7.4 px wide
    w, h, right, top, bottom = 440, 210, 58, 12, 40
    span_d = max(1, (x1 - x0).days)
    y0, y1 = tk[0], tk[-1]

    def X(d):
        return left + (w - left - right) * (d - x0).days / span_d

    def Y(v):
        return top + (h - top - bottom) * (1 - (v - y0) / ((y1 - y0) or 1))
    parts = []
    for t, text in zip(tk, labels):
        parts.append(f'<line class="grid" x1="{left:.1f}" x2="{w - right}" y1="{Y(t):.1f}" y2="{Y(t):.1f}"/>'
                     f'<text class="lbl ylbl" x="{left - 6:.1f}" y="{Y(t) + 4:.1f}" text-anchor="end">{escape(text)}</text>')
    path = " ".join(f"{'M' if n == 0 else 'L'}{X(d):.1f},{Y(v):.1f}" for n, (d, v) in enumerate(history))
    right_labels = []
    if kpi.target is not None:
        y = Y(kpi.target)
        parts.append(f'<line x1="{left:.1f}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#15803d" '
                     f'stroke-width="1.5" stroke-dasharray="5 3"/>')
        right_labels.append([y, "target", "tgt"])
    if kpi.target is not None and kpi.baseline is not None and kpi.start and kpi.deadline:
        parts.append(f'<line x1="{X(kpi.start):.1f}" y1="{Y(kpi.baseline):.1f}" x2="{X(kpi.deadline):.1f}" '
                     f'y2="{Y(kpi.target):.1f}" stroke="#b45309" stroke-width="1.5" stroke-dasharray="2 3"/>')
    if daily:
        dpath = " ".join(f"{'M' if n == 0 else 'L'}{X(d):.1f},{Y(v):.1f}" for n, (d, v) in enumerate(daily))
        parts.append(f'<path class="daily" d="{dpath}" fill="none" stroke="#93c5fd" stroke-width="1" '
                     f'stroke-opacity="0.6"><title>daily values</title></path>')
    agg_title = (f'<title>{escape(kpi.aggregate)} of {kpi.window_days} days</title>' if daily else "")
    parts.append(f'<path class="line" d="{path}" fill="none" stroke="#1d4ed8" stroke-width="2">{agg_title}</path>')
    for d, v in outliers:
        if y0 <= v <= y1:
            parts.append(f'<circle class="outlier" cx="{X(d):.1f}" cy="{Y(v):.1f}" r="6" fill="none" '
                         f'stroke="{WARNING}" stroke-width="2"><title>{escape(f"outlier: {fmt(v)} on {d}")}</title></circle>')
    last_d, last_v = current or history[-1]           # the current value may be a window aggregate
    window = getattr(kpi, "window_days", 1) or 1
    if window > 1:
        from datetime import timedelta
        wx = max(left, X(last_d - timedelta(days=window)))
        parts.insert(0, f'<rect class="window" x="{wx:.1f}" y="{top}" width="{X(last_d) - wx:.1f}" '
                        f'height="{h - top - bottom}"><title>the {window}-day window of the current value</title></rect>')
    if y0 <= last_v <= y1:
        parts.append(f'<circle cx="{X(last_d):.1f}" cy="{Y(last_v):.1f}" r="3.5" fill="#1d4ed8"/>')
    right_labels.append([Y(last_v), "now", "cur"])
    right_labels.sort()
    for n in range(1, len(right_labels)):              # keep the right-hand labels apart
        right_labels[n][0] = max(right_labels[n][0], right_labels[n - 1][0] + 13)
    for y, text, cls in right_labels:
        parts.append(f'<text class="lbl {cls}" x="{w - right + 6}" y="{y + 4:.1f}">{text}</text>')
    ax = X(as_of)
    parts.append(f'<line x1="{ax:.1f}" x2="{ax:.1f}" y1="{top}" y2="{h - bottom}" stroke="#94a3b8"/>')
    parts.append(f'<line class="axis" x1="{left:.1f}" x2="{w - right}" y1="{h - bottom}" y2="{h - bottom}"/>'
                 f'<text class="lbl" x="{left:.1f}" y="{h - bottom + 16}">{x0:%d %b %Y}</text>'
                 f'<text class="lbl" x="{w - right}" y="{h - bottom + 16}" text-anchor="end">{x1:%d %b %Y}</text>'
                 f'<text class="lbl" x="{ax:.1f}" y="{h - 6}" text-anchor="middle">as of {as_of:%d %b}</text>')
    return Markup(f'<svg class="trend" viewBox="0 0 {w} {h}" role="img" '
                  f'aria-label="trend of {escape(label or kpi.id)}">{"".join(parts)}</svg>')


def allocation(rows: list[dict]) -> Markup:
    """Weight share and effort share per objective as paired bars under the objective's name."""
    w, bar_h, lab = 520, 14, 64
    out, y = [], 4
    for n, r in enumerate(rows):
        out.append(f'<text x="0" y="{y + 12}" class="head">{escape(r.get("name", r["objective"]))}</text>')
        y += 18
        for kind, value, fill in (("weight", r["weight_share"], "#94a3b8"), ("effort", r["effort_share"], color(n))):
            bw = (w - lab - 50) * value
            out.append(f'<text x="0" y="{y + 11}" class="lbl">{kind}</text>'
                       f'<rect x="{lab}" y="{y}" width="{bw:.1f}" height="{bar_h}" fill="{fill}"/>'
                       f'<text x="{lab + bw + 5:.1f}" y="{y + 11}" class="lbl">{100 * value:.0f}%</text>')
            y += bar_h + 4
        y += 10
    return Markup(f'<svg class="alloc" viewBox="0 0 {w} {y}" role="img" aria-label="effort share against '
                  f'weight share per objective">{"".join(out)}</svg>')


def wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """`text` in at most `lines` lines of `width` characters; the last one ends in … when cut."""
    words, out, cur = text.split(), [], ""
    for w in words:
        if len(cur) + len(w) + (1 if cur else 0) <= width:
            cur = f"{cur} {w}" if cur else w
            continue
        if cur:
            out.append(cur)
        cur = w
        if len(out) == lines:
            break
    if cur and len(out) < lines:
        out.append(cur)
    if len(out) > lines or " ".join(out) != " ".join(words):
        out = out[:lines]
        out[-1] = out[-1][: width - 1].rstrip() + "…"
    return [o if len(o) <= width else o[: width - 1] + "…" for o in out]


STATUS_TEXT = {"off-track": "⚠ behind plan", "on-track": "on track", "met": "✓ target met",
               "no-target": "no target", "no-data": "no data yet"}


ROW_CAP = 7          # KPIs per row: seven boxes fit a 1440 px screen; wider rows wrap to the next
FIT_WIDTH = 1360     # the drawing's width that fits a 1440 px page; a wider one tries fewer boxes per row
NARROWER_CAPS = (5, 3)


def goal_graph(data: dict, link=lambda node: None) -> Markup:
    """The goal graph in layers (objectives on top), laid out by `graph_layout`: names in the
    boxes with ids on hover, each box a link (`link(node)` gives its address), lagging KPIs
    marked, edges labelled with their weights where no label overlaps another."""
    from app.web.svg.graph_layout import cap_rows, layout
    box_w, char_w = 172, 6.6
    per_line = int((box_w - 14) / char_w)
    nodes = {n["id"]: n for n in data["nodes"]}
    edges = [(e["from"], e["to"]) for e in data["edges"]]
    texts = [f'{e["weight"]:g}'.replace("-", "−") for e in data["edges"]]
    layers = {n["id"]: n["layer"] for n in data["nodes"]}

    def laid(cap: int):
        return layout(cap_rows(layers, edges, cap), edges, {n: box_w for n in nodes},
                      label_size=lambda e: (len(texts[e]) * 6.6 + 8, 15))
    lay = laid(ROW_CAP)
    for cap in NARROWER_CAPS:          # a big graph: wrap into more, narrower rows while that helps
        if lay.width <= FIT_WIDTH:
            break
        other = laid(cap)
        if other.width < lay.width:
            lay = other
    out = []
    for e, route in zip(data["edges"], lay.routes):
        a, b = nodes[e["from"]], nodes[e["to"]]
        neg = " neg" if e["weight"] < 0 else ""
        tip = escape(f'{a["name"]} ({a["id"]}) feeds {b["name"]} ({b["id"]}): elasticity {e["weight"]:g}')
        out.append(f'<g class="edge{neg}" data-from="{escape(a["id"])}" data-to="{escape(b["id"])}"><title>{tip}</title><path d="{route.d}" marker-end="url(#arrow)"/></g>')
    for e, route, text in zip(data["edges"], lay.routes, texts):
        if route.label_at:
            cx, cy = route.label_at
            w = len(text) * 6.6 + 8
            out.append(f'<g class="elabel"><rect x="{cx - w / 2:.1f}" y="{cy - 7.5:.1f}" width="{w:.1f}" '
                       f'height="15" rx="3"/><text x="{cx:.1f}" y="{cy + 4:.1f}">{escape(text)}</text></g>')
    for nid, box in lay.boxes.items():
        node = nodes[nid]
        if node["kind"] == "objective":
            cls, sub = "obj", f'objective · weight {node.get("weight", 0):g}'
        else:
            cls = "orphan" if node.get("orphan") else "off" if node.get("off_track") else "kpi"
            sub = "orphan: feeds no objective" if node.get("orphan") else STATUS_TEXT.get(node.get("status"), "")
        lines = wrap(node["name"], per_line)
        tspans = "".join(f'<text x="{box.x + 8:.1f}" y="{box.y + 17 + 14 * i:.1f}">{escape(t)}</text>'
                         for i, t in enumerate(lines))
        href = link(node)
        open_a, close_a = (f'<a href="{escape(href)}">', "</a>") if href else ("", "")
        out.append(f'<g class="node {cls}">{open_a}<title>{escape(node["name"])} '
                   f'({escape(nid)}){escape(" · " + sub if sub else "")}</title>'
                   f'<rect data-id="{escape(nid)}" x="{box.x:.1f}" y="{box.y:.1f}" width="{box.w:.0f}" height="{box.h:.0f}" rx="6"/>'
                   f'{tspans}<text class="sub" x="{box.x + 8:.1f}" y="{box.y + box.h - 7:.1f}">{escape(sub)}</text>'
                   f'{close_a}</g>')
    return Markup(f'<svg class="graph" width="{lay.width:.0f}" height="{lay.height:.0f}" '
                  f'viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" role="group" aria-label="goal graph: '
                  f'{len([n for n in nodes.values() if n["kind"] == "objective"])} objectives, '
                  f'{len([n for n in nodes.values() if n["kind"] != "objective"])} KPIs">'
                  '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
                  'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#64748b"/></marker></defs>'
                  f'{"".join(out)}</svg>')
