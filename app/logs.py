"""Structured logs: `[service] log_format = "json"` writes one JSON object per line
(`ts`, `level`, `logger`, `message` and the event's fields); "text" writes plain lines.
Either way every configured secret (every form `app.secrets.secret_values` lists) is
replaced by `***` before a line is written.

Use `log(logger, "message", job=3, status="ok")`: the keywords become the JSON fields.
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from app.secrets import redact, secret_values  # noqa: F401 - secret_values re-exported for callers of app.logs

ROOT = "roadmap"
_MARK = "_roadmap_handler"


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()}
        out.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return redact(json.dumps(out, default=str, ensure_ascii=False), self.secrets)


class TextFormatter(logging.Formatter):
    def __init__(self, secrets: list[str]):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return redact(line, self.secrets)


def configure(settings, stream=None) -> logging.Logger:
    """Send the `roadmap` loggers to `stream` (stderr) in the configured format. Calling
    it again replaces the handler it installed before."""
    logger = logging.getLogger(ROOT)
    for h in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(h)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _MARK, True)
    secrets = secret_values(settings)
    fmt = getattr(settings.service, "log_format", "text")
    handler.setFormatter(JsonFormatter(secrets) if fmt == "json" else TextFormatter(secrets))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def log(logger: logging.Logger, message: str, /, *, level: int = logging.INFO, **fields) -> None:
    logger.log(level, message, extra={"fields": fields})
