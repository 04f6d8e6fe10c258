# SPDX-License-Identifier: Apache-2.0
# The wrapped test and demo application: an HTTPS service (policy-CA certificate, optional client
# certificates) that counts visits in its encrypted volume, or a client that calls it with mutual TLS.
# Its arguments come from the attestation service: ROLE PORT [PEER].
import http.server
import os
import ssl
import sys

role, port = sys.argv[1], int(sys.argv[2])
password = os.environ.get("DB_PASSWORD", "")
# never print a secret: its length proves it arrived
print("app: db password received: %d characters" % len(password), flush=True)
for name in ("/etc/tls/cert.pem", "/etc/tls/key.pem", "/etc/tls/ca.pem"):
    print("app: %s: %d bytes" % (name, len(open(name).read())), flush=True)

if role == "client":
    import socket
    ctx = ssl.create_default_context(cafile="/etc/tls/ca.pem")
    ctx.load_cert_chain("/etc/tls/cert.pem", "/etc/tls/key.pem")
    peer = sys.argv[3]  # the name in the peer's certificate; the address is loopback (no resolver in the image)
    for path in ("/hello", "/quit"):
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=peer) as s:
            s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, peer)).encode())
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
        print("app: reply from %s: %s" % (peer, reply.split(b"\r\n\r\n", 1)[-1].decode().strip()), flush=True)
    sys.exit(0)


def visit():
    os.makedirs("/data", exist_ok=True)
    try:
        count = int(open("/data/visits").read())
    except FileNotFoundError:
        count = 0
    with open("/data/visits", "w") as f:
        f.write(str(count + 1))
        f.flush()
        os.fsync(f.fileno())  # veil-run writes the volume back and reports its version before this returns
    return count + 1


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        cert = self.connection.getpeercert()
        who = dict(x[0] for x in cert["subject"])["commonName"] if cert else "anonymous"
        body = ("hello %s, visit %d\n" % (who, visit())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.path == "/quit":
            self.server.done = True

    def log_message(self, *args):
        pass


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain("/etc/tls/cert.pem", "/etc/tls/key.pem")
ctx.load_verify_locations("/etc/tls/ca.pem")
ctx.verify_mode = ssl.CERT_OPTIONAL  # clients of the policy CA are named; others are served as anonymous
server = http.server.HTTPServer(("127.0.0.1", port), Handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.done = False
print("app: serving https on 127.0.0.1:%d" % port, flush=True)
while not server.done:
    server.handle_request()
