"""What a person cannot check by eye on every release, checked in the browser: the goal
graph's geometry read from the drawn SVG (no edge through a box, no label on another label
or a box, names inside their boxes) on the demo and on a 40-KPI graph, and axe-core's
serious or critical accessibility violations on every page at 1440 and 390 px."""
from __future__ import annotations

import pytest
from markupsafe import escape

from tests.browser_kit import ARTIFACTS, browser, serious_violations, server, shot, wide_and_phone  # noqa: F401
from tests.graph_samples import forty_kpis

GEOMETRY = """svg => {
  const boxes = [...svg.querySelectorAll('g.node rect')].map(r => ({id: r.dataset.id,
      x: +r.getAttribute('x'), y: +r.getAttribute('y'), w: +r.getAttribute('width'), h: +r.getAttribute('height')}));
  const inside = (p, b, m) => p.x > b.x + m && p.x < b.x + b.w - m && p.y > b.y + m && p.y < b.y + b.h - m;
  const overlap = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  const out = {edges: 0, through: [], labels: 0, labelClash: [], labelOnBox: [], textOut: []};
  for (const g of svg.querySelectorAll('g.edge')) {
    out.edges++;
    const path = g.querySelector('path'), len = path.getTotalLength();
    for (let s = 0; s <= len; s += 1.5) {
      const p = path.getPointAtLength(s);
      for (const b of boxes) {
        if (b.id !== g.dataset.from && b.id !== g.dataset.to && inside(p, b, 0.5)) {
          out.through.push(g.dataset.from + '->' + g.dataset.to + ' through ' + b.id);
        }
      }
    }
  }
  const labels = [...svg.querySelectorAll('g.elabel')].map(g => g.getBBox());
  out.labels = labels.length;
  labels.forEach((a, i) => labels.slice(i + 1).forEach(b => { if (overlap(a, b)) out.labelClash.push([a.x, a.y, b.x, b.y]); }));
  labels.forEach(a => boxes.forEach(b => { if (overlap(a, b)) out.labelOnBox.push(b.id); }));
  for (const g of svg.querySelectorAll('g.node')) {
    const r = g.querySelector('rect');
    const b = {x: +r.getAttribute('x'), y: +r.getAttribute('y'), w: +r.getAttribute('width'), h: +r.getAttribute('height')};
    for (const t of g.querySelectorAll('text')) {
      const tb = t.getBBox();
      if (tb.x < b.x || tb.x + tb.width > b.x + b.w || tb.y < b.y || tb.y + tb.height > b.y + b.h) out.textOut.push(r.dataset.id + ': ' + t.textContent);
    }
  }
  return out;
}"""


def check_geometry(page) -> dict:
    g = page.locator("svg.graph").evaluate(GEOMETRY)
    assert g["edges"] and g["labels"] == g["edges"]                      # every edge carries its weight
    assert g["through"] == [], g["through"][:5]
    assert g["labelClash"] == [] and g["labelOnBox"] == []
    assert g["textOut"] == [], g["textOut"][:5]
    return g


def test_demo_graph_edges_cross_no_box_and_labels_do_not_overlap(wide_and_phone, server):
    page = wide_and_phone["wide"]
    page.goto(server + "/graph")
    g = check_geometry(page)
    assert g["edges"] == 24                                              # the demo's 24 edges


def test_a_forty_kpi_graph_stays_readable(wide_and_phone, server):
    from app.web.svg import charts
    svg = charts.goal_graph(forty_kpis(), link=lambda n: f"/kpis#kpi-{n['id']}")
    page = wide_and_phone["wide"]
    page.set_content(f'<!doctype html><html lang="en"><head><title>40 KPIs</title><link rel="stylesheet" '
                     f'href="{escape(server)}/static/style.css"></head><body><main><div class="graphwrap">{svg}</div>'
                     '</main></body></html>')
    check_geometry(page)
    size = page.locator("svg.graph g.node text").first.evaluate("t => parseFloat(getComputedStyle(t).fontSize)")
    assert size >= 12                                                    # text is drawn at its size, never shrunk
    assert page.locator("svg.graph g.off").count() == 10
    shot(page, "graph-40-kpis", full=True)


PAGES = ["/", "/?w.delivery=10&group=objective", "/kpis", "/graph", "/alignment", "/initiatives/FN-102"]


@pytest.mark.parametrize("size", ["wide", "phone"])
def test_no_serious_accessibility_violation(wide_and_phone, server, size):
    page = wide_and_phone[size]
    found = {}
    for path in PAGES:
        page.goto(server + path)
        if page.locator("#whatif summary").count():
            page.locator("#whatif summary").click()                      # check the scenario's controls too
        violations = serious_violations(page)
        if violations:
            found[path] = violations
    assert found == {}
