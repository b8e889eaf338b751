#!/usr/bin/env python3
"""A minimal Keystone v3 stand-in for demos, benchmarks and compose setups.

It answers exactly the calls tacker-vim makes when it validates an OpenStack VIM:

  GET  /identity/v3                version document
  POST /identity/v3/auth/tokens    password authentication: 401 if the password is "wrong"
                                   (or, with --password, anything but that password)
  GET  /identity/v3/regions        region list (needs a token this stub issued)

plus a few helpers that are not part of Keystone:

  GET    /healthz                  liveness
  GET    /stats                    request counters as JSON
  DELETE /stats                    reset the counters

The "/identity" prefix is optional, so an auth_url of http://HOST:PORT or
http://HOST:PORT/identity both work. Python 3 standard library only.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/identity"
WRONG_PASSWORD = "wrong"
# Tokens are self-verifying (random part + HMAC), so no token table grows under load.
TOKEN_SECRET = secrets.token_bytes(32)


class Stats:
    FIELDS = (
        "version_requests",
        "auth_requests",
        "auth_success",
        "auth_failures",
        "region_requests",
        "unauthorized_region_requests",
        "bad_requests",
        "not_found",
    )

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.FIELDS, 0)

    def bump(self, field):
        with self._lock:
            self._counts[field] += 1

    def snapshot(self):
        with self._lock:
            return dict(self._counts)

    def reset(self):
        with self._lock:
            self._counts = dict.fromkeys(self.FIELDS, 0)


def issue_token():
    nonce = uuid.uuid4().hex
    mac = hmac.new(TOKEN_SECRET, nonce.encode(), hashlib.sha256).hexdigest()[:32]
    return nonce + mac


def token_is_valid(token):
    if not token or len(token) != 64:
        return False
    nonce, mac = token[:32], token[32:]
    expected = hmac.new(TOKEN_SECRET, nonce.encode(), hashlib.sha256).hexdigest()[:32]
    return hmac.compare_digest(mac, expected)


def utc_iso(delta_hours=0):
    now = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=delta_hours)
    return now.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def keystone_error(code, title, message):
    return {"error": {"code": code, "title": title, "message": message}}


class KeystoneHandler(BaseHTTPRequestHandler):
    # Keep-alive, so the service's HTTP client can reuse connections under load; headers and
    # body are separate writes, so without TCP_NODELAY delayed ACKs add ~40 ms per response.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def version_string(self):
        return "keystone-stub/1.0"

    # ----- plumbing -------------------------------------------------------------------------
    def log_message(self, fmt, *args):
        if not self.server.quiet:
            sys.stderr.write("keystone-stub: %s - %s\n" % (self.address_string(), fmt % args))

    def base_url(self):
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return "http://%s%s" % (host, PREFIX)

    def send_json(self, status, body, extra_headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self):
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            return b""
        # Bounded: a token request is tiny.
        return self.rfile.read(max(0, min(n, 1 << 20)))

    def route(self):
        path = self.path.split("?", 1)[0]
        if path.startswith(PREFIX + "/") or path == PREFIX:
            path = path[len(PREFIX):] or "/"
        return path.rstrip("/") or "/"

    def not_found(self):
        self.server.stats.bump("not_found")
        self.send_json(404, keystone_error(404, "Not Found",
                                           "The resource could not be found."))

    # ----- verbs ----------------------------------------------------------------------------
    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            return self.send_json(200, {"status": "ok"})
        if path == "/stats":
            return self.send_json(200, self.server.stats.snapshot())
        route = self.route()
        if route == "/v3":
            return self.version()
        if route == "/v3/regions":
            return self.regions()
        return self.not_found()

    do_HEAD = do_GET

    def do_POST(self):
        body = self.read_body()
        if self.route() == "/v3/auth/tokens":
            return self.auth_tokens(body)
        return self.not_found()

    def do_DELETE(self):
        if self.path.split("?", 1)[0] == "/stats":
            self.server.stats.reset()
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self.not_found()

    # ----- Keystone ---------------------------------------------------------------------------
    def version(self):
        self.server.stats.bump("version_requests")
        self.send_json(200, {
            "version": {
                "id": "v3.14",
                "status": "stable",
                "updated": "2020-04-07T00:00:00Z",
                "links": [{"rel": "self", "href": self.base_url() + "/v3/"}],
                "media-types": [{
                    "base": "application/json",
                    "type": "application/vnd.openstack.identity-v3+json",
                }],
            }
        })

    def auth_tokens(self, raw):
        self.server.stats.bump("auth_requests")
        try:
            auth = json.loads(raw or b"null")["auth"]
            identity = auth["identity"]
            if "password" not in identity.get("methods", []):
                raise KeyError("methods")
            user = identity["password"]["user"]
            password = user["password"]
            if not (user.get("name") or user.get("id")):
                raise KeyError("user")
        except (ValueError, KeyError, TypeError, AttributeError):
            self.server.stats.bump("bad_requests")
            self.server.stats.bump("auth_failures")
            return self.send_json(400, keystone_error(
                400, "Bad Request",
                "Expecting to find auth.identity.password.user in request body."))
        expected = self.server.password
        if password == WRONG_PASSWORD or (expected is not None and password != expected):
            self.server.stats.bump("auth_failures")
            return self.send_json(401, keystone_error(
                401, "Unauthorized",
                "The request you have made requires authentication."))

        self.server.stats.bump("auth_success")
        user_domain = user.get("domain") or {}
        token = {
            "methods": ["password"],
            "user": {
                "id": user.get("id") or uuid.uuid5(uuid.NAMESPACE_OID, user["name"]).hex,
                "name": user.get("name") or user.get("id"),
                "domain": {"id": user_domain.get("id", "default"),
                           "name": user_domain.get("name", "Default")},
                "password_expires_at": None,
            },
            "audit_ids": [secrets.token_urlsafe(16)[:22]],
            "issued_at": utc_iso(),
            "expires_at": utc_iso(1),
            "catalog": [],
        }
        project = (auth.get("scope") or {}).get("project")
        if isinstance(project, dict):
            pdomain = project.get("domain") or {}
            token["project"] = {
                "id": project.get("id") or uuid.uuid5(uuid.NAMESPACE_OID,
                                                      str(project.get("name"))).hex,
                "name": project.get("name") or project.get("id"),
                "domain": {"id": pdomain.get("id", "default"),
                           "name": pdomain.get("name", "Default")},
            }
            token["roles"] = [{"id": uuid.uuid5(uuid.NAMESPACE_OID, "member").hex,
                               "name": "member"}]
        self.send_json(201, {"token": token}, {"X-Subject-Token": issue_token()})

    def regions(self):
        self.server.stats.bump("region_requests")
        if not token_is_valid(self.headers.get("X-Auth-Token")):
            self.server.stats.bump("unauthorized_region_requests")
            return self.send_json(401, keystone_error(
                401, "Unauthorized",
                "The request you have made requires authentication."))
        base = self.base_url() + "/v3/regions"
        regions = [{
            "id": name,
            "description": "",
            "parent_region_id": None,
            "links": {"self": base + "/" + name},
        } for name in self.server.regions]
        self.send_json(200, {"regions": regions,
                             "links": {"self": base, "previous": None, "next": None}})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000,
                        help="0 picks a free port (see --port-file)")
    parser.add_argument("--port-file",
                        help="write the bound port here once listening (atomically)")
    parser.add_argument("--regions", default="RegionOne",
                        help="comma-separated region ids (default: RegionOne)")
    parser.add_argument("--password",
                        help="accept only this password (default: any except \"wrong\")")
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = parser.parse_args(argv)

    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer((args.host, args.port), KeystoneHandler)
    server.daemon_threads = True
    server.quiet = args.quiet
    server.password = args.password
    server.stats = Stats()
    server.regions = [r for r in args.regions.split(",") if r]
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    sys.stderr.write("keystone-stub: listening on http://%s:%d%s\n" % (args.host, port, PREFIX))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
