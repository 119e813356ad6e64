"""The `roadmap` command line (docs/cli.md): the group lives in `app.cli.main`; importing
this package registers every feature's commands on it."""
from app.cli.main import main
from app.cli import changes, estimates, outcomes, plan, risk, worker  # noqa: E402,F401  (register their commands)

__all__ = ["main"]
