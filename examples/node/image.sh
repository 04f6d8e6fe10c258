# SPDX-License-Identifier: Apache-2.0
# Debian's Node.js running an HTTP service whose code (two modules) is encrypted, as user 1000, with its worker
# threads (libuv's pool: crypto and file system calls) busy.

PORT=${NODE_PORT:-17300}
PORTS=("$PORT")
WRAP_ARGS=(--entrypoint /usr/bin/node --arg /app/server.js --env NODE_ENV=production -w /app --user 1000:1000
  --encrypt /app)
EXERCISED="HTTP service from encrypted code (require of an encrypted module, fs.readFile of an encrypted file); libuv thread pool (pbkdf2, async fs); 200 concurrent requests; user 1000"
SENTINEL=VEIL-NODE-SENTINEL-5e8f
version() { deb_version nodejs; }

build_root() {
  local root=$1
  base_root "$root"
  copy_binary "$root" /usr/bin/node
  add_user "$root" app 1000 1000 /app
  mkdir -p "$root/app"
  echo "$SENTINEL" > "$root/app/message.txt"
  cat > "$root/app/lib.js" <<JS
const crypto = require('crypto');
exports.hash = (s, done) => crypto.pbkdf2(s, 'veil', 1000, 32, 'sha256', (e, k) => done(e, k && k.toString('hex')));
JS
  cat > "$root/app/server.js" <<JS
const http = require('http');
const fs = require('fs');
const lib = require('./lib');
http.createServer((req, res) => {
  if (req.url === '/message') {
    fs.readFile('/app/message.txt', 'utf8', (err, text) => { res.end(err ? 'error ' + err.code : text); });
  } else if (req.url === '/hash') {
    lib.hash('x', (err, hex) => res.end(err ? 'error' : hex));
  } else {
    res.end('hello from node ' + process.version + '\n');
  }
}).listen($PORT, '127.0.0.1');
JS
}

ready() { curl -sf -o /dev/null "http://127.0.0.1:$PORT/"; }

smoke() {
  check "node answers, from an encrypted file read by the thread pool" \
    bash -c "curl -sf http://127.0.0.1:$PORT/message | grep -q $SENTINEL"
  check "an encrypted module (require) works: pbkdf2 on the thread pool" \
    bash -c "[ \"\$(curl -sf http://127.0.0.1:$PORT/hash | wc -c)\" = 64 ]"
  check "200 concurrent requests succeed" \
    bash -c "seq 200 | xargs -P 20 -I{} curl -sf -o /dev/null http://127.0.0.1:$PORT/message"
  check "the code on disk is ciphertext" \
    bash -c "! grep -qa createServer '$(host_path /app/server.js)' && ! grep -qa pbkdf2 '$(host_path /app/lib.js)'"
}
