"""The `roadmap` entry point: `roadmap score --format json|csv` answered straight from the
published ranking with the standard library only, everything else by the full CLI
(docs/cli.md, "score").

A stored ranking is only read here, never scored: the fast path needs the config in the
config cache (app/config_cache.py), an SQLite store, and the ranking stored under the key
of every input (app/ranking_inputs.py). Whenever one is missing, or an option is one it
does not handle, the full CLI runs instead and prints the same bytes (it reads or stores
the same ranking); tests/test_published.py holds the two outputs equal.
"""
from __future__ import annotations

import os
import sys

METHODS = ("kpi-impact", "rice", "ice", "wsjf")     # the CLI's choices (a test keeps them equal)
_VALUED = ("--config", "--format", "--limit", "--as-of", "--method")


def main(argv: list[str] | None = None, prog_name: str | None = "roadmap") -> None:
    """`prog_name` None: the name click finds (`python -m app.cli`)."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        text = answer(args)
    except Exception:  # noqa: BLE001 - anything odd: the full CLI answers (and explains)
        text = None
    if text is not None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:          # `roadmap score | head`
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    from app.cli import main as cli
    cli(args=args, prog_name=prog_name)


def _options(args: list[str]) -> dict | None:
    """`score` and its options, or None for anything else."""
    opts: dict = {}
    command, n = None, 0
    while n < len(args):
        a = args[n]
        name, eq, value = a.partition("=")
        if a == "score" and command is None:
            command = a
        elif a == "--include-done" and command:
            opts["include_done"] = True
        elif name in _VALUED and (command or name == "--config"):
            if not eq:
                n += 1
                if n >= len(args):
                    return None
                value = args[n]
            if name in opts:
                return None
            opts[name] = value
        else:
            return None
        n += 1
    return opts if command else None


def answer(args: list[str]) -> str | None:
    """The text `roadmap score ...` prints, read from the store; None: ask the full CLI."""
    opts = _options(args)
    if opts is None:
        return None
    fmt, limit_text = opts.get("--format"), opts.get("--limit")
    if fmt not in ("json", "csv") or (limit_text is not None and not limit_text.isdigit()):
        return None
    limit = None if limit_text is None else int(limit_text)
    from app.ranking_inputs import TOP
    if fmt == "json" and (limit is None or limit > TOP):
        return None
    method = opts.get("--method")
    if method is not None and method not in METHODS:
        return None
    as_of = opts.get("--as-of")
    if as_of is not None and not _is_date(as_of):
        return None
    from app import config_cache
    config = opts.get("--config") or os.environ.get("ROADMAP_CONFIG") or os.path.join(os.getcwd(), "roadmap.toml")
    summary = config_cache.summary(config)
    if summary is None or summary.get("calibrated", True):      # a calibrated ranking is scored, never stored
        return None
    db = _sqlite_path(os.environ.get("ROADMAP_DATABASE") or summary["database"], summary["base_dir"])
    if db is None or not os.path.isfile(db):
        return None
    if as_of is None:
        import time
        as_of = summary["as_of"] or time.strftime("%Y-%m-%d", time.gmtime())
    return _read(db, summary["digest"], as_of, method or summary["method"], bool(opts.get("include_done")),
                 fmt, limit)


def _is_date(text: str) -> bool:
    """YYYY-MM-DD naming a real day (without importing datetime)."""
    parts = text.split("-")
    if len(text) != 10 or len(parts) != 3 or not all(p.isdigit() for p in parts):
        return False
    y, m, d = map(int, parts)
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return y >= 1 and 1 <= m <= 12 and 1 <= d <= days[m - 1]


def _sqlite_path(url: str, base: str) -> str | None:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or url == prefix + ":memory:":
        return None
    p = url[len(prefix):]
    return p if os.path.isabs(p) else os.path.join(base, p)


def _read(db, digest: str, as_of: str, method: str, include_done: bool, fmt: str, limit: int | None) -> str | None:
    import json
    import sqlite3

    from app.ranking_inputs import csv_head, items_slice, json_page, ranking_key, store_values, unpack_head
    con = sqlite3.connect(db)
    try:
        con.execute("PRAGMA query_only = 1")
        values = store_values(lambda sql: (con.execute(sql).fetchone() or (None,))[0])
        key = ranking_key(digest, values, as_of, method, include_done)
        row = con.execute(f"SELECT head, {'top' if fmt == 'json' else 'csv'} FROM published_rankings WHERE key = ?",
                          (key,)).fetchone()
    finally:
        con.close()
    if row is None:
        return None
    head = json.loads(row[0])
    text, ends = unpack_head(row[1], limit)
    if fmt == "csv":
        return csv_head(text, ends, limit)
    if limit > head["top"] and head["top"] < head["total"]:
        return None
    return json_page(head["as_of"], head["method"], head["total"], items_slice(text, ends, 0, limit))
