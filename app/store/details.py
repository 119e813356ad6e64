"""Which tracker URLs may become links: only http(s) addresses are given out, anything else
(`javascript:`, `data:`) becomes "" and never a link."""
from __future__ import annotations


def link_url(url: str | None) -> str:
    """`url` when it is an http(s) address, else "" (a tracker URL becomes a link only then)."""
    url = (url or "").strip()
    scheme, sep, rest = url.partition(":")
    return url if sep and scheme.lower() in ("http", "https") and rest.startswith("//") else ""
