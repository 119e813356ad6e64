"""A Jira issue as an initiative: the configured fields read by role (docs/configuration.md's
`[connectors.<name>.fields]`), values in every shape Jira sends them.

Numbers may come as numbers or select options; confidence as a number, a select option
or a multi-select (the lowest readable option wins, as the cautious reading); `team` as a
select option, an Atlassian team object or components (the first one's name);
`mandatory` as a checkbox or select (set means yes, unless the option reads no / false /
0); `blocked_by` from "is blocked by" links of type Blocks.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict

from connectors.base import InitiativeRecord, as_day
from scoring.notation import confidence_field, impact_section
from scoring.numbers import finite_number
from scoring.errors import BadInput

ESTIMATE_SECONDS_PER_DAY = 8 * 3600
FACTOR_ROLES = ("reach", "factor_impact", "ease", "business_value", "time_criticality", "risk_reduction", "job_size")
# every role a field may play; JiraFields below has one key per role
ROLES = ("effort", "confidence", "impact", *FACTOR_ROLES, "team", "mandatory", "estimator", "launched", "due",
         "period", "score", "rank")
WRITE_BACK_ROLES = ("score", "rank")
_NO = {"no", "false", "0", "off", "none", ""}


class JiraFields(BaseModel):
    """Field ids or names per role (all optional)."""
    model_config = ConfigDict(extra="forbid")
    effort: str | None = None
    confidence: str | None = None
    impact: str | None = None
    reach: str | None = None
    factor_impact: str | None = None
    ease: str | None = None
    business_value: str | None = None
    time_criticality: str | None = None
    risk_reduction: str | None = None
    job_size: str | None = None
    team: str | None = None
    mandatory: str | None = None
    estimator: str | None = None         # a user field: who estimated (default: the reporter)
    launched: str | None = None     # a date field: when it reached users (default: the done date)
    due: str | None = "duedate"        # Jira's own due date unless another date field is named
    period: str | None = None          # a select or text naming a plan period (a pin)
    score: str | None = None
    rank: str | None = None


assert set(JiraFields.model_fields) == set(ROLES), "ROLES and JiraFields must list the same roles"


class MalformedIssue(BadInput):
    """An issue the connector cannot read: skipped, counted and reported."""


def option_label(v: Any) -> str | None:
    """The readable name of an option, team or component value (None when unset)."""
    if isinstance(v, list):
        return option_label(v[0]) if v else None
    if isinstance(v, dict):
        for key in ("value", "name", "title", "displayName"):
            if isinstance(v.get(key), (str, int, float)) and not isinstance(v.get(key), bool):
                return str(v[key])
        return None
    if v is None or isinstance(v, bool):
        return None
    return str(v).strip() or None


def number(v: Any) -> float | None:
    if isinstance(v, dict):
        v = v.get("value", v.get("name"))
    if v is None or v == "":
        return None
    f = finite_number(v)
    if f is None:
        raise ValueError(f"{v!r} is not a finite number")
    return f


def confidence_of(raw: Any, levels: dict[str, float]) -> float | None:
    options = raw if isinstance(raw, list) else [raw]
    read = []
    for option in options:
        label = option_label(option) if isinstance(option, dict) else (None if option is None else str(option))
        if label is None:
            continue
        value = confidence_field(label, levels or None)     # a configured word in any case, or a number
        if value is None:
            return None
        read.append(value)
    return min(read) if read else None


def mandatory_of(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, list):
        return any(mandatory_of(x) for x in raw)
    label = option_label(raw)
    return label is not None and label.strip().lower() not in _NO


def person_of(v: Any) -> tuple[str, str]:
    """A Jira user value as (stable id, display name): Cloud's accountId, Data Center's
    key or name; the name is `displayName` (an e-mail only when that is all there is).
    ("", "") when unset or unreadable.

    >>> person_of({"accountId": "5b10a", "displayName": "Alice Smith", "emailAddress": "a@x.com"})
    ('5b10a', 'Alice Smith')
    >>> person_of([{"name": "bob", "key": "JIRAUSER1"}])
    ('JIRAUSER1', 'bob')
    """
    if isinstance(v, list):
        v = next((x for x in v if isinstance(x, dict)), None)
    if isinstance(v, str):
        return "", " ".join(v.split())
    if not isinstance(v, dict):
        return "", ""
    ident = next((str(v[k]) for k in ("accountId", "key", "name") if isinstance(v.get(k), (str, int)) and v[k]), "")
    name = next((str(v[k]) for k in ("displayName", "name") if isinstance(v.get(k), str) and v[k].strip()), "")
    return ident, " ".join(name.split()) or ident


def blocked_by_of(links: Any) -> tuple[str, ...]:
    """Keys this issue is blocked by: inward links of type Blocks ("is blocked by")."""
    out = []
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or not isinstance(link.get("inwardIssue"), dict):
            continue
        kind = link.get("type") if isinstance(link.get("type"), dict) else {}
        if str(kind.get("inward", "")).lower() == "is blocked by" or str(kind.get("name", "")).lower() == "blocks":
            key = link["inwardIssue"].get("key")
            if isinstance(key, str) and key:
                out.append(key)
    return tuple(dict.fromkeys(out))


def jira_day(v: Any) -> date | None:
    """A Jira date (`2026-05-04`) or timestamp (`2026-05-04T10:15:30.123+0200`, the day in
    its own offset) as a date; None when unset or unreadable."""
    if isinstance(v, dict):
        v = v.get("value")
    if not isinstance(v, str) or not v.strip():
        return None
    text = v.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return date.fromisoformat(text[:10]) if len(text) > 10 and text[10] == "T" else None
    except ValueError:
        return None


def done_day(issue: dict, fields: dict, category: str, status_name: str) -> date | None:
    """The day the issue became done, while it is done: `resolutiondate`, else the last
    changelog entry that moved it into its current status (when the issue carries its
    changelog), else `statuscategorychangedate` (the last change of status category)."""
    if category != "done":
        return None
    day = jira_day(fields.get("resolutiondate"))
    if day is not None:
        return day
    log = issue.get("changelog") if isinstance(issue.get("changelog"), dict) else {}
    histories = log.get("histories") if isinstance(log.get("histories"), list) else []
    moves = [h.get("created") for h in histories if isinstance(h, dict) and any(
        isinstance(i, dict) and i.get("field") == "status" and i.get("toString") == status_name
        for i in (h.get("items") if isinstance(h.get("items"), list) else []))]
    moves = [d for d in (jira_day(m) for m in moves) if d is not None]
    if moves:
        return max(moves)
    return jira_day(fields.get("statuscategorychangedate"))


def read_issue(issue: dict, ids: dict[str, str], *, base_url: str, levels: dict[str, float],
               text: Callable[[Any], str]) -> InitiativeRecord:
    """One issue as an InitiativeRecord; MalformedIssue when it has no key, fields or summary."""
    key = issue.get("key") if isinstance(issue, dict) else None
    f = issue.get("fields") if isinstance(issue, dict) else None
    if not isinstance(key, str) or not key or not isinstance(f, dict):
        raise MalformedIssue("no key or no fields")
    title = f.get("summary")
    if not isinstance(title, str) or not title.strip():
        raise MalformedIssue("no summary")
    status = f.get("status") if isinstance(f.get("status"), dict) else {}
    category = status.get("statusCategory") if isinstance(status.get("statusCategory"), dict) else {}
    category = category.get("key") or "new"
    if category not in ("new", "indeterminate", "done"):
        category = "new"
    flags: list[str] = []
    effort = None
    if ids.get("effort"):
        try:
            effort = number(f.get(ids["effort"]))
            if effort is not None and ids["effort"] == "timeoriginalestimate":
                effort /= ESTIMATE_SECONDS_PER_DAY
            if effort is not None and not (0 < effort < float("inf")):
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            effort = None
            flags.append("unreadable-effort")
    confidence = None
    if ids.get("confidence") and f.get(ids["confidence"]) not in (None, "", []):
        confidence = confidence_of(f.get(ids["confidence"]), levels)
        if confidence is None:
            flags.append("unreadable-confidence")
    factors = {}
    for role in FACTOR_ROLES:
        if ids.get(role):
            try:
                v = number(f.get(ids[role]))
            except (TypeError, ValueError, OverflowError):
                flags.append(f"unreadable-factor:{role}")
                continue
            if v is not None:
                factors[role] = v
    launched = jira_day(f.get(ids["launched"])) if ids.get("launched") else None
    if ids.get("launched") and launched is None and f.get(ids["launched"]) not in (None, "", []):
        flags.append("unreadable-date:launched")
    impact = text(f.get(ids["impact"])) if ids.get("impact") else ""
    if not impact.strip():
        impact = impact_section(text(f.get("description"))) or ""
    labels = tuple(str(x) for x in f.get("labels")) if isinstance(f.get("labels"), list) else ()
    parent = f.get("parent").get("key", "") if isinstance(f.get("parent"), dict) else ""
    estimator_id, estimator = person_of(f.get(ids["estimator"])) if ids.get("estimator") else ("", "")
    if not estimator:
        estimator_id, estimator = person_of(f.get("reporter"))
    return InitiativeRecord(
        key=key, title=title.strip(), status=str(status.get("name", "")), status_category=category,
        effort=effort, confidence=confidence, impact=impact, labels=labels,
        url=f"{base_url.rstrip('/')}/browse/{key}", parent=str(parent or ""),
        blocked_by=blocked_by_of(f.get("issuelinks")),
        team=option_label(f.get(ids["team"])) or "" if ids.get("team") else "",
        mandatory=mandatory_of(f.get(ids["mandatory"])) if ids.get("mandatory") else False,
        factors=factors, flags=tuple(flags), raw=issue, external_id=str(issue.get("id") or ""),
        estimator=estimator, estimator_id=estimator_id,
        launched_on=launched,
        done_on=done_day(issue, f, category, str(status.get("name", ""))),
        due=_due(f.get(ids["due"]), flags) if ids.get("due") else None,
        period=(option_label(f.get(ids["period"])) or "").strip() if ids.get("period") else "")


def _due(raw: Any, flags: list[str]):
    """A date field's value as a date (None when unset; flagged when unreadable)."""
    if raw in (None, "", []):
        return None
    try:
        return as_day(raw)
    except (TypeError, ValueError):
        flags.append("unreadable-due")
        return None
