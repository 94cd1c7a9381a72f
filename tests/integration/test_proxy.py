"""Scale-out (issue 7 item 8): gateways behind a real HAProxy on loopback.

HAProxy passes the client's real address in a PROXY protocol header (v1
"send-proxy", v2 "send-proxy-v2"); mailgated believes it only from the
addresses in receiver.proxy_trusted and then uses it for policy, trace and
logs.  The client connects from 127.0.0.9; HAProxy itself is 127.0.0.1.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
import unittest

import smtplib

from mgtest import GatewayTestCase, TestCA, Trace, free_port, wait_until

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
SENDER = "alice@example.org"
BODY = b"Subject: via haproxy\r\n\r\nhello\r\n"


class HAProxy:
    def __init__(self, testcase, backend_port, mode):
        self.port = free_port()
        self.cfg = os.path.join(testcase._gateways[0].workdir, "haproxy.cfg")
        with open(self.cfg, "w") as f:
            f.write("""global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend smtp
    bind 127.0.0.1:%d
    default_backend gateways
backend gateways
    server gw1 127.0.0.1:%d %s
""" % (self.port, backend_port, mode))
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        testcase.addCleanup(self.stop)
        wait_until(self._listening, what="haproxy listening")

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError("haproxy exited: %s" % self.proc.stderr.read().decode())
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()


class BehindHAProxy(GatewayTestCase):

    def setUp(self):
        self.outside = self.next_hop()
        self.gw = self.gateway()
        self.gw.ctl("config", "set", "delivery.smarthost", "127.0.0.1:%d" % self.outside.port)
        self.gw.ctl("relay", "add", "127.0.0.9", "allow")   # only the real client may relay

    def relay_via(self, port):
        client = __import__("smtplib").SMTP("127.0.0.1", port, timeout=30,
                                            source_address=("127.0.0.9", 0))
        self.addCleanup(client.close)
        client.ehlo("client.example.org")
        client.mail(SENDER)
        code = client.rcpt("friend@elsewhere.example")[0]
        if code == 250:
            self.assertEqual(client.data(BODY)[0], 250)
        client.quit()
        return code

    def check(self, mode):
        self.gw.ctl("config", "set", "receiver.proxy_trusted", "127.0.0.1")
        proxy = HAProxy(self, self.gw.port(), mode)
        trace = Trace(self.gw)
        time.sleep(0.3)
        self.assertEqual(self.relay_via(proxy.port), 250)
        (mail_from, rcpts, content), = self.outside.wait_for(1)
        self.assertIn(b"[127.0.0.9]", content)          # Received: names the real client
        trace.wait_for("client [127.0.0.9]")
        wait_until(lambda: "via=127.0.0.1" in self.gw.ctl("log", "tail", "accept").stdout,
                   what="the accept log line with the load balancer")

    def test_proxy_v2_real_client_address_used(self):
        self.check("send-proxy-v2")

    def test_proxy_v1_real_client_address_used(self):
        self.check("send-proxy")

    def test_proxy_before_implicit_tls(self):
        """The PROXY header is read exactly (nothing of the TLS ClientHello
        behind it), so an implicit-TLS listener works behind HAProxy too."""
        ca = TestCA(self.gw.workdir)
        cert, key = ca.issue()
        self.gw.ctl("config", "set", "tls.cert", cert)
        self.gw.ctl("config", "set", "tls.key", key)
        self.gw.ctl("listen", "set", "127.0.0.1:0,127.0.0.1:0/tls")
        self.gw.ctl("config", "set", "receiver.proxy_trusted", "127.0.0.1")
        proxy = HAProxy(self, self.gw.port(1), "send-proxy-v2")
        client = smtplib.SMTP_SSL("127.0.0.1", proxy.port, timeout=30,
                                  context=ca.client_context(), source_address=("127.0.0.9", 0))
        self.addCleanup(client.close)
        code, text = client.ehlo("client.example.org")
        self.assertEqual(code, 250)
        self.assertIn(b"[127.0.0.9]", text)

    def test_untrusted_proxy_header_not_believed(self):
        """Without receiver.proxy_trusted, HAProxy's own address (127.0.0.1)
        is the client: not allowed to relay, and the header is no command."""
        proxy = HAProxy(self, self.gw.port(), "send-proxy")
        code = None
        try:
            code = self.relay_via(proxy.port)
        except Exception:
            pass   # the gateway may refuse the header line as a command
        self.assertNotEqual(code, 250)
        self.assertEqual(self.outside.messages, [])

    def test_trusted_peer_without_header_is_closed(self):
        """From a trusted address, anything but a PROXY header closes."""
        self.gw.ctl("config", "set", "receiver.proxy_trusted", "127.0.0.1/32")
        with socket.create_connection(("127.0.0.1", self.gw.port()), timeout=10) as s:
            s.sendall(b"EHLO not-a-proxy.example\r\n")
            s.settimeout(10)
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""   # closed with our line unread: a reset
            self.assertEqual(data, b"")   # closed, no greeting
        self.assertEqual(self.gw.smtp(source="127.0.0.2").noop()[0], 250)

    def test_setting_validated(self):
        r = self.gw.ctl("config", "set", "receiver.proxy_trusted", "lb.example", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("receiver.proxy_trusted", r.stderr)
        self.gw.ctl("config", "set", "receiver.proxy_trusted", "127.0.0.1, 10.0.0.0/8")
        self.assertEqual(self.gw.ctl("config", "get", "receiver.proxy_trusted").stdout.strip(),
                         "127.0.0.1,10.0.0.0/8")


if __name__ == "__main__":
    unittest.main()
