"""The web's JSON writer (app/web/jsonio.py): the same values as the standard library's,
compact UTF-8, terminal-safe, with the standard library's answer where orjson has none."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone

import numpy as np
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from app.terminal import json_safe
from app.web.jsonio import FastJSONProvider, dumps_bytes

DEFAULT = DefaultJSONProvider.default


def test_values_read_back_as_the_standard_librarys():
    value = {"a": [1, 2.5, 1e-05, 1e20, -0.0, None, True], "é": "Café – 10 % ✓ 日本", 3: "int key",
             "n": np.float64(0.3), "i": np.int64(7)}
    got = json.loads(dumps_bytes(value, DEFAULT))
    assert got == {"a": [1, 2.5, 1e-05, 1e20, -0.0, None, True], "é": "Café – 10 % ✓ 日本", "3": "int key",
                   "n": 0.3, "i": 7}
    assert "Café – 10 % ✓ 日本".encode() in dumps_bytes(value, DEFAULT)      # UTF-8, not \u escapes
    assert dumps_bytes({"x": float("nan")}, DEFAULT) == b'{"x":null}'      # not the invalid token NaN


def test_dates_keep_flasks_form_and_a_huge_integer_falls_back():
    when = {"d": date(2026, 12, 3), "t": datetime(2026, 12, 3, 9, 30, tzinfo=timezone.utc)}
    assert json.loads(dumps_bytes(when, DEFAULT)) == {"d": "Thu, 03 Dec 2026 00:00:00 GMT",
                                                      "t": "Thu, 03 Dec 2026 09:30:00 GMT"}
    assert json.loads(dumps_bytes({"big": 2**70}, DEFAULT)) == {"big": 2**70}


def test_every_character_a_terminal_acts_on_is_escaped_as_app_terminal_does():
    """Byte for byte against app/terminal.py's rule, over every code point up to U+2FFF."""
    for cp in range(0x20, 0x3000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        ours = dumps_bytes(["x" + c], DEFAULT).decode()
        theirs = json_safe(json.dumps(["x" + c], ensure_ascii=False))
        assert (c in ours) == (c in theirs), hex(cp)
        assert json.loads(ours) == ["x" + c]


def test_jsonify_uses_it_and_debug_mode_still_indents():
    app = Flask(__name__)
    app.json = FastJSONProvider(app)
    with app.app_context():
        assert app.json.response({"b": 1, "a": [1]}).get_data() == b'{"b":1,"a":[1]}\n'   # order kept
        app.debug = True
        assert app.json.response({"a": 1}).get_data() == b'{\n  "a": 1\n}\n'
