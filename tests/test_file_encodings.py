"""File encodings (connectors/files.py): UTF-8 with or without a BOM, UTF-16 with a BOM,
anything else read as Windows-1252 and said once in the sync's summary.

The spreadsheet files are what Excel writes: "CSV (Comma delimited)" on Windows is
Windows-1252 with CRLF line ends (é is byte 0xE9, the en dash 0x96, the euro sign 0x80),
and "Unicode Text" is UTF-16 LE with a BOM (tab-separated there; comma-separated here,
as LibreOffice writes UTF-16 CSV)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import load_settings
from app.services import Workspace
from app.services.sync import sync
from tests.conftest import EXAMPLE_INITIATIVES

ACCENTED = EXAMPLE_INITIATIVES.replace("Guided onboarding", "Onboarding guidé – 2 € pilot")
WINDOWS_1252 = ACCENTED.replace("\n", "\r\n").encode("cp1252")


def titles(ws) -> dict[str, str]:
    from app.store import snapshots
    return {it.key: it.title for it in snapshots.initiatives(ws.store)}


def synced(workspace_dir, data: bytes):
    (workspace_dir / "initiatives.csv").write_bytes(data)
    ws = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    return ws, {r.connector: r for r in sync(ws)}


def test_an_excel_windows_1252_csv_is_read_and_said_once(workspace_dir):
    assert b"\xe9" in WINDOWS_1252 and b"\x96" in WINDOWS_1252 and b"\x80" in WINDOWS_1252
    ws, reports = synced(workspace_dir, WINDOWS_1252)
    assert reports["backlog"].status == "ok" and reports["backlog"].initiatives == 5
    assert titles(ws)["A"] == "Onboarding guidé – 2 € pilot"
    assert reports["backlog"].figures == {"file read as Windows-1252 (not UTF-8)": 1}
    assert "file read as Windows-1252" not in str(reports["obs"].figures)


def test_the_cli_summary_says_windows_1252_once(workspace_dir, monkeypatch):
    (workspace_dir / "initiatives.csv").write_bytes(WINDOWS_1252)
    monkeypatch.chdir(workspace_dir)
    monkeypatch.delenv("ROADMAP_CONFIG", raising=False)
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    res = CliRunner().invoke(main, ["sync"])
    assert res.exit_code == 0, res.output
    assert res.output.count("Windows-1252") == 1
    assert "1 file read as Windows-1252 (not UTF-8)" in res.output


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_a_utf16_csv_with_a_bom_is_read(workspace_dir, encoding):
    bom = {"utf-16": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding]
    ws, reports = synced(workspace_dir, bom + ACCENTED.replace("\n", "\r\n").encode(encoding))
    assert reports["backlog"].status == "ok" and reports["backlog"].initiatives == 5
    assert titles(ws)["A"] == "Onboarding guidé – 2 € pilot"
    assert reports["backlog"].figures == {}


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_or_without_a_bom_is_read_as_utf8(workspace_dir, bom):
    ws, reports = synced(workspace_dir, bom + ACCENTED.encode("utf-8"))
    assert titles(ws)["A"] == "Onboarding guidé – 2 € pilot"
    assert reports["backlog"].figures == {}


def test_a_json_file_in_windows_1252_is_read_too(workspace_dir):
    toml = (workspace_dir / "roadmap.toml").read_text()
    (workspace_dir / "roadmap.toml").write_text(toml.replace('path = "initiatives.csv"', 'path = "items.json"')
                                                .replace('type = "csv"', 'type = "json"', 1))
    (workspace_dir / "items.json").write_bytes('[{"key": "A", "title": "Caf\u00e9"}]'.encode("cp1252"))
    ws = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    reports = {r.connector: r for r in sync(ws)}
    assert reports["backlog"].status == "ok", reports["backlog"].failures
    assert titles(ws)["A"] == "Café"
