"""One polite HTTP layer for every source (syzbot, lore, mirrors).

- identifies itself with the user agent it is given (``Settings.user_agent``);
- rate-limits per host (default at most 1 request/s; ``0`` = no limit);
- retries timeouts, connection errors, cut bodies, 429 (honouring ``Retry-After``) and 5xx with exponential
  backoff;
- bounds every attempt by an overall deadline (``Settings.deadline``) besides the per-read timeout, so a
  server that trickles a byte a second cannot hold a sync;
- accepts a body only when it is complete: as long as ``Content-Length`` says, or a chunked body that ended
  properly. A body without either (ended by the connection closing) is used but never cached, and refused
  where it would be cached as immutable: its end may be a cut;
- keeps a response cache with validators (ETag / Last-Modified) and sends conditional requests, so a
  re-sync mostly gets ``304 Not Modified``; bodies known to be immutable (syzbot text blobs are
  content-addressed by their ``x=`` id) are served from the cache without any request;
- counts what it did (``requests``, ``not_modified``, ``cache_hits``, ``retries``).

The cache lives in a directory the caller gives (syz-triage passes its user cache dir), not in the store: it
is disposable (deleting it only costs bandwidth), it would bloat the dataset users query and share, and one
cache serves every database a user keeps.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from records.inputs import MAX_INPUT_BYTES
from records.mail import parse_date

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HttpError(Exception):
    """A request failed for good; the message is one line and names the URL."""

    def __init__(self, url: str, reason: str, status: int | None = None):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


class NotFound(HttpError):
    pass


class Unreachable(HttpError):
    """The host cannot be reached (connection refused/reset, timeouts) even after retries."""


@dataclass
class Settings:
    user_agent: str                   # who is asking (syz-triage names itself and its home page)
    rate: float = 1.0                 # requests per second per host; 0 = unlimited
    timeout: float = 30.0             # seconds, connect and each read
    deadline: float = 300.0           # seconds for a whole attempt (connect, headers, the whole body)
    retries: int = 4                  # extra attempts after the first
    backoff: float = 1.0              # first retry delay, doubled each time
    max_delay: float = 120.0          # cap on any single wait (backoff or Retry-After)
    cache_dir: Path | None = None     # None: no cache


class _Incomplete(Exception):
    """An attempt's body is not whole (cut short, or the deadline passed); the reason is one line."""


