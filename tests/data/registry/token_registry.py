#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A minimal registry with bearer-token auth, for client tests.

Usage: token_registry.py PORT USER PASSWORD

It serves one OCI manifest as demo/app:v1, behind a Docker-style token
service at /token that accepts HTTP basic auth with USER and PASSWORD and
returns {"access_token": ...}. demo/flaky:v1 responds with 503 twice before
serving the same manifest. POST /revoke invalidates every token (an
expiry), GET /stats returns counters as JSON.
"""
import base64
import hashlib
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PORT, USER, PASSWORD = int(sys.argv[1]), sys.argv[2], sys.argv[3]
MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": "sha256:" + "1" * 64, "size": 2},
    "layers": [],
}).encode()
state = {"issued": 0, "valid": set(), "scopes": [], "flaky_left": 2}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_POST(self):
        if self.path == "/revoke":
            state["valid"].clear()
            return self.reply(200)
        self.reply(404)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/stats":
            body = {"issued": state["issued"], "scopes": state["scopes"]}
            return self.reply(200, json.dumps(body).encode())
        if url.path == "/token":
            return self.token(parse_qs(url.query))
        if url.path == "/v2/demo/flaky/manifests/v1" and state["flaky_left"] > 0:
            state["flaky_left"] -= 1
            return self.reply(503, b'{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}')
        if url.path not in ("/v2/demo/app/manifests/v1", "/v2/demo/flaky/manifests/v1"):
            return self.reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in state["valid"]:
            repository = url.path.split("/")[3]
            challenge = (f'Bearer realm="http://127.0.0.1:{PORT}/token",service="fake-registry",'
                         f'scope="repository:demo/{repository}:pull"')
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                              {"WWW-Authenticate": challenge})
        digest = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
        self.reply(200, MANIFEST, {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                                   "Docker-Content-Digest": digest})

    def token(self, query):
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected or query.get("service") != ["fake-registry"]:
            return self.reply(401, b'{"details":"incorrect username or password"}')
        state["issued"] += 1
        state["scopes"] += query.get("scope", [])
        token = f"token-{state['issued']}"
        state["valid"].add(token)
        self.reply(200, json.dumps({"access_token": token, "expires_in": 300}).encode())


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
