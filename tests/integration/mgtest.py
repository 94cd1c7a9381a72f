"""mgtest - fixtures for mailgate's integration tests (loopback only).

Gateway  starts the real mailgated from the build tree with a temporary
         --state-dir and --socket, listeners on port 0 (the real ports are read
         back with `mailgatectl listen list --json`), and runs mailgatectl.
NextHop  a python3-aiosmtpd server on 127.0.0.1, port 0, recording every
         envelope and counting connections; it can be stopped and started
         again on the same port, and told to refuse recipients.
Trace    `mailgatectl trace` in the background, collecting lines.
DnsServer  dnsmasq on 127.0.0.1 (free port) serving only the MX / A / raw
         records a test gives (the gateway's dns.forwarder points at it).

Every process a test starts is stopped in tearDown, even when the test
fails (unittest runs addCleanup functions whatever happens).

Run by meson (one meson test per test case), or by hand:
  MG_BUILD_DIR=build /usr/bin/python3 -m unittest tests/integration/test_gateway.py
"""

import asyncio
import json
import os
import pwd
import shutil
import resource
import signal
import smtplib
import socket
import ssl
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


class _NxDomainServer:
    """A loopback DNS responder answering NXDOMAIN to every query: the
    default dns.forwarder of every Gateway, so no test ever asks the real
    DNS (a failure report to example.org fails at once, as it should)."""

    _instance = None
    _lock = threading.Lock()

    @classmethod
    def forwarder(cls):
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return "127.0.0.1@%d" % cls._instance.port

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            query, peer = self.sock.recvfrom(4096)
            if len(query) < 12:
                continue
            end = 12
            while end < len(query) and query[end] != 0:
                end += query[end] + 1
            question = query[12:end + 5]
            flags = 0x8000 | (query[2] & 0x01) << 8 | 0x0080 | 3   # QR, RD copied, RA, NXDOMAIN
            header = query[:2] + flags.to_bytes(2, "big") + b"\x00\x01" + b"\x00" * 6
            self.sock.sendto(header + question, peer)


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

    def start(self, listeners=("127.0.0.1:0",), settings=None, autostart=True, debug=False,
              file_size_limit=None):
        """Start the daemon with nothing running, configure listeners and
        settings through the control socket, then start both services.
        file_size_limit: bytes no file of the daemon may grow past
        (RLIMIT_FSIZE, SIGXFSZ ignored): writes beyond fail with EFBIG, the
        way they fail with ENOSPC on a full disk."""
        if file_size_limit is not None:
            self._file_size_limit = file_size_limit
        env = dict(os.environ)
        env["G_DEBUG"] = "fatal-criticals"
        env.setdefault("XDG_RUNTIME_DIR", self.workdir)
        args = [MAILGATED, "--state-dir", self.state_dir, "--socket", self.socket,
                "--profile", "user", "--no-autostart"]
        if debug:
            args.append("--debug")
        self._log = open(self.log_path, "ab")
        limit = getattr(self, "_file_size_limit", None)

        def limit_files():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # inherited across exec
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env,
                                     preexec_fn=limit_files if limit is not None else None)
        wait_until(self._answers, timeout=15, what="mailgated control socket")
        if listeners is not None:
            self.ctl("listen", "set", ",".join(listeners))
            # never the real DNS (loopback only); tests with records give their own
            if "dns.forwarder" not in (settings or {}):
                self.ctl("config", "set", "dns.forwarder", _NxDomainServer.forwarder())
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
        """Stop the daemon the way systemd does (SIGTERM) and insist on a
        clean exit: a crash at shutdown, or a sanitizer report (leaks are
        checked at exit in the sanitize setup), fails the test."""
        problem = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=30)
                if rc != 0:
                    problem = "mailgated exited with status %d after SIGTERM" % rc
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problem = "mailgated did not stop within 30 s of SIGTERM"
        if self._log is not None and not self._log.closed:
            self._log.close()
        if problem is not None:
            log = self.log()
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise AssertionError("%s; log:\n%s" % (problem, log[-20000:]))
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

    def log_file(self, kind):
        """STATE_DIR/log/KIND.log (accept, receive, sender, fail) as text."""
        try:
            with open(os.path.join(self.state_dir, "log", kind + ".log"), "rb") as f:
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


