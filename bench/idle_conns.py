"""idle_conns - hold N idle SMTP connections open to HOST:PORT (bench/run's
concurrency test).

Opens the connections one after another, reads each greeting (it must be a
220), prints "OPEN <n>" on stdout and then holds them, sending nothing, until
a line (or EOF) arrives on stdin or HOLD seconds have passed. Then it closes
every connection and exits. Bounded: each connect/greeting has a 10 s
timeout, the whole run OPEN_DEADLINE s to open.

Usage: python3 idle_conns.py HOST PORT N [HOLD]
"""

import resource
import select
import socket
import sys
import time

OPEN_DEADLINE = 120.0


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    hold = float(sys.argv[4]) if len(sys.argv) > 4 else 300.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 64
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            print("FAIL RLIMIT_NOFILE hard limit %d < %d" % (hard, want), flush=True)
            return 1
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))

    conns = []
    deadline = time.monotonic() + OPEN_DEADLINE
    try:
        for _ in range(count):
            if time.monotonic() > deadline:
                print("FAIL deadline after %d connections" % len(conns), flush=True)
                return 1
            s = socket.create_connection((host, port), timeout=10)
            conns.append(s)
            greeting = s.recv(512)
            if not greeting.startswith(b"220"):
                print("FAIL connection %d greeted with %r" % (len(conns), greeting[:80]), flush=True)
                return 1
        print("OPEN %d" % len(conns), flush=True)
        select.select([sys.stdin], [], [], hold)
        return 0
    except OSError as e:
        print("FAIL after %d connections: %s" % (len(conns), e), flush=True)
        return 1
    finally:
        for s in conns:
            s.close()


if __name__ == "__main__":
    sys.exit(main())
