"""The impact-line parser: how a PM states an estimate in the tracker (docs/cli.md).

    activation +8% @70%
    churn -5%..-2% @50%
    nps +3

One estimate per line or per `;`: `<kpi-id> <lift> [@<confidence>] [by <estimator>]`
(`activation +8% @70% by alice`: who estimated; without it, the initiative's estimator).
A person's later line for the same KPI replaces their earlier one. A KPI id is one
token (`kpi_impact_weekly`, `nps-2`). Lift is a signed percentage, a range `low..high`
(expected at its midpoint) or a bare number read as percent; an absolute change is
written `+2pp` (percentage points) or `+3pt` / `+3pts` (the KPI's own unit) and kept as
written, for the ranking to convert with the KPI's current value. Confidence `70%`, `70`
or `0.7`: above 1 is a percentage. A label `kpi:<id>` links without an estimate.
Nothing here raises on user text: what cannot be read becomes a flag. Every pattern is
anchored and free of nested or adjacent repeats, and an estimate longer than
`MAX_ESTIMATE` characters is unreadable, so parsing is linear in the text's length.

>>> r = parse_impact("activation +8% @70%; churn −5%..−2%; nps +3pts")
>>> [(l.kpi, l.low, l.high, l.confidence, l.unit) for l in r.links]
[('activation', 0.08, 0.08, 0.7, ''), ('churn', -0.05, -0.02, None, ''), ('nps', 3.0, 3.0, None, 'pt')]
>>> parse_impact("activation lots").flags
['unreadable-impact:1']
>>> [(l.kpi, l.low, l.by) for l in parse_impact("act +8% @70% by Alice Smith; act +2% by bob; act +5% by alice smith").links]
[('act', 0.02, 'bob'), ('act', 0.05, 'alice smith')]
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from scoring.model import Link, latest_per_person, person_key  # noqa: F401 - the two re-exported

_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-", "\uff0d": "-"})
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT = r"(%|pp|pts?|points?)?"
_LIFT = re.compile(rf"({_NUM}){_UNIT}(?:\.\.({_NUM}){_UNIT})?", re.I)
_HEAD = re.compile(r"(?:kpi:)?([^\s:@;]+):?", re.I)    # the KPI id: one token
_UNITS = {None: "", "%": "", "pp": "pp", "pt": "pt", "pts": "pt", "point": "pt", "points": "pt"}
MAX_ESTIMATE = 1000     # characters; a longer piece is not an estimate a person wrote
_BULLET = re.compile(r"^\s*(?:[-*•·]\s+|\d+[.)]\s+)")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s*|h[1-6]\.\s*)")
# `KPI impact` as a heading or line opener, but not the start of an id (`kpi_impact_weekly`)
_SECTION = re.compile(r"^\s*(?:#{1,6}\s*|h[1-6]\.\s*)?[*_]*kpi[ _-]impacts?(?:[*_]+(?!\w)|(?![\w-]))"
                      r"\s*:?\s*(?P<rest>.*)$", re.I)
_LABEL = re.compile(r"^kpi:(?P<kpi>\S+)$", re.I)
_BY = re.compile(r"\s+by\s+", re.I)


@dataclass
class ParsedImpact:
    links: list[Link] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


# A confidence written as a word (docs/configuration.md, `confidence_levels`), any case.
CONFIDENCE_WORDS = {"high": 0.9, "medium": 0.7, "low": 0.5}


def confidence_field(text: str, levels: dict[str, float] | None = None) -> float | None:
    """A `confidence` column or field: a number as `read_confidence` reads it, or a word of
    `levels` (default CONFIDENCE_WORDS) compared case-insensitively. (An impact line's
    `@confidence` stays a number.)

    >>> confidence_field("Medium"), confidence_field(" low "), confidence_field("HIGH", {"High": 1.0})
    (0.7, 0.5, 1.0)
    """
    words = {str(k).strip().casefold(): v for k, v in (levels or CONFIDENCE_WORDS).items()}
    word = words.get(text.strip().casefold())
    if word is not None:
        return float(word) if 0 <= word <= 1 and math.isfinite(word) else None
    return read_confidence(text)


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


def read_lift(text: str) -> tuple[float, float, str] | None:
    """`+5%`, `+5`, `-5%..-2%`, `+2pp`, `+1pp..+3pp`, `+3pt(s)` -> (low, high, unit) with
    relative lifts and pp as fractions (0.05, 0.02) and pt in the KPI's unit; None when
    unreadable (including a range mixing units)."""
    m = _LIFT.fullmatch("".join(text.translate(_MINUS).split()))
    if not m:
        return None
    u1 = _UNITS[m.group(2) and m.group(2).lower()]
    u2 = _UNITS[m.group(4) and m.group(4).lower()] if m.group(3) is not None else u1
    if u1 != u2 and not (m.group(2) is None or m.group(4) is None):
        return None
    unit = u1 or u2
    scale = 1.0 if unit == "pt" else 0.01
    low = float(m.group(1)) * scale
    high = float(m.group(3)) * scale if m.group(3) is not None else low
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return (min(low, high), max(low, high), unit)


def split_by(piece: str) -> tuple[str, str | None]:
    """`act +8% @70% by alice` -> (`act +8% @70%`, `alice`): the estimator named after the
    first ` by ` (a name may hold spaces or be an e-mail); None when there is none.

    >>> split_by("act +8% by  Alice Smith ")
    ('act +8%', 'Alice Smith')
    """
    m = _BY.search(piece)
    if not m:
        return piece, None
    name = " ".join(piece[m.end():].split())
    return piece[:m.start()], name or None


def read_estimate(piece: str) -> tuple[str, str, str | None] | None:
    """`<kpi-id> <lift> [@<confidence>]` -> (kpi, lift text, confidence text or None);
    None when the piece has no id followed by a lift. Linear: one anchored token, then
    plain string splits. (A trailing `by NAME` is taken off first by `split_by`.)"""
    if len(piece) > MAX_ESTIMATE:
        return None
    head = _HEAD.match(piece)
    if not head or head.end() == len(piece) or not piece[head.end()].isspace():
        return None
    rest = piece[head.end():]
    lift, at, conf = rest.partition("@")
    if not lift.strip():
        return None
    return head.group(1), lift.strip(), conf.strip() if at else None


def estimates(text: str) -> list[str]:
    """The non-empty estimates of an impact text, split on new lines and `;`, with list
    bullets and a leading `KPI impact` heading taken off."""
    out = []
    for piece in re.split(r"[;\n\r]", text or ""):
        piece = _BULLET.sub("", piece).strip()
        heading = _SECTION.match(piece)
        if heading and not _is_estimate(piece):      # `kpi_impacts +5%` is an estimate
            piece = heading.group("rest").strip()
        if piece:
            out.append(piece)
    return out


def _is_estimate(piece: str) -> bool:
    m = read_estimate(split_by(piece)[0]) if len(piece) <= MAX_ESTIMATE else None
    return m is not None and read_lift(m[1]) is not None


def parse_impact(text: str | None, labels: tuple[str, ...] | list[str] = ()) -> ParsedImpact:
    """Read impact lines and `kpi:<id>` labels into links plus flags."""
    out = ParsedImpact()
    bad_conf = False
    for n, piece in enumerate(estimates(text or ""), start=1):
        label = _LABEL.match(piece)
        if label:
            out.links.append(Link(kpi=label.group("kpi")))
            continue
        body, by = split_by(piece) if len(piece) <= MAX_ESTIMATE else (piece, None)
        m = read_estimate(body)
        lift = read_lift(m[1]) if m else None
        if lift is None:
            out.flags.append(f"unreadable-impact:{n}")
            continue
        conf = None
        if m[2] is not None:
            conf = read_confidence(m[2])
            bad_conf = bad_conf or conf is None
        out.links.append(Link(kpi=m[0], low=lift[0], high=lift[1], confidence=conf, unit=lift[2], by=by))
    out.links = latest_per_person(out.links)
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


# -- back to text: how a view shows an absolute estimate and its conversion --------------

def written_lift(low: float, high: float, unit: str) -> str:
    """An absolute estimate as the PM wrote it: `+2pp`, `+1pp..+3pp`, `+3pt`."""
    def one(v: float) -> str:
        return f"{round(100 * v, 10):+g}pp" if unit == "pp" else f"{round(v, 10):+g}pt"
    return one(low) if low == high else f"{one(low)}..{one(high)}"


def converted_text(written: str, lift: float, base: float, unit: str) -> str:
    """"+2pp = +6.5 % of 31.0 %": the written and the converted lift, and the base used."""
    shown = f"{100 * base:.1f} %" if unit.strip() == "%" else f"{base:g}" + (f" {unit}" if unit else "")
    return f"{written} = {100 * lift:+.1f} % of {shown}"
