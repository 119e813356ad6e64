"""The one error hierarchy of kpi-roadmap (docs/architecture.md, "Errors").

Every mistake a user can fix, and every failure of a source, is a `RoadmapError`. Each
class carries the HTTP status the web answers with, the exit code the CLI exits with and a
short machine-readable code; one handler in the web and one in the CLI turn them into an
answer. Anything else that escapes (a `ValueError` from numpy, an SQLAlchemy error) is a
bug: a logged 500 with a request id, a traceback with `--debug`, never "bad input".

It lives in `scoring` because `scoring`, `connectors` and `app` all raise these, and
`scoring` imports nothing from the other two (networkx keeps its exceptions the same way).

>>> err = NotFound("no initiative 'ROAD-9'")
>>> (err.status, err.exit_code, err.code, str(err))
(404, 2, 'not-found', "no initiative 'ROAD-9'")
>>> isinstance(err, ValueError)
False
"""
from __future__ import annotations


class RoadmapError(Exception):
    """Base of every error a user (or a source) causes. Subclasses set the answer."""

    status: int = 400       # HTTP status
    exit_code: int = 2      # CLI exit status (CONTRACT: 2 bad input or usage, 3 a source failed)
    code: str = "bad-request"   # the code the API has always answered a 400 with

    def __init__(self, message: str = "", *, code: str | None = None, status: int | None = None,
                 exit_code: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if exit_code is not None:
            self.exit_code = exit_code
        self.headers = dict(headers or {})


class BadInput(RoadmapError):
    """A request, a command's arguments, a file or a config the user can fix: 400, exit 2."""


class OverBudget(BadInput):
    """An analysis asked for more than it may cost (items x draws, solver time): 400 naming
    the limit and the largest affordable value."""
    code = "over-budget"


class Unauthorized(RoadmapError):
    """Not signed in (no or a bad credential): 401."""
    status, code = 401, "unauthorized"


class Forbidden(RoadmapError):
    """Signed in, but the role does not allow it, or a cross-site write: 403."""
    status, code = 403, "forbidden"


class NotFound(RoadmapError):
    """No such initiative, KPI, snapshot, job, scenario ...: 404."""
    status, code = 404, "not-found"


class Conflict(RoadmapError):
    """The request is fine but the state refuses it (a cycle in the goal graph, a duplicate
    name, an infeasible set of must-haves, a tampered snapshot): 409."""
    status, code = 409, "conflict"


class TooLarge(RoadmapError):
    """A body or upload over its limit: 413."""
    status, code = 413, "too-large"


class Busy(RoadmapError):
    """Too much running at once (analyses, a sync in progress): 503 with Retry-After, exit 3."""
    status, exit_code, code = 503, 3, "busy"

    def __init__(self, message: str = "", *, retry_after: int = 5, **kw):
        super().__init__(message, **kw)
        self.headers.setdefault("Retry-After", str(int(retry_after)))


class SourceFailed(RoadmapError):
    """A source (tracker, analytics) failed; what was stored before is kept: 502, exit 3."""
    status, exit_code, code = 502, 3, "source-failed"
