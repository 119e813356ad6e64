"""A layered (Sugiyama) layout of the goal graph, written by hand in pure Python.

Why by hand: the graph is small (tens of KPIs), the page must be drawn on the server
under a strict CSP, and Graphviz's `dot` would add a system package to every install and
CI run. The four classic steps are enough here:

1. layers are given (objectives on row 0, each KPI one row below the highest thing it feeds);
   an edge that skips rows gets a thin "dummy" slot in every row it passes;
2. the order inside each row minimises crossings: barycentre sweeps down and up, then
   adjacent swaps while they remove crossings, from the config order and a few seeded
   shuffles; the best order seen is kept (objectives stay in the config's order);
3. x positions pull each box towards its neighbours, keeping the order and the spacing;
4. edges are routed in the free band between two rows (a cubic curve with vertical
   tangents stays inside that band) and straight down through dummy slots, so an edge
   never passes through a box. Weight labels are placed on their own edge where they
   overlap neither another label nor a box; when one cannot be placed the bands grow.

>>> lay = layout({"o": 0, "a": 1, "b": 1}, [("a", "o"), ("b", "o")], {"o": 100, "a": 100, "b": 100})
>>> [lay.boxes[n].y for n in ("o", "a", "b")] == [lay.margin, lay.boxes["a"].y, lay.boxes["a"].y]
True
>>> lay.crossings
0
"""
from __future__ import annotations

from dataclasses import dataclass, field

DUMMY_W = 12
BOX_GAP = 28
DUMMY_GAP = 10
TS = (0.5, 0.38, 0.62, 0.27, 0.73, 0.18, 0.82)       # where along an edge a label may sit


@dataclass
class Box:
    x: float            # left
    y: float            # top
    w: float
    h: float

    def overlaps(self, o: "Box", pad: float = 0.0) -> bool:
        return (self.x - pad < o.x + o.w and o.x - pad < self.x + self.w
                and self.y - pad < o.y + o.h and o.y - pad < self.y + self.h)


@dataclass
class Route:
    """One edge: an SVG path from the source's top side to the target's bottom side,
    and where its label sits (centre)."""
    source: str
    target: str
    d: str
    label_at: tuple[float, float] | None = None
    points: list[tuple[float, float]] = field(default_factory=list)   # sampled, for checks


@dataclass
class Layout:
    boxes: dict[str, Box]
    routes: list[Route]
    width: float
    height: float
    crossings: int
    margin: float = 12.0


def _crossings(upper: list, lower: list, adj_up: dict) -> int:
    """Crossings between two neighbouring rows; adj_up maps a lower slot to the upper slots it joins."""
    pos = {n: i for i, n in enumerate(upper)}
    pairs = [(i, pos[u]) for i, n in enumerate(lower) for u in adj_up.get(n, ()) if u in pos]
    count = 0
    for a in range(len(pairs)):
        for b in range(a + 1, len(pairs)):
            (l1, u1), (l2, u2) = pairs[a], pairs[b]
            if (l1 - l2) * (u1 - u2) < 0:
                count += 1
    return count


def _order(rows: list[list], up: dict, down: dict, sweeps: int = 16) -> tuple[list[list], int]:
    def total(rs):
        return sum(_crossings(rs[i], rs[i + 1], up) for i in range(len(rs) - 1))

    def bary(row, ref, nbrs):
        pos = {n: i for i, n in enumerate(ref)}
        def key(item):
            i, n = item
            ps = [pos[m] for m in nbrs.get(n, ()) if m in pos]
            return (sum(ps) / len(ps) if ps else i, i)
        return [n for _, n in sorted(enumerate(row), key=key)]

    best, best_c = [list(r) for r in rows], total(rows)
    cur = [list(r) for r in rows]
    for it in range(sweeps):
        if it % 2 == 0:
            for i in range(1, len(cur)):
                cur[i] = bary(cur[i], cur[i - 1], up)
        else:
            for i in range(len(cur) - 2, 0, -1):       # row 0 (objectives) keeps the config order
                cur[i] = bary(cur[i], cur[i + 1], down)
        _transpose(cur, up, down)
        c = total(cur)
        if c < best_c:
            best, best_c = [list(r) for r in cur], c
        if best_c == 0:
            break
    return best, best_c


def _best_order(rows: list[list], up: dict, down: dict) -> tuple[list[list], int]:
    """Barycentre sweeps from the config order, then from a few fixed shuffles (seeded, so
    the drawing never changes between runs); the order with the fewest crossings wins."""
    import random
    best, best_c = _order(rows, up, down)
    slots = sum(len(r) for r in rows)
    rnd = random.Random(12)
    for _ in range(8 if slots <= 120 else 2):
        if best_c == 0:
            break
        start = [rows[0]] + [rnd.sample(r, len(r)) for r in rows[1:]]
        cand, c = _order(start, up, down)
        if c < best_c:
            best, best_c = cand, c
    return best, best_c


