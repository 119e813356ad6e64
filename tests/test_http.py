"""The shared HTTP client: Retry-After, backoff with jitter, slowing near the limit."""
from __future__ import annotations

import random

import pytest
import requests
import responses

from connectors.base import SourceError
from connectors.http import HttpClient, retry_after_seconds

URL = "https://api.example.test"


def client(waits):
    return HttpClient("src", URL, sleep=waits.append, rng=random.Random(1), headers={"Authorization": "Bearer t0p"})


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


@responses.activate
def test_near_limit_header_slows_the_next_request():
    waits = []
    responses.add(responses.GET, f"{URL}/a", json={}, headers={"X-RateLimit-NearLimit": "true"})
    responses.add(responses.GET, f"{URL}/b", json={})
    c = client(waits)
    c.request("GET", "/a")
    assert waits == []
    c.request("GET", "/b")
    assert waits == [1.0] and c.requests_made == 2


@responses.activate
def test_connection_errors_retry_then_fail_without_the_secret():
    waits = []
    responses.add(responses.GET, f"{URL}/x", body=requests.ConnectionError("refused Bearer t0p"))
    with pytest.raises(SourceError) as err:
        client(waits).request("GET", "/x")
    assert "src: cannot reach https://api.example.test (ConnectionError) after 6 tries" == str(err.value)
    assert "t0p" not in str(err.value)
    assert len(waits) == 5 and all(0.7 * b <= w <= 1.3 * b for w, b in zip(waits, (2, 4, 8, 16, 32)))


@responses.activate
def test_waits_are_bounded():
    waits = []
    responses.add(responses.GET, f"{URL}/x", status=429, headers={"Retry-After": "100000"})
    responses.add(responses.GET, f"{URL}/x", json={"ok": True})
    assert client(waits).json("GET", "/x") == {"ok": True}
    assert waits == [300.0]
