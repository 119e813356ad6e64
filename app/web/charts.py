"""Server-side SVG: KPI trend lines, impact bars, effort-vs-weight bars, the goal graph.
Drawn as markup so pages need no script and load nothing from elsewhere; every text
goes through the template engine's escaping."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4d7c0f", "#be185d"]


def color(n: int) -> str:
    return PALETTE[n % len(PALETTE)]


def impact_bar(parts: list[tuple[str, float, str]], scale: float, width: int = 160, height: int = 12) -> Markup:
    """One bar per item, split by objective: `parts` are (objective, contribution, color)."""
    x, rects = 0.0, []
    for name, value, fill in parts:
        w = width * abs(value) / scale if scale > 0 else 0
        if w <= 0:
            continue
        opacity = "1" if value >= 0 else "0.35"
        rects.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{fill}" '
                     f'fill-opacity="{opacity}"><title>{escape(name)}: {value:+.3f}</title></rect>')
        x += w
    return Markup(f'<svg class="bar" width="{width}" height="{height}" role="img" '
                  f'aria-label="impact by objective">{"".join(rects)}</svg>')


@dataclass
class TrendScale:
    x0: date
    x1: date
    y0: float
    y1: float
    w: int = 520
    h: int = 160
    pad: int = 36

    def x(self, d: date) -> float:
        span = max(1, (self.x1 - self.x0).days)
        return self.pad + (self.w - 2 * self.pad) * (d - self.x0).days / span

    def y(self, v: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return self.h - self.pad + -(self.h - 2 * self.pad) * (v - self.y0) / span


def trend(history: list[tuple[date, float]], kpi, as_of: date, fmt) -> Markup:
    """The KPI's history with its target and the expected-progress line (baseline at start
    to target at deadline)."""
    if not history:
        return Markup('<p class="muted">No observations yet.</p>')
    days = [d for d, _ in history]
    values = [v for _, v in history]
    x0, x1 = min(days + [d for d in (kpi.start,) if d]), max(days + [d for d in (kpi.deadline,) if d] + [as_of])
    ys = values + [v for v in (kpi.target, kpi.baseline) if v is not None]
    s = TrendScale(x0, x1, min(ys), max(ys))
    path = " ".join(f"{'M' if n == 0 else 'L'}{s.x(d):.1f},{s.y(v):.1f}" for n, (d, v) in enumerate(history))
    parts = [f'<path d="{path}" fill="none" stroke="#2563eb" stroke-width="1.5"/>']
    if kpi.target is not None:
        y = s.y(kpi.target)
        parts.append(f'<line x1="{s.pad}" x2="{s.w - s.pad}" y1="{y:.1f}" y2="{y:.1f}" stroke="#16a34a" '
                     f'stroke-dasharray="4 3"/><text x="{s.w - s.pad + 2}" y="{y + 4:.1f}" class="lbl">target</text>')
    if kpi.target is not None and kpi.baseline is not None and kpi.start and kpi.deadline:
        parts.append(f'<line x1="{s.x(kpi.start):.1f}" y1="{s.y(kpi.baseline):.1f}" x2="{s.x(kpi.deadline):.1f}" '
                     f'y2="{s.y(kpi.target):.1f}" stroke="#d97706" stroke-dasharray="2 3"/>'
                     f'<text x="{s.x(kpi.deadline) - 60:.1f}" y="{s.y(kpi.target) - 6:.1f}" class="lbl">expected</text>')
    ax = s.x(as_of)
    parts.append(f'<line x1="{ax:.1f}" x2="{ax:.1f}" y1="{s.pad / 2}" y2="{s.h - s.pad}" stroke="#9ca3af"/>')
    parts.append(f'<text x="{s.pad}" y="{s.h - 8}" class="lbl">{x0}</text>'
                 f'<text x="{s.w - s.pad - 60}" y="{s.h - 8}" class="lbl">{x1}</text>'
                 f'<text x="2" y="{s.y(s.y1) + 4:.1f}" class="lbl">{escape(fmt(s.y1))}</text>'
                 f'<text x="2" y="{s.y(s.y0) + 4:.1f}" class="lbl">{escape(fmt(s.y0))}</text>')
    return Markup(f'<svg class="trend" viewBox="0 0 {s.w} {s.h}" width="{s.w}" height="{s.h}" role="img" '
                  f'aria-label="trend of {escape(kpi.id)}">{"".join(parts)}</svg>')


def allocation(rows: list[dict]) -> Markup:
    """Weight share and effort share per objective as paired bars."""
    w, bar_h, gap = 520, 14, 12
    out, y = [], 10
    for n, r in enumerate(rows):
        label = escape(r["objective"])
        for kind, value, fill in (("weight", r["weight_share"], "#9ca3af"), ("effort", r["effort_share"], color(n))):
            out.append(f'<text x="0" y="{y + 11}" class="lbl">{label} {kind}</text>'
                       f'<rect x="170" y="{y}" width="{(w - 230) * value:.1f}" height="{bar_h}" fill="{fill}"/>'
                       f'<text x="{175 + (w - 230) * value:.1f}" y="{y + 11}" class="lbl">{100 * value:.0f}%</text>')
            y += bar_h + 4
        y += gap
    return Markup(f'<svg class="alloc" width="{w}" height="{y}" role="img" aria-label="effort share against '
                  f'weight share">{"".join(out)}</svg>')


def goal_graph(data: dict) -> Markup:
    """Objectives on top, KPIs in layers below, edges labelled with their weights."""
    layers: dict[int, list[dict]] = {}
    for node in data["nodes"]:
        layers.setdefault(node["layer"], []).append(node)
    col_w, row_h, box_w, box_h = 170, 90, 150, 34
    width = max(len(v) for v in layers.values()) * col_w + 20
    height = (max(layers) + 1) * row_h + 20
    pos = {}
    for layer, nodes in layers.items():
        offset = (width - len(nodes) * col_w) / 2
        for n, node in enumerate(sorted(nodes, key=lambda x: x["id"])):
            pos[node["id"]] = (offset + n * col_w + 10, 10 + layer * row_h)
    out = []
    for e in data["edges"]:
        (x1, y1), (x2, y2) = pos[e["from"]], pos[e["to"]]
        a = (x1 + box_w / 2, y1)
        b = (x2 + box_w / 2, y2 + box_h)
        out.append(f'<line x1="{a[0]:.0f}" y1="{a[1]:.0f}" x2="{b[0]:.0f}" y2="{b[1]:.0f}" stroke="#9ca3af" '
                   f'marker-end="url(#arrow)"/><text x="{(a[0] + b[0]) / 2 + 3:.0f}" y="{(a[1] + b[1]) / 2:.0f}" '
                   f'class="lbl">{e["weight"]:g}</text>')
    for node in data["nodes"]:
        x, y = pos[node["id"]]
        cls = "obj" if node["kind"] == "objective" else (
            "orphan" if node.get("orphan") else "off" if node.get("off_track") else "kpi")
        mark = " (orphan)" if node.get("orphan") else " (off track)" if node.get("off_track") else ""
        out.append(f'<g class="node {cls}"><rect x="{x:.0f}" y="{y:.0f}" width="{box_w}" height="{box_h}" rx="6"/>'
                   f'<text x="{x + 8:.0f}" y="{y + 21:.0f}">{escape(node["id"])}</text>'
                   f'<title>{escape(node["name"])}{mark}</title></g>')
    return Markup(f'<svg class="graph" width="{width}" height="{height}" role="img" aria-label="goal graph">'
                  '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
                  'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#9ca3af"/></marker></defs>'
                  f'{"".join(out)}</svg>')