def _transpose(rows: list[list], up: dict, down: dict) -> None:
    """Swap neighbours in a row while that removes crossings with the rows above and below."""
    def cost(u, v, i):                # crossings between u's and v's edges when u is left of v
        c = 0
        for ref, nbrs in ((rows[i - 1] if i > 0 else None, up), (rows[i + 1] if i + 1 < len(rows) else None, down)):
            if ref is None:
                continue
            pos = {n: k for k, n in enumerate(ref)}
            pu = [pos[m] for m in nbrs.get(u, ()) if m in pos]
            pv = [pos[m] for m in nbrs.get(v, ()) if m in pos]
            c += sum(1 for a in pu for b in pv if a > b)
        return c

    improved, rounds = True, 0
    while improved and rounds < 8:
        improved, rounds = False, rounds + 1
        for i, r in enumerate(rows):
            if i == 0:
                continue
            for j in range(len(r) - 1):
                if cost(r[j + 1], r[j], i) < cost(r[j], r[j + 1], i):
                    r[j], r[j + 1] = r[j + 1], r[j]
                    improved = True


def _place_x(rows: list[list], width_of: dict, up: dict, down: dict) -> dict:
    """Centre x of every slot: packed left to right, then pulled towards neighbours."""
    def gap(a, b):
        dummy = (a not in width_of) or (b not in width_of)
        return (width_of.get(a, DUMMY_W) + width_of.get(b, DUMMY_W)) / 2 + (DUMMY_GAP if dummy else BOX_GAP)

    x: dict = {}
    for r in rows:
        cx = 0.0
        for j, n in enumerate(r):
            cx = width_of.get(n, DUMMY_W) / 2 if j == 0 else cx + gap(r[j - 1], n)
            x[n] = cx
    widest = max(x[r[-1]] for r in rows if r)
    for r in rows:                                    # centre each row under the widest
        if r:
            shift = (widest - x[r[-1]]) / 2
            for n in r:
                x[n] += shift
    for it in range(8):
        seq = rows[1:] if it % 2 == 0 else rows[-2::-1]
        for r in seq:
            nbrs = up if it % 2 == 0 else down
            want = []
            for n in r:
                ps = [x[m] for m in nbrs.get(n, ())]
                want.append(sum(ps) / len(ps) if ps else x[n])
            # keep order and spacing: forward pass then backward pass, averaged
            fwd = list(want)
            for j in range(1, len(r)):
                fwd[j] = max(fwd[j], fwd[j - 1] + gap(r[j - 1], r[j]))
            bwd = list(want)
            for j in range(len(r) - 2, -1, -1):
                bwd[j] = min(bwd[j], bwd[j + 1] - gap(r[j], r[j + 1]))
            for j, n in enumerate(r):
                x[n] = (fwd[j] + bwd[j]) / 2
            for j in range(1, len(r)):                # averaging keeps spacing; make sure
                x[r[j]] = max(x[r[j]], x[r[j - 1]] + gap(r[j - 1], r[j]))
    return x


def _place_labels(routes, all_segments, boxes, label_size) -> bool:
    """Each edge's label on its own edge (or just beside it) where it touches no box and no
    other label; short edges choose first, as they have the fewest places. False when one
    label found no such place (the caller then widens the bands)."""
    labels, ok = [], True
    for e in sorted(range(len(routes)), key=lambda e: (len(all_segments[e]), e)):
        segments = all_segments[e]
        lw, lh = label_size(e)
        spot = None
        tries = [(pad, seg) for pad in (14, 4) for seg in segments[:1] + segments[-1:] + segments[1:-1]]
        for pad, (p0, p3) in tries:
            for t, dx in [(t, 0.0) for t in TS] + [(t, d) for t in TS for d in (lw / 2 + 4, -lw / 2 - 4)]:
                cx, cy = _bezier(p0, p3, t)
                cand = Box(cx + dx - lw / 2, cy - lh / 2, lw, lh)
                if any(cand.overlaps(b, 2) for b in boxes.values()) or any(cand.overlaps(o, pad) for o in labels):
                    continue
                spot = (cx + dx, cy)
                labels.append(cand)
                break
            if spot:
                break
        if spot is None:
            ok = False
            spot = _bezier(*segments[0], 0.5)
        routes[e].label_at = spot
    return ok


def cap_rows(layer: dict[str, int], edges: list[tuple[str, str]], per_row: int) -> dict[str, int]:
    """Rows of at most `per_row` boxes (row 0 is kept whole): a node goes one row below its
    lowest parent, or further down while that row is full. Edges still point upwards.

    >>> cap_rows({"o": 0, "a": 1, "b": 1, "c": 1}, [("a", "o"), ("b", "o"), ("c", "o")], 2)
    {'o': 0, 'a': 1, 'b': 1, 'c': 2}
    """
    parents: dict[str, list[str]] = {}
    for child, parent in edges:
        parents.setdefault(child, []).append(parent)
    out: dict[str, int] = {}
    count: dict[int, int] = {}
    for n in sorted(layer, key=lambda n: layer[n]):          # stable: config order within a row
        if layer[n] == 0:
            out[n] = 0
            continue
        row = max([out[p] + 1 for p in parents.get(n, ()) if p in out] + [1])
        while count.get(row, 0) >= per_row:
            row += 1
        out[n] = row
        count[row] = count.get(row, 0) + 1
    return out


