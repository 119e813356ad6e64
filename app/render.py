"""Text, CSV and JSON renderings of the services' results for the terminal."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil

from app.terminal import json_safe, safe


def to_json(obj) -> str:
    """JSON for the terminal or a pipe; bidirectional and C1 controls in strings escaped."""
    return json_safe(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def _num(v, digits: int = 3) -> str:
    if v is None:
        return "-"
    return f"{v:.{digits}f}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    """Columns of text; every cell made terminal-safe (app/terminal.py) before it is measured."""
    headers, rows = [safe(h) for h in headers], [[safe(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[n]) for r in rows]) for n, h in enumerate(headers)]
    def line(cells):
        return "  ".join(c.rjust(widths[n]) if n in right else c.ljust(widths[n])
                         for n, c in enumerate(cells)).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def effort_text(it: dict) -> str:
    """The effort as used; a defaulted one is marked (`2.0*`), not shown as an estimate."""
    return _num(it["effort"], 1) + ("*" if it.get("effort_defaulted") and it["effort"] is not None else "")


def ranking_table(items: list[dict]) -> str:
    width = max(24, min(60, shutil.get_terminal_size((120, 20)).columns - 70))
    rows = [[str(it["rank"]), it["key"], _cut(it["title"], width), _num(it["score"]), _num(it["impact"]),
             effort_text(it), " ".join(it["flags"])] for it in items]
    return table(["rank", "key", "title", "score", "impact", "effort", "flags"], rows, right={0, 3, 4, 5})


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(v):
    """A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a
    leading apostrophe, as OWASP's CSV-injection advice says; numbers stay numbers."""
    if isinstance(v, str) and v.startswith(FORMULA_STARTS):
        return "'" + v
    return v


_QUOTED = re.compile('[,"\n]')                        # what csv.writer (excel, "\n" lines) quotes
_FORMULA = re.compile("\x00[=+\\-@\t\r]")              # a cell's first character, after its separator
_SEP = "\x00"


def csv_column(cells: list[str]) -> list[str]:
    """A column of text cells as csv.writer writes them, formula starts neutralised
    (`csv_cell`): one regular-expression pass over the whole column finds the few cells
    that need a change, so a column of plain text costs two scans in C, not calls per cell.

    >>> csv_column(["ok", "=SUM(A1)", 'say "hi", then', "-5"])
    ['ok', "'=SUM(A1)", '"say ""hi"", then"', "'-5"]
    """
    joined = _SEP + _SEP.join(cells)
    quoted = _QUOTED.search(joined) is not None
    formula = _FORMULA.search(joined) is not None
    if not (quoted or formula):
        return cells
    out = list(cells)
    if joined.count(_SEP) != len(cells):       # a cell holds the separator itself: cell by cell
        return [_escape(csv_cell(v)) for v in out]
    starts, at = [], 0
    for v in cells:
        starts.append(at)
        at += len(v) + 1
    import bisect
    if formula:
        for m in _FORMULA.finditer(joined):
            i = bisect.bisect_right(starts, m.start()) - 1
            out[i] = "'" + out[i]
    if quoted:
        for i in sorted({bisect.bisect_right(starts, m.start() - 1) - 1 for m in _QUOTED.finditer(joined)}):
            out[i] = _escape(out[i])
    return out


def _escape(v: str) -> str:
    return '"' + v.replace('"', '""') + '"' if _QUOTED.search(v) else v