@dataclass
class Response:
    url: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    from_cache: bool = False          # served from the cache (304 or immutable hit)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class Cache:
    """Responses on disk: ``<sha256(url)>.json`` (validators, headers) + ``<sha256(url)>.body``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()
        d = self.root / key[:2]
        return d / f"{key}.json", d / f"{key}.body"

    def get(self, url: str) -> tuple[dict, bytes] | None:
        meta_p, body_p = self._paths(url)
        try:
            meta = json.loads(meta_p.read_text())
            body = body_p.read_bytes()
        except (OSError, ValueError):
            return None
        if meta.get("url") != url or meta.get("size") != len(body):
            return None
        return meta, body

    def put(self, url: str, headers: dict[str, str], body: bytes) -> None:
        meta_p, body_p = self._paths(url)
        try:
            meta_p.parent.mkdir(parents=True, exist_ok=True)
            tmp = body_p.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(body)
            os.replace(tmp, body_p)
            meta = {"url": url, "size": len(body), "headers": headers, "stored": time.time()}
            tmp = meta_p.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(meta))
            os.replace(tmp, meta_p)
        except OSError:
            pass  # a cache that cannot be written only costs bandwidth

    def drop(self, url: str) -> None:
        for p in self._paths(url):
            try:
                p.unlink()
            except OSError:
                pass


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    when = parse_date(value)
    if when is None:
        return None
    now_dt = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return max(0.0, (when - now_dt).total_seconds())


class Http:
    """A shared session for all sources. Thread-safe enough for one sync at a time."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.session = requests.Session()
        self.session.headers["User-Agent"] = self.settings.user_agent
        self.cache = Cache(self.settings.cache_dir) if self.settings.cache_dir else None
        self.counters = {"requests": 0, "not_modified": 0, "cache_hits": 0, "retries": 0}
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self.sleep = time.sleep        # tests may observe waits

    # -- politeness ------------------------------------------------------------------------------
    def _throttle(self, host: str) -> None:
        rate = self.settings.rate
        if rate <= 0:
            return
        with self._lock:
            gap = 1.0 / rate
            wait = self._last.get(host, 0.0) + gap - time.monotonic()
            if wait > 0:
                self.sleep(wait)
            self._last[host] = time.monotonic()

    def _delay(self, attempt: int) -> float:
        return min(self.settings.max_delay, self.settings.backoff * (2 ** attempt))

    # -- requests --------------------------------------------------------------------------------
    def get(self, url: str, *, immutable: bool = False, use_cache: bool = True) -> Response:
        """GET ``url``; raise ``HttpError`` (``NotFound`` for 404) with a one-line reason."""
        cached = self.cache.get(url) if (self.cache and use_cache) else None
        if cached and immutable:
            self.counters["cache_hits"] += 1
            meta, body = cached
            return Response(url, 200, body, meta.get("headers", {}), from_cache=True)
        headers = {}
        if cached:
            meta = cached[0].get("headers", {})
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last-modified"):
                headers["If-Modified-Since"] = meta["last-modified"]
        host = urlsplit(url).netloc
        attempt = 0
        while True:
            self._throttle(host)
            self.counters["requests"] += 1
            try:
                resp = self.session.get(url, headers=headers, timeout=self.settings.timeout, stream=True)
                body, framed = self._read(resp, url, time.monotonic() + self.settings.deadline)
            except (requests.Timeout, requests.ConnectionError, _Incomplete) as exc:
                if isinstance(exc, _Incomplete):
                    reason = str(exc)
                else:
                    reason = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
                if attempt >= self.settings.retries:
                    raise Unreachable(url, f"{reason} after {attempt + 1} attempts") from None
                self.counters["retries"] += 1
                self.sleep(self._delay(attempt))
                attempt += 1
                continue
            except requests.RequestException as exc:
                raise HttpError(url, f"request failed ({type(exc).__name__})") from None
            status = resp.status_code
            if status in RETRY_STATUSES:
                if attempt >= self.settings.retries:
                    raise HttpError(url, f"HTTP {status} after {attempt + 1} attempts", status)
                wait = retry_after(resp.headers.get("Retry-After")) if status in (429, 503) else None
                wait = self._delay(attempt) if wait is None else min(wait, self.settings.max_delay)
                self.counters["retries"] += 1
                self.sleep(wait)
                attempt += 1
                continue
            break
        hdrs = {k.lower(): v for k, v in resp.headers.items()}
        if status == 304 and cached:
            self.counters["not_modified"] += 1
            meta, cbody = cached
            return Response(url, 200, cbody, meta.get("headers", {}), from_cache=True)
        if status == 404:
            raise NotFound(url, "not found (HTTP 404)", 404)
        if status >= 400:
            raise HttpError(url, f"HTTP {status}", status)
        if immutable and not framed:
            raise HttpError(url, "body ended by the connection closing, without Content-Length or chunked "
                                 "framing: it may be cut, so it is not kept")
        if self.cache and use_cache and status == 200 and framed:
            keep = {k: v for k, v in hdrs.items() if k in ("etag", "last-modified", "content-type", "date")}
            self.cache.put(url, keep, body)
        return Response(url, status, body, hdrs)

    def _read(self, resp: requests.Response, url: str, deadline: float) -> tuple[bytes, bool]:
        """The whole body and whether its framing proves it whole (``Content-Length`` or chunked).

        Reads at most one socket read at a time, so the deadline is checked however slowly bytes arrive.
        """
        raw = resp.raw
        chunks, size = [], 0
        try:
            while True:
                if time.monotonic() > deadline:
                    raise _Incomplete(f"no whole answer within {self.settings.deadline:g} s")
                chunk = raw.read1(1 << 16, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_INPUT_BYTES:
                    raise HttpError(url, f"response larger than {MAX_INPUT_BYTES} bytes")
                chunks.append(chunk)
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as exc:
            resp.close()
            raise _Incomplete(f"body cut short ({type(exc).__name__})") from None
        except urllib3.exceptions.ReadTimeoutError:
            resp.close()
            raise requests.Timeout() from None
        except BaseException:
            resp.close()
            raise
        raw.release_conn()             # read to its end: the connection can serve the next request
        length = resp.headers.get("Content-Length")
        chunked = "chunked" in resp.headers.get("Transfer-Encoding", "").lower()
        encoded = raw.tell() if hasattr(raw, "tell") else None
        if length is not None and length.isdigit() and encoded is not None and encoded < int(length):
            raise _Incomplete(f"body cut short ({encoded} of {length} bytes)")
        return b"".join(chunks), chunked or (length is not None and length.isdigit())

    def forget(self, url: str) -> None:
        """Drop a cached response that turned out to be unusable (truncated, challenge page...)."""
        if self.cache:
            self.cache.drop(url)


@dataclass
class Site:
    """A source's base URL, so tests and mirrors can point it elsewhere."""

    base_url: str

    def url(self, path: str) -> str:
        return urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))
