"""Connectors are plugins: a package installs one through the entry point group
`kpi_roadmap.connectors`, found exactly as the built-ins are."""
from __future__ import annotations

import sys
import textwrap

import pytest

from connectors import base
from connectors.base import ENTRY_POINT_GROUP, Registry

PLUGIN = '''
from connectors.base import Connector, ConnectorOptions, InitiativeRecord

class EchoOptions(ConnectorOptions):
    titles: list[str]

class EchoConnector(Connector):
    """Yields one initiative per configured title, each moving activation by 10 %."""
    type = "echo"
    Options = EchoOptions

    def pull(self, run):
        run.initiatives([InitiativeRecord(key=f"E-{n}", title=t, impact="activation +10% @100%", effort=1)
                         for n, t in enumerate(self.options.titles, start=1)])
        run.seen_all([f"E-{n}" for n in range(1, len(self.options.titles) + 1)])

def register(registry):
    registry.add(type("LoudEcho", (EchoConnector,), {"type": "loud-echo"}))
'''


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A distribution on sys.path with entry points, as `pip install` would leave it."""
    (tmp_path / "echo_plugin.py").write_text(PLUGIN)
    info = tmp_path / "echo_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(f"""
        [{ENTRY_POINT_GROUP}]
        echo = echo_plugin:EchoConnector
        loud = echo_plugin:register
        broken = echo_plugin:DoesNotExist
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh = Registry()
    monkeypatch.setattr(base, "registry", fresh)
    import app.config
    monkeypatch.setattr(app.config, "registry", fresh)
    yield fresh
    sys.modules.pop("echo_plugin", None)


def test_plugins_register_by_class_or_callable_beside_the_builtins(installed_plugin):
    assert installed_plugin.names() == ["amplitude", "csv", "echo", "ga4", "jira", "json", "loud-echo", "mixpanel", "posthog", "sql"]
    assert "broken" in installed_plugin.broken and "DoesNotExist" in installed_plugin.broken["broken"]


def test_a_plugin_connector_syncs_through_the_real_pipeline(installed_plugin, workspace_dir):
    from app.config import load_settings
    from app.services import Workspace, ranking
    from app.services.sync import sync
    toml = (workspace_dir / "roadmap.toml").read_text()
    toml = toml.replace('[connectors.backlog]\ntype = "csv"\npath = "initiatives.csv"\nholds = "initiatives"',
                        '[connectors.backlog]\ntype = "echo"\ntitles = ["First", "Second"]')
    (workspace_dir / "roadmap.toml").write_text(toml)
    ws = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    reports = sync(ws)
    assert [r.status for r in reports] == ["ok", "ok"]
    items = ranking(ws).items()
    # activation +10 % @100 %: δ = 0.1, V_activation = u 1.3 · 0.5 · u_mrr 1 · 75 = 48.75, I = 4.875
    assert [(it["key"], it["impact"]) for it in items] == [("E-1", 4.875), ("E-2", 4.875)]


def test_plugin_options_are_validated_with_locations(installed_plugin, tmp_path):
    from app.config import ConfigError, load_settings
    p = tmp_path / "roadmap.toml"
    p.write_text('[connectors.x]\ntype = "echo"\ntitles = "one"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(p)
    assert err.value.problems == ["connectors.x.titles: input should be a valid list"]


def test_installed_lists_builtins_plugins_and_broken_plugins_with_why(installed_plugin):
    got = base.installed()
    origin = {c["type"]: c["origin"] for c in got["connectors"]}
    assert origin["jira"] == "built-in" and origin["csv"] == "built-in"
    assert origin["echo"] == "plugin echo (echo_plugin:EchoConnector)"
    assert origin["loud-echo"] == "plugin loud (echo_plugin:register)"
    assert [c["class"] for c in got["connectors"] if c["type"] == "jira"] == ["connectors.jira.connector:JiraConnector"]
    (broken,) = got["broken"]
    assert broken["plugin"] == "broken" and broken["reason"].startswith("AttributeError") \
        and "DoesNotExist" in broken["reason"]


def test_builtins_are_listed_once_not_again_as_entry_points():
    import tomllib
    from pathlib import Path
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert ENTRY_POINT_GROUP not in project.get("entry-points", {})        # plugins only, in their own packages
    assert sorted(base.BUILTINS) == ["amplitude", "csv", "ga4", "jira", "json", "mixpanel", "posthog", "sql"]
    for name, target in base.BUILTINS.items():
        assert base.registry.get(name).type == name, target


def test_every_builtin_that_writes_back_says_so():
    from connectors.base import Connector
    writers = sorted(n for n in base.BUILTINS if base.registry.get(n).supports_write_back)
    assert writers == ["jira"]
    for n in base.BUILTINS:
        cls = base.registry.get(n)
        assert (cls.write_back is not Connector.write_back) == cls.supports_write_back
