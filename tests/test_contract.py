"""The contract is the documentation: every command, option and config key that
../shared/CONTRACT.md promises exists, and every config key is documented in
config.example.toml (Datasette's habit: a test fails when something is undocumented)."""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from app.cli import main

ROOT = Path(__file__).parents[1]
CONTRACT = (ROOT.parent / "shared" / "CONTRACT.md")
pytestmark = pytest.mark.skipif(not CONTRACT.exists(), reason="../shared/CONTRACT.md is not beside the checkout")


def _commands() -> list[tuple[list[str], list[str]]]:
    """(command path, options) for each row of CONTRACT.md's command table."""
    rows = []
    for line in CONTRACT.read_text().splitlines():
        m = re.match(r"\| `roadmap ([^`]+)`( / `roadmap ([^`]+)`)? \|", line)
        if not m:
            continue
        for usage in filter(None, (m.group(1), m.group(3))):
            words = usage.split()
            path = [w for w in words if re.fullmatch(r"[a-z][a-z-]*", w)]
            rows.append((path, re.findall(r"--[a-z][a-z-]*", usage)))
    return rows


def _toml_keys(text: str) -> set[str]:
    """Dotted keys of a TOML document (tables, arrays of tables, and keys in them)."""
    import tomllib
    data = tomllib.loads(text)
    keys: set[str] = set()

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for k, v in value.items():
                name = f"{prefix}.{k}" if prefix else k
                keys.add(name)
                walk(name, v)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for v in value:
                walk(prefix, v)
    walk("", data)
    return keys


def _contract_toml() -> str:
    return re.search(r"```toml\n(.*?)```", CONTRACT.read_text(), re.S).group(1)


def test_the_contract_lists_commands():
    assert len(_commands()) >= 15


@pytest.mark.parametrize("path,options", _commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_every_command_and_option_in_the_contract_exists(path, options):
    cmd: click.Command = main
    for word in path:
        assert isinstance(cmd, click.Group) and word in cmd.commands, f"`roadmap {' '.join(path)}` is missing"
        cmd = cmd.commands[word]
    have = {o for p in cmd.params for o in getattr(p, "opts", [])}
    assert "--config" in have or not isinstance(cmd, click.Command) or path == ["init"] or path == ["connectors"] \
        or path[:1] == ["demo"], f"`roadmap {' '.join(path)}` takes no --config"
    missing = [o for o in options if o not in have]
    assert not missing, f"`roadmap {' '.join(path)}` lacks {missing}"


def test_every_command_has_help():
    for name, cmd in main.commands.items():
        assert (cmd.help or "").strip(), f"`roadmap {name}` has no help text"


def test_the_contract_config_loads(tmp_path):
    from app.config import load_settings
    path = tmp_path / "roadmap.toml"
    path.write_text(_contract_toml())
    load_settings(str(path))      # every key the contract shows is accepted


def test_every_contract_config_key_is_documented_in_config_example():
    example = (ROOT / "config.example.toml").read_text()
    documented = _toml_keys(example)
    mentioned = set(re.findall(r"\b([a-z_]+)\s*=", example))      # keys in comments and inline tables too
    missing = []
    for key in sorted(_toml_keys(_contract_toml())):
        last = key.rsplit(".", 1)[-1]
        if key.startswith("connectors.") and (key.count(".") == 1 or ".confidence_levels." in key):
            continue          # a connector's name and its confidence levels are the user's
        if key.startswith("connectors."):
            rest = key.split(".", 2)[2]
            if any(k.split(".", 2)[2:] == [rest] for k in documented if k.startswith("connectors.")):
                continue
        if key not in documented and last not in mentioned:
            missing.append(key)
    assert not missing, f"config.example.toml does not document: {missing}"
