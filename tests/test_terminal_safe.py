"""Terminal-safe text (app/terminal.py): what a tracker says is printed by the CLI with its
control characters, escape sequences and bidirectional overrides made visible, in tables,
explanations and errors. The hostile title is the probe's: an OSC 0 sequence (sets the
terminal's title; OSC 52, the clipboard, and OSC 8, hyperlinks, take the same form), a CSI
colour, BEL, a C1 CSI (U+009B) and a right-to-left override (U+202E)."""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from app.cli import main
from app.terminal import json_safe, safe, safe_lines
from tests.conftest import EXAMPLE_INITIATIVES

HOSTILE = "Guided \x1b]0;pwned\x07onboarding \x1b[31mred\x1b[0m \x9b2J tcejorp\u202e fig\u2066x\u2069"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u2069")


def no_raw_controls(text: str) -> bool:
    return not any(c in text for c in RAW)


@pytest.fixture
def hostile(workspace_dir, monkeypatch):
    rows = list(csv.reader(io.StringIO(EXAMPLE_INITIATIVES)))
    rows[1][1] = HOSTILE                                   # A's title
    rows[2][2] = "To\u202eDo"                              # B's status
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    (workspace_dir / "initiatives.csv").write_text(buf.getvalue(), encoding="utf-8")
    monkeypatch.chdir(workspace_dir)
    monkeypatch.delenv("ROADMAP_CONFIG", raising=False)
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    assert CliRunner().invoke(main, ["sync"]).exit_code == 0
    return workspace_dir


def test_safe_escapes_every_control_and_bidi_character_and_nothing_else():
    assert safe(HOSTILE) == ("Guided \\x1b]0;pwned\\x07onboarding \\x1b[31mred\\x1b[0m \\x9b2J tcejorp\\u202e "
                             "fig\\u2066x\\u2069")
    assert safe("a\tb\nc\rd\x00e\x7f\u200e\u202a") == "a\\x09b\\x0ac\\x0dd\\x00e\\x7f\\u200e\\u202a"
    assert safe("Café – 10 % ✓ 日本") == "Café – 10 % ✓ 日本"
    assert safe_lines("one\ntwo\x1b") == "one\ntwo\\x1b"
    assert json.loads(json_safe(json.dumps({"t": HOSTILE}, ensure_ascii=False)))["t"] == HOSTILE


def test_score_table_prints_the_title_escaped(hostile):
    res = CliRunner().invoke(main, ["score"])
    assert res.exit_code == 0, res.output
    assert no_raw_controls(res.output)
    assert "Guided \\x1b]0;pwned\\x07onboarding" in res.output


def test_explain_prints_title_and_status_escaped(hostile):
    out = CliRunner().invoke(main, ["explain", "A"]).output
    assert no_raw_controls(out) and "\\x1b[31mred" in out and "tcejorp\\u202e" in out
    out = CliRunner().invoke(main, ["explain", "B"]).output
    assert no_raw_controls(out) and "status: To\\u202eDo" in out


def test_json_output_keeps_the_text_but_escapes_what_a_terminal_would_run(hostile):
    res = CliRunner().invoke(main, ["explain", "A", "--format", "json"])
    assert no_raw_controls(res.output)
    assert json.loads(res.output)["title"] == HOSTILE


def test_errors_quoting_a_source_are_escaped(hostile):
    res = CliRunner().invoke(main, ["explain", "NOPE\x1b]52;c;ZXZpbA==\x07"])
    assert res.exit_code != 0
    assert no_raw_controls(res.output) and "\\x1b]52;c;ZXZpbA==\\x07" in res.output


def test_a_plan_table_escapes_titles(hostile):
    res = CliRunner().invoke(main, ["plan", "--capacity", "10"])
    assert res.exit_code == 0, res.output
    assert no_raw_controls(res.output) and "Guided \\x1b]0;pwned" in res.output


def test_the_apis_json_keeps_the_text_but_escapes_what_a_terminal_would_run(hostile):
    """`curl /api/v1/...` in a terminal: the web's JSON (orjson, app/web/jsonio.py) writes
    UTF-8, yet every control and bidirectional override is an escape, never the raw character."""
    from app import create_app
    from app.config import load_settings
    from app.services import Workspace
    client = create_app(workspace=Workspace(load_settings(hostile / "roadmap.toml"))).test_client()
    for res in (client.post("/api/v1/what-if", json={"objective_weights": {"delight": 2}}),   # jsonify
                client.get("/api/v1/initiatives/A")):
        assert res.status_code == 200, res.data[:300]
        text = res.data.decode("utf-8")
        assert no_raw_controls(text) and "\\u001b]0;pwned\\u0007" in text and "\\u202e" in text
        got = res.get_json()
        title = got["title"] if "title" in got else next(it["title"] for it in got["items"] if it["key"] == "A")
        assert title == HOSTILE
