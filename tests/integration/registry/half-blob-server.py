#!/usr/bin/env python3
"""A registry that stops mid-layer: serves an OCI layout's manifest and
blobs on 127.0.0.1, but sends only half of every layer blob (with the full
Content-Length) and closes the connection.

usage: half-blob-server.py LAYOUT_DIR PORT_FILE [stall]
With "stall", it keeps the connection open after the half instead.
Writes the port it listens on to PORT_FILE; stops after 60 s by itself."""
import http.server
import json
import os
import sys
import threading
import time

layout, port_file = sys.argv[1], sys.argv[2]
stall = sys.argv[3:] == ["stall"]
index = json.load(open(os.path.join(layout, "index.json")))
manifest_digest = index["manifests"][0]["digest"]


def blob(digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
        return f.read()


manifest = json.loads(blob(manifest_digest))
layers = {layer["digest"] for layer in manifest["layers"]}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, body, ctype="application/octet-stream", cut=False):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if stall:
                time.sleep(30)
            self.close_connection = True
            return
        self.wfile.write(body)

    def do_GET(self):
        p = self.path
        if p == "/v2/":
            self.send(b"{}", "application/json")
        elif "/manifests/" in p:
            self.send(blob(manifest_digest), manifest["mediaType"])
        elif "/blobs/" in p:
            d = p.rsplit("/", 1)[1]
            self.send(blob(d), cut=d in layers)
        else:
            self.send_error(404)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
threading.Timer(60, srv.shutdown).start()
srv.serve_forever()
