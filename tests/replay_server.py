"""A real HTTP server on 127.0.0.1 replaying the shared fixtures (syzbot pages, lore threads).

``ReplayServer(site)`` runs ``http.server`` in a thread. Sites resolve a request to (status, headers, body):

- ``SyzbotSite(dir)`` follows ``routes.json`` (path + query parameters as an unordered set);
- ``LoreSite(root)`` serves ``/<inbox>/<msgid>/{raw,t.mbox.gz,t.mbox}`` from the fixture tree, ``/all/``
  from whichever inbox holds the message, and ``/<inbox>/?q=..&x=A`` as an Atom feed of the messages whose
  text contains every query word.

Faults are scripted per request: ``server.script(path_query, [actions...])`` where an action is an int
status (served once with an empty body), ``(status, headers)``, ``("sleep", seconds)`` (a slow answer),
``("body", bytes, content_type)``, ``("trickle", seconds_per_byte)`` (the real answer, one byte at a time),
or ``("cut", keep_bytes, with_length)`` (the real answer cut after ``keep_bytes`` by closing the connection,
announced with its full ``Content-Length`` or, without ``with_length``, ended by the close alone);
``server.replace(path_query, body, content_type)`` changes a route for good; ``server.die_after(n)`` drops
every connection after ``n`` requests (a server that dies midway).
Responses carry an ETag and honour ``If-None-Match`` (304), like the real hosts.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit
from xml.sax.saxutils import escape

Answer = tuple[int, dict[str, str], bytes]
LAST_MODIFIED = formatdate(1_759_320_000, usegmt=True)


def route_key(path_query: str) -> tuple[str, frozenset]:
    parts = urlsplit(path_query)
    return unquote(parts.path), frozenset(parse_qsl(parts.query, keep_blank_values=True))


class SyzbotSite:
    def __init__(self, root: Path):
        self.root = Path(root)
        data = json.loads((self.root / "routes.json").read_text())
        self.routes = {(r["path"], frozenset(r["query"].items())): r for r in data["routes"]}

    def resolve(self, path: str, query: frozenset, base: str) -> Answer | None:
        r = self.routes.get((path, query))
        if r is None:
            return None
        return r["status"], {"Content-Type": r["content_type"]}, (self.root / r["file"]).read_bytes()


class LoreSite:
    VIEWS = {"raw": "text/plain; charset=UTF-8", "t.mbox.gz": "application/gzip", "t.mbox": "text/plain"}

    def __init__(self, root: Path):
        self.root = Path(root)
        self.inboxes = sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def _dir(self, inbox: str, msgid: str) -> Path | None:
        for name in (self.inboxes if inbox == "all" else [inbox]):
            d = self.root / name / msgid
            if d.is_dir():
                return d
        return None

    def resolve(self, path: str, query: frozenset, base: str) -> Answer | None:
        q = dict(query)
        m = re.fullmatch(r"/([^/]+)/(.+)/(raw|t\.mbox\.gz|t\.mbox)", path)
        if m:
            d = self._dir(m.group(1), m.group(2))
            f = d / m.group(3) if d else None
            if f is None or not f.exists():
                return None
            return 200, {"Content-Type": self.VIEWS[m.group(3)]}, f.read_bytes()
        m = re.fullmatch(r"/([^/]+)/", path)
        if m and "q" in q:
            return self.search(m.group(1), q["q"], base)
        return None

    def search(self, inbox: str, query: str, base: str) -> Answer:
        words = [w.split(":", 1)[-1].lower() for w in query.split()]
        hits = []
        for name in (self.inboxes if inbox == "all" else [inbox]):
            for raw in sorted((self.root / name).glob("*/raw")):
                text = raw.read_bytes().decode("utf-8", "replace")
                if all(w in text.lower() for w in words):
                    subj = re.search(r"(?im)^subject:\s*(.*)$", text)
                    hits.append((name, raw.parent.name, subj.group(1) if subj else ""))
        if not hits:
            return 404, {"Content-Type": "text/html; charset=UTF-8"}, b"<html><pre>[No results found]</pre></html>"
        entries = "".join(
            f'<entry><title>{escape(s)}</title><link href="{base}/{n}/{quote(mid, safe="@+=!$&*,;:~")}/"/>'
            f"<id>urn:uuid:{hashlib.sha1(mid.encode()).hexdigest()}</id></entry>"
            for n, mid, s in hits
        )
        body = ('<?xml version="1.0" encoding="us-ascii"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>search results</title>{entries}</feed>").encode()
        return 200, {"Content-Type": "application/atom+xml"}, body


class ReplayServer:
    def __init__(self, *sites):
        self.sites = list(sites)
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._scripts: dict[tuple, list] = {}
        self._replaced: dict[tuple, Answer] = {}
        self._die_after: int | None = None
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in several writes; with Nagle on, each kept-alive response waited for the
            # client's delayed ACK (~40 ms a request, most of the sync tests' time)
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- test controls ---------------------------------------------------------------------------
    def script(self, path_query: str, actions: list) -> None:
        self._scripts[route_key(path_query)] = list(actions)

    def replace(self, path_query: str, body: bytes, content_type: str, status: int = 200) -> None:
        self._replaced[route_key(path_query)] = (status, {"Content-Type": content_type}, body)

    def die_after(self, n: int | None) -> None:
        self._die_after = n

    def count(self, pred: Callable[[str], bool] = lambda p: True) -> int:
        return sum(1 for p, _ in self.requests if pred(p))

    # -- serving ---------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        with self._lock:
            if self._die_after is not None and len(self.requests) >= self._die_after:
                h.close_connection = True
                h.wfile.flush()
                h.connection.close()
                return
            self.requests.append((h.path, dict(h.headers.items())))
            key = route_key(h.path)
            actions = self._scripts.get(key)
            action = actions.pop(0) if actions else None
        if isinstance(action, tuple) and action[0] == "sleep":
            time.sleep(action[1])
            action = None
        if isinstance(action, int):
            return self._send(h, action, {"Content-Type": "text/plain"}, b"scripted failure\n")
        if isinstance(action, tuple) and isinstance(action[0], int):
            return self._send(h, action[0], {"Content-Type": "text/plain", **action[1]}, b"scripted failure\n")
        if isinstance(action, tuple) and action[0] == "body":
            return self._send(h, 200, {"Content-Type": action[2]}, action[1])
        answer = self._replaced.get(key)
        if answer is None:
            for site in self.sites:
                answer = site.resolve(key[0], key[1], self.url)
                if answer is not None:
                    break
        if answer is None:
            return self._send(h, 404, {"Content-Type": "text/plain"}, b"not found\n")
        status, headers, body = answer
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if status == 200 and h.headers.get("If-None-Match") == etag:
            return self._send(h, 304, {"ETag": etag}, b"")
        headers = {**headers, "ETag": etag, "Last-Modified": LAST_MODIFIED}
        if isinstance(action, tuple) and action[0] == "trickle":
            return self._send(h, status, headers, body, trickle=action[1])
        if isinstance(action, tuple) and action[0] == "cut":
            return self._send(h, status, headers, body, keep=action[1], length=action[2])
        self._send(h, status, headers, body)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes, *,
              trickle: float = 0.0, keep: int | None = None, length: bool = True) -> None:
        try:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            if length:
                h.send_header("Content-Length", str(len(body)))
            else:
                h.send_header("Connection", "close")
            h.end_headers()
            if status == 304:
                return
            if keep is not None:                # the connection closes after part of the body
                h.wfile.write(body[:keep])
                h.wfile.flush()
                h.close_connection = True
            elif trickle:
                for i in range(len(body)):
                    h.wfile.write(body[i:i + 1])
                    h.wfile.flush()
                    time.sleep(trickle)
            else:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            h.close_connection = True


def gzip_truncated(data: bytes, keep: float = 0.5) -> bytes:
    """A gzip stream cut short, like a download that stopped halfway."""
    z = gzip.compress(data)
    return z[: int(len(z) * keep)]
