"""The impact-line parser: how a PM states an estimate in the tracker (CONTRACT.md).

    activation +8% @70%
    churn -5%..-2% @50%
    nps +3

One estimate per line or per `;`: `<kpi-id> <lift> [@<confidence>]`. Lift is a signed
percentage, a range `low..high` (expected at its midpoint) or a bare number read as
percent. Confidence `70%`, `70` or `0.7`: above 1 is a percentage. A label `kpi:<id>`
links without an estimate. Nothing here raises on user text: what cannot be read
becomes a flag.

>>> r = parse_impact("activation +8% @70%; churn −5%..−2%")
>>> [(l.kpi, l.low, l.high, l.confidence) for l in r.links]
[('activation', 0.08, 0.08, 0.7), ('churn', -0.05, -0.02, None)]
>>> parse_impact("activation lots").flags
['unreadable-impact:1']
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from scoring.model import Link

_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-", "\uff0d": "-"})
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_LIFT = re.compile(rf"^({_NUM})%?(?:\.\.({_NUM})%?)?$")
_ESTIMATE = re.compile(r"^(?:kpi:)?(?P<kpi>[^\s:@;]+):?\s+(?P<lift>[^@]+?)\s*(?:@\s*(?P<conf>.*?))?\s*$")
_BULLET = re.compile(r"^\s*(?:[-*•·]\s+|\d+[.)]\s+)")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s*|h[1-6]\.\s*)")
_SECTION = re.compile(r"^\s*(?:#{1,6}\s*|h[1-6]\.\s*)?[*_]*kpi[ _-]impacts?[*_]*\s*:?\s*(?P<rest>.*)$", re.I)
_LABEL = re.compile(r"^kpi:(?P<kpi>\S+)$", re.I)


@dataclass
class ParsedImpact:
    links: list[Link] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def read_confidence(text: str) -> float | None:
    """`70%`, `70` or `0.7` -> 0.7; None when it is not a confidence in [0, 1]."""
    t = text.strip().translate(_MINUS)
    pct = t.endswith("%")
    t = t.rstrip("%").strip()
    if not re.fullmatch(_NUM, t):
        return None
    v = float(t)
    if pct or v > 1:
        v /= 100
    return v if 0 <= v <= 1 and math.isfinite(v) else None


def _read_lift(text: str) -> tuple[float, float] | None:
    m = _LIFT.match(re.sub(r"\s+", "", text.translate(_MINUS)))
    if not m:
        return None
    low = float(m.group(1)) / 100
    high = float(m.group(2)) / 100 if m.group(2) is not None else low
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return (min(low, high), max(low, high))


def estimates(text: str) -> list[str]:
    """The non-empty estimates of an impact text, split on new lines and `;`, with list
    bullets and a leading `KPI impact` heading taken off."""
    out = []
    for piece in re.split(r"[;\n\r]", text or ""):
        piece = _BULLET.sub("", piece).strip()
        heading = _SECTION.match(piece)
        if heading:
            piece = heading.group("rest").strip()
        if piece:
            out.append(piece)
    return out


def parse_impact(text: str | None, labels: tuple[str, ...] | list[str] = ()) -> ParsedImpact:
    """Read impact lines and `kpi:<id>` labels into links plus flags."""
    out = ParsedImpact()
    bad_conf = False
    for n, piece in enumerate(estimates(text or ""), start=1):
        label = _LABEL.match(piece)
        if label:
            out.links.append(Link(kpi=label.group("kpi")))
            continue
        m = _ESTIMATE.match(piece)
        lift = _read_lift(m.group("lift")) if m else None
        if lift is None:
            out.flags.append(f"unreadable-impact:{n}")
            continue
        conf = None
        if m.group("conf") is not None:
            conf = read_confidence(m.group("conf"))
            bad_conf = bad_conf or conf is None
        out.links.append(Link(kpi=m.group("kpi"), low=lift[0], high=lift[1], confidence=conf))
    if bad_conf:
        out.flags.append("unreadable-confidence")
    estimated = {ln.kpi for ln in out.links}
    for lab in labels:
        m = _LABEL.match(lab.strip())
        if m and m.group("kpi") not in estimated:
            estimated.add(m.group("kpi"))
            out.links.append(Link(kpi=m.group("kpi")))
    return out


def impact_section(description: str | None) -> str | None:
    """The lines under a heading or line reading `KPI impact`, up to the next heading or
    the first blank line after an estimate; None when there is no such section."""
    lines = (description or "").splitlines()
    for i, line in enumerate(lines):
        m = _SECTION.match(line)
        if not m:
            continue
        taken = [m.group("rest")] if m.group("rest").strip() else []
        for nxt in lines[i + 1:]:
            if _HEADING.match(nxt) or _SECTION.match(nxt):
                break
            if not nxt.strip():
                if taken:
                    break
                continue
            taken.append(nxt)
        return "\n".join(taken)
    return None
