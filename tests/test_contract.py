"""The documentation is the contract (Datasette's habit: a test fails when something is
undocumented). The code is checked against `docs/`: every command and option of
docs/cli.md exists and every command the CLI has is documented; every route of the web is
in docs/http.md and every documented route exists; every settings key is in
docs/configuration.md and in config.example.toml.

`docs/` itself is checked against the specification `../shared/CONTRACT.md` only when that
file is beside the checkout, and only inside the tests that need it, never at import time:
the repository installs, runs and tests without it.
"""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from app.cli import main

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
SPEC = ROOT.parent / "shared" / "CONTRACT.md"
COMMAND_ROW = re.compile(r"^\| `roadmap ([^`]+)`((?: / `roadmap [^`]+`)*) \|")
ROUTE = re.compile(r"`((?:GET|POST|DELETE|PUT|PATCH) /[^`\s]*)`")


def commands_in(text: str) -> list[tuple[list[str], list[str]]]:
    """(command path, options) for each row of a markdown table of `roadmap ...` usages.

    >>> commands_in("| `roadmap diff FROM [TO] [--cut N]` | x |")
    [(['diff'], ['--cut'])]
    """
    rows = []
    for line in text.splitlines():
        m = COMMAND_ROW.match(line)
        if not m:
            continue
        usages = [m.group(1)] + re.findall(r"`roadmap ([^`]+)`", m.group(2) or "")
        for usage in usages:
            words = usage.split()
            path = [w for w in words if re.fullmatch(r"[a-z][a-z-]*", w)]
            rows.append((path, re.findall(r"--[a-z][a-z-]*", usage)))
    return rows


def routes_in(text: str) -> set[tuple[str, str]]:
    """(method, path) of every `METHOD /path` mentioned, query strings dropped and
    `<variables>` normalised.

    >>> sorted(routes_in("`GET /api/v1/initiatives/<key>`, `POST /logout`"))
    [('GET', '/api/v1/initiatives/<>'), ('POST', '/logout')]
    """
    out = set()
    for route in ROUTE.findall(text):
        method, path = route.split(" ", 1)
        out.add((method, re.sub(r"<[^>]*>", "<>", path.split("?")[0])))
    return out


def toml_keys(text: str) -> set[str]:
    """Dotted keys of a TOML document (tables, arrays of tables, and keys in them)."""
    import tomllib
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
    walk("", tomllib.loads(text))
    return keys


def settings_keys() -> set[str]:
    """Dotted names of every key the settings models accept (connectors' own keys aside)."""
    from pydantic import BaseModel

    from app.config import Settings

    out: set[str] = set()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            if field.exclude:
                continue
            key = field.alias or name
            dotted = f"{prefix}{key}"
            out.add(dotted)
            for sub in _models_in(field.annotation):
                walk(sub, dotted + ".")
    walk(Settings, "")
    return {k for k in out if not k.startswith("connectors.")}


def _models_in(annotation) -> list:
    from typing import get_args

    from pydantic import BaseModel
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in get_args(annotation) for m in _models_in(a)]


def cli_doc() -> str:
    return (DOCS / "cli.md").read_text()


def command(path: list[str]) -> click.Command:
    cmd: click.Command = main
    for word in path:
        assert isinstance(cmd, click.Group) and word in cmd.commands, f"`roadmap {' '.join(path)}` is missing"
        cmd = cmd.commands[word]
    return cmd


