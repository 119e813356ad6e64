"""Every input the published ranking depends on, listed once (docs/model.md, "The
published ranking"). A stored ranking is read only under the key these inputs hash to,
so a change to any one of them gives a fresh ranking and nothing else does.

Three kinds of input, one list each; a feature that adds an input to the ranking adds
one entry here and nothing else:
- CONFIG_INPUTS: a name and a function of the validated settings (hashed once per config
  file, kept in the config cache);
- STORE_INPUTS: a name and one SQL query returning one value, read from the store by the
  services (SQLAlchemy) and by the CLI's fast path (sqlite3) alike. Data written outside
  a sync that changes the ranking (an estimate added on the web, calibration factors)
  bumps `meta.ranking_inputs` through `app.store.published.bump_inputs`, or adds its own
  query here;
- the request's own: `as_of`, `method`, `include_done` (`ranking_key`).

Standard library only: the CLI's fast path imports this before anything heavy.
"""
from __future__ import annotations

import codecs
import json
import zlib
from array import array

try:        # the same SHA-256 as hashlib's, without loading OpenSSL (~6 ms of a fast-path process)
    from _sha256 import sha256
except ImportError:
    try:
        from _sha2 import sha256
    except ImportError:
        from hashlib import sha256

FORMAT = 1       # bump with any change to how a ranking is scored or what is stored of it
TOP = 500        # items stored as `score --format json` shows them (the API's largest page)


def _scoring(s) -> dict:
    """λ, μ, the default confidence and effort ([scoring] without as_of and method, which
    are the request's)."""
    d = s.scoring.model_dump(mode="json")
    d.pop("as_of", None)
    d.pop("method", None)
    return d


def _goal_graph(s) -> list:
    """Objectives (weights), KPIs (direction, targets, dates, windows, unit) and edges."""
    return [[o.model_dump(mode="json") for o in s.objectives],
            [k.model_dump(mode="json", exclude={"source"}) for k in s.kpis],
            [e.model_dump(mode="json", by_alias=True) for e in s.edges]]


def _section(name: str):
    def read(s):
        sec = getattr(s, name, None)
        return sec.model_dump(mode="json") if hasattr(sec, "model_dump") else sec
    read.__doc__ = f"the [{name}] section, when the config has one"
    return read


CONFIG_INPUTS = [
    ("scoring", _scoring),
    ("goal_graph", _goal_graph),
    ("calibration", _section("calibration")),     # [calibration] prior and `apply`
]

STORE_INPUTS = [
    ("data_version", "SELECT MAX(id) FROM sync_runs WHERE status IN ('ok', 'partial')"),
    ("inputs_version", "SELECT value FROM meta WHERE key = 'ranking_inputs'"),
    # estimates added outside the tracker, and the rounds revealed (app/store/estimates.py)
    ("estimates", "SELECT COUNT(*) || '/' || COALESCE(MAX(id), 0) || '/' || COALESCE(SUM(low + high + "
                  "COALESCE(confidence, 0)), 0) || '/' || COALESCE(CAST(MAX(created_at) AS TEXT), '') || '/' || "
                  "(SELECT COUNT(*) FROM estimate_rounds WHERE revealed_at IS NOT NULL) FROM estimates"),
]


def config_digest(settings) -> str:
    """The hash of CONFIG_INPUTS for these settings."""
    parts = [[name, read(settings)] for name, read in CONFIG_INPUTS]
    return sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def store_values(scalar) -> list:
    """STORE_INPUTS' values; `scalar(sql)` runs one query and returns its one value."""
    return [[name, scalar(sql)] for name, sql in STORE_INPUTS]


def ranking_key(digest: str, store: list, as_of: str, method: str, include_done: bool) -> str:
    """The key a ranking is stored under: every input group, hashed.

    >>> k = ranking_key("d", [["data_version", 3]], "2026-07-02", "kpi-impact", False)
    >>> k == ranking_key("d", [["data_version", 3]], "2026-07-02", "kpi-impact", False), len(k)
    (True, 64)
    >>> k == ranking_key("d", [["data_version", 4]], "2026-07-02", "kpi-impact", False)
    False
    """
    parts = {"format": FORMAT, "config": digest, "store": [[n, None if v is None else str(v)] for n, v in store],
             "as_of": as_of, "method": method, "include_done": bool(include_done)}
    return sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


