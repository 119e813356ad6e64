"""Items of a JSON list read one at a time, so a large file is never held whole: the
top-level list, or the list under one of the given keys of a top-level object.

>>> import io
>>> list(items(io.StringIO('{"meta": {"a": [1]}, "initiatives": [{"key": "A"}, 2]}'), ("initiatives",)))
[{'key': 'A'}, 2]
>>> items(io.StringIO('{"other": []}'), ("initiatives",)) is None
True
"""
from __future__ import annotations

import json
from typing import IO, Any, Iterator

CHUNK = 1 << 16
_DECODER = json.JSONDecoder()


class _Reader:
    def __init__(self, fh: IO[str]):
        self.fh, self.buf, self.pos, self.eof = fh, "", 0, False

    def _fill(self) -> bool:
        chunk = self.fh.read(CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.buf, self.pos = self.buf[self.pos:] + chunk, 0
        return True

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf) or not self._fill():
                return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def take(self, expected: str) -> None:
        got = self.peek()
        if got != expected:
            raise json.JSONDecodeError(f"expected {expected!r}", self.buf, self.pos)
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
                if end < len(self.buf) or self.eof:      # a number at the edge may go on
                    self.pos = end
                    return obj
            except json.JSONDecodeError:
                if self.eof:
                    raise
            if not self._fill():
                continue


def _array(r: _Reader) -> Iterator[Any]:
    r.take("[")
    if r.peek() == "]":
        r.pos += 1
        return
    while True:
        yield r.value()
        sep = r.peek()
        r.take(sep if sep in ",]" else ",")
        if sep == "]":
            return


def items(fh: IO[str], keys: tuple[str, ...]) -> Iterator[Any] | None:
    """An iterator over the list's items, or None when the file holds no such list."""
    r = _Reader(fh)
    first = r.peek()
    if first == "[":
        return _array(r)
    if first != "{":
        return None
    r.take("{")
    while r.peek() not in ("}", ""):
        key = r.value()
        r.take(":")
        if key in keys and r.peek() == "[":
            return _array(r)
        r.value()                                   # another key's value: read and dropped
        if r.peek() == ",":
            r.pos += 1
    return None
