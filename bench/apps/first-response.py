#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Start-up time to first response: starts CMD, polls http://127.0.0.1:PORT/ every 2 ms until a 200 arrives,
# prints the milliseconds, then stops CMD (SIGTERM, then SIGKILL). Usage: first-response.py PORT CMD...
import http.client, os, signal, subprocess, sys, time

port, cmd = int(sys.argv[1]), sys.argv[2:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
elapsed = None
while time.monotonic() - t0 < 60 and p.poll() is None:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/")
        if c.getresponse().status == 200:
            elapsed = (time.monotonic() - t0) * 1000
            break
    except OSError:
        time.sleep(0.002)
try:
    os.killpg(p.pid, signal.SIGTERM)
    p.wait(10)
except (ProcessLookupError, subprocess.TimeoutExpired):
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()
if elapsed is None:
    sys.exit("no response from %s" % " ".join(cmd))
print("%.1f" % elapsed)
