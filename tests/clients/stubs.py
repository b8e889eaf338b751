"""Keystone v3 and Kubernetes API stand-ins for the client suite.

One HTTP server on 127.0.0.1 serves both: Keystone under ``/identity`` and the
Kubernetes API under ``/k8s``. tacker-vim calls them while it registers or
updates a VIM; the suite points VIMs at them through ``auth_url``.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

WRONG_PASSWORD = "wrong"
GOOD_K8S_TOKEN = "good-token"
KEYSTONE_UNAUTHORIZED = "The request you have made requires authentication."
REGIONS = ["RegionOne"]
NAMESPACES = ["default", "kube-system"]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    server: "_StubHTTPServer"
    protocol_version = "HTTP/1.1"

    # -- plumbing -----------------------------------------------------------

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, doc, headers: dict | None = None) -> None:
        payload = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _record(self, body: bytes) -> str:
        path = urlsplit(self.path).path
        self.server.record(Call(self.command, path, dict(self.headers.items()), body))
        return path

    def _not_found(self) -> None:
        self._send(404, {"error": {"code": 404, "title": "Not Found",
                                   "message": "The resource could not be found."}})

    # -- routes -------------------------------------------------------------

    def do_GET(self):  # noqa: N802 - stdlib naming
        path = self._record(b"")
        base = self.server.base_url
        if path in ("/identity/v3", "/identity/v3/"):
            self._send(200, {"version": {
                "id": "v3.14",
                "status": "stable",
                "links": [{"rel": "self", "href": f"{base}/identity/v3/"}],
            }})
        elif path == "/identity/v3/regions":
            self._send(200, {
                "regions": [{"id": r, "description": "", "parent_region_id": None, "links": {}}
                            for r in REGIONS],
                "links": {"self": f"{base}/identity/v3/regions", "next": None, "previous": None},
            })
        elif path in ("/k8s/api", "/k8s/api/"):
            self._send(200, {"kind": "APIVersions", "versions": ["v1"],
                             "serverAddressByClientCIDRs": []})
        elif path == "/k8s/api/v1/namespaces":
            if self.headers.get("Authorization") == f"Bearer {GOOD_K8S_TOKEN}":
                self._send(200, {
                    "kind": "NamespaceList",
                    "apiVersion": "v1",
                    "metadata": {},
                    "items": [{"metadata": {"name": n}} for n in NAMESPACES],
                })
            else:
                self._send(401, {"kind": "Status", "status": "Failure", "message": "Unauthorized",
                                 "reason": "Unauthorized", "code": 401})
        else:
            self._not_found()

    def do_POST(self):  # noqa: N802 - stdlib naming
        body = self._body()
        path = self._record(body)
        if path != "/identity/v3/auth/tokens":
            self._not_found()
            return
        try:
            doc = json.loads(body or b"{}")
            password = doc["auth"]["identity"]["password"]["user"]["password"]
        except (ValueError, KeyError, TypeError):
            self._send(400, {"error": {"code": 400, "title": "Bad Request",
                                       "message": "Could not parse the request body."}})
            return
        if password == WRONG_PASSWORD:
            self._send(401, {"error": {"code": 401, "title": "Unauthorized",
                                       "message": KEYSTONE_UNAUTHORIZED}},
                       {"WWW-Authenticate": f'Keystone uri="{self.server.base_url}/identity"'})
            return
        domain = {"id": "default", "name": "Default"}
        self._send(201, {"token": {
            "methods": ["password"],
            "expires_at": "2099-01-01T00:00:00.000000Z",
            "project": {"id": "p1", "name": "nfv", "domain": domain},
            "user": {"id": "u1", "name": "nfv_user", "domain": domain},
            "catalog": [],
        }}, {"X-Subject-Token": f"tok-{self.server.next_token()}"})


class _StubHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        self.calls: list[Call] = []

    def next_token(self) -> int:
        with self._lock:
            return next(self._tokens)

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)


class Stubs:
    """The running stand-ins; ``keystone_url`` and ``k8s_url`` are VIM auth_urls."""

    def __init__(self):
        self._server = _StubHTTPServer()
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="vim-stubs", daemon=True)

    @property
    def url(self) -> str:
        return self._server.base_url

    @property
    def keystone_url(self) -> str:
        return f"{self.url}/identity"

    @property
    def k8s_url(self) -> str:
        return f"{self.url}/k8s"

    def calls(self, method: str | None = None, path: str | None = None) -> list[Call]:
        with self._server._lock:
            calls = list(self._server.calls)
        return [c for c in calls
                if (method is None or c.method == method) and (path is None or c.path == path)]

    def start(self) -> "Stubs":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "Stubs":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
