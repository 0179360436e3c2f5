# SPDX-License-Identifier: Apache-2.0
"""A small JSON HTTP service with a health endpoint.

It handles SIGTERM itself: as PID 1 in a container, Python would otherwise
ignore the signal and `podman stop` would wait for its kill timeout.
"""

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import backend_native

from app import __version__


class Handler(BaseHTTPRequestHandler):
    server_version = "backend/" + __version__

    def do_GET(self):
        if self.path == "/api/v1/health":
            self.send_json(200, {"status": "ok", "version": __version__})
        elif self.path.startswith("/api/v1/checksum/"):
            text = self.path[len("/api/v1/checksum/"):]
            self.send_json(200, {"input": text, "adler32": backend_native.adler32(text.encode())})
        else:
            self.send_json(404, {"error": "not found", "path": self.path})

    def send_json(self, status, body):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))


def main():
    port = int(os.environ.get("PORT", "8000"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)

    def stop(signum, frame):
        # shutdown() blocks until serve_forever returns, so call it from
        # another thread than the one serving.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("listening on port %d" % port, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
