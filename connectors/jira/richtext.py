"""Rich text from Jira as plain text: Atlassian Document Format (Cloud) and wiki markup
(Data Center), read the way docs/configuration.md's impact lines are stated.

Headings come out as `#` lines and list items as `- ` / `1. ` lines, one block per line,
so the impact-line parser and the `KPI impact` section finder read both the same way:
- every list, decision and task item is its own line (one estimate each);
- an expand or panel titled `KPI impact` holds the section (it ends where the block ends);
- a table row is one estimate, its cells read in order as KPI, lift and confidence
  (`- activation +8% @70%`); a header row is skipped, and a header row reading
  `KPI impact` titles the table; a header cell `By` marks the column naming who
  estimated (`- activation +8% @70% by alice`);
- formatting marks never become part of an id (`*activation*` reads `activation`).

A document that is not ADF at all (content that is a number, attrs that are a list)
is read as far as it makes sense; nesting deeper than `MAX_DEPTH` raises
`UnreadableRichText`, which the connector turns into a skipped, named issue.

>>> adf_to_text({"type": "doc", "content": [
...     {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "KPI impact"}]},
...     {"type": "bulletList", "content": [{"type": "listItem", "content": [
...         {"type": "paragraph", "content": [{"type": "text", "text": "activation +5%", "marks": [{"type": "strong"}]}]}]}]}]})
'## KPI impact\\n- activation +5%'
>>> wiki_to_text("h2. KPI impact\\n* churn -2%\\n# nps +3\\n#- *activation* +8%")
'## KPI impact\\n- churn -2%\\n1. nps +3\\n  - activation +8%'
>>> wiki_to_text("||KPI||Lift||Confidence||\\n|activation|+8%|70%|")
'- activation +8% @70%'
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from scoring.errors import BadInput

MAX_DEPTH = 100
END = "#"                       # an empty heading: ends a section opened by a titled block
_SECTION_TITLE = re.compile(r"^\s*(?:#{1,6}\s*)?[*_]*kpi[ _-]impacts?[*_]*\s*:?\s*$", re.I)
_CONTAINERS = {"doc", "blockquote", "layoutSection", "layoutColumn", "mediaSingle", "mediaGroup",
               "bodiedExtension", "extensionFrame", "multiBodiedExtension"}
_LISTS = {"bulletList", "orderedList", "taskList", "decisionList"}
_INLINE_ITEMS = {"taskItem", "decisionItem"}


class UnreadableRichText(BadInput):
    """A rich-text document that cannot be read as text (the message says why)."""


def _attrs(node: dict) -> dict:
    attrs = node.get("attrs")
    return attrs if isinstance(attrs, dict) else {}


def _content(node: dict, depth: int) -> list[dict]:
    if depth > MAX_DEPTH:
        raise UnreadableRichText(f"the document is nested deeper than {MAX_DEPTH} levels")
    content = node.get("content")
    return [c for c in content if isinstance(c, dict)] if isinstance(content, list) else []


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _inline(node: dict, depth: int = 0) -> str:
    kind = node.get("type")
    attrs = _attrs(node)
    if kind == "text":
        text = node.get("text", "")
        return text if isinstance(text, str) else str(text)
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        text = str(attrs.get("text") or attrs.get("displayName") or attrs.get("id") or "")
        return text if text.startswith("@") else f"@{text}"
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    if kind == "status":
        return str(attrs.get("text") or "")
    if kind == "date":
        try:
            stamp = int(str(attrs.get("timestamp")))
            return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc).date().isoformat()
        except (TypeError, ValueError, OverflowError, OSError):
            return ""
    return "".join(_inline(c, depth + 1) for c in _content(node, depth + 1))


def _titled(title: str, lines: list[str]) -> list[str]:
    """A block titled (or opening with) `KPI impact` holds the section: it ends with the block."""
    first = next((ln for ln in lines if ln.strip()), "")
    if title:
        lines = [f"## {title.strip()}", *lines]
    if _SECTION_TITLE.match(title or first):
        lines = [*lines, END]
    return lines


def _cell_text(cell: dict, depth: int) -> str:
    return " ".join(ln.strip() for c in _content(cell, depth + 1) for ln in _blocks(c, "", depth + 2)
                    if ln.strip()).strip()


_BY_HEADERS = ("by", "estimator", "estimated by", "who")


def _by_column(cells: list[str]) -> int | None:
    """The column of a header row that names who estimated (`By`), if any."""
    for n, c in enumerate(cells):
        if c.strip().strip(":").lower() in _BY_HEADERS:
            return n
    return None


def _estimate_row(cells: list[str], by: int | None = None) -> str:
    """A table row as an impact line: KPI, lift, confidence in that order, and the `By`
    column (found in the header row) as `by NAME`."""
    cells = [c.strip() for c in cells]
    name = ""
    if by is not None and by < len(cells):
        name = " ".join(cells.pop(by).split())
    line = _row_line(cells)
    return f"{line} by {name}" if line and name and len(cells) >= 2 else line


def _row_line(cells: list[str]) -> str:
    while cells and not cells[-1]:
        cells.pop()
    if len(cells) < 2:
        return cells[0] if cells else ""
    line = f"{cells[0]} {cells[1]}"
    if len(cells) > 2 and cells[2]:
        line += f" @{cells[2].lstrip('@').strip()}"
    return line


def _table(node: dict, depth: int) -> list[str]:
    out, title, by = [], "", None
    for n, row in enumerate(_content(node, depth + 1)):
        cells = _content(row, depth + 2)
        texts = [_cell_text(c, depth + 2) for c in cells]
        header = cells and all(c.get("type") == "tableHeader" for c in cells)
        if n == 0 and texts and _SECTION_TITLE.match(texts[0]) and not any(texts[1:]):
            title = texts[0]                      # a header row reading "KPI impact" titles the table
            continue
        if header or (n == 0 and texts and texts[0].strip().lower() in ("kpi", "kpi id", "metric")):
            by = _by_column(texts)
            continue
        line = _estimate_row(texts, by)
        if line:
            out.append(f"- {line}")
    return _titled(title, out) if title else out


def _list(node: dict, kind: str, indent: str, depth: int) -> list[str]:
    start = _int(_attrs(node).get("order"), 1) if kind == "orderedList" else 1
    out = []
    for n, item in enumerate(_content(node, depth + 1)):
        marker = f"{start + n}. " if kind == "orderedList" else "- "
        if item.get("type") in _INLINE_ITEMS:
            lines = [indent + "  " + ln for ln in _inline(item, depth + 2).split("\n")]
        else:
            lines = [line for c in _content(item, depth + 2) for line in _blocks(c, indent + "  ", depth + 3)]
        lines = [line for line in lines if line.strip()] or [indent + "  "]
        head = lines[0][len(indent) + 2:] if lines[0].startswith(indent + "  ") else lines[0].strip()
        out.append(indent + marker + head)
        out += lines[1:]
    return out


def _blocks(node: dict, indent: str = "", depth: int = 0) -> list[str]:
    kind = node.get("type")
    if kind in _CONTAINERS:
        return [line for c in _content(node, depth + 1) for line in _blocks(c, indent, depth + 1)]
    if kind in ("panel", "expand", "nestedExpand"):
        lines = [line for c in _content(node, depth + 1) for line in _blocks(c, indent, depth + 1)]
        title = _attrs(node).get("title")
        return _titled(title if isinstance(title, str) else "", lines)
    if kind == "heading":
        level = min(max(_int(_attrs(node).get("level"), 2), 1), 6)
        return [f"{'#' * level} {_inline(node, depth).strip()}"]
    if kind == "paragraph":
        text = _inline(node, depth)
        return [indent + line for line in text.split("\n")] if text.strip() else [""]
    if kind in ("tableCell", "tableHeader", "tableRow"):
        return [line for c in _content(node, depth + 1) for line in _blocks(c, indent, depth + 1)]
    if kind == "table":
        return _table(node, depth)
    if kind == "codeBlock":
        return [indent + line for line in _inline(node, depth).split("\n")]
    if kind in _LISTS:
        return _list(node, kind, indent, depth)
    if kind in _INLINE_ITEMS:
        return [indent + "- " + _inline(node, depth)]
    if kind == "rule":
        return ["---"]
    text = _inline(node, depth)
    return [indent + text] if text else []


def adf_to_text(doc: Any) -> str:
    """Plain text of an ADF document (marks ignored; mentions, emoji, links readable).
    Raises UnreadableRichText for a document nested too deep to read."""
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return str(doc)
    try:
        lines = _blocks(doc)
    except RecursionError:
        raise UnreadableRichText("the document is nested too deep to read") from None
    return "\n".join(lines).strip("\n")


# -- wiki markup -----------------------------------------------------------------------------
_WIKI_HEADING = re.compile(r"^\s*h([1-6])\.\s*(.*)$")
_WIKI_LIST = re.compile(r"^\s*([*#-]+)\s+(.*)$")           # *, #, -, and mixed: #*, #-, *#
_WIKI_TABLE = re.compile(r"^\s*\|")
_WIKI_BLOCK = re.compile(r"^\s*\{(panel|expand)(?::([^}]*))?\}\s*$", re.I)
_WIKI_MARKUP = re.compile(r"\{(color|panel|expand|noformat|code|quote)(:[^}]*)?\}", re.I)
_MARKS = [re.compile(rf"(?<![\w{re.escape(m)}]){re.escape(m)}(?=\S)(.+?)(?<=\S){re.escape(m)}(?![\w{re.escape(m)}])")
          for m in ("*", "_", "+", "-", "^", "~", "??")] + [re.compile(r"\{\{(.+?)\}\}")]


def strip_marks(text: str) -> str:
    """Wiki formatting marks off: `*bold*`, `_italic_`, `+underline+`, `-strike-`, `{{mono}}`.

    >>> strip_marks("*activation* +8% @70%"), strip_marks("churn -5%..-2%")
    ('activation +8% @70%', 'churn -5%..-2%')
    """
    for pattern in _MARKS:
        text = pattern.sub(r"\1", text)
    return text


def _block_title(spec: str | None) -> str:
    for part in (spec or "").split("|"):
        key, _, value = part.partition("=")
        if value and key.strip().lower() == "title":
            return value.strip()
        if not value and key.strip():
            return key.strip()
    return ""


def _wiki_row(line: str) -> tuple[bool, list[str]]:
    header = line.strip().startswith("||")
    cells = [strip_marks(c.strip()) for c in re.split(r"\|\|?", line.strip().strip("|"))]
    return header, cells


def wiki_to_text(text: str | None) -> str:
    """Jira wiki markup as the same plain text shape as `adf_to_text`."""
    out: list[str] = []
    open_blocks: list[bool] = []        # per open {panel}/{expand}: did it open a KPI impact section
    by = None                           # the `By` column of the last table header row
    for line in str(text or "").replace("\\\\", "\n").splitlines():
        if m := _WIKI_BLOCK.match(line):
            spec = m.group(2)
            if spec is None and open_blocks:                       # a closing tag
                if open_blocks.pop():
                    out.append(END)
                continue
            title = _block_title(spec)
            if title:
                out.append(f"## {title}")
            open_blocks.append(bool(_SECTION_TITLE.match(title)))
            continue
        line = _WIKI_MARKUP.sub("", line)
        if _WIKI_TABLE.match(line):
            header, cells = _wiki_row(line)
            if header and cells and _SECTION_TITLE.match(cells[0]) and not any(cells[1:]):
                out.append(f"## {cells[0]}")
            elif header:
                by = _by_column(cells)
            elif row := _estimate_row(cells, by):
                out.append(f"- {row}")
        elif m := _WIKI_HEADING.match(line):
            out.append(f"{'#' * int(m.group(1))} {strip_marks(m.group(2).strip())}")
        elif m := _WIKI_LIST.match(line):
            marker = m.group(1)
            out.append("  " * (len(marker) - 1) + ("1. " if marker.endswith("#") else "- ") + strip_marks(m.group(2)))
        else:
            out.append(strip_marks(line))
    return "\n".join(out)
