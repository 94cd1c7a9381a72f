"""mgtest - fixtures for mailgate's integration tests (loopback only).

Gateway  starts the real mailgated from the build tree with a temporary
         --state-dir and --socket, listeners on port 0 (the real ports are read
         back with `mailgatectl listen list --json`), and runs mailgatectl.
NextHop  a python3-aiosmtpd server on 127.0.0.1, port 0, recording every
         envelope and counting connections; it can be stopped and started
         again on the same port, and told to refuse recipients.
Trace    `mailgatectl trace` in the background, collecting lines.

Every process a test starts is stopped in tearDown, even when the test
fails (unittest runs addCleanup functions whatever happens).

Run by meson (one meson test per test case), or by hand:
  MG_BUILD_DIR=build /usr/bin/python3 -m unittest tests/integration/test_gateway.py
"""

import asyncio
import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from aiosmtpd.smtp import SMTP as AioSMTP

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_DIR = os.environ.get("MG_BUILD_DIR") or os.path.join(HERE, "..", "..", "build")
MAILGATED = os.path.join(BUILD_DIR, "service", "mailgated")
MAILGATECTL = os.path.join(BUILD_DIR, "service", "mailgatectl")


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Poll @predicate until it returns a true value; fail after @timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def free_port(host="127.0.0.1"):
    """A port that was free a moment ago (for tests that need a fixed number)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Gateway:
    """One mailgated under test."""

    def __init__(self, testcase, workdir=None):
        self.testcase = testcase
        self.workdir = workdir or tempfile.mkdtemp(prefix="mgtest-")
        self.state_dir = os.path.join(self.workdir, "state")
        self.socket = os.path.join(self.workdir, "control")
        self.log_path = os.path.join(self.workdir, "mailgated.log")
        self.proc = None
        self._log = None
        testcase.addCleanup(self._cleanup)

    # -- life cycle ------------------------------------------------------

    def start(self, listeners=("127.0.0.1:0",), settings=None, autostart=True, debug=False):
        """Start the daemon with nothing running, configure listeners and
        settings through the control socket, then start both services."""
        env = dict(os.environ)
        env["G_DEBUG"] = "fatal-criticals"
        env.setdefault("XDG_RUNTIME_DIR", self.workdir)
        args = [MAILGATED, "--state-dir", self.state_dir, "--socket", self.socket,
                "--profile", "user", "--no-autostart"]
        if debug:
            args.append("--debug")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        wait_until(self._answers, timeout=15, what="mailgated control socket")
        if listeners is not None:
            self.ctl("listen", "set", ",".join(listeners))
        for key, value in (settings or {}).items():
            self.ctl("config", "set", key, str(value))
        if autostart:
            self.ctl("start", "all")
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("mailgated exited with %s; log:\n%s" % (self.proc.returncode, self.log()))
        if not os.path.exists(self.socket):
            return False
        r = subprocess.run([MAILGATECTL, "--socket", self.socket, "status"],
                           capture_output=True, stdin=subprocess.DEVNULL)
        return r.returncode == 0

    def stop(self):
        """SIGTERM and wait: the daemon must shut down cleanly."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("mailgated did not stop on SIGTERM; log:\n" + self.log())
        self.proc = None
        self._log.close()
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        self._log.close()

    def restart(self):
        """Start again on the same state dir (config and queue kept)."""
        self.start(listeners=None, autostart=True)
        return self

    def _cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._log is not None and not self._log.closed:
            self._log.close()
        if os.environ.get("MG_KEEP_TMP"):
            print("kept", self.workdir)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- control ---------------------------------------------------------

    def ctl(self, *args, input=None, check=True, env=None, prefix=()):
        """Run mailgatectl; returns CompletedProcess (text)."""
        cmd = list(prefix) + [MAILGATECTL, "--socket", self.socket] + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, input=input,
                           env=env, timeout=30,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError("mailgatectl %s failed (%d): %s%s" %
                                 (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def bound(self):
        return self.ctl_json("listen", "list")["bound"]

    def port(self, index=0):
        addr = self.bound()[index]
        return int(addr.rsplit(":", 1)[1])

    def status(self):
        return self.ctl_json("status")

    # -- SMTP ------------------------------------------------------------

    def smtp(self, index=0, source=None, host=None):
        addr = self.bound()[index]
        h, p = addr.rsplit(":", 1)
        h = host or h.strip("[]")
        if h in ("0.0.0.0", "::"):
            h = "127.0.0.1"
        client = smtplib.SMTP(h, int(p), timeout=30,
                              source_address=(source, 0) if source else None)
        self.testcase.addCleanup(_quietly_close, client)
        return client


def _quietly_close(client):
    try:
        client.close()
    except Exception:
        pass


class _CountingSMTP(AioSMTP):
    def __init__(self, handler, hop, **kwargs):
        super().__init__(handler, **kwargs)
        self._hop = hop

    def connection_made(self, transport):
        with self._hop.lock:
            self._hop.connections += 1
        super().connection_made(transport)


class NextHop:
    """A real SMTP next hop (aiosmtpd) on loopback."""

    def __init__(self, testcase, host="127.0.0.1", port=0):
        self.host = host
        self.port = port
        self.messages = []          # (mail_from, [rcpts], content bytes)
        self.connections = 0
        self.refuse = {}            # rcpt -> "550 5.1.1 ..." reply
        self.data_reply = None      # e.g. "451 4.3.0 try later"
        self.lock = threading.Lock()
        self._loop = None
        self._server = None
        self._thread = None
        testcase.addCleanup(self.stop)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content))
        return "250 2.0.0 Ok: stored"

    def start(self):
        ready = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            factory = lambda: _CountingSMTP(self, self, decode_data=False,
                                            enable_SMTPUTF8=True)
            self._server = self._loop.run_until_complete(
                self._loop.create_server(factory, self.host, self.port, reuse_address=True))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise AssertionError("next hop did not start")
        return self

    def stop(self):
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = None
        self._thread = None

    def wait_for(self, count, timeout=20):
        wait_until(lambda: len(self.messages) >= count, timeout=timeout,
                   what="%d message(s) at the next hop (have %d)" % (count, len(self.messages)))
        return self.messages


class Trace:
    """`mailgatectl trace` running in the background."""

    def __init__(self, gateway):
        self.lines = []
        self.proc = subprocess.Popen([MAILGATECTL, "--socket", gateway.socket, "trace"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        gateway.testcase.addCleanup(self.stop)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text, timeout=10):
        return wait_until(lambda: [l for l in self.lines if text in l], timeout=timeout,
                          what="trace line containing %r" % text)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()


class GatewayTestCase(unittest.TestCase):
    """Base class: prints the daemon log of a failed test."""

    gateways = ()

    def run(self, result=None):
        self._gateways = []
        return super().run(result)

    def gateway(self, **kwargs):
        gw = Gateway(self)
        self._gateways.append(gw)
        return gw.start(**kwargs)

    def next_hop(self, **kwargs):
        return NextHop(self, **kwargs).start()

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        failed = outcome is not None and not outcome.success
        if failed:
            for gw in self._gateways:
                print("---- mailgated log (%s) ----\n%s" % (gw.workdir, gw.log()[-20000:]))
