"""SQL: any SQLAlchemy URL (from the variable named by `url_env`); each KPI's `query`
returns rows of (day, value). `:start` and `:end` in the query are bound to the days
wanted."""
from __future__ import annotations

import os
from datetime import date

from connectors.analytics import AnalyticsConnector, KpiFailure
from connectors.base import ConnectorOptions, KpiSource, SourceError


class SqlOptions(ConnectorOptions):
    url_env: str


class SqlConnector(AnalyticsConnector):
    type = "sql"
    Options = SqlOptions
    options: SqlOptions
    concurrency = 4

    def secret_values(self) -> list[str]:
        """The URL and, on its own, the password inside it."""
        values = super().secret_values()
        try:
            from sqlalchemy.engine import make_url
            password = make_url(os.environ.get(self.options.url_env, "")).password
        except Exception:  # noqa: BLE001 - an unreadable URL has no password to find
            password = None
        return values + ([str(password)] if password else [])

    def begin(self) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.exc import ArgumentError
        try:
            self.engine = create_engine(os.environ.get(self.options.url_env, ""))
        except (ArgumentError, ImportError, ValueError) as exc:
            raise SourceError(f"{self.name}: the URL in {self.options.url_env} cannot be used "
                              f"({type(exc).__name__})", auth=True) from None

    def fetch(self, source: KpiSource, start: date, end: date):
        from sqlalchemy import text
        from sqlalchemy.exc import SQLAlchemyError
        query = source.source.get("query")
        if not query:
            raise KpiFailure(f"KPI '{source.kpi}' has no source.query")
        params = {k: v for k, v in (("start", start), ("end", end)) if f":{k}" in query}
        try:
            with self.engine.connect() as c:
                return [tuple(r[:2]) for r in c.execute(text(query), params)]
        except SQLAlchemyError as exc:
            raise KpiFailure(f"the query failed: {type(exc).__name__}: {str(getattr(exc, 'orig', exc))[:200]}") from None
