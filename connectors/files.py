"""CSV and JSON files of initiatives or of KPI observations (CONTRACT.md columns).

A malformed row is skipped, counted and reported with its row number (the header is
row 1, as a spreadsheet shows it); the rest goes in.
"""
from __future__ import annotations

import csv
import json
import math
from datetime import date
from pathlib import Path
from typing import Any, Iterator, Literal

from connectors.base import Connector, ConnectorOptions, InitiativeRecord, SourceError, SyncRun, as_day
from scoring.model import FACTOR_NAMES
from scoring.notation import read_confidence

_CATEGORIES = {"new": "new", "to do": "new", "todo": "new", "open": "new", "backlog": "new",
               "indeterminate": "indeterminate", "in progress": "indeterminate",
               "done": "done", "closed": "done", "resolved": "done"}


class FileOptions(ConnectorOptions):
    path: str
    holds: Literal["initiatives", "observations"]


def _number(v: Any) -> float | None:
    """A finite number, or None for blank; raises ValueError for anything else."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, bool):
        raise ValueError(f"{v!r} is not a number")
    f = float(str(v).strip().replace("\u2212", "-")) if isinstance(v, str) else float(v)
    if not math.isfinite(f):
        raise ValueError(f"{v!r} is not a finite number")
    return f


def _words(v: Any) -> tuple[str, ...]:
    if isinstance(v, (list, tuple)):
        return tuple(str(x) for x in v if str(x).strip())
    return tuple(str(v or "").split())


def initiative_from(row: dict) -> InitiativeRecord:
    """One row as an initiative. Raises ValueError with the reason when the row is malformed;
    unreadable optional numbers become flags instead."""
    key = str(row.get("key") or "").strip()
    title = str(row.get("title") or "").strip()
    if not key:
        raise ValueError("no key")
    if not title:
        raise ValueError("no title")
    raw_cat = str(row.get("status_category") or "").strip().lower()
    status = str(row.get("status") or "").strip()
    category = _CATEGORIES.get(raw_cat or status.lower() or "new")
    if category is None:
        if raw_cat:
            raise ValueError(f"status_category '{row.get('status_category')}' is not new, indeterminate or done")
        category = "new"
    flags = []
    try:
        effort = _number(row.get("effort"))
        if effort is not None and effort <= 0:
            raise ValueError("effort must be above 0")
    except ValueError:
        effort = None
        flags.append("unreadable-effort")
    confidence = None
    if str(row.get("confidence") or "").strip():
        confidence = read_confidence(str(row["confidence"]))
        if confidence is None:
            flags.append("unreadable-confidence")
    factors = {}
    for name in FACTOR_NAMES:
        try:
            v = _number(row.get(name))
        except ValueError:
            flags.append(f"unreadable-factor:{name}")
            continue
        if v is not None:
            factors[name] = v
    impact = row.get("impact") or ""
    if isinstance(impact, list):
        impact = "\n".join(str(x) for x in impact)
    return InitiativeRecord(
        key=key, title=title, status=status or category, status_category=category, effort=effort,
        confidence=confidence, impact=str(impact), labels=_words(row.get("labels")),
        url=str(row.get("url") or ""), parent=str(row.get("parent") or ""),
        blocked_by=_words(row.get("blocked_by")), factors=factors, flags=tuple(flags), raw=row)


class _FileConnector(Connector):
    Options = FileOptions
    options: FileOptions

    @property
    def holds(self) -> str:  # type: ignore[override]
        return self.options.holds

    @property
    def path(self) -> Path:
        p = Path(self.options.path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def _rows(self) -> Iterator[tuple[str, dict | str]]:
        """(where, row) pairs; `where` is how a user finds the row in the file, and a row
        that is a str is already known to be malformed, for that reason."""
        raise NotImplementedError

    def pull(self, run: SyncRun) -> None:
        if not self.path.is_file():
            raise SourceError(f"{self.name}: file not found: {self.path}")
        try:
            rows = list(self._rows())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
            raise SourceError(f"{self.name}: cannot read {self.path}: {exc}") from None
        if self.options.holds == "initiatives":
            self._initiatives(run, rows)
        else:
            self._observations(run, rows)

    def _initiatives(self, run: SyncRun, rows: list) -> None:
        seen: dict[str, str] = {}
        page: list[InitiativeRecord] = []
        for n, (where, row) in enumerate(rows, start=1):
            try:
                if isinstance(row, str):
                    raise ValueError(row)
                rec = initiative_from(row)
                if rec.key in seen:
                    raise ValueError(f"key {rec.key} repeats {seen[rec.key]}")
            except ValueError as exc:
                run.skip(f"{self.path.name} {where}", str(exc))
                continue
            seen[rec.key] = where
            page.append(rec)
            if len(page) == 1000:
                run.initiatives(page)
                page = []
                run.progress(n, len(rows))
        run.initiatives(page)
        run.progress(len(rows), len(rows))
        run.seen_all(seen)

    def _observations(self, run: SyncRun, rows: list) -> None:
        wanted = {k.kpi for k in run.kpis}
        series: dict[str, dict[date, float]] = {k: {} for k in wanted}
        ignored: dict[str, int] = {}
        for where, row in rows:
            try:
                if isinstance(row, str):
                    raise ValueError(row)
                kpi = str(row.get("kpi") or "").strip()
                if not kpi:
                    raise ValueError("no kpi")
                try:
                    day = as_day(row.get("date"))
                except (ValueError, TypeError):
                    raise ValueError(f"date '{row.get('date')}' is not a date (YYYY-MM-DD)") from None
                value = _number(row.get("value"))
                if value is None:
                    raise ValueError("no value")
            except ValueError as exc:
                run.skip(f"{self.path.name} {where}", str(exc))
                continue
            if kpi in series:
                series[kpi][day] = value
            else:
                ignored[kpi] = ignored.get(kpi, 0) + 1
        for kpi, count in sorted(ignored.items()):
            run.skip(f"{self.path.name}", f"{count} rows for '{kpi}', which is not a KPI fed by "
                     f"connector '{self.name}'")
        for n, kpi in enumerate(sorted(series), start=1):
            if not series[kpi]:
                run.fail(kpi, f"{self.path.name} has no rows for KPI '{kpi}'")
            run.observations(kpi, sorted(series[kpi].items()))
            run.progress(n, len(series))


class CsvConnector(_FileConnector):
    type = "csv"

    def _rows(self):
        with self.path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:
                return
            reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
            for row in reader:
                if None in row:
                    row.pop(None)
                    yield f"row {reader.line_num}", "has more cells than the header row"
                    continue
                yield f"row {reader.line_num}", row


class JsonConnector(_FileConnector):
    type = "json"

    def _rows(self):
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data = data.get(self.options.holds, data.get("items"))
        if not isinstance(data, list):
            raise SourceError(f"{self.name}: {self.path} must hold a list of {self.options.holds} "
                              f"(or an object with a key '{self.options.holds}')")
        for n, row in enumerate(data, start=1):
            yield f"item {n}", row if isinstance(row, dict) else "is not an object"
