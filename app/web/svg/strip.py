"""Server-side SVG strips of several people's estimates of one link, side by side: each
estimator's expected effect ℓ·c as a dot (its range times c as a line), the pooled value
as a diamond, and the zero line (docs/model.md "Several estimators"). Every name is escaped;
the same numbers are in the strip's text, so it reads without the picture too."""
from __future__ import annotations

from markupsafe import Markup, escape

DOT = "#2563eb"
POOL = "#0f172a"
ZERO = "#94a3b8"
DISPUTE = "#c2410c"


def _scale(values: list[float], left: float, right: float):
    lo, hi = min(values + [0.0]), max(values + [0.0])
    if hi - lo < 1e-12:
        lo, hi = lo - 0.01, hi + 0.01
    pad = (hi - lo) * 0.06
    lo, hi = lo - pad, hi + pad
    return lambda v: left + (v - lo) / (hi - lo) * (right - left)


def _pct(v: float) -> str:
    return f"{100 * v:+.1f}%"


def _points(link: dict) -> list[dict]:
    out = []
    for e in link["estimators"]:
        c = e["confidence"] if e["confidence"] is not None else 0.0
        rng = e.get("range")
        out.append({"by": e["by"], "x": e["lift"] * c, "lo": rng[0] * c if rng else None,
                    "hi": rng[1] * c if rng else None})
    return out


def strip(link: dict, *, disputed: bool = False, compact: bool = False) -> Markup:
    """The strip of one pooled link (a `score --format json` link with `estimators`).
    `compact`: one row of dots (the roadmap's rows); else a row per person with names (the
    initiative page)."""
    pts = _points(link)
    pooled = link["expected"]
    values = [p["x"] for p in pts] + [v for p in pts for v in (p["lo"], p["hi"]) if v is not None] + [pooled]
    dot = DISPUTE if disputed else DOT
    label = (f"{link['kpi']}: " + ", ".join(f"{p['by']} {_pct(p['x'])}" for p in pts)
             + f"; pooled {_pct(pooled)}" + (f"; disagreement {link['disagreement']:.2f}" if "disagreement" in link else ""))
    if compact:
        w, h = 160, 18
        x = _scale(values, 6, w - 6)
        parts = [f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="2" y2="{h - 2}" stroke="{ZERO}" stroke-dasharray="2 2"/>',
                 f'<line x1="6" x2="{w - 6}" y1="{h / 2}" y2="{h / 2}" stroke="#e2e8f0"/>']
        for p in pts:
            parts.append(f'<circle cx="{x(p["x"]):.1f}" cy="{h / 2}" r="4.5" fill="{dot}" fill-opacity="0.75">'
                         f'<title>{escape(p["by"])}: {_pct(p["x"])}</title></circle>')
        parts.append(_diamond(x(pooled), h / 2, 5, f"pooled {_pct(pooled)}"))
        return Markup(f'<svg class="strip compact" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
                      f'aria-label="{escape(label)}">{"".join(parts)}</svg>')
    row, top, name_w, w = 22, 6, 96, 360
    h = top + row * (len(pts) + 1) + 16
    x = _scale(values, name_w + 8, w - 60)
    parts = [f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{h - 16}" stroke="{ZERO}" stroke-dasharray="3 3"/>',
             f'<text x="{x(0):.1f}" y="{h - 4}" text-anchor="middle" class="tick">0</text>']
    for n, p in enumerate(pts):
        y = top + row * n + row / 2
        short = _short(p["by"])
        full = f'<title>{escape(p["by"])}</title>' if short != p["by"] else ""
        parts.append(f'<text x="0" y="{y + 4}" class="who">{escape(short)}{full}</text>')
        if p["lo"] is not None:
            parts.append(f'<line x1="{x(p["lo"]):.1f}" x2="{x(p["hi"]):.1f}" y1="{y}" y2="{y}" stroke="{dot}" '
                         f'stroke-width="2" stroke-opacity="0.5"/>')
        parts.append(f'<circle cx="{x(p["x"]):.1f}" cy="{y}" r="5.5" fill="{dot}"><title>{escape(p["by"])}: '
                     f'{_pct(p["x"])}</title></circle>')
        parts.append(f'<text x="{w}" y="{y + 4}" text-anchor="end" class="val">{_pct(p["x"])}</text>')
    y = top + row * len(pts) + row / 2
    parts.append(f'<text x="0" y="{y + 4}" class="who pooled">pooled</text>')
    parts.append(_diamond(x(pooled), y, 6.5, f"pooled {_pct(pooled)}"))
    parts.append(f'<text x="{w}" y="{y + 4}" text-anchor="end" class="val pooled">{_pct(pooled)}</text>')
    return Markup(f'<svg class="strip" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
                  f'aria-label="{escape(label)}">{"".join(parts)}</svg>')


def _diamond(cx: float, cy: float, r: float, title: str) -> str:
    pts = f"{cx:.1f},{cy - r:.1f} {cx + r:.1f},{cy:.1f} {cx:.1f},{cy + r:.1f} {cx - r:.1f},{cy:.1f}"
    return f'<polygon points="{pts}" fill="{POOL}"><title>{escape(title)}</title></polygon>'


def _short(name: str, limit: int = 16) -> str:
    return name if len(name) <= limit else name[:limit - 1] + "…"
