"""The `roadmap` command line (docs/cli.md): the group lives in `app.cli.main`; importing
this package registers every feature's commands on it."""
from app.cli.main import main
from app.cli import auth, changes, estimates, outcomes, plan, risk, worker  # noqa: E402,F401  (register their commands)

auth.guard_commands(main)    # the role each writing command needs (app/cli/auth.py COMMANDS), once all are in

__all__ = ["main"]
