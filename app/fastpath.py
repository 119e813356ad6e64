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
from pathlib import Path

METHODS = ("kpi-impact", "rice", "ice", "wsjf")     # the CLI's choices (a test keeps them equal)
_VALUED = ("--config", "--format", "--limit", "--as-of", "--method")


def main(argv: list[str] | None = None) -> None:
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
    cli(args=args, prog_name="roadmap")


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
    if as_of is not None:
        from datetime import date
        if len(as_of) != 10 or date.fromisoformat(as_of).isoformat() != as_of:
            return None
    from app import config_cache
    config = opts.get("--config") or os.environ.get("ROADMAP_CONFIG") or str(Path.cwd() / "roadmap.toml")
    summary = config_cache.summary(Path(config))
    if summary is None:
        return None
    db = _sqlite_path(os.environ.get("ROADMAP_DATABASE") or summary["database"], Path(summary["base_dir"]))
    if db is None or not db.is_file():
        return None
    if as_of is None:
        from datetime import datetime, timezone
        as_of = summary["as_of"] or datetime.now(timezone.utc).date().isoformat()
    return _read(db, summary["digest"], as_of, method or summary["method"], bool(opts.get("include_done")),
                 fmt, limit)


def _sqlite_path(url: str, base: Path) -> Path | None:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url or url == prefix + ":memory:":
        return None
    p = Path(url[len(prefix):])
    return p if p.is_absolute() else base / p


def _read(db, digest: str, as_of: str, method: str, include_done: bool, fmt: str, limit: int | None) -> str | None:
    import json
    import sqlite3
    import zlib
    from urllib.parse import quote

    from app.ranking_inputs import csv_head, ranking_key, store_values, unpack_csv
    con = sqlite3.connect(f"file:{quote(str(db))}?mode=ro", uri=True)
    try:
        values = store_values(lambda sql: (con.execute(sql).fetchone() or (None,))[0])
        key = ranking_key(digest, values, as_of, method, include_done)
        row = con.execute(f"SELECT head, {'top' if fmt == 'json' else 'csv'} FROM published_rankings WHERE key = ?",
                          (key,)).fetchone()
    finally:
        con.close()
    if row is None:
        return None
    head = json.loads(row[0])
    if fmt == "csv":
        return csv_head(*unpack_csv(row[1]), limit)
    if limit > head["top"] and head["top"] < head["total"]:
        return None
    items = json.loads(zlib.decompress(row[1]))[:limit]
    out = {"as_of": head["as_of"], "method": head["method"], "total": head["total"], "items": items}
    return json.dumps(out, indent=2, ensure_ascii=False, default=str) + "\n"
