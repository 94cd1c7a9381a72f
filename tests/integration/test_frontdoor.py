"""The front door: SMTP AUTH, TLS, anti-relay, sender protection, hostile input.

Real clients against the real mailgated on loopback: smtplib (STARTTLS,
SMTP_SSL, AUTH PLAIN / LOGIN / CRAM-MD5), ssl, and raw sockets for what
no polite client sends.  TLS uses a CA made at test time with the openssl
CLI (mgtest.TestCA).  Requirement ids point to ../shared/SPEC.md.
"""
import os
import smtplib
import socket
import ssl
import threading
import time

from mgtest import (GatewayTestCase, TestCA, Trace, free_port, process_rss_kib, read_reply,
                    smtp_tls, wait_until)

SENDER = "someone@example.org"
BODY = (b"From: someone@example.org\r\n"
        b"To: user1@corp.example\r\n"
        b"Subject: front door\r\n"
        b"\r\n"
        b"Hello.\r\n")


def ehlo_keywords(client):
    code, text = client.ehlo("client.example.org")
    assert code == 250, (code, text)
    return [line.split(b" ")[0].decode().upper() for line in text.split(b"\n")[1:]], text


class FrontDoorBase(GatewayTestCase):
    """corp.example (one local domain) with user1 (password) and user2
    (none), routed to an aiosmtpd next hop that is also the smart host;
    a TLS certificate from a test CA."""

    def setUp(self):
        self.hop = self.next_hop()
        self.gw = self.gateway(listeners=self.listeners())
        self.ca = TestCA(self.gw.workdir)
        self.cert, self.key = self.ca.issue()
        ctl = self.gw.ctl
        ctl("domain", "add", "corp.example")
        ctl("user", "add", "user1@corp.example", "--password-stdin", input="pass one\n")
        ctl("user", "add", "user2@corp.example")
        ctl("route", "add", "corp.example", "127.0.0.1", str(self.hop.port))
        ctl("config", "set", "delivery.smarthost", "127.0.0.1:%d" % self.hop.port)
        ctl("config", "set", "tls.cert", self.cert)
        ctl("config", "set", "tls.key", self.key)

    def listeners(self):
        return ("127.0.0.1:0",)

    def raw(self, index=0):
        """A raw socket to listener @index, greeting read: (socket, file)."""
        port = self.gw.port(index)
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.addCleanup(f.close)
        code, _ = read_reply(f)
        self.assertEqual(code, 220)
        return s, f

    def command(self, s, f, line):
        s.sendall(line if isinstance(line, bytes) else line.encode() + b"\r\n")
        return read_reply(f)