def ranking_csv(items: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rank", "key", "title", "status", "score", "impact", "effort", "flags", "url"])
    for it in items:
        effort = "" if it["effort"] is None else f"{it['effort']}{'*' if it.get('effort_defaulted') else ''}"
        w.writerow([it["rank"], csv_cell(it["key"]), csv_cell(it["title"]), csv_cell(it["status"]), it["score"],
                    it["impact"], effort, csv_cell(" ".join(it["flags"])), csv_cell(it["url"])])
    return buf.getvalue()


def value(v, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "%":
        return f"{100 * v:.1f}%"
    text = f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
    return text + (f" {unit}" if unit else "")


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def kpis_table(data: dict) -> str:
    rows = [[k["id"], value(k["current"], k["unit"]), k.get("window") or k["current_date"] or "-",
             value(k["target"], k["unit"]), *pct_pair(k["progress"], k["expected_progress"]), k["status"],
             f"{k['urgency']:.2f}"] for k in data["kpis"]]
    return table(["kpi", "current", "current is", "target", "progress", "expected", "status", "urgency"],
                 rows, right={1, 3, 4, 5, 7})


def check_text(data: dict) -> str:
    lines = [safe(f"{f['level']:7}  {f['code']:22} {f['subject']}: {f['message']}") for f in data["findings"]]
    if data["allocation"]:
        lines.append("")
        lines.append(table(["objective", "weight share", "effort share"],
                           [[a["objective"], _pct(a["weight_share"]), _pct(a["effort_share"])]
                            for a in data["allocation"]], right={1, 2}))
    return "\n".join(lines)


def explain_text(item: dict) -> str:
    rank = f"#{item['rank']} of {item.get('total', '?')}" if item["rank"] else "not ranked (done)"
    out = [f"{item['key']}  {item['title']}", f"  {rank}  score {_num(item['score'])} = impact "
           f"{_num(item['impact'])} / effort {effort_text(item)}   status: {item['status'] or '-'}"]
    if item.get("effort_defaulted"):
        out.append("  * no effort given: the default effort was used")
    if item.get("url"):
        out.append(f"  {item['url']}")
    if item.get("factors"):
        out.append("  factors: " + ", ".join(f"{k} {v}" for k, v in item["factors"].items()))
    if item["links"]:
        out.append("  estimates:")
        for ln in item["links"]:
            lift = "no estimate" if ln["lift"] is None else f"{100 * ln['lift']:+.1f}%"
            if ln.get("written"):
                lift = ln.get("converted") or f"{ln['written']} (not converted)"
            rng = f" (range {100 * ln['range'][0]:+.1f}%..{100 * ln['range'][1]:+.1f}%)" if "range" in ln else ""
            out.append(f"    {ln['kpi']:20} {lift}{rng} @ {100 * ln['confidence']:.0f}%")
            if ln.get("estimators"):      # several estimators: each one's, and the pool
                out.append(f"      pooled l*c {100 * ln['expected']:+.2f}%, disagreement D = {ln['disagreement']:.2f}")
                for e in ln["estimators"]:
                    out.append(f"      {e['by'][:24]:24} {100 * e['lift']:+.1f}% @ {100 * e['confidence']:.0f}%")
    if item["contributions"]:
        out.append("  contributions (sum = impact):")
        for c in item["contributions"]:
            out.append(f"    {c['kpi']:20} -> {c['objective']:16} {c['impact']:+.4f}")
    if item.get("paths"):
        out.append("  main paths:")
        for p in item["paths"]:
            out.append(f"    {' -> '.join(p['path'])}  (weight {p['weight']:.3g}, carries {p['impact']:+.4f})")
            for u in p.get("urgency", []):
                out.append(f"      {u['text']}")
        if item.get("urgency_means"):
            out.append(f"  {item['urgency_means']}")
    if item.get("forecasts"):
        out.append("  forecast (expected, confidence-weighted):")
        for f in item["forecasts"]:
            out.append(f"    {f['name']}: {value(f['current'], f['unit'])} -> {value(f['forecast'], f['unit'])}")
    for f in item["flags"]:
        out.append(f"  flag {f['flag']}: {f['fix']}")
    return "\n".join(safe(line) for line in out)     # each line is one line: a source's own breaks escaped


def pct_pair(a, b) -> tuple[str, str]:
    """Progress and expected progress as the KPI page prints them: enough decimals for
    unequal values to differ ("41.6%" vs "42.0%", not "42%" vs "42%"); "-" for none."""
    if a is None or b is None:
        return _pct(a), _pct(b)
    from scoring.goals.alignment import pct_pair as pair
    return pair(a, b)
