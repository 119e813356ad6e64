"""Workspaces shipped in the package: the `init` starter and the `demo` sample."""
from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

STARTER_FILES = ("roadmap.toml", "initiatives.csv", "observations.csv")
DEMO_FILES = ("roadmap.toml", "initiatives.csv", "observations.csv")


def _copy(package: str, names: tuple[str, ...], target: Path, *, force: bool, skip_existing_data: bool) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    if (target / names[0]).exists() and not force:
        raise FileExistsError(str(target / names[0]))
    written = []
    src = resources.files(package)
    for name in names:
        dest = target / name
        if skip_existing_data and name != names[0] and dest.exists():
            continue
        dest.write_bytes(src.joinpath(name).read_bytes())
        written.append(dest)
    return written


def write_starter(directory: Path, *, force: bool = False) -> list[Path]:
    """A commented roadmap.toml plus small CSV files it reads (kept if they exist)."""
    return _copy("app.starter", STARTER_FILES, directory, force=force, skip_existing_data=True)


def build_demo(directory: Path | None = None) -> Path:
    """Copy the demo workspace into `directory` (a new temporary one by default) and
    return its roadmap.toml. An existing demo database there is replaced."""
    target = Path(tempfile.mkdtemp(prefix="roadmap-demo-")) if directory is None else directory
    _copy("app.demo", DEMO_FILES, target, force=True, skip_existing_data=False)
    for stale in target.glob("roadmap.db*"):
        stale.unlink()
    return target / "roadmap.toml"
