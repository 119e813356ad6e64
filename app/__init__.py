"""kpi-roadmap's application layer: config, store, services, CLI and the web.

This is the only package that knows Flask, click and the database.
"""
from __future__ import annotations


def create_app(settings=None, *, workspace=None):
    """The Flask application factory. `settings` is a config path or loaded Settings;
    by default the config is found as the CLI finds it."""
    from app.web import build_app
    return build_app(settings, workspace=workspace)
