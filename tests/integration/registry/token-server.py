#!/usr/bin/env python3
"""A token server for docker-registry's `auth: token` on 127.0.0.1: answers
GET /token?service=S&scope=repository:NAME:ACTIONS with a JWT (RS256, signed
by `openssl dgst`, the certificate in its x5c header). With the right Basic
credentials every asked action is granted; anonymously, none; with wrong ones,
401. The answer carries the JWT as "access_token" (not "token").

usage: token-server.py KEY CERT ISSUER USER:PASS PORT_FILE
Writes the port it listens on to PORT_FILE; stops after 120 s by itself."""
import base64
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

key, cert, issuer, userpass, port_file = sys.argv[1:6]


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], check=True, capture_output=True).stdout


def jwt(service, sub, access):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    now = int(time.time())
    claims = {"iss": issuer, "sub": sub, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
              "jti": b64url(os.urandom(12)), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input, check=True,
                         capture_output=True).stdout
    return signing_input.decode() + "." + b64url(sig)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path != "/token":
            return self.reply(404, {})
        q = urllib.parse.parse_qs(url.query)
        auth = self.headers.get("Authorization", "")
        sub = ""
        if auth:
            if not auth.startswith("Basic ") or base64.b64decode(auth[6:]).decode() != userpass:
                return self.reply(401, {"details": "invalid credentials"})
            sub = userpass.split(":", 1)[0]
        access = []
        for scope in q.get("scope", []):
            parts = scope.split(":")
            if len(parts) == 3 and sub:
                access.append({"type": parts[0], "name": parts[1], "actions": parts[2].split(",")})
        self.reply(200, {"access_token": jwt(q.get("service", [""])[0], sub, access), "expires_in": 300})


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
threading.Timer(120, srv.shutdown).start()
srv.serve_forever()