def make_certificate(directory, name="localhost"):
    """A self-signed certificate and key made with the openssl CLI;
    returns (cert path, key path)."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=" + name, "-keyout", key, "-out", cert],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return cert, key


class NextHop:
    """A real SMTP next hop (aiosmtpd) on loopback.

    tls=True offers STARTTLS with a certificate made at setup; auth={user:
    password} offers AUTH PLAIN and LOGIN (by default only after STARTTLS;
    auth_require_tls=False offers it in clear too; auth_exclude=["PLAIN"]
    leaves a mechanism out).  Successful logins are kept in `logins`
    (mechanism, user); every accepted message records in `tls_used` whether
    its session was encrypted."""

    def __init__(self, testcase, host="127.0.0.1", port=0, tls=False, auth=None,
                 auth_require_tls=True, auth_exclude=()):
        self.host = host
        self.port = port
        self.tls_context = None
        if tls:
            workdir = tempfile.mkdtemp(prefix="mgtest-cert-")
            testcase.addCleanup(shutil.rmtree, workdir, True)
            cert, key = make_certificate(workdir)
            self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls_context.load_cert_chain(cert, key)
        self.auth = auth
        self.auth_require_tls = auth_require_tls
        self.auth_exclude = list(auth_exclude)
        self.logins = []            # (mechanism, user) of successful AUTH
        self.tls_used = []          # per accepted message: was the session encrypted
        self.messages = []          # (mail_from, [rcpts], content bytes)
        self.connections = 0
        self.refuse = {}            # rcpt -> "550 5.1.1 ..." reply
        self.data_reply = None      # e.g. "451 4.3.0 try later"
        self.data_delay = 0         # seconds before the reply to the message data
        self.data_started = 0       # message data received (before the delay)
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
        with self.lock:
            self.data_started += 1
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content))
            self.tls_used.append(session.ssl is not None)
        return "250 2.0.0 Ok: stored"

    def start(self):
        ready = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            options = {}
            if self.tls_context is not None:
                options["tls_context"] = self.tls_context
            if self.auth is not None:
                options.update(authenticator=self._authenticate,
                               auth_require_tls=self.auth_require_tls,
                               auth_exclude_mechanism=self.auth_exclude)
            factory = lambda: _CountingSMTP(self, self, decode_data=False,
                                            enable_SMTPUTF8=True, **options)
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

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult
        user = auth_data.login.decode("utf-8", "replace")
        ok = self.auth.get(user) == auth_data.password.decode("utf-8", "replace")
        if ok:
            with self.lock:
                self.logins.append((mechanism, user))
        return AuthResult(success=ok, handled=False)

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


DNSMASQ = "/usr/sbin/dnsmasq"


def free_udp_tcp_port(host="127.0.0.1"):
    """A port free for both UDP and TCP a moment ago (a DNS server needs both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
                return port


class DnsServer:
    """A real DNS server (dnsmasq) on 127.0.0.1 with the records a test
    gives; only they exist: every other name under @local_domains is
    NXDOMAIN, and nothing is forwarded anywhere.

    mx: [(domain, host, preference)]  hosts: [(name, address)]
    raw: [(name, rrtype, hex rdata)]  e.g. ("nullmx.test", 15, "000000")
    txt: [(name, text)]  e.g. ("a.dnstest", "v=spf1 ip4:127.0.0.1 -all")
    Use `forwarder` as the gateway's dns.forwarder setting."""

    def __init__(self, testcase, mx=(), hosts=(), raw=(), txt=(), local_domains=("dnstest",), ttl=60):
        self.proc = None
        self.port = None
        self.args = ["--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                     "--pid-file=", "--listen-address=127.0.0.1", "--bind-interfaces",
                     "--local-ttl=%d" % ttl, "--log-facility=-", "--log-queries",
                     "--user=" + pwd.getpwuid(os.getuid()).pw_name]
        self.args += ["--local=/%s/" % d for d in local_domains]
        self.args += ["--mx-host=%s,%s,%d" % r for r in mx]
        self.args += ["--host-record=%s,%s" % r for r in hosts]
        self.args += ["--dns-rr=%s,%d,%s" % r for r in raw]
        self.args += ["--txt-record=%s,%s" % r for r in txt]   # no commas in the text
        self.output = tempfile.TemporaryFile()
        testcase.addCleanup(self.stop)

    @property
    def forwarder(self):
        return "127.0.0.1@%d" % self.port

    def start(self):
        for _ in range(5):
            self.port = free_udp_tcp_port()
            self.proc = subprocess.Popen([DNSMASQ, "--port=%d" % self.port] + self.args,
                                         stdout=self.output, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
            try:
                wait_until(self._listening, timeout=10, what="dnsmasq")
                return self
            except _Exited:
                continue      # the port was taken meanwhile: another one
        raise AssertionError("dnsmasq did not start:\n" + self.log())

    def _listening(self):
        if self.proc.poll() is not None:
            raise _Exited()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def log(self):
        self.output.seek(0)
        return self.output.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if not self.output.closed:
            self.output.close()


class _Exited(Exception):
    pass


class Trace:
    """`mailgatectl trace` running in the background."""

    def __init__(self, gateway):
        self.lines = []
        self._gateway = gateway
        self.proc = subprocess.Popen([MAILGATECTL, "--socket", gateway.socket, "trace"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        gateway.testcase.addCleanup(self.stop)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_ready(self, timeout=10):
        """Poll until the subscription is live: each poll opens an SMTP
        connection to the gateway (traced) until a trace line arrives."""
        def poke():
            client = self._gateway.smtp()
            client.quit()
            return len(self.lines) > 0
        wait_until(poke, timeout=timeout, interval=0.1, what="trace subscription")
        return self

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


class TestCA:
    """A throw-away certificate authority made with the openssl CLI in
    @directory, and server certificates it signs (for 127.0.0.1 and a name).
    client_context() trusts only this CA."""

    def __init__(self, directory):
        self.dir = directory
        self.cert = os.path.join(directory, "ca.pem")
        self.key = os.path.join(directory, "ca.key")
        self._serial = 0
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                      "-subj", "/CN=mailgate test CA",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def _openssl(self, *args):
        r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        if r.returncode != 0:
            raise AssertionError("openssl %s failed: %s" % (args[0], r.stderr))

    def issue(self, name="mx.test.example", stem=None):
        """A server certificate + key signed by the CA: (cert path, key path)."""
        self._serial += 1
        stem = stem or "server%d" % self._serial
        cert = os.path.join(self.dir, stem + ".pem")
        key = os.path.join(self.dir, stem + ".key")
        csr = os.path.join(self.dir, stem + ".csr")
        ext = os.path.join(self.dir, stem + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid,issuer\n"
                    "subjectAltName=DNS:%s,IP:127.0.0.1,IP:::1\n" % name)
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                      "-set_serial", str(1000 + self._serial), "-days", "2",
                      "-extfile", ext, "-out", cert)
        return cert, key

    def client_context(self):
        import ssl
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx


def smtp_tls(gateway, index=0, context=None):
    """smtplib.SMTP_SSL to the gateway's listener @index (implicit TLS)."""
    addr = gateway.bound()[index]
    h, p = addr.rsplit(":", 1)
    h = h.strip("[]")
    if h in ("0.0.0.0", "::"):
        h = "127.0.0.1"
    client = smtplib.SMTP_SSL(h, int(p), timeout=30, context=context)
    gateway.testcase.addCleanup(_quietly_close, client)
    return client


def read_reply(sock_file):
    """One (possibly multi-line) SMTP reply from a file made by
    socket.makefile('rb'): (code, [lines])."""
    lines = []
    while True:
        line = sock_file.readline()
        if not line:
            raise AssertionError("connection closed after %r" % lines)
        lines.append(line.decode("latin-1").rstrip("\r\n"))
        if len(line) < 4 or line[3:4] != b"-":
            return int(lines[-1][:3]), lines


def process_rss_kib(pid):
    """VmRSS of process @pid in KiB (from /proc)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


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

    def dns_server(self, **kwargs):
        return DnsServer(self, **kwargs).start()

    def tearDown(self):
        outcome = getattr(self, "_outcome", None)
        failed = outcome is not None and not outcome.success
        if failed:
            for gw in self._gateways:
                print("---- mailgated log (%s) ----\n%s" % (gw.workdir, gw.log()[-20000:]))
