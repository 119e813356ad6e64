"""The shared HTTP client: Retry-After, backoff with jitter, slowing near the limit, an
unreachable host failing at once, the throttle pause shared across threads, paging that
cannot loop."""
from __future__ import annotations

import random
import socket
import threading
import time

import pytest
import requests
import responses

from connectors.base import SourceError
from connectors.http import HttpClient, Paginator, error_messages, retry_after_seconds
from tests.fixtures.payloads import POSTHOG_THROTTLED, google_error
from urllib3.exceptions import MaxRetryError, NameResolutionError, ProtocolError

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
def test_a_connection_reset_retries_with_backoff_then_fails_without_the_secret():
    waits = []
    reset = requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError("reset Bearer t0p")))
    responses.add(responses.GET, f"{URL}/x", body=reset)
    with pytest.raises(SourceError) as err:
        client(waits).request("GET", "/x")
    assert "src: cannot reach https://api.example.test (ConnectionError) after 6 tries" == str(err.value)
    assert "t0p" not in str(err.value)
    assert len(waits) == 5 and all(0.7 * b <= w <= 1.3 * b for w, b in zip(waits, (2, 4, 8, 16, 32)))


@responses.activate
def test_timeouts_and_5xx_keep_their_backoff():
    waits = []
    responses.add(responses.GET, f"{URL}/x", body=requests.ReadTimeout("read timed out"))
    responses.add(responses.GET, f"{URL}/x", status=502)
    responses.add(responses.GET, f"{URL}/x", json={"ok": True})
    assert client(waits).json("GET", "/x") == {"ok": True}
    assert len(waits) == 2 and 1.4 <= waits[0] <= 2.6 and 2.8 <= waits[1] <= 5.2


def test_a_refused_connection_fails_at_once_saying_cannot_reach():
    with socket.socket() as s:                  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    waits = []
    c = HttpClient("src", f"http://127.0.0.1:{port}", sleep=waits.append, timeout=5)
    started = time.monotonic()
    with pytest.raises(SourceError) as err:
        c.request("GET", "/x")
    assert str(err.value) == (f"src: cannot reach http://127.0.0.1:{port}: the connection was refused; "
                              "check the url and the network")
    assert waits == [] and c.requests_made == 1 and time.monotonic() - started < 5


@responses.activate
def test_a_name_that_does_not_resolve_fails_at_once():
    reason = NameResolutionError("jira.nowhere.invalid", None, socket.gaierror(-2, "Name or service not known"))
    responses.add(responses.GET, f"{URL}/x", body=requests.ConnectionError(MaxRetryError(None, "/x", reason)))
    waits = []
    with pytest.raises(SourceError) as err:
        client(waits).request("GET", "/x")
    assert "src: cannot reach https://api.example.test: the host name does not resolve" in str(err.value)
    assert waits == []


def test_a_throttle_pauses_every_thread_of_the_source():
    """While one request waits out a 429, a request from another thread is held at the
    gate and sent only after the pause (ordered by events, not by timing)."""
    c = HttpClient("ph", URL, rng=random.Random(1), retry_hint=lambda r: 1.0)
    pausing = threading.Event()
    sent_during_pause = []
    other = {}

    def sleep(seconds):
        pausing.set()
        other["thread"] = threading.Thread(target=lambda: other.setdefault("resp", c.request("GET", "/b")))
        other["thread"].start()
        for _ in range(5000):                   # until the other request is held at the gate
            if c.held == 1:
                break
            time.sleep(0.001)
        other["held"] = c.held
        pausing.clear()
    c.sleep = sleep

    def b(request):
        sent_during_pause.append(pausing.is_set())
        return 200, {}, "{}"
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{URL}/a", status=429, json=POSTHOG_THROTTLED)
        rsps.add(responses.GET, f"{URL}/a", json={})
        rsps.add_callback(responses.GET, f"{URL}/b", callback=b)
        assert c.request("GET", "/a").status_code == 200
        other["thread"].join(10)
    assert other["held"] == 1                  # the other thread's request waited at the gate
    assert sent_during_pause == [False]        # and went out only after the pause
    assert c.waits == [1.0] and other["resp"].status_code == 200


def test_a_repeated_page_token_stops_paging():
    pages = Paginator("backlog", "nextPageToken")
    pages.advance("t1")
    pages.advance("t2")
    with pytest.raises(SourceError) as err:
        pages.advance("t1")
    assert str(err.value) == ("backlog: the server sent the same nextPageToken (t1) twice; paging stopped so "
                              "the sync cannot loop forever")


def test_googles_error_envelope_is_read():
    resp = requests.Response()
    resp.status_code = 400
    resp._content = requests.compat.json.dumps(google_error(
        400, "INVALID_ARGUMENT", "Field activeUser is not a valid metric.")).encode()
    assert error_messages(resp) == ["INVALID_ARGUMENT: Field activeUser is not a valid metric."]


@responses.activate
def test_waits_are_bounded():
    waits = []
    responses.add(responses.GET, f"{URL}/x", status=429, headers={"Retry-After": "100000"})
    responses.add(responses.GET, f"{URL}/x", json={"ok": True})
    assert client(waits).json("GET", "/x") == {"ok": True}
    assert waits == [300.0]
