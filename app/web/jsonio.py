"""JSON out of the web, written by orjson.

A page of 50 explained items is about 40 kB of JSON; the standard library's encoder spent
0.57 ms on it, more than the what-if that computed it, and orjson 0.07 ms. The text is the
same JSON with three differences: non-ASCII characters are written as UTF-8 instead of
`\\uXXXX` escapes, a float is written as its shortest form (`0.00001`, not `1e-05`), and a
NaN is `null` (the standard library wrote `NaN`, which is not JSON). The characters a
terminal would act on (C1 controls, DEL, the bidirectional overrides) are still escaped,
so `curl | less` shows what a title holds (app/terminal.py). Dates go through Flask's own
rule (an HTTP date), so no field changes its form; anything orjson refuses (an integer over
64 bits) falls back to the standard library.
"""
from __future__ import annotations

import re

import orjson
from flask.json.provider import DefaultJSONProvider

OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME
# UTF-8 of DEL, C1 controls (U+0080-U+009F), ALM (U+061C), LRM/RLM (U+200E-F), the
# overrides U+202A-U+202E and the isolates U+2066-U+2069: the ones app/terminal.py escapes
_UNSAFE = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xd8\x9c|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]")


def _escape(m: re.Match) -> bytes:
    return b"\\u%04x" % ord(m.group(0).decode())


def dumps_bytes(obj, default) -> bytes:
    """`obj` as compact JSON (UTF-8, terminal-safe)."""
    try:
        out = orjson.dumps(obj, default=default, option=OPTIONS)
    except orjson.JSONEncodeError:
        import json
        return json.dumps(obj, default=default, separators=(",", ":")).encode()
    if out.isascii() and b"\x7f" not in out:     # most pages: two fast C passes, not the regex
        return out
    return _UNSAFE.sub(_escape, out)


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with orjson writing compact output; indented output (debug
    mode, or a caller's own json.dumps options) keeps the standard library."""

    sort_keys = False

    def dumps(self, obj, **kwargs) -> str:
        if kwargs or self.sort_keys:
            return super().dumps(obj, **kwargs)
        return dumps_bytes(obj, self.default).decode()

    def response(self, *args, **kwargs):
        if (self.compact is None and self._app.debug) or self.compact is False or self.sort_keys:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(dumps_bytes(obj, self.default) + b"\n", mimetype=self.mimetype)
