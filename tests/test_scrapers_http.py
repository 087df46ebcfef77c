"""The HTTP layer against a real local server: retries, Retry-After, timeouts, cache, rate limit, UA."""

from __future__ import annotations

import time

import pytest
from conftest import shared_data
from replay_server import ReplayServer, SyzbotSite

from scrapers.http import Http, HttpError, NotFound, Settings, Unreachable, retry_after
from triage import USER_AGENT

LIST = "/upstream?json=1"


@pytest.fixture
def server():
    with ReplayServer(SyzbotSite(shared_data("syzbot-pages", "2025"))) as srv:
        yield srv


def client(tmp_path=None, **kw) -> Http:
    opts = {"rate": 0, "timeout": 2.0, "retries": 3, "backoff": 0.01, "max_delay": 5.0}
    opts.update(kw)
    return Http(Settings(user_agent=USER_AGENT, cache_dir=tmp_path / "cache" if tmp_path else None, **opts))


def test_500_then_success_is_retried(server):
    server.script(LIST, [500, 503])
    http = client()
    resp = http.get(server.url + LIST)
    assert resp.json()["version"] == 1
    assert http.counters["requests"] == 3 and http.counters["retries"] == 2
    assert server.count() == 3


def test_persistent_500_gives_one_line_error(server):
    server.script(LIST, [500] * 10)
    http = client(retries=2)
    with pytest.raises(HttpError) as err:
        http.get(server.url + LIST)
    assert "HTTP 500 after 3 attempts" in str(err.value) and LIST in str(err.value)
    assert "\n" not in str(err.value)


def test_429_honours_retry_after(server):
    server.script(LIST, [(429, {"Retry-After": "1"})])
    http = client(backoff=0.01)
    waits = []
    real_sleep = http.sleep
    http.sleep = lambda s: (waits.append(s), real_sleep(s))
    t0 = time.monotonic()
    resp = http.get(server.url + LIST)
    assert resp.status == 200
    assert waits == [1.0]                       # Retry-After, not the 0.01 s backoff
    assert time.monotonic() - t0 >= 1.0


def test_retry_after_http_date():
    assert retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=0) == 10
    assert retry_after("7") == 7
    assert retry_after("garbage") is None


def test_timeout_is_retried_then_succeeds(server):
    server.script(LIST, [("sleep", 1.0)])
    http = client(timeout=0.3)
    resp = http.get(server.url + LIST)
    assert resp.json()["Bugs"]
    assert http.counters["retries"] == 1


def test_timeouts_exhaust_retries(server):
    server.script(LIST, [("sleep", 0.6)] * 3)
    http = client(timeout=0.2, retries=1)
    with pytest.raises(Unreachable, match="timed out after 2 attempts"):
        http.get(server.url + LIST)


def test_404_is_not_retried(server):
    http = client()
    with pytest.raises(NotFound):
        http.get(server.url + "/bug?extid=0000")
    assert http.counters["requests"] == 1


def test_user_agent_names_the_tool(server):
    client().get(server.url + LIST)
    assert server.requests[0][1]["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("syz-triage/")


def test_conditional_requests_and_immutable_cache(server, tmp_path):
    http = client(tmp_path)
    first = http.get(server.url + LIST)
    again = http.get(server.url + LIST)
    assert again.body == first.body and again.from_cache
    assert http.counters["not_modified"] == 1
    assert "If-None-Match" in server.requests[1][1]
    text = "/text?tag=CrashReport&x=1652eb62580000"
    http.get(server.url + text, immutable=True)
    n = server.count()
    assert http.get(server.url + text, immutable=True).body.startswith(b"------------[ cut here ]")
    assert server.count() == n                  # served from the cache without a request
    assert http.counters["cache_hits"] == 1


def test_rate_limit_spaces_requests(server):
    http = client(rate=20)                      # at most one request per 50 ms
    t0 = time.monotonic()
    for _ in range(5):
        http.get(server.url + LIST)
    assert time.monotonic() - t0 >= 4 * 0.05 * 0.9


TEXT = "/text?tag=CrashReport&x=1652eb62580000"


def test_a_trickling_server_meets_the_deadline(server):
    """A server sending one byte at a time never trips the per-read timeout; the deadline ends the attempt."""
    server.script(LIST, [("trickle", 0.02)] * 2)
    http = client(timeout=2.0, deadline=0.3, retries=1)
    with pytest.raises(Unreachable, match=r"no whole answer within 0.3 s after 2 attempts"):
        http.get(server.url + LIST)
    assert http.get(server.url + LIST).json()["Bugs"]      # the next, normal answer is read


def test_a_body_shorter_than_its_length_is_retried_and_never_cached(server, tmp_path):
    http = client(tmp_path)
    full = client().get(server.url + TEXT).body
    server.script(TEXT, [("cut", 100, True)])
    resp = http.get(server.url + TEXT, immutable=True)
    assert resp.body == full and http.counters["retries"] == 1

    http = client(tmp_path / "other", retries=1)
    server.script(TEXT, [("cut", 100, True)] * 2)
    with pytest.raises(Unreachable, match="body cut short"):
        http.get(server.url + TEXT, immutable=True)
    assert http.cache.get(server.url + TEXT) is None


def test_a_body_ended_by_the_connection_closing_is_not_cached(server, tmp_path):
    http = client(tmp_path)
    full = client().get(server.url + TEXT).body
    server.script(TEXT, [("cut", 100, False)])      # 100 bytes, then the connection closes: no way to tell
    with pytest.raises(HttpError, match="may be cut") as err:
        http.get(server.url + TEXT, immutable=True)
    assert "\n" not in str(err.value)
    assert http.cache.get(server.url + TEXT) is None
    assert http.get(server.url + TEXT, immutable=True).body == full     # a framed answer is kept...
    n = server.count()
    assert http.get(server.url + TEXT, immutable=True).from_cache and server.count() == n   # ... and cached

    server.script(LIST, [("cut", 10**9, False)])    # the whole body, close-delimited: used, not cached
    assert http.get(server.url + LIST).json()["Bugs"]
    assert http.cache.get(server.url + LIST) is None
