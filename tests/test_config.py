"""The config file: located errors, all at once; paths relative to the file; secrets from
the environment only; every key documented."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.config import ConfigError, Settings, load_settings, missing_secrets
from connectors.base import registry

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text):
    p = tmp_path / "roadmap.toml"
    p.write_text(text)
    return p


def problems(tmp_path, text):
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text))
    return err.value.problems


def test_every_problem_is_reported_at_once_with_its_location(tmp_path):
    got = problems(tmp_path, """
[scoring]
urgency = -1
method = "moscow"
[[objectives]]
id = "rev"
weight = 1
[[kpis]]
id = "a"
[[kpis]]
id = "b"
[[kpis]]
id = "c"
target = "high"
directon = "up"
""")
    assert got == [
        "scoring.method: input should be 'kpi-impact', 'rice', 'ice' or 'wsjf'",
        "scoring.urgency: input should be greater than or equal to 0",
        "kpis[2].target: input should be a valid number, unable to parse string as a number",
        "kpis[2].directon: unknown key; did you mean 'direction'?",
    ]


def test_cross_checks_name_the_key_and_the_fix(tmp_path):
    got = problems(tmp_path, """
[[objectives]]
id = "rev"
weight = 0
[[kpis]]
id = "rev"
source = { connector = "ga" }
[[edges]]
from = "rev"
to = "rev"
weight = 1
[[edges]]
from = "rev"
to = "rev"
weight = 2
[connectors.files]
type = "csvv"
[connectors.other]
type = "csv"
path = "x.csv"
""")
    assert got == [
        "kpis[0].id: 'rev' is already used by objectives[0]; ids must be unique",
        "edges[1]: repeats edges[0] (rev -> rev); merge them into one edge",
        "objectives: every weight is 0; give at least one objective a weight above 0",
        "connectors.files.type: unknown connector type 'csvv'; use one of amplitude, csv, ga4, jira, json, mixpanel, posthog, sql",
        "connectors.other.holds: missing; this key is required",
        "kpis[0].source.connector: no connector named 'ga'; add a [connectors.ga] table or fix the name",
    ]


def test_toml_syntax_error_and_missing_file(tmp_path):
    assert "not valid TOML" in problems(tmp_path, "[scoring\n")[0]
    with pytest.raises(ConfigError, match="roadmap init"):
        load_settings(tmp_path / "nope.toml")


def test_found_by_flag_then_env_then_cwd(tmp_path, monkeypatch):
    a = write(tmp_path, "[service]\nport = 1111\n")
    other = tmp_path / "b"
    other.mkdir()
    (other / "roadmap.toml").write_text("[service]\nport = 2222\n")
    monkeypatch.chdir(other)
    monkeypatch.delenv("ROADMAP_CONFIG", raising=False)
    assert load_settings().service.port == 2222
    monkeypatch.setenv("ROADMAP_CONFIG", str(a))
    assert load_settings().service.port == 1111
    assert load_settings(other / "roadmap.toml").service.port == 2222


def test_paths_are_relative_to_the_file_and_env_overrides_the_database(tmp_path, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    s = load_settings(write(tmp_path, '[service]\ndatabase = "sqlite:///data/r.db"\n'))
    assert s.database_url == f"sqlite:///{tmp_path.resolve()}/data/r.db"
    monkeypatch.setenv("ROADMAP_DATABASE", "sqlite:////elsewhere/x.db")
    assert s.database_url == "sqlite:////elsewhere/x.db"


def test_unset_secret_variable_is_named_never_its_value(tmp_path, monkeypatch):
    class Secretive(registry.get("csv")):
        type = "secretive"

        class Options(registry.get("csv").Options):
            token_env: str
    registry.names()  # load the built-ins first
    monkeypatch.setitem(registry._types, "secretive", Secretive)
    s = load_settings(write(tmp_path, '[connectors.s]\ntype = "secretive"\npath = "x"\nholds = "initiatives"\n'
                                      'token_env = "MY_TOKEN"\n'))
    monkeypatch.delenv("MY_TOKEN", raising=False)
    assert missing_secrets(s, ["s"]) == [
        "connectors.s.token_env: the environment variable MY_TOKEN is not set; "
        "export it with the secret before running this command"]
    monkeypatch.setenv("MY_TOKEN", "s3cr3t-value")
    assert missing_secrets(s, ["s"]) == []


def _keys(model) -> set[str]:
    out = set()
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        out.add(field.alias or name)
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(arg, type) and hasattr(arg, "model_fields"):
                out |= _keys(arg)
    return out


def test_config_example_is_valid_and_documents_every_key():
    s = load_settings(ROOT / "config.example.toml")
    assert len(s.kpis) == 4 and s.connectors["backlog"]["type"] == "csv"
    text = (ROOT / "config.example.toml").read_text()
    keys = _keys(Settings)
    for kind in registry.names():
        keys |= _keys(registry.get(kind).Options)
    undocumented = sorted(k for k in keys if not re.search(
        rf"(?m)(^[#\s]*{k}\s*=|[\[.]{k}[\].]|\{{\s*{k}\s*=)", text))
    assert undocumented == []


def test_absurd_weights_are_refused_with_their_location(tmp_path):
    """1e308 was accepted and turned every score into 0 with numpy warnings."""
    text = ('[[objectives]]\nid = "rev"\nweight = 1e308\n\n[[kpis]]\nid = "mrr"\n\n'
            '[[edges]]\nfrom = "mrr"\nto = "rev"\nweight = -1e308\n')
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text))
    lines = [p for p in err.value.problems]
    assert any(p.startswith("objectives[0].weight: ") for p in lines), lines
    assert any(p.startswith("edges[0].weight: ") for p in lines), lines
    ok = load_settings(write(tmp_path, text.replace("1e308", "5")))
    assert ok.objectives[0].weight == 5 and ok.edges[0].weight == -5