def every_command(group: click.Group = main, prefix: tuple = ()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from every_command(cmd, prefix + (name,))
        else:
            yield list(prefix + (name,)), cmd


# -- the code against docs/ -------------------------------------------------------------

def test_docs_list_the_commands():
    assert len(commands_in(cli_doc())) >= 20


@pytest.mark.parametrize("path,options", commands_in((DOCS / "cli.md").read_text()),
                         ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_every_documented_command_and_option_exists(path, options):
    cmd = command(path)
    have = {o for p in cmd.params for o in getattr(p, "opts", [])}
    assert "--config" in have or path[:1] in (["init"], ["connectors"], ["demo"]), \
        f"`roadmap {' '.join(path)}` takes no --config"
    missing = [o for o in options if o not in have]
    assert not missing, f"`roadmap {' '.join(path)}` lacks {missing}"


def test_every_command_and_option_is_documented():
    documented = {tuple(p): set(o) for p, o in commands_in(cli_doc())}
    for path, cmd in every_command():
        assert tuple(path) in documented, f"`roadmap {' '.join(path)}` is not in docs/cli.md"
        options = {o for p in cmd.params for o in getattr(p, "opts", []) if o.startswith("--")}
        undocumented = options - documented[tuple(path)] - {"--config", "--help"}
        assert not undocumented, f"`roadmap {' '.join(path)}`: {sorted(undocumented)} not in docs/cli.md"


def test_every_command_has_help():
    for path, cmd in every_command():
        assert (cmd.help or "").strip(), f"`roadmap {' '.join(path)}` has no help text"


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path):
    from app import create_app
    (tmp_path / "roadmap.toml").write_text('[[objectives]]\nid = "o"\nweight = 1\n')
    app = create_app(str(tmp_path / "roadmap.toml"))
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[-1] == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((method, re.sub(r"<[^>]*>", "<>", rule.rule)))
    documented = routes_in((DOCS / "http.md").read_text())
    assert not served - documented, f"routes not in docs/http.md: {sorted(served - documented)}"
    assert not documented - served, f"docs/http.md names routes that do not exist: {sorted(documented - served)}"


def test_every_settings_key_is_documented():
    reference = (DOCS / "configuration.md").read_text()
    example = (ROOT / "config.example.toml").read_text()
    in_example = toml_keys(example) | set(re.findall(r"\b([a-z_]+)\s*=", example))
    in_example |= {t for t in re.findall(r"(?m)^[#\s]*\[+([a-z_.]+)\]+", example)}   # tables, commented too
    missing_doc = [k for k in sorted(settings_keys()) if f"`{k.rsplit('.', 1)[-1]}`" not in reference
                   and f"{k}" not in reference]
    assert not missing_doc, f"docs/configuration.md does not document: {missing_doc}"
    missing_example = [k for k in sorted(settings_keys()) if k not in in_example and k.rsplit(".", 1)[-1] not in in_example]
    assert not missing_example, f"config.example.toml does not document: {missing_example}"


def test_config_example_loads():
    from app.config import load_settings
    load_settings(str(ROOT / "config.example.toml"))


# -- docs/ against the specification, when it is beside the checkout --------------------

spec = pytest.mark.skipif(not SPEC.exists(), reason="the specification ../shared/CONTRACT.md is not beside the checkout")


@spec
def test_docs_cover_every_command_and_option_of_the_specification():
    documented = {tuple(p): set(o) for p, o in commands_in(cli_doc())}
    for path, options in commands_in(SPEC.read_text()):
        assert tuple(path) in documented, f"`roadmap {' '.join(path)}` is in the specification, not in docs/cli.md"
        missing = set(options) - documented[tuple(path)]
        assert not missing, f"`roadmap {' '.join(path)}`: {sorted(missing)} not in docs/cli.md"


@spec
def test_docs_cover_every_route_of_the_specification():
    missing = routes_in(SPEC.read_text()) - routes_in((DOCS / "http.md").read_text())
    assert not missing, f"routes of the specification not in docs/http.md: {sorted(missing)}"


@spec
def test_the_specification_config_loads_and_is_documented(tmp_path):
    from app.config import load_settings
    toml = re.search(r"```toml\n(.*?)```", SPEC.read_text(), re.S).group(1)
    (tmp_path / "roadmap.toml").write_text(toml)
    load_settings(str(tmp_path / "roadmap.toml"))
    reference = (DOCS / "configuration.md").read_text()
    missing = []
    for key in sorted(toml_keys(toml)):
        parts = key.split(".")
        if parts[0] == "connectors" and (len(parts) == 2 or "confidence_levels" in parts):
            continue      # a connector's name and its confidence levels are the user's
        if key.startswith("auth.roles."):
            continue      # the groups are the user's
        named = (f"`{parts[-1]}`", f"`{key}`", f"[{key}]", f"[{key}.", f"`{key}.")
        if not any(n in reference for n in named):
            missing.append(key)
    assert not missing, f"docs/configuration.md does not document: {missing}"


def test_sources_cite_the_docs_not_the_specification_or_the_tracker():
    """Docstrings and comments point a reader at docs/ sections: the specification beside the
    checkout and the tracker's issue numbers mean nothing to someone reading the repository."""
    stale = re.compile(r"\b(?:SCORING|CONTRACT)\.md\b|(?<![-\w])issues? [0-9]+\b")
    offenders = []
    for folder in ("app", "connectors", "scoring", "tests", "bench", "tools"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in {".py", ".html", ".js", ".css", ".toml"} or path.name == "test_contract.py":
                continue
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
                if stale.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:80]}")
    assert not offenders, "cite docs/ instead:\n" + "\n".join(offenders[:40])
