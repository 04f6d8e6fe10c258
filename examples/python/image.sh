# SPDX-License-Identifier: Apache-2.0
# Debian's python3 running a small web service (http.server, threaded) whose code and data file are encrypted;
# it reads a JSON data file and appends posted records to a log with fsync.

PORT=${PYTHON_PORT:-17500}
PORTS=("$PORT")
WRAP_ARGS=(--entrypoint /usr/bin/python3 --arg -u --arg /app/server.py --env PATH=/usr/bin -w /app --user 1000:1000
  --encrypt /app --encrypt /data)
EXERCISED="threaded http.server (user 1000) from encrypted code; reads an encrypted JSON data file; POSTs appended to an encrypted log with fsync; 100 concurrent requests; restart reads the log back"
SENTINEL=VEIL-PYTHON-SENTINEL-c0d4
version() { deb_version python3.11; }

build_root() {
  local root=$1
  python_root "$root"
  add_user "$root" app 1000 1000 /app
  mkdir -p "$root/app" "$root/data"
  chown 1000:1000 "$root/data"
  echo "{\"greeting\": \"$SENTINEL\", \"items\": [1, 2, 3]}" > "$root/data/data.json"
  cat > "$root/app/server.py" <<PY
import json, os, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

DATA = json.load(open("/data/data.json"))
LOG = "/data/posts.log"
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/data":
            self.reply(200, json.dumps(DATA).encode())
        elif self.path == "/posts":
            try:
                self.reply(200, open(LOG, "rb").read())
            except FileNotFoundError:
                self.reply(200, b"")
        else:
            self.reply(404, b"no")
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with lock, open(LOG, "ab") as f:
            f.write(body + b"\n")
            f.flush()
            os.fsync(f.fileno())
        self.reply(201, b"stored")

ThreadingHTTPServer(("127.0.0.1", $PORT), Handler).serve_forever()
PY
}

ready() { curl -sf -o /dev/null "http://127.0.0.1:$PORT/data"; }

smoke() {
  check "the service answers from its encrypted data file" bash -c "curl -sf http://127.0.0.1:$PORT/data | grep -q $SENTINEL"
  check "100 concurrent POSTs are stored (fsync'd to an encrypted log)" \
    bash -c "seq 100 | xargs -P 10 -I{} curl -sf -o /dev/null -d '$SENTINEL-post-{}' http://127.0.0.1:$PORT/posts &&
             [ \"\$(curl -sf http://127.0.0.1:$PORT/posts | grep -c $SENTINEL-post-)\" = 100 ]"
  check "the code, data and log on disk are ciphertext" \
    bash -c "! grep -qa -e ThreadingHTTPServer '$(host_path /app/server.py)' && ! grep -qa $SENTINEL '$(host_path /data/posts.log)'"
}

after_restart() {
  check "after a restart the 100 posts are still there" \
    bash -c "[ \"\$(curl -sf http://127.0.0.1:$PORT/posts | grep -c $SENTINEL-post-)\" = 100 ]"
}
