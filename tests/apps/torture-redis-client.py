#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# The torture test's Redis client: `check` compares the server with every acknowledged write so far, `load` writes
# until the connection dies and records what the server acknowledged. State: a JSON file (host side).
import json, os, socket, sys

KEYS = 1000

def load_state(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"next": 1, "acked": {}}

def save_state(path, state):
    with open(path + ".tmp", "w") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(path + ".tmp", path)

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")
    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.reply()
    def reply(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+": return rest.decode()
        if kind == b"-": raise RuntimeError(rest.decode())
        if kind == b":": return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0: return None
            data = self.f.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise RuntimeError("bad reply %r" % line)

def check(port, state):
    c = Conn(port)
    keys = sorted(state["acked"], key=int)
    bad = 0
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        values = c.call("MGET", *["k:" + k for k in chunk])
        for k, v in zip(chunk, values):
            acked = state["acked"][k]
            # the last acknowledged write, or the one write in flight when the server died
            if v is None or not (acked <= int(v) < state["next"]):
                bad += 1
                if bad <= 5:
                    print("lost: k:%s is %r, acknowledged %d" % (k, v, acked))
    print("checked %d keys, %d lost" % (len(keys), bad))
    return bad == 0

def load(port, state, path):
    try:
        c = Conn(port)
        while True:
            seq = state["next"]
            state["next"] = seq + 1  # in flight from here on
            if c.call("SET", "k:%d" % (seq % KEYS), seq) != "OK":
                break
            state["acked"][str(seq % KEYS)] = seq
    except (OSError, ConnectionError, RuntimeError):
        pass
    finally:
        save_state(path, state)

if __name__ == "__main__":
    mode, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    state = load_state(path)
    if mode == "check":
        sys.exit(0 if check(port, state) else 1)
    load(port, state, path)