def _bezier(p0, p3, t):
    (x0, y0), (x1, y1) = p0, p3
    ym = (y0 + y1) / 2
    mt = 1 - t
    bx = mt ** 3 * x0 + 3 * mt * mt * t * x0 + 3 * mt * t * t * x1 + t ** 3 * x1
    by = mt ** 3 * y0 + 3 * mt * mt * t * ym + 3 * mt * t * t * ym + t ** 3 * y1
    return bx, by


def layout(layer: dict[str, int], edges: list[tuple[str, str]], widths: dict[str, float],
           box_h: float = 52, band: float = 64, label_size=None) -> Layout:
    """Boxes and routes for nodes on `layer` rows (0 on top) with edges (child, parent);
    `widths` gives each box's width; `label_size(n)` the (w, h) of edge n's label."""
    order = _arrange(layer, edges, widths)
    for _ in range(8):
        lay, placed_all = _route(order, layer, widths, box_h, band, label_size)
        if placed_all:
            return lay
        band += 24
    return lay


def _arrange(layer, edges, widths):
    """Rows with dummy slots, in the order with the fewest crossings, and x of every slot."""
    n_rows = max(layer.values(), default=0) + 1
    rows: list[list] = [[] for _ in range(n_rows)]
    for n in layer:                                    # config order is the first guess
        rows[layer[n]].append(n)
    up: dict = {}
    down: dict = {}
    chains = []
    for e, (child, parent) in enumerate(edges):
        chain = [child]
        for row in range(layer[child] - 1, layer[parent], -1):
            d = ("dummy", e, row)
            rows[row].append(d)
            chain.append(d)
        chain.append(parent)
        chains.append(chain)
        for a, b in zip(chain, chain[1:]):             # a is below b
            up.setdefault(a, []).append(b)
            down.setdefault(b, []).append(a)
    rows, crossings = _best_order(rows, up, down)
    return rows, chains, crossings, _place_x(rows, widths, up, down)


def _route(order, layer, widths, box_h, band, label_size):
    rows, chains, crossings, x = order
    x = dict(x)
    n_rows = len(rows)
    margin = 12.0
    left = min(x[n] - widths.get(n, DUMMY_W) / 2 for r in rows for n in r)
    for n in x:
        x[n] += margin - left
    row_y = [margin + i * (box_h + band) for i in range(n_rows)]
    boxes = {n: Box(x[n] - widths[n] / 2, row_y[layer[n]], widths[n], box_h) for n in layer}
    # ports: spread a box's edges along its top (to parents) and bottom (from children)
    top_ports: dict = {}
    bottom_ports: dict = {}
    for e, chain in enumerate(chains):
        top_ports.setdefault(chain[0], []).append((x[chain[1]], e))
        bottom_ports.setdefault(chain[-1], []).append((x[chain[-2]], e))

    def spread(ports: dict) -> dict:
        out = {}
        for n, lst in ports.items():
            lst.sort()
            b = boxes[n]
            span = b.w * 0.7
            for i, (_, e) in enumerate(lst):
                out[e] = b.x + b.w / 2 + (0 if len(lst) == 1 else span * (i / (len(lst) - 1) - 0.5))
        return out
    start_x, end_x = spread(top_ports), spread(bottom_ports)
    routes, all_segments = [], []
    for e, chain in enumerate(chains):
        pts = [(start_x[e], row_y[layer[chain[0]]])]
        for d in chain[1:-1]:
            row = d[2]
            pts += [(x[d], row_y[row] + box_h), (x[d], row_y[row])]
        pts.append((end_x[e], row_y[layer[chain[-1]]] + box_h))
        d_attr = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
        sampled, segments = [], []
        for i in range(0, len(pts) - 1, 2):
            p0, p3 = pts[i], pts[i + 1]
            ym = (p0[1] + p3[1]) / 2
            d_attr += f" C{p0[0]:.1f},{ym:.1f} {p3[0]:.1f},{ym:.1f} {p3[0]:.1f},{p3[1]:.1f}"
            if i + 2 < len(pts):
                d_attr += f" L{pts[i + 2][0]:.1f},{pts[i + 2][1]:.1f}"
            segments.append((p0, p3))
            sampled += [_bezier(p0, p3, k / 24) for k in range(25)]
        routes.append(Route(chain[0], chain[-1], d_attr, points=sampled))
        all_segments.append(segments)
    ok = True
    if label_size is not None:
        ok = _place_labels(routes, all_segments, boxes, label_size)
    width = max((b.x + b.w for b in boxes.values()), default=0) + margin
    width = max(width, max((x[n] + DUMMY_W for r in rows for n in r), default=0) + margin)
    height = row_y[-1] + box_h + margin
    return Layout(boxes, routes, width, height, crossings, margin), ok
