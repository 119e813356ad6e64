"""The shape of the house (README, "Layout"): data flows one way, so the import graph of
`app`, `connectors` and `scoring` has no circle and no upward arrow: `scoring` imports
nothing from `app` or `connectors`, and `connectors` nothing from `app`.

The graph is read from the source with `ast` (nothing is imported): every `import` and
`from ... import`, relative ones resolved, and `from pkg import name` counted as an import
of the submodule `pkg.name` when there is one (else of `pkg`). A circle is looked for among
the imports a module makes when it is loaded (its top level, `if TYPE_CHECKING:` blocks
included); an import inside a function runs later, when every module is loaded, which is
how commands keep heavy modules out of `roadmap --help`. Upward arrows count wherever the
import stands."""
from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "connectors", "scoring")
# who may not import whom: a lower layer never imports a higher one
FORBIDDEN = {"scoring": ("app", "connectors"), "connectors": ("app",)}


def modules() -> dict[str, Path]:
    """Every module of the three packages by dotted name (a package by its own name)."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _load_time(tree: ast.Module):
    """The statements run when the module loads: the top level and the blocks under it
    (if / try / with), not the bodies of functions or classes' methods."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(n for n in ast.iter_child_nodes(node) if isinstance(n, ast.stmt))


def _imports(name: str, path: Path, known: dict[str, Path], *, load_time: bool = False) -> set[str]:
    """The project modules `name` imports: anywhere in its body, or only when it loads."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in (_load_time(tree) if load_time else ast.walk(tree)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[:len(here) - (node.level - 1)] if node.level > 1 else here
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:      # `import a.b.c` of a name inside a module
                target = target.rpartition(".")[0]
            if target and target.split(".")[0] in PACKAGES and target != name:
                found.add(target)
    return found


def import_graph(*, load_time: bool = False) -> nx.DiGraph:
    known = modules()
    g = nx.DiGraph()
    g.add_nodes_from(known)
    for name, path in known.items():
        g.add_edges_from((name, target) for target in _imports(name, path, known, load_time=load_time))
    return g


def test_the_graph_is_read_as_python_reads_it():
    g = import_graph()
    assert g.has_edge("app.cli.plan", "app.cli.main")                     # from app.cli.main import ...
    assert g.has_edge("app.services.planning.plan", "scoring.plan")        # from scoring.plan import PlanInput
    assert g.has_edge("app.web", "app.web.state")                          # from app.web.state import ...
    assert g.has_edge("app.cli", "app.cli.changes")                        # from app.cli import changes (a submodule)
    assert g.has_edge("connectors.jira", "connectors.jira.fields")
    loading = import_graph(load_time=True)
    assert g.has_edge("app.services", "app.services.estimates")            # inside a function ...
    assert not loading.has_edge("app.services", "app.services.estimates")  # ... so not when it loads
    assert loading.has_edge("app.services.planning.risk", "app.services")


def test_no_import_circle():
    cycles = sorted(sorted(c) for c in nx.simple_cycles(import_graph(load_time=True)))
    assert cycles == [], "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles[:20])


def test_no_upward_arrow():
    g = import_graph()
    upward = sorted(f"{a} -> {b}" for a, b in g.edges
                    if b.split(".")[0] in FORBIDDEN.get(a.split(".")[0], ()))
    assert upward == [], "a lower layer imports a higher one:\n" + "\n".join(upward)
