"""Serve the app for `roadmap demo` and `roadmap serve` (werkzeug's threaded server;
production runs any WSGI server on `app:create_app()`)."""
from __future__ import annotations

import click
from werkzeug.serving import run_simple

from app.services import Workspace
from app.web import build_app


def serve(ws: Workspace, *, host: str, port: int) -> None:
    app = build_app(workspace=ws)
    click.echo(f"serving the roadmap on http://{host}:{port}/  (Ctrl+C to stop)")
    run_simple(host, port, app, threaded=True, use_reloader=False)
