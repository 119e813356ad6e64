"""One secrets rule (docs/deployment.md, "Secrets"): a secret in any of its forms (itself,
URL-encoded, inside basic auth's base64) never reaches a job row, a sync run, a log line
or /metrics, whatever raised it."""
from __future__ import annotations

import base64
import io
from urllib.parse import quote, quote_plus

import pytest

from app import create_app
from app.config import load_settings
from app.logs import configure
from app.secrets import redact, secret_values
from app.services import Workspace
from app.store import queue as q
from app.worker import Worker
from connectors.secrets import forms
from tests.conftest import add_service

SECRET = "s3cret-Tok/en+1"
USER = "pm@acme.com"
FORMS = {"value": SECRET, "url-encoded": quote(SECRET, safe=""), "form-encoded": quote_plus(SECRET),
         "basic auth": base64.b64encode(f"{USER}:{SECRET}".encode()).decode(),
         "basic auth, other user": base64.b64encode(f"svc-roadmap:{SECRET}".encode()).decode()}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_of_a_secret_is_masked(form):
    text = f"GET /rest?token={FORMS[form]} failed"
    assert redact(text, forms([SECRET], [USER])) == "GET /rest?token=*** failed"


def test_redact_wants_values_not_settings(workspace_dir):
    with pytest.raises(TypeError, match="secret_values"):
        redact("x", load_settings(workspace_dir / "roadmap.toml"))


@pytest.fixture
def ws(workspace_dir, monkeypatch):
    monkeypatch.delenv("ROADMAP_DATABASE", raising=False)
    monkeypatch.setenv("ROADMAP_TEST_TOKEN", SECRET)
    add_service(workspace_dir, 'api_token_env = "ROADMAP_TEST_TOKEN"')
    w = Workspace(load_settings(workspace_dir / "roadmap.toml"))
    yield w
    w.close()


def test_a_secret_in_an_exception_inside_a_worker_job_is_found_nowhere(ws, monkeypatch):
    from connectors.files import CsvConnector
    every_form = " ".join(f"{name}={value}" for name, value in FORMS.items())

    def leaky(self, run):               # a bug in a connector that echoes its credentials
        raise RuntimeError(f"request failed: {every_form}")
    monkeypatch.setattr(CsvConnector, "pull", leaky)
    lines = io.StringIO()
    configure(ws.settings, stream=lines)
    job, _ = q.enqueue(ws.store, "api")
    w = Worker(ws, lease=5)
    w.every = None
    w.run(once=True)

    row = q.get(ws.store, job["id"])
    assert row["status"] == "failed" and row["message"].startswith("request failed: value=*** ")
    assert row["message"].count("=***") == len(FORMS)
    runs = ws.store.runs(10)
    assert runs and all(r["status"] == "failed" for r in runs)
    metrics = create_app(workspace=ws).test_client().get("/metrics").get_data(as_text=True)
    where = {"job row": repr(row), "sync runs": repr(runs), "log lines": lines.getvalue(), "/metrics": metrics}
    assert "sync ended" in where["log lines"] and "roadmap_" in metrics
    for place, text in where.items():
        for name, value in FORMS.items():
            assert value not in text, f"the secret ({name}) is in the {place}"


def test_the_settings_name_every_secret_once(ws):
    values = secret_values(ws.settings)
    assert all(v in values for v in (SECRET, quote(SECRET, safe="")))
    assert values == sorted(set(values), key=len, reverse=True)
