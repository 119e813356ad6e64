"""CSV and JSON files of initiatives or of KPI observations (docs/configuration.md columns).

Files are read row by row (a JSON file's list item by item), never held whole, so a
million-row observations file syncs in bounded memory. A malformed row is skipped,
counted and reported with its row number (the header is row 1, as a spreadsheet shows
it); the rest goes in. A file that yields nothing readable is a failure, never an empty
success that would remove every item: an empty file, a header without rows, or a header
without the required columns fails the sync with the file's name and what is wrong.
"""
from __future__ import annotations

import codecs
import csv
import json
from datetime import date
from pathlib import Path
from typing import Any, Iterator, Literal

from connectors.base import Connector, ConnectorOptions, InitiativeRecord, SourceError, SyncRun, as_day
from scoring.model import FACTOR_NAMES
from scoring.notation import confidence_field
from scoring.numbers import finite_number

_CATEGORIES = {"new": "new", "to do": "new", "todo": "new", "open": "new", "backlog": "new",
               "indeterminate": "indeterminate", "in progress": "indeterminate",
               "done": "done", "closed": "done", "resolved": "done"}
REQUIRED = {"initiatives": ("key", "title"), "observations": ("kpi", "date", "value")}
_YES = {"true", "yes", "y", "1", "x"}
PAGE = 1000                 # initiatives staged per page
BATCH = 5000                # observations of one KPI staged per batch
PENDING = 20_000            # observations held at most, over every KPI, before they are staged


class FileOptions(ConnectorOptions):
    path: str
    holds: Literal["initiatives", "observations"]


