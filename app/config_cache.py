"""The parsed config and its goal graph, cached by the file's content (docs/configuration.md,
"The config cache"), so a command reads a large config without parsing and validating it
again: a 500 KB file with 2,000 KPIs costs a pickle load instead of TOML, pydantic and the
graph checks.

One cache entry per (resolved path, content, Python version, FORMAT): a changed file is a
new entry, so nothing is ever invalidated by hand. Entries live in `$ROADMAP_CACHE_DIR`,
else `$XDG_CACHE_HOME/kpi-roadmap`, else `~/.cache/kpi-roadmap` (created private, 0700);
an entry not owned by this user, or writable by others, is never read (a pickle runs
code). `ROADMAP_CACHE_DIR=off` turns the cache off. Only a config that validated is
cached; a bad one is parsed (and refused) every time.

Each entry is three files: `<key>.json`, the few values the CLI's fast path needs (standard
library only: database, as_of, method, the hash of the ranking's config inputs);
`<key>.settings`, the validated settings; `<key>.graph`, the goal graph once built.
"""
from __future__ import annotations

import json
import os
import sys

FORMAT = 1
STATS = {"parsed": 0, "cached": 0}      # how settings were obtained in this process (tests count)
_extras: dict[int, tuple[object, dict]] = {}    # id(settings) -> (settings, {"key", "graph", "digest"})
_MAX_EXTRAS = 16


def cache_dir() -> str | None:
    """Where the entries live (os.path strings: the CLI's fast path never imports pathlib)."""
    env = os.environ.get("ROADMAP_CACHE_DIR")
    if env and env.lower() in ("off", "0", "none"):
        return None
    if env:
        return env
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kpi-roadmap")


def entry_key(path, data: bytes) -> str:
    """BLAKE2b of the entry's parts: hashlib's without loading OpenSSL (a few ms of every
    fast-path process), and faster than SHA-256 in software over a large config."""
    try:
        from _blake2 import blake2b
    except ImportError:
        from hashlib import blake2b
    h = blake2b(digest_size=32)
    for part in (str(FORMAT), sys.version, os.path.realpath(path)):
        h.update(part.encode() + b"\0")
    h.update(data)
    return h.hexdigest()


def _safe(p: str) -> bool:
    """Ours and not writable by anyone else (a pickle runs code when loaded)."""
    try:
        st = os.stat(p)
    except OSError:
        return False
    return (not hasattr(os, "getuid") or st.st_uid == os.getuid()) and not st.st_mode & 0o022


def _entry(path) -> tuple[str, str] | None:
    """(the entry's path without its suffix, its key) for the config file at `path`."""
    d = cache_dir()
    if d is None:
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    key = entry_key(path, data)
    return os.path.join(d, key), key


def summary(path) -> dict | None:
    """The fast path's values for the config at `path`, or None (not cached)."""
    found = _entry(path)
    if found is None or not _safe(found[0] + ".json"):
        return None
    try:
        with open(found[0] + ".json", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _write(p: str, data: bytes) -> None:
    """Atomically, private to this user; a cache that cannot be written is no cache."""
    try:
        os.makedirs(os.path.dirname(p), mode=0o700, exist_ok=True)
        tmp = os.path.join(os.path.dirname(p), f".{os.path.basename(p)}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, p)
    except OSError:
        pass


def load(path=None):
    """The validated settings of the config at `path` (found as `load_settings` finds it),
    from the cache when the file is unchanged; raises ConfigError like `load_settings`."""
    import pickle

    from app.config import find_config_path, load_settings
    p = find_config_path(path)
    found = _entry(p) if p.is_file() else None
    if found is not None:
        base, key = found
        if _safe(base + ".settings") and _safe(base + ".json"):
            try:
                with open(base + ".settings", "rb") as fh:
                    settings, digest = pickle.load(fh)
            except Exception:  # noqa: BLE001 - a stale or broken entry is parsed again
                settings = None
            if settings is not None:
                STATS["cached"] += 1
                _remember(settings, key=key, digest=digest)
                return settings
    settings = load_settings(p)
    STATS["parsed"] += 1
    if found is not None:
        from app.ranking_inputs import config_digest
        base, key = found
        digest = config_digest(settings)
        _write(base + ".settings", pickle.dumps((settings, digest), protocol=pickle.HIGHEST_PROTOCOL))
        _write(base + ".json", json.dumps({
            "database": settings.service.database, "base_dir": str(settings.base_dir), "digest": digest,
            "as_of": settings.scoring.as_of.isoformat() if settings.scoring.as_of else None,
            "method": settings.scoring.method,
            "calibrated": bool(getattr(getattr(settings, "calibration", None), "apply", False))}).encode())
        _remember(settings, key=key, digest=digest)
    return settings


def _remember(settings, **values) -> None:
    while len(_extras) >= _MAX_EXTRAS:
        _extras.pop(next(iter(_extras)))
    _extras[id(settings)] = (settings, values)


def _extra(settings) -> dict:
    got = _extras.get(id(settings))
    return got[1] if got is not None and got[0] is settings else {}


def digest_of(settings) -> str | None:
    return _extra(settings).get("digest")


def graph_of(settings):
    """The goal graph cached with these settings, or None (build it, then `remember_graph`)."""
    import pickle
    extra = _extra(settings)
    if "graph" in extra:
        return extra["graph"]
    key, d = extra.get("key"), cache_dir()
    if key is None or d is None or not _safe(os.path.join(d, key + ".graph")):
        return None
    try:
        with open(os.path.join(d, key + ".graph"), "rb") as fh:
            graph = pickle.load(fh)
    except Exception:  # noqa: BLE001
        return None
    extra["graph"] = graph
    return graph


def remember_graph(settings, graph) -> None:
    """Keep the graph built from these settings, in this process and in the cache entry."""
    import pickle
    extra = _extra(settings)
    if not extra:
        return
    extra["graph"] = graph
    key, d = extra.get("key"), cache_dir()
    if key is None or d is None:
        return
    plain = object.__new__(type(graph))
    plain.__dict__.update({k: v for k, v in graph.__dict__.items() if not k.startswith("_")})
    _write(os.path.join(d, key + ".graph"), pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL))
