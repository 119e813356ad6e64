"""KPI-impact scoring: pure functions over plain data (docs/model.md).

This package knows networkx and numpy; it never imports HTTP, Flask, SQL,
`app` or `connectors`.
"""