# -- stored text: the CSV's rows, or the first items as `score --format json` prints them, with
# -- the offset where each ends, compressed (read by the CLI's fast path as they are) --

def pack_text(text: str, offsets: list[int]) -> bytes:
    body = array("q", offsets).tobytes()
    return zlib.compress(len(body).to_bytes(8, "little") + body + text.encode(), 1)


def unpack_text(blob: bytes) -> tuple[str, array]:
    raw = zlib.decompress(blob)
    n = int.from_bytes(raw[:8], "little")
    offsets = array("q")
    offsets.frombytes(raw[8:8 + n])
    return raw[8 + n:].decode(), offsets


def unpack_head(blob: bytes, count: int | None) -> tuple[str, array]:
    r"""`unpack_text`, decompressing the text only as far as the end of entry `count` (all
    of it for None or a count past the last), so the first 50 of 500 stored items cost
    what 50 do; the text returned then ends there, and `csv_head` and `items_slice` read
    the first `count` entries of it as of the whole.

    >>> blob = pack_text("h\nä\nb\nc\n", [4, 6, 8])
    >>> unpack_head(blob, 1)[0], unpack_head(blob, 0)[0], unpack_head(blob, 9)[0] == unpack_text(blob)[0]
    ('h\nä\n', 'h\nä\n', True)
    """
    z = zlib.decompressobj()
    n = int.from_bytes(z.decompress(blob, 8), "little")
    offsets = array("q")
    offsets.frombytes(z.decompress(z.unconsumed_tail, n) if n else b"")
    if count is None or count >= len(offsets):
        return (z.decompress(z.unconsumed_tail) + z.flush()).decode(), offsets
    need = offsets[max(count, 1) - 1]          # characters; each is one byte or more
    decoder = codecs.getincrementaldecoder("utf-8")()
    text = ""
    while len(text) < need:
        chunk = z.decompress(z.unconsumed_tail, need - len(text))
        if not chunk:
            raise ValueError("a stored text shorter than its offsets")
        text += decoder.decode(chunk)
    return text, offsets


def csv_head(text: str, offsets, limit: int | None) -> str:
    """The header and the first `limit` rows (all of them for None).

    >>> csv_head("h\\na\\nb\\n", [4, 6], 1)
    'h\\na\\n'
    """
    if limit is None or limit >= len(offsets):
        return text
    return text[:offsets[limit - 1]] if limit else text[:text.index("\n") + 1]


def item_texts(items: list[dict]) -> tuple[str, list[int]]:
    r"""Items pre-rendered as `score --format json` prints them inside its `items` list
    (indent 2, at depth 2), joined by ",\n", and where each ends."""
    texts = ["    " + json.dumps(it, indent=2, ensure_ascii=False).replace("\n", "\n    ") for it in items]
    offsets, at = [], -2
    for t in texts:
        at += len(t) + 2
        offsets.append(at)
    return ",\n".join(texts), offsets


def items_slice(text: str, offsets, offset: int, limit: int) -> str:
    r"""The pre-rendered items offset .. offset + limit, still joined by ",\n"."""
    end = min(offset + limit, len(offsets))
    if end <= offset:
        return ""
    return text[offsets[offset - 1] + 2 if offset else 0:offsets[end - 1]]


def json_page(as_of: str, method: str, total: int, items: str) -> str:
    r"""`score --format json`'s whole text around pre-rendered items (what render.to_json prints).

    >>> import json
    >>> text, ends = item_texts([{"key": "A", "n": [1]}, {"key": "B", "n": []}])
    >>> page = json_page("2026-07-02", "kpi-impact", 2, items_slice(text, ends, 0, 5))
    >>> page == json.dumps({"as_of": "2026-07-02", "method": "kpi-impact", "total": 2,
    ...                     "items": [{"key": "A", "n": [1]}, {"key": "B", "n": []}]}, indent=2) + "\n"
    True
    >>> json.loads("[" + items_slice(text, ends, 1, 1) + "]")
    [{'key': 'B', 'n': []}]
    """
    body = "[\n" + items + "\n  ]" if items else "[]"
    return ('{\n  "as_of": ' + json.dumps(as_of, ensure_ascii=False) + ',\n  "method": '
            + json.dumps(method, ensure_ascii=False) + ',\n  "total": ' + str(total) + ',\n  "items": '
            + body + "\n}\n")
