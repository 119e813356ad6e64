"""Rich text from trackers as plain text: Atlassian Document Format (Jira Cloud) and
wiki markup (Jira Data Center).

Headings come out as `#` lines and list items as `- ` / `1. ` lines, one block per line,
so the impact-line parser and the `KPI impact` section finder read both the same way.

>>> adf_to_text({"type": "doc", "content": [
...     {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "KPI impact"}]},
...     {"type": "bulletList", "content": [{"type": "listItem", "content": [
...         {"type": "paragraph", "content": [{"type": "text", "text": "activation +5%", "marks": [{"type": "strong"}]}]}]}]}]})
'## KPI impact\\n- activation +5%'
>>> wiki_to_text("h2. KPI impact\\n* churn -2%\\n# nps +3")
'## KPI impact\\n- churn -2%\\n1. nps +3'
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any


def _inline(node: dict) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        text = attrs.get("text") or attrs.get("displayName") or attrs.get("id") or ""
        return text if str(text).startswith("@") else f"@{text}"
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    if kind == "status":
        return str(attrs.get("text") or "")
    if kind == "date":
        try:
            return datetime.fromtimestamp(int(attrs.get("timestamp")) / 1000, tz=timezone.utc).date().isoformat()
        except (TypeError, ValueError):
            return ""
    return "".join(_inline(c) for c in node.get("content") or [] if isinstance(c, dict))


def _blocks(node: dict, indent: str = "") -> list[str]:
    kind = node.get("type")
    content = [c for c in node.get("content") or [] if isinstance(c, dict)]
    if kind in ("doc", "blockquote", "panel", "expand", "nestedExpand", "layoutSection", "layoutColumn",
                "table", "tableRow", "mediaSingle", "mediaGroup"):
        return [line for c in content for line in _blocks(c, indent)]
    if kind == "heading":
        level = int((node.get("attrs") or {}).get("level") or 1)
        return [f"{'#' * max(1, min(level, 6))} {_inline(node).strip()}"]
    if kind in ("paragraph", "tableCell", "tableHeader"):
        if kind != "paragraph":
            return [line for c in content for line in _blocks(c, indent)]
        text = _inline(node)
        return [indent + line for line in text.split("\n")] if text.strip() else [""]
    if kind == "codeBlock":
        return [indent + line for line in _inline(node).split("\n")]
    if kind in ("bulletList", "orderedList", "taskList"):
        start = int((node.get("attrs") or {}).get("order") or 1)
        out = []
        for n, item in enumerate(content):
            marker = f"{start + n}. " if kind == "orderedList" else "- "
            lines = [line for c in item.get("content") or [] if isinstance(c, dict)
                     for line in _blocks(c, indent + "  ")]
            if item.get("type") == "taskItem":
                lines = [indent + "  " + _inline(item)]
            lines = [line for line in lines if line.strip()] or [indent + "  "]
            out.append(indent + marker + lines[0][len(indent) + 2:] if lines[0].startswith(indent + "  ")
                       else indent + marker + lines[0].strip())
            out += lines[1:]
        return out
    if kind == "rule":
        return ["---"]
    text = _inline(node)
    return [indent + text] if text else []


def adf_to_text(doc: Any) -> str:
    """Plain text of an ADF document (marks ignored; mentions, emoji, links readable)."""
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return str(doc)
    lines = _blocks(doc)
    return "\n".join(lines).strip("\n")


_WIKI_HEADING = re.compile(r"^\s*h([1-6])\.\s*(.*)$")
_WIKI_BULLET = re.compile(r"^\s*([*\-]+)\s+(.*)$")
_WIKI_NUMBER = re.compile(r"^\s*(#+)\s+(.*)$")
_WIKI_MARKUP = re.compile(r"\{(color|panel|noformat|code|quote)(:[^}]*)?\}")


def wiki_to_text(text: str | None) -> str:
    """Jira wiki markup as the same plain text shape as `adf_to_text`."""
    out = []
    for line in (text or "").replace("\\\\", "\n").splitlines():
        line = _WIKI_MARKUP.sub("", line)
        if m := _WIKI_HEADING.match(line):
            out.append(f"{'#' * int(m.group(1))} {m.group(2).strip()}")
        elif m := _WIKI_BULLET.match(line):
            out.append("  " * (len(m.group(1)) - 1) + "- " + m.group(2))
        elif m := _WIKI_NUMBER.match(line):
            out.append("  " * (len(m.group(1)) - 1) + "1. " + m.group(2))
        else:
            out.append(line)
    return "\n".join(out)
