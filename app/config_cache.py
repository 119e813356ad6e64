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

import hashlib
import json
import os
import sys
from pathlib import Path

FORMAT = 1
STATS = {"parsed": 0, "cached": 0}      # how settings were obtained in this process (tests count)
_extras: dict[int, tuple[object, dict]] = {}    # id(settings) -> (settings, {"key", "graph", "digest"})
_MAX_EXTRAS = 16


def cache_dir() -> Path | None:
    env = os.environ.get("ROADMAP_CACHE_DIR")
    if env and env.lower() in ("off", "0", "none"):
        return None
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kpi-roadmap"


def entry_key(path: Path, data: bytes) -> str:
    h = hashlib.sha256()
    for part in (str(FORMAT), sys.version, str(path.resolve())):
        h.update(part.encode() + b"\0")
    h.update(data)
    return h.hexdigest()


def _safe(p: Path) -> bool:
    """Ours and not writable by anyone else (a pickle runs code when loaded)."""
    try:
        st = p.stat()
    except OSError:
        return False
    return (not hasattr(os, "getuid") or st.st_uid == os.getuid()) and not st.st_mode & 0o022


def _entry(path: Path) -> tuple[Path, str, bytes] | None:
    d = cache_dir()
    if d is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return d, entry_key(path, data), data


def summary(path: Path) -> dict | None:
    """The fast path's values for the config at `path`, or None (not cached)."""
    found = _entry(path)
    if found is None:
        return None
    d, key, _ = found
    p = d / f"{key}.json"
    if not _safe(p):
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def _write(p: Path, data: bytes) -> None:
    """Atomically, private to this user; a cache that cannot be written is no cache."""
    try:
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = p.with_name(f".{p.name}.{os.getpid()}")
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
        d, key, _ = found
        f = d / f"{key}.settings"
        if _safe(f) and _safe(d / f"{key}.json"):
            try:
                settings, digest = pickle.loads(f.read_bytes())
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
        d, key, _ = found
        digest = config_digest(settings)
        _write(d / f"{key}.settings", pickle.dumps((settings, digest), protocol=pickle.HIGHEST_PROTOCOL))
        _write(d / f"{key}.json", json.dumps({
            "database": settings.service.database, "base_dir": str(settings.base_dir), "digest": digest,
            "as_of": settings.scoring.as_of.isoformat() if settings.scoring.as_of else None,
            "method": settings.scoring.method}).encode())
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
    if key is None or d is None or not _safe(d / f"{key}.graph"):
        return None
    try:
        graph = pickle.loads((d / f"{key}.graph").read_bytes())
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
    _write(d / f"{key}.graph", pickle.dumps(plain, protocol=pickle.HIGHEST_PROTOCOL))