class Tls(FrontDoorBase):
    """R-1.1, R-1.2: STARTTLS, implicit TLS, protocol floor, reload."""

    def listeners(self):
        return ("127.0.0.1:0", "127.0.0.1:0/tls")

    def test_starttls_then_mail(self):
        """STARTTLS is offered, the certificate verifies against the test CA,
        and the forwarded Received: says ESMTPS."""
        client = self.gw.smtp()
        keywords, _ = ehlo_keywords(client)
        self.assertIn("STARTTLS", keywords)
        self.assertNotIn("AUTH", keywords)        # not before TLS
        code, _ = client.starttls(context=self.ca.client_context())
        self.assertEqual(code, 220)
        self.assertIn(client.sock.version(), ("TLSv1.2", "TLSv1.3"))
        keywords, _ = ehlo_keywords(client)
        self.assertNotIn("STARTTLS", keywords)
        self.assertIn("AUTH", keywords)
        client.sendmail(SENDER, ["user1@corp.example"], BODY)
        msgs = self.hop.wait_for(1)
        self.assertIn(b" with ESMTPS id ", msgs[0][2])

    def test_implicit_tls_listener(self):
        """An "ADDR:PORT/tls" listener hand-shakes before the greeting."""
        client = smtp_tls(self.gw, 1, context=self.ca.client_context())
        keywords, _ = ehlo_keywords(client)
        self.assertNotIn("STARTTLS", keywords)
        self.assertIn("AUTH", keywords)
        client.login("user1@corp.example", "pass one")
        client.sendmail(SENDER, ["friend@elsewhere.example"], BODY)   # authenticated: relays
        msgs = self.hop.wait_for(1)
        self.assertEqual(msgs[0][1], ["friend@elsewhere.example"])
        self.assertIn(b" with ESMTPSA id ", msgs[0][2])

    def test_listener_switches_to_implicit_tls_live(self):
        """`listen set ADDR:PORT/tls` turns a running port into an implicit-TLS
        port without a restart (and back); a bad marker is refused."""
        port = free_port()
        self.gw.ctl("listen", "set", "127.0.0.1:%d" % port)
        client = self.gw.smtp()
        self.assertEqual(client.noop()[0], 250)
        client.quit()
        self.gw.ctl("listen", "set", "127.0.0.1:%d/tls" % port)
        client = smtp_tls(self.gw, 0, context=self.ca.client_context())
        self.assertEqual(client.noop()[0], 250)
        client.quit()
        self.gw.ctl("listen", "set", "127.0.0.1:%d" % port)
        self.assertEqual(self.gw.smtp().noop()[0], 250)
        r = self.gw.ctl("listen", "set", "127.0.0.1:%d/ssl" % port, check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_protocol_floor_tls12(self):
        """TLS 1.0 / 1.1 are refused; 1.2 works."""
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
        port = self.gw.port(1)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
                with old.wrap_socket(s) as t:
                    t.recv(100)
        v12 = self.ca.client_context()
        v12.maximum_version = ssl.TLSVersion.TLSv1_2
        client = smtp_tls(self.gw, 1, context=v12)
        self.assertEqual(client.sock.version(), "TLSv1.2")
        self.assertEqual(client.noop()[0], 250)

    def test_certificate_reload_without_restart(self):
        """New files at the configured paths (a renewal) are used by the next
        connection; so is a change of tls.cert / tls.key."""
        def serial(index):
            client = smtp_tls(self.gw, index, context=self.ca.client_context())
            number = int(client.sock.getpeercert()["serialNumber"], 16)
            client.quit()
            return number

        first = serial(1)
        cert2, key2 = self.ca.issue(stem="renewed")
        os.replace(key2, self.key)
        os.replace(cert2, self.cert)
        wait_until(lambda: serial(1) != first, what="the renewed certificate")
        cert3, key3 = self.ca.issue(stem="third")
        self.gw.ctl("config", "set", "tls.cert", cert3)
        self.gw.ctl("config", "set", "tls.key", key3)
        wait_until(lambda: serial(1) == 1003, what="the certificate named by tls.cert")

    def test_no_certificate_no_starttls(self):
        """Without tls.cert / tls.key STARTTLS is neither offered nor accepted."""
        self.gw.ctl("config", "set", "tls.cert", "")
        client = self.gw.smtp()
        keywords, _ = ehlo_keywords(client)
        self.assertNotIn("STARTTLS", keywords)
        self.assertEqual(client.docmd("STARTTLS")[0], 454)

    def test_starttls_discards_pipelined_commands(self):
        """CVE-2011-0411: commands sent in the same packet as STARTTLS are
        never executed after the handshake."""
        trace = Trace(self.gw).wait_ready()
        s, f = self.raw()
        self.command(s, f, "EHLO client.example.org")
        s.sendall(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<user1@corp.example>\r\n")
        code, _ = read_reply(f)
        self.assertEqual(code, 220)
        tls = self.ca.client_context().wrap_socket(s, server_hostname="127.0.0.1")
        tf = tls.makefile("rb")
        tls.sendall(b"EHLO client.example.org\r\n")
        code, lines = read_reply(tf)
        self.assertEqual(code, 250, lines)         # not a 503 from the injected MAIL
        tls.sendall(b"RCPT TO:<user1@corp.example>\r\n")
        code, lines = read_reply(tf)
        self.assertEqual(code, 503, lines)         # no transaction was opened
        tls.sendall(b"QUIT\r\n")
        self.assertEqual(read_reply(tf)[0], 221)
        trace.wait_for("discarding")
        tf.close()
        tls.close()


class Auth(FrontDoorBase):
    """R-2.5: SMTP AUTH."""

    def tls_client(self):
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.starttls(context=self.ca.client_context())
        client.ehlo("client.example.org")
        return client

    def test_each_mechanism_logs_in(self):
        for mech, login in (("PLAIN", "user1@corp.example"), ("LOGIN", "user1"),
                            ("CRAM-MD5", "User1@Corp.Example")):
            client = self.tls_client()
            client.user, client.password = login, "pass one"
            code, text = client.auth(mech, getattr(client, "auth_" + mech.lower().replace("-", "_")))
            self.assertEqual(code, 235, (mech, text))
            client.quit()

    def test_authenticated_client_relays(self):
        client = self.tls_client()
        client.login("user1@corp.example", "pass one")
        client.sendmail("user1@corp.example", ["friend@elsewhere.example"], BODY)
        msgs = self.hop.wait_for(1)
        self.assertIn(b" with ESMTPSA id ", msgs[0][2])
        # the same without logging in is refused
        other = self.tls_client()
        other.mail(SENDER)
        self.assertEqual(other.rcpt("friend@elsewhere.example")[0], 554)

    def test_methods_switchable(self):
        self.gw.ctl("config", "set", "auth.methods", "CRAM-MD5")
        client = self.tls_client()
        self.assertEqual(client.esmtp_features["auth"].split(), ["CRAM-MD5"])
        self.assertEqual(client.docmd("AUTH", "PLAIN AHVzZXIxAHBhc3Mgb25l")[0], 504)
        self.gw.ctl("config", "set", "auth.methods", "")
        client = self.tls_client()
        self.assertNotIn("auth", client.esmtp_features)
        self.assertEqual(client.docmd("AUTH", "PLAIN")[0], 502)
        self.assertEqual(self.gw.ctl("config", "set", "auth.methods", "PLAIN,NTLM",
                                     check=False).returncode, 1)

    def test_refused_before_starttls_unless_allowed(self):
        client = self.gw.smtp()
        keywords, _ = ehlo_keywords(client)
        self.assertNotIn("AUTH", keywords)
        code, text = client.docmd("AUTH", "PLAIN AHVzZXIxAHBhc3Mgb25l")
        self.assertEqual(code, 538, text)
        self.gw.ctl("config", "set", "auth.require_tls", "false")
        client = self.gw.smtp()
        keywords, _ = ehlo_keywords(client)
        self.assertIn("AUTH", keywords)
        client.login("user1", "pass one")

    def test_malformed_and_cancelled(self):
        self.gw.ctl("config", "set", "auth.require_tls", "false")
        s, f = self.raw()
        self.command(s, f, "EHLO client.example.org")
        self.assertEqual(self.command(s, f, "AUTH PLAIN !!!notbase64")[0], 501)
        self.assertEqual(self.command(s, f, "AUTH LOGIN")[0], 334)
        code, lines = self.command(s, f, "*")
        self.assertEqual(code, 501)
        self.assertIn("5.7.0", lines[0])
        self.assertEqual(self.command(s, f, "AUTH PLAIN")[0], 334)
        self.assertEqual(self.command(s, f, "dXNlcjE=")[0], 501)   # "user1": no NULs
        self.assertEqual(self.command(s, f, "AUTH XOAUTH9")[0], 504)
        self.assertEqual(self.command(s, f, "NOOP")[0], 250)       # still serving

    def test_failures_delayed_and_throttled(self):
        """Each 535 comes later than the one before; past auth.max_failures the
        client may not try again (421), and the trace says so."""
        self.gw.ctl("config", "set", "auth.require_tls", "false")
        self.gw.ctl("config", "set", "auth.failure_delay", "1")
        self.gw.ctl("config", "set", "auth.max_failures", "2")
        trace = Trace(self.gw).wait_ready()
        s, f = self.raw()
        self.command(s, f, "EHLO client.example.org")
        times = []
        for _ in range(2):
            started = time.monotonic()
            code, _ = self.command(s, f, "AUTH PLAIN AHVzZXIxAHdyb25n")   # user1 / wrong
            times.append(time.monotonic() - started)
            self.assertEqual(code, 535)
        self.assertGreaterEqual(times[0], 0.9)
        self.assertGreaterEqual(times[1], 1.9)
        trace.wait_for("throttled")
        # a new connection from the same address: still throttled
        s2, f2 = self.raw()
        self.command(s2, f2, "EHLO client.example.org")
        code, lines = self.command(s2, f2, "AUTH PLAIN AHVzZXIxAHBhc3Mgb25l")
        self.assertEqual(code, 421, lines)
        self.assertEqual(f2.readline(), b"")      # closed
        trace.wait_for("AUTH refused")
        # the trace shows the mechanism, never the credentials
        trace.wait_for("AUTH PLAIN ****")
        self.assertEqual([l for l in trace.lines if "AHVzZXIx" in l], [])


class AuthIpv6(FrontDoorBase):
    """R-2.5: IPv6 clients are counted per /64."""

    def listeners(self):
        return ("[::1]:0",)

    def test_failures_counted_per_64(self):
        self.gw.ctl("config", "set", "auth.require_tls", "false")
        self.gw.ctl("config", "set", "auth.failure_delay", "0")
        trace = Trace(self.gw)
        port = self.gw.port()

        def poke():
            with socket.create_connection(("::1", port), timeout=10) as s:
                f = s.makefile("rb")
                read_reply(f)
                s.sendall(b"EHLO client.example.org\r\nAUTH PLAIN AHVzZXIxAHdyb25n\r\n")
                read_reply(f)
                code, _ = read_reply(f)
                assert code == 535, code
                f.close()
            return [l for l in trace.lines if "failed login" in l]

        lines = wait_until(poke, what="a traced failed login")
        self.assertIn("from ::/64", lines[0])


class AuthDoesNotStall(FrontDoorBase):
    """R-2.5: a password check (PBKDF2, slow on purpose) runs off the
    receiver thread: logins in progress do not hold up other sessions."""

    def test_other_sessions_answer_during_logins(self):
        self.gw.ctl("config", "set", "auth.require_tls", "false")
        self.gw.ctl("config", "set", "auth.failure_delay", "0")
        self.gw.ctl("config", "set", "auth.max_failures", "100000")
        s, f = self.raw()
        self.command(s, f, "EHLO client.example.org")
        stop = threading.Event()
        logins = [0]

        def login_loop():
            ls, lf = self.raw()
            self.command(ls, lf, "EHLO client.example.org")
            while not stop.is_set():
                code, _ = self.command(ls, lf, "AUTH PLAIN AHVzZXIxAHdyb25n")   # wrong: no state kept
                assert code == 535, code
                logins[0] += 1

        threads = [threading.Thread(target=login_loop, daemon=True) for _ in range(6)]
        for t in threads:
            t.start()
        wait_until(lambda: logins[0] >= 6, what="logins under way")
        worst = 0.0
        for _ in range(30):
            started = time.monotonic()
            self.assertEqual(self.command(s, f, "NOOP")[0], 250)
            worst = max(worst, time.monotonic() - started)
        stop.set()
        for t in threads:
            t.join(30)
        # one PBKDF2 check takes ~0.1 s here; six in a row on the receiver
        # thread would hold a NOOP for longer than this
        self.assertLess(worst, 0.5, "a NOOP waited %.3f s" % worst)


class AntiRelay(FrontDoorBase):
    """R-2.4: the relay battery, for an unauthenticated, unlisted client."""

    REFUSED = [
        "victim%elsewhere.example@corp.example",
        "elsewhere.example!victim@corp.example",
        "@corp.example:victim@elsewhere.example",
        '"victim@elsewhere.example"@corp.example',
        "victim@[127.0.0.1]",
        "victim@[IPv6:::1]",
        "victim@elsewhere.example.",
        "VICTIM@ELSEWHERE.EXAMPLE",
        "victim@corp.example.elsewhere.example",
        "victim%elsewhere.example@CORP.EXAMPLE.",
        "victim@elsewhere.example@corp.example",
        "user1%corp.example@corp.example",
    ]
    ACCEPTED = ["user1@corp.example", "USER1@CORP.EXAMPLE.", "User1@Corp.Example", "user1@corp.example."]

    def test_battery(self):
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.mail(SENDER)
        for rcpt in self.REFUSED:
            code, text = client.docmd("RCPT", "TO:<%s>" % rcpt)
            self.assertIn(code // 100, (5,), (rcpt, code, text))
        for rcpt in self.ACCEPTED:
            code, text = client.docmd("RCPT", "TO:<%s>" % rcpt)
            self.assertEqual(code, 250, (rcpt, text))
        code, text = client.data(BODY)
        self.assertEqual(code, 250, text)
        msgs = self.hop.wait_for(1)
        self.assertEqual(len(msgs[0][1]), 1)          # one copy for user1
        self.assertEqual(msgs[0][1][0].lower().rstrip("."), "user1@corp.example")


class SenderProtection(FrontDoorBase):
    """R-2.6: postmaster@<local domain> and protected senders."""

    def try_sender(self, client, sender):
        client.rset()
        return client.mail(sender)

    def test_postmaster_and_listed_senders(self):
        self.gw.ctl("config", "set", "receiver.protected_senders", "ceo@corp.example")
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        for sender in ("postmaster@corp.example", "POSTMASTER@Corp.Example.", "ceo@corp.example"):
            code, text = self.try_sender(client, sender)
            self.assertEqual(code, 550, (sender, text))
            self.assertIn(b"5.7.1", text)
        self.assertEqual(self.try_sender(client, "user1@corp.example")[0], 250)
        self.assertEqual(self.try_sender(client, "postmaster@elsewhere.example")[0], 250)
        self.assertEqual(self.try_sender(client, "")[0], 250)

        # a sender rule allowing the domain does not unlock the postmaster
        self.gw.ctl("relay", "add", "@corp.example", "allow")
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        self.assertEqual(self.try_sender(client, "postmaster@corp.example")[0], 550)

        # a logged-in client may; so may a client a relay rule allows
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.starttls(context=self.ca.client_context())
        client.ehlo("client.example.org")
        client.login("user1@corp.example", "pass one")
        self.assertEqual(self.try_sender(client, "postmaster@corp.example")[0], 250)
        self.gw.ctl("relay", "add", "127.0.0.1", "allow", "--at", "1")
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        self.assertEqual(self.try_sender(client, "ceo@corp.example")[0], 250)

    def test_sender_deny_rule_still_works(self):
        self.gw.ctl("relay", "add", "someone@example.org", "deny")
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        code, text = client.mail(SENDER)
        self.assertEqual(code, 550, text)


class HostileInput(FrontDoorBase):
    """Whatever a client sends: correct replies, nothing smuggled, the
    daemon keeps serving with bounded memory."""

    def test_long_lines_refused_never_executed(self):
        s, f = self.raw()
        self.command(s, f, "EHLO client.example.org")
        for size in (1001, 4096, 65536):
            line = b"MAIL FROM:<" + b"a" * size + b"@example.org>\r\n"
            code, lines = self.command(s, f, line)
            self.assertEqual(code, 500, lines)
            self.assertIn("5.5.2", lines[0])
        # the tail of an over-long line is not executed either
        code, lines = self.command(s, f, b"NOOP " + b"x" * 1100 + b"RSET\r\n")
        self.assertEqual(code, 500)
        self.assertEqual(self.command(s, f, "RCPT TO:<user1@corp.example>")[0], 503)

    def test_nul_and_bare_cr_in_commands(self):
        s, f = self.raw()
        self.command(s, f, "EHLO client.example.org")
        self.assertEqual(self.command(s, f, b"MAIL FROM:<a@example.org>\x00\r\n")[0], 500)
        self.assertEqual(self.command(s, f, b"MAIL FROM:<a@example.org>\rRCPT TO:<x>\r\n")[0], 500)
        self.assertEqual(self.command(s, f, "MAIL FROM:<a@example.org>")[0], 250)

    def test_smuggling_variants_never_end_data(self):
        """Only CRLF.CRLF ends DATA; every other shape stays in the message,
        and what we forward has no bare CR or LF."""
        variants = [b"\n.\n", b"\r.\n", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r", b"\n.\r", b"\r.\r",
                    b"\r\n.\r\r\n", b"\r.\r\n"]
        s, f = self.raw()
        self.command(s, f, "EHLO client.example.org")
        for i, v in enumerate(variants):
            self.assertEqual(self.command(s, f, "MAIL FROM:<%s>" % SENDER)[0], 250)
            self.assertEqual(self.command(s, f, "RCPT TO:<user1@corp.example>")[0], 250)
            self.assertEqual(self.command(s, f, "DATA")[0], 354)
            s.sendall(b"Subject: v%d\r\n\r\nbefore" % i + v +
                      b"MAIL FROM:<smuggled@example.org>\r\nRCPT TO:<user2@corp.example>\r\n"
                      b"DATA\r\nsmuggled\r\n.\r\n")
            code, lines = read_reply(f)
            self.assertEqual(code, 250, (v, lines))
        n = len(variants)
        msgs = self.hop.wait_for(n)
        for sender, rcpts, content in msgs:
            self.assertEqual(sender, SENDER)                       # nothing smuggled
            self.assertEqual(rcpts, ["user1@corp.example"])
            self.assertNotIn(b"\r\r", content)
            stripped = content.replace(b"\r\n", b"")
            self.assertNotIn(b"\r", stripped, content)
            self.assertNotIn(b"\n", stripped, content)
        self.assertEqual(len(self.hop.messages), n)

    def test_too_many_recipients_and_oversized_data(self):
        self.gw.ctl("alias", "add", "*@corp.example", "*@corp.example")
        self.gw.ctl("config", "set", "receiver.max_message_size", "5000")
        s, f = self.raw()
        self.command(s, f, "EHLO client.example.org")
        self.command(s, f, "MAIL FROM:<%s>" % SENDER)
        batch = b"".join(b"RCPT TO:<u%d@corp.example>\r\n" % i for i in range(1005))
        s.sendall(batch)
        codes = [read_reply(f)[0] for _ in range(1005)]
        self.assertEqual(codes[:1000], [250] * 1000)
        self.assertEqual(codes[1000:], [452] * 5)
        self.assertEqual(self.command(s, f, "DATA")[0], 354)
        s.sendall(b"x" * 998 + b"\r\n")
        s.sendall((b"y" * 998 + b"\r\n") * 10 + b".\r\n")
        code, lines = read_reply(f)
        self.assertEqual(code, 552, lines)
        self.assertEqual(self.command(s, f, "NOOP")[0], 250)

    def test_connection_flood_and_slow_clients(self):
        """10x the accept limit at once: each gets 220 or a clean 421; slow
        clients time out; the daemon keeps serving; memory stays bounded."""
        self.gw.ctl("config", "set", "receiver.accept_limit", "20")
        self.gw.ctl("config", "set", "receiver.timeout", "3")
        port = self.gw.port()
        rss_before = process_rss_kib(self.gw.proc.pid)
        results = []
        lock = threading.Lock()

        def client():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                    f = s.makefile("rb")
                    first = f.readline()
                    rest = b""
                    if first.startswith(b"220"):
                        # a slow client: one byte now and then, never a whole command
                        s.sendall(b"N")
                        rest = f.readline()
                    else:
                        rest = f.readline()    # must be closed after the 421
                    with lock:
                        results.append((first[:3], rest[:9]))
            except OSError as e:
                with lock:
                    results.append((b"ERR", str(e).encode()))

        threads = [threading.Thread(target=client) for _ in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(len(results), 200)
        greeted = [r for r in results if r[0] == b"220"]
        refused = [r for r in results if r[0] == b"421"]
        self.assertEqual(len(greeted) + len(refused), 200, results)
        self.assertLessEqual(len(greeted), 40)
        self.assertGreater(len(refused), 0)
        for first, rest in greeted:
            self.assertEqual(rest, b"421 4.4.2")       # the idle timer
        for first, rest in refused:
            self.assertEqual(rest, b"")                # closed right after the 421
        wait_until(lambda: self.gw.status()["sessions"] == 0, timeout=20, what="sessions gone")
        client2 = self.gw.smtp()
        client2.sendmail(SENDER, ["user1@corp.example"], BODY)
        self.hop.wait_for(1)
        rss_after = process_rss_kib(self.gw.proc.pid)
        self.assertLess(rss_after - rss_before, 64 * 1024, (rss_before, rss_after))


class RealClients(FrontDoorBase):
    """The same front door through swaks and openssl s_client."""

    def test_swaks_auth_cram_md5_relay(self):
        """(Debian's swaks has no TLS without Net::SSLeay: AUTH allowed in clear.)"""
        import subprocess
        self.gw.ctl("config", "set", "auth.require_tls", "false")
        r = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % self.gw.port(),
                            "--auth", "CRAM-MD5", "--auth-user", "user1",
                            "--auth-password", "pass one",
                            "--from", "user1@corp.example", "--to", "friend@elsewhere.example",
                            "--header", "Subject: swaks", "--body", "via swaks"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("235 2.7.0", r.stdout)
        msgs = self.hop.wait_for(1)
        self.assertEqual(msgs[0][1], ["friend@elsewhere.example"])
        self.assertIn(b" with ESMTPA id ", msgs[0][2])

    def test_openssl_s_client_starttls_verifies(self):
        import subprocess
        r = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-brief", "-ign_eof",
                            "-connect", "127.0.0.1:%d" % self.gw.port(),
                            "-CAfile", self.ca.cert, "-verify_return_error",
                            "-verify_ip", "127.0.0.1"],
                           input="EHLO client.example.org\r\nQUIT\r\n", capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Verification: OK", r.stderr)
        self.assertRegex(r.stderr, r"Protocol version: TLSv1\.[23]")
        self.assertIn("250-AUTH PLAIN LOGIN CRAM-MD5", r.stdout)


class ReverseDns(FrontDoorBase):
    """R-1.7: receiver.require_reverse_dns (127.0.0.1 is localhost both
    ways; 127.0.0.2 has no name here)."""

    def test_client_without_name_refused(self):
        self.gw.ctl("config", "set", "receiver.require_reverse_dns", "true")
        trace = Trace(self.gw).wait_ready()
        named = self.gw.smtp()
        named.ehlo("client.example.org")
        self.assertEqual(named.mail(SENDER)[0], 250)
        nameless = self.gw.smtp(source="127.0.0.2")
        nameless.ehlo("client.example.org")
        code, text = nameless.mail(SENDER)
        self.assertEqual(code, 450, text)
        self.assertIn(b"4.7.25", text)
        self.assertIn(b"[127.0.0.2]", text)
        trace.wait_for("no verified host name")
        # a relay rule for the client lets it in; so does turning the check off
        self.gw.ctl("relay", "add", "127.0.0.2", "allow")
        allowed = self.gw.smtp(source="127.0.0.2")
        allowed.ehlo("client.example.org")
        self.assertEqual(allowed.mail(SENDER)[0], 250)
        self.gw.ctl("relay", "remove", "1")
        self.gw.ctl("config", "set", "receiver.require_reverse_dns", "false")
        off = self.gw.smtp(source="127.0.0.2")
        off.ehlo("client.example.org")
        self.assertEqual(off.mail(SENDER)[0], 250)
