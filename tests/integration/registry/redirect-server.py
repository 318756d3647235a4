#!/usr/bin/env python3
"""A registry whose blobs are redirected to another host, as registries send
clients to blob storage: on 127.0.0.1 it serves an OCI layout's manifest and
answers blob requests with a 307 to 127.0.0.2 (the same server's second
socket), which serves the bytes. Every request needs Basic credentials on
127.0.0.1 (401 without them). Each request is logged to LOG as
"HOST PATH AUTHORIZATION" so a test can see what was sent where.

usage: redirect-server.py LAYOUT_DIR USER:PASS LOG PORT_FILE
Writes the port (the same on both addresses) to PORT_FILE; stops after 60 s."""
import base64
import http.server
import json
import os
import sys
import threading

layout, userpass, log, port_file = sys.argv[1:5]
index = json.load(open(os.path.join(layout, "index.json")))
manifest_digest = index["manifests"][0]["digest"]
expected = "Basic " + base64.b64encode(userpass.encode()).decode()
lock = threading.Lock()


def blob(digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
        return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        host = self.server.server_address[0]
        auth = self.headers.get("Authorization", "-")
        with lock, open(log, "a") as f:
            f.write("%s %s %s\n" % (host, self.path, auth))
        port = self.server.server_address[1]
        if host == "127.0.0.2":
            if self.path.startswith("/storage/"):
                return self.send(200, blob(self.path.rsplit("/", 1)[1]))
            return self.send(404)
        if auth != expected:
            return self.send(401, b"{}", [("WWW-Authenticate", 'Basic realm="test"')])
        if self.path == "/v2/":
            return self.send(200, b"{}")
        if "/manifests/" in self.path:
            m = blob(manifest_digest)
            return self.send(200, m, [("Content-Type", json.loads(m)["mediaType"])])
        if "/blobs/" in self.path:
            d = self.path.rsplit("/", 1)[1]
            return self.send(307, b"", [("Location", "http://127.0.0.2:%d/storage/%s" % (port, d))])
        self.send(404)


first = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
port = first.server_address[1]
second = http.server.ThreadingHTTPServer(("127.0.0.2", port), Handler)
for s in (first, second):
    threading.Thread(target=s.serve_forever, daemon=True).start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(port))
os.rename(port_file + ".tmp", port_file)
threading.Event().wait(60)
