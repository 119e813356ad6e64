"""Jira as a source of initiatives and a target of score and rank (`type = "jira"`).

- `connector.py`: the connector (deployment, field names, incremental pulls)
- `api.py`: REST v3 (Cloud, enhanced search) and v2 (Data Center) calls and paging
- `fields.py`: an issue's fields read by role into an InitiativeRecord
- `richtext.py`: ADF and wiki markup as plain text for the impact-line parser
- `writeback.py`: `roadmap push` writes score and rank back
"""
from connectors.jira.connector import JiraConnector, JiraOptions, parse_updated
from connectors.jira.fields import ROLES, JiraFields, MalformedIssue

__all__ = ["JiraConnector", "JiraOptions", "JiraFields", "MalformedIssue", "ROLES", "parse_updated"]
