"""Who is asking, and what they may do (docs/http.md, "Who may do what").

Roles are ordered: viewer < estimator < planner < admin. Every request has a person:
signed in (OIDC or a trusted proxy), a tool's bearer token, or, with no `[auth]` section,
the service as it always was: `local`, an admin on loopback. `current_person()` is the one
way the rest of the app asks who is there; the web's before-request hook sets it on
`flask.g.person` (app/auth/web.py), and the CLI acts as `local`, or as the tool whose
token is in `$ROADMAP_TOKEN` (app/cli/auth.py). Which role each route and command needs
is one table each: `app.auth.rules` (web) and `app.cli.auth.COMMANDS` (CLI).
"""
from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

ROLES = ("viewer", "estimator", "planner", "admin")


def role_at_least(role: str | None, needed: str) -> bool:
    """Whether `role` is `needed` or above.

    >>> role_at_least("planner", "estimator"), role_at_least("viewer", "estimator")
    (True, False)
    """
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Person:
    name: str                 # what pages show and estimates carry (`by`)
    role: str = "viewer"
    id: str = ""              # a stable id (OIDC `sub`, token id); defaults to the name
    via: str = "local"        # local | oidc | proxy | token

    def can(self, needed: str) -> bool:
        return role_at_least(self.role, needed)


LOCAL = Person(name="local", role="admin", id="local", via="local")
_cli_person: ContextVar[Person | None] = ContextVar("roadmap_cli_person", default=None)


def act_as(person: Person | None) -> None:
    """The CLI's person for this command (`$ROADMAP_TOKEN`'s, see app/cli/auth.py); None: LOCAL."""
    _cli_person.set(person)


def current_person() -> Person:
    """The person behind the current request (`flask.g.person`), else `LOCAL` (the CLI, or
    a request before the hook ran)."""
    try:
        from flask import g, has_request_context
    except ImportError:     # pragma: no cover - flask is a dependency
        return LOCAL
    if has_request_context():
        return getattr(g, "person", None) or LOCAL
    return _cli_person.get() or LOCAL
