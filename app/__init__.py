"""kpi-roadmap's application layer: config, store, services, CLI (and later the web).

This is the only package that knows click and the database.
"""