def _number(v: Any) -> float | None:
    """A finite number, or None for blank; raises ValueError for anything else."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    f = finite_number(v.replace("\u2212", "-") if isinstance(v, str) else v)   # U+2212: a typeset minus
    if f is None:
        raise ValueError(f"{v!r} is not a finite number")
    return f


def _words(v: Any) -> tuple[str, ...]:
    if isinstance(v, (list, tuple)):
        return tuple(str(x) for x in v if str(x).strip())
    return tuple(str(v or "").split())


def _yes(v: Any) -> bool:
    return v is True or str(v if v is not None else "").strip().lower() in _YES


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
        confidence = confidence_field(str(row["confidence"]))     # 0.7, 70 %, or high/medium/low in any case
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
    due = None
    if str(row.get("due") or "").strip():
        try:
            due = as_day(row["due"])
        except (TypeError, ValueError):
            flags.append("unreadable-due")
    dates = {}
    for name in ("launched_on", "done_on"):
        v = row.get(name)
        if v in (None, "") or (isinstance(v, str) and not v.strip()):
            continue
        try:
            dates[name] = as_day(v)
        except (ValueError, TypeError, OverflowError):
            flags.append(f"unreadable-date:{name}")
    impact = row.get("impact") or ""
    if isinstance(impact, list):
        impact = "\n".join(str(x) for x in impact)
    return InitiativeRecord(
        key=key, title=title, status=status or category, status_category=category, effort=effort,
        confidence=confidence, impact=str(impact), labels=_words(row.get("labels")),
        url=str(row.get("url") or ""), parent=str(row.get("parent") or ""),
        blocked_by=_words(row.get("blocked_by")), team=str(row.get("team") or "").strip(),
        mandatory=_yes(row.get("mandatory")), factors=factors, flags=tuple(flags), raw=row, **dates,
        due=due, period=str(row.get("period") or "").strip(),
        estimator=" ".join(str(row.get("estimator") or "").split()))


class _FileConnector(Connector):
    Options = FileOptions
    options: FileOptions
    _encoding = "utf-8"

    @property
    def holds(self) -> str:  # type: ignore[override]
        return self.options.holds

    @property
    def path(self) -> Path:
        p = Path(self.options.path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def _rows(self) -> Iterator[tuple[str, dict | str]]:
        """(where, row) pairs, streamed; `where` is how a user finds the row in the file,
        and a row that is a str is already known to be malformed, for that reason."""
        raise NotImplementedError

    def _refuse(self, what: str) -> SourceError:
        return SourceError(f"{self.name}: {self.path.name} {what}; nothing was changed")

    def encoding(self) -> str:
        """How the file is read: UTF-8 or UTF-16 when it starts with their byte order mark,
        UTF-8 when every byte of it decodes as UTF-8 (checked in chunks, never held whole),
        else Windows-1252, what spreadsheet programs export (Excel's "CSV" on Windows)."""
        with self.path.open("rb") as fh:
            head = fh.read(4)
            if head.startswith(codecs.BOM_UTF8):
                return "utf-8-sig"
            if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return "utf-16"
            fh.seek(0)
            decoder = codecs.getincrementaldecoder("utf-8")()
            try:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                return "cp1252"
        return "utf-8"

    def _open(self, **kw):
        """The file as text in its encoding (`encoding`); Windows-1252's five unassigned
        bytes read as U+FFFD rather than refusing the file."""
        return self.path.open(encoding=self._encoding, errors="replace" if self._encoding == "cp1252" else "strict",
                              **kw)

    def pull(self, run: SyncRun) -> None:
        if not self.path.is_file():
            raise SourceError(f"{self.name}: file not found: {self.path}")
        try:
            self._encoding = self.encoding()
            if self._encoding == "cp1252":       # said once, in the sync's summary
                run.count("file read as Windows-1252 (not UTF-8)", 1)
            rows = self._rows()
            if self.options.holds == "initiatives":
                self._initiatives(run, rows)
            else:
                self._observations(run, rows)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
            raise SourceError(f"{self.name}: cannot read {self.path}: {exc}") from None

    def _initiatives(self, run: SyncRun, rows: Iterator) -> None:
        seen: dict[str, str] = {}
        page: list[InitiativeRecord] = []
        n = 0
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
            if len(page) == PAGE:
                run.initiatives(page)
                page = []
                run.progress(n, None)
        if n == 0:
            raise self._refuse("has a header but no rows" if self.path.stat().st_size else "is empty")
        if not seen:
            raise self._refuse(f"has no readable row (all {n} were skipped)")
        run.initiatives(page)
        run.progress(n, n)
        run.seen_all(seen)

    def _observations(self, run: SyncRun, rows: Iterator) -> None:
        wanted = {k.kpi for k in run.kpis}
        batches: dict[str, dict[date, float]] = {k: {} for k in wanted}
        stored: dict[str, int] = {k: 0 for k in wanted}
        ignored: dict[str, int] = {}
        n = pending = 0
        for n, (where, row) in enumerate(rows, start=1):
            try:
                if isinstance(row, str):
                    raise ValueError(row)
                kpi = str(row.get("kpi") or "").strip()
                if not kpi:
                    raise ValueError("no kpi")
                try:
                    day = as_day(row.get("date"))
                except (ValueError, TypeError, OverflowError):
                    raise ValueError(f"date '{row.get('date')}' is not a date (YYYY-MM-DD)") from None
                value = _number(row.get("value"))
                if value is None:
                    raise ValueError("no value")
            except ValueError as exc:
                run.skip(f"{self.path.name} {where}", str(exc))
                continue
            if kpi not in batches:
                ignored[kpi] = ignored.get(kpi, 0) + 1
                continue
            batches[kpi][day] = value
            stored[kpi] += 1
            pending += 1
            if len(batches[kpi]) >= BATCH or pending >= PENDING:   # staged as read; a later row of a day still wins
                for name in [kpi] if len(batches[kpi]) >= BATCH else [k for k in batches if batches[k]]:
                    run.observations(name, sorted(batches[name].items()))
                    batches[name] = {}
                pending = sum(map(len, batches.values()))
                run.progress(n, None)
        if n == 0:
            raise self._refuse("has a header but no rows" if self.path.stat().st_size else "is empty")
        for kpi, count in sorted(ignored.items()):
            run.skip(f"{self.path.name}", f"{count} rows for '{kpi}', which is not a KPI fed by "
                     f"connector '{self.name}'")
        for kpi in sorted(batches):
            if not stored[kpi]:
                run.fail(kpi, f"{self.path.name} has no rows for KPI '{kpi}'")
            run.observations(kpi, sorted(batches[kpi].items()))
        run.progress(n, n)

    def _check_columns(self, columns: list[str]) -> None:
        missing = [c for c in REQUIRED[self.options.holds] if c not in columns]
        if missing:
            raise self._refuse(f"has no column {' or '.join(missing)} in its header row (found: "
                               f"{', '.join(c for c in columns if c)[:120] or 'nothing'}); a file of "
                               f"{self.options.holds} needs {', '.join(REQUIRED[self.options.holds])}")


class CsvConnector(_FileConnector):
    type = "csv"

    def _rows(self):
        with self._open(newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:
                raise self._refuse("is empty")
            reader.fieldnames = [f.strip().lower() for f in reader.fieldnames]
            self._check_columns(reader.fieldnames)
            for row in reader:
                if None in row:
                    row.pop(None)
                    yield f"row {reader.line_num}", "has more cells than the header row"
                    continue
                yield f"row {reader.line_num}", row


class JsonConnector(_FileConnector):
    type = "json"

    def _rows(self):
        from connectors.jsonstream import items
        with self._open() as fh:
            found = items(fh, (self.options.holds, "items"))
            if found is None:
                raise SourceError(f"{self.name}: {self.path} must hold a list of {self.options.holds} "
                                  f"(or an object with a key '{self.options.holds}')")
            for n, row in enumerate(found, start=1):
                yield f"item {n}", row if isinstance(row, dict) else "is not an object"
