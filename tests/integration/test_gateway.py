"""End-to-end: receive with smtplib, forward to an aiosmtpd next hop.

The real mailgated on loopback, configured with mailgatectl; see mgtest.py.
Requirement ids in the docstrings point back to ../shared/SPEC.md.
"""
import re
import smtplib
import socket
import time
import unittest

from mgtest import GatewayTestCase, Trace, free_port, wait_until

SENDER = "alice@example.org"
BODY = (b"From: Alice <alice@example.org>\r\n"
        b"To: User One <user1@corp.example>\r\n"
        b"Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n"
        b"\r\n"
        b"Hello.\r\n"
        b".A line that starts with a dot\r\n"
        b"..and one with two\r\n"
        b".\tdot tab\r\n"
        b"8bit: \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n"
        b"\r\n"
        b"last line\r\n")


def split_received(content):
    """(Received: header block, rest) of a forwarded message."""
    assert content.startswith(b"Received: "), content[:200]
    lines = content.split(b"\r\n")
    i = 1
    while lines[i].startswith((b"\t", b" ")):
        i += 1
    return b"\r\n".join(lines[:i]) + b"\r\n", b"\r\n".join(lines[i:])


def send(client, sender, rcpts, body):
    """One transaction step by step; returns the DATA reply (code, text)."""
    code, _ = client.ehlo("client.example.org")
    assert code == 250
    code, text = client.mail(sender)
    assert code == 250, (code, text)
    for r in rcpts:
        code, text = client.rcpt(r)
        assert code == 250, (r, code, text)
    return client.data(body)


def open_data(s):
    """Greeting, HELO, one MAIL/RCPT/DATA exchange (user1) on socket @s;
    returns its reader, positioned after the 354."""
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"HELO client.example.org\r\n")
    f.readline()
    s.sendall(b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<user1@corp.example>\r\nDATA\r\n")
    for _ in range(3):
        f.readline()
    return f


class GatewayBasics(GatewayTestCase):
    """The seed's method C: same-name domain + accounts, routed to the internal server."""

    def setUp(self):
        self.hop = self.next_hop()
        self.gw = self.gateway()
        self.gw.ctl("domain", "add", "corp.example", "--shared-box")
        self.gw.ctl("user", "add", "user1@corp.example")
        self.gw.ctl("user", "add", "user2@corp.example")
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(self.hop.port))

    def test_relay_exact_body_and_envelope(self):
        """R-1.5, R-1.6, R-3.1: 250 with a queue id; the next hop gets the
        exact envelope and body, with our Received: header on top."""
        client = self.gw.smtp()
        code, text = send(client, SENDER, ["user1@corp.example"], BODY)
        self.assertEqual(code, 250, text)
        m = re.search(rb"queued as (B\d{10})", text)
        self.assertIsNotNone(m, text)
        queue_id = m.group(1)
        client.quit()

        (mail_from, rcpts, content), = self.hop.wait_for(1)
        self.assertEqual(mail_from, SENDER)
        self.assertEqual(rcpts, ["user1@corp.example"])
        received, rest = split_received(content)
        self.assertEqual(rest, BODY)
        self.assertIn(b"from client.example.org", received)
        self.assertIn(b"[127.0.0.1]", received)
        self.assertIn(b"with ESMTP id " + queue_id, received)
        self.assertIn(b"for <user1@corp.example>", received)
        wait_until(lambda: self.gw.status()["queue"] == 0, what="empty queue")

    def test_several_recipients_one_copy_each(self):
        """R-1.2: one transaction, two recipients, both forwarded exactly once."""
        client = self.gw.smtp()
        code, text = send(client, SENDER, ["user1@corp.example", "USER2@Corp.Example."], BODY)
        self.assertEqual(code, 250, text)
        msgs = self.hop.wait_for(1)
        time.sleep(0.3)
        self.assertEqual(len(self.hop.messages), 1)
        self.assertEqual(sorted(r.lower().rstrip(".") for r in msgs[0][1]),
                         ["user1@corp.example", "user2@corp.example"])

    def test_unknown_user_refused(self):
        """R-2.2: a user the local domain does not have: 550 5.1.1 at RCPT."""
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.mail(SENDER)
        code, text = client.rcpt("nobody@corp.example")
        self.assertEqual(code, 550)
        self.assertIn(b"5.1.1", text)

    def test_external_recipient_refused(self):
        """R-2.4: never an open relay: mail to a domain that is not ours is refused."""
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.mail(SENDER)
        code, text = client.rcpt("victim@elsewhere.example")
        self.assertEqual(code, 554)
        self.assertIn(b"5.7.1", text)
        code, text = client.docmd("DATA")
        self.assertEqual(code, 554)   # no valid recipients
        time.sleep(0.3)
        self.assertEqual(self.hop.messages, [])

    def test_received_header_loop_limit(self):
        """R-1.4: more Received: headers than receiver.max_received_headers
        is a mail loop: rejected after DATA, never forwarded."""
        self.gw.ctl("config", "set", "receiver.max_received_headers", "5")
        looped = b"".join(b"Received: from hop%d.example by x; Fri, 27 Nov 2026 00:00:00 +0000\r\n" % i
                          for i in range(6)) + BODY
        client = self.gw.smtp()
        code, text = send(client, SENDER, ["user1@corp.example"], looped)
        self.assertEqual(code, 554)
        self.assertIn(b"5.4.6", text)
        # within the limit it passes
        fine = b"".join(b"Received: from hop%d.example by x; Fri, 27 Nov 2026 00:00:00 +0000\r\n" % i
                        for i in range(5)) + BODY
        code, text = send(client, SENDER, ["user1@corp.example"], fine)
        self.assertEqual(code, 250, text)
        self.hop.wait_for(1)
        time.sleep(0.3)
        self.assertEqual(len(self.hop.messages), 1)

    def test_size_limit(self):
        """R-1.4: SIZE declared too big is refused at MAIL; data over the limit gets 552."""
        self.gw.ctl("config", "set", "receiver.max_message_size", "2000")
        client = self.gw.smtp()
        code, text = client.ehlo("client.example.org")
        self.assertIn(b"SIZE 2000", text)
        code, text = client.mail(SENDER, ["SIZE=5000"])
        self.assertEqual(code, 552)
        code, text = send(client, SENDER, ["user1@corp.example"], BODY + b"x" * 3000 + b"\r\n")
        self.assertEqual(code, 552)
        self.assertIn(b"5.3.4", text)

    def test_recipient_limit(self):
        """R-1.4: past receiver.max_recipients: 452 4.5.3."""
        self.gw.ctl("config", "set", "receiver.max_recipients", "2")
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.mail(SENDER)
        self.assertEqual(client.rcpt("user1@corp.example")[0], 250)
        self.assertEqual(client.rcpt("user2@corp.example")[0], 250)
        code, text = client.rcpt("user1@corp.example")
        self.assertEqual(code, 452)

    def test_accept_limit(self):
        """R-1.4: past receiver.accept_limit simultaneous clients: 421 and close."""
        self.gw.ctl("config", "set", "receiver.accept_limit", "2")
        a = self.gw.smtp()
        b = self.gw.smtp()
        self.assertEqual(a.noop()[0], 250)
        self.assertEqual(b.noop()[0], 250)
        with self.assertRaises(smtplib.SMTPConnectError) as ctx:
            self.gw.smtp()
        self.assertEqual(ctx.exception.smtp_code, 421)
        a.quit()
        wait_until(lambda: self.gw.status()["sessions"] < 2, what="a free session slot")
        c = self.gw.smtp()
        self.assertEqual(c.noop()[0], 250)

    def test_idle_timer_closes_with_421(self):
        """R-1.4: a client silent past receiver.timeout gets 421 4.4.2 and is
        disconnected; the daemon keeps serving others."""
        self.gw.ctl("config", "set", "receiver.timeout", "1")
        port = self.gw.port()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            f = s.makefile("rb")
            self.assertTrue(f.readline().startswith(b"220"))
            started = time.monotonic()
            reply = f.readline()
            self.assertTrue(reply.startswith(b"421 4.4.2"), reply)
            self.assertEqual(f.readline(), b"")   # closed
            self.assertLess(time.monotonic() - started, 8)
        self.assertEqual(self.gw.smtp().noop()[0], 250)

    def test_pipelining_batch(self):
        """R-1.2: PIPELINING: all commands sent at once, replies in order."""
        port = self.gw.port()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            f = s.makefile("rb")
            self.assertTrue(f.readline().startswith(b"220"))
            s.sendall(b"EHLO client.example.org\r\n")
            lines = []
            while True:
                line = f.readline()
                lines.append(line)
                if line[3:4] == b" ":
                    break
            self.assertIn(b"250-PIPELINING\r\n", lines)
            s.sendall(b"MAIL FROM:<alice@example.org>\r\n"
                      b"RCPT TO:<user1@corp.example>\r\n"
                      b"RCPT TO:<nobody@corp.example>\r\n"
                      b"RCPT TO:<user2@corp.example>\r\n"
                      b"DATA\r\n")
            codes = [f.readline()[:3] for _ in range(5)]
            self.assertEqual(codes, [b"250", b"250", b"550", b"250", b"354"])
            s.sendall(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
            self.assertTrue(f.readline().startswith(b"250 2.0.0"))
            self.assertTrue(f.readline().startswith(b"221"))
        (mail_from, rcpts, content), = self.hop.wait_for(1)
        self.assertEqual(sorted(rcpts), ["user1@corp.example", "user2@corp.example"])

    def test_commands_sent_while_committing(self):
        """Commands that arrive while the message is being committed (read
        and kept by the receiver) are answered after the 250, in order, and
        a second transaction in them works."""
        port = self.gw.port()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            f = open_data(s)
            s.sendall(b"Subject: first\r\n\r\none\r\n.\r\n")
            # no wait for the 250: these arrive during (or just after) the commit
            s.sendall(b"NOOP\r\nMAIL FROM:<bob@example.org>\r\n")
            s.sendall(b"RCPT TO:<user2@corp.example>\r\nDATA\r\n")
            codes = [f.readline()[:3] for _ in range(5)]
            self.assertEqual(codes, [b"250", b"250", b"250", b"250", b"354"])
            s.sendall(b"Subject: second\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
            self.assertTrue(f.readline().startswith(b"250 2.0.0"))
            self.assertTrue(f.readline().startswith(b"221"))
        got = self.hop.wait_for(2)
        self.assertEqual(sorted(r for _, rcpts, _ in got for r in rcpts),
                         ["user1@corp.example", "user2@corp.example"])

    def test_smuggling_bare_lf_dot_does_not_end_data(self):
        """R-1.2: "\\n.\\n" inside DATA is not the end: no second message is
        smuggled, and what we forward has no bare LF."""
        port = self.gw.port()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            f = open_data(s)
            s.sendall(b"Subject: one\r\n\r\nfirst\n.\nMAIL FROM:<evil@example.net>\n"
                      b"RCPT TO:<user2@corp.example>\nDATA\nSubject: smuggled\n\nbad\n.\n"
                      b"tail\r\n.\r\n")
            reply = f.readline()
            self.assertTrue(reply.startswith(b"250 2.0.0"), reply)
            s.sendall(b"QUIT\r\n")
            f.readline()
        (mail_from, rcpts, content), = self.hop.wait_for(1)
        time.sleep(0.5)
        self.assertEqual(len(self.hop.messages), 1)
        self.assertEqual(rcpts, ["user1@corp.example"])
        self.assertNotRegex(content, rb"(?<!\r)\n")
        self.assertIn(b"smuggled", content)

    def test_live_configuration_change(self):
        """SPEC 7: a change applies to the running service without restart."""
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.mail(SENDER)
        self.assertEqual(client.rcpt("user3@corp.example")[0], 550)
        client.quit()
        self.gw.ctl("user", "add", "user3@corp.example")
        client = self.gw.smtp()
        code, text = send(client, SENDER, ["user3@corp.example"], BODY)
        self.assertEqual(code, 250, text)
        self.hop.wait_for(1)

    def test_trace_shows_dialogue_and_decisions(self):
        """R-4.1, R-4.2: the live trace shows RECV/SEND, the policy decision
        and the routing decision."""
        trace = Trace(self.gw)
        wait_until(lambda: self.gw.status()["receiver"] == "running")
        time.sleep(0.3)   # let the subscription reach the daemon
        client = self.gw.smtp()
        code, text = send(client, SENDER, ["user1@corp.example"], BODY)
        self.assertEqual(code, 250)
        queue_id = re.search(rb"(B\d{10})", text).group(1).decode()
        trace.wait_for("RECV <- [mail FROM:<alice@example.org>]")  # smtplib writes verbs in lower case
        trace.wait_for("SEND -> [250 2.0.0 Ok: queued as %s]" % queue_id)
        trace.wait_for("user1@corp.example")
        trace.wait_for("route corp.example -> 127.0.0.1:%d" % self.hop.port)
        trace.wait_for("[%s] delivered" % queue_id)


class Relaying(GatewayTestCase):
    """R-2.3, R-2.4: aliases and relay rules as in the seed's methods A and B."""

    def setUp(self):
        self.hop = self.next_hop()
        self.gw = self.gateway()
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(self.hop.port))

    def test_wildcard_alias_passes_every_user(self):
        """Seed method A: *@corp.example -> *@corp.example passes any user."""
        self.gw.ctl("alias", "add", "*@corp.example", "*@corp.example")
        client = self.gw.smtp()
        code, text = send(client, SENDER, ["anyone.at.all@corp.example"], BODY)
        self.assertEqual(code, 250, text)
        (mail_from, rcpts, content), = self.hop.wait_for(1)
        self.assertEqual(rcpts, ["anyone.at.all@corp.example"])

    def test_one_to_one_alias_passes_listed_users_only(self):
        """Seed method B: user1@ -> user1@ passes user1, refuses user2 (550 5.1.1)."""
        self.gw.ctl("alias", "add", "user1@corp.example", "user1@corp.example")
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.mail(SENDER)
        self.assertEqual(client.rcpt("user1@corp.example")[0], 250)
        code, text = client.rcpt("user2@corp.example")
        self.assertEqual(code, 550)
        self.assertIn(b"5.1.1", text)

    def test_alias_rewrites_and_expands(self):
        """An alias may rewrite and expand to several real addresses."""
        self.gw.ctl("alias", "add", "sales@corp.example", "alice@corp.example,bob@corp.example")
        client = self.gw.smtp()
        code, text = send(client, SENDER, ["sales@corp.example"], BODY)
        self.assertEqual(code, 250, text)
        (mail_from, rcpts, content), = self.hop.wait_for(1)
        self.assertEqual(sorted(rcpts), ["alice@corp.example", "bob@corp.example"])

    def test_internal_server_may_relay_outbound(self):
        """The seed's scenario: the internal server (192.168.0.x, here
        127.0.0.5) gets `true`: its outbound mail is accepted and sent on;
        any other client is refused."""
        outside = self.next_hop()
        self.gw.ctl("config", "set", "delivery.smarthost", "127.0.0.1:%d" % outside.port)
        self.gw.ctl("relay", "add", "127.0.0.5", "allow")

        stranger = self.gw.smtp(source="127.0.0.9")
        stranger.ehlo("stranger.example")
        stranger.mail("someone@corp.example")
        self.assertEqual(stranger.rcpt("friend@elsewhere.example")[0], 554)

        internal = self.gw.smtp(source="127.0.0.5")
        code, text = send(internal, "user9@corp.example", ["friend@elsewhere.example"], BODY)
        self.assertEqual(code, 250, text)
        (mail_from, rcpts, content), = outside.wait_for(1)
        self.assertEqual((mail_from, rcpts), ("user9@corp.example", ["friend@elsewhere.example"]))
        self.assertEqual(self.hop.messages, [])

    def test_relay_rule_order_first_match_wins(self):
        """R-2.4: 127.0.0.5 deny before 127.0.0.0/8 allow: .5 refused, .6 allowed;
        after `relay move 2 1` the allow wins for .5 too."""
        outside = self.next_hop()
        self.gw.ctl("config", "set", "delivery.smarthost", "127.0.0.1:%d" % outside.port)
        self.gw.ctl("relay", "add", "127.0.0.5", "deny")
        self.gw.ctl("relay", "add", "127.0.0.0/8", "allow")

        c = self.gw.smtp(source="127.0.0.5")
        c.ehlo("x.example")
        code, text = c.mail(SENDER)
        self.assertEqual(code, 550)
        c = self.gw.smtp(source="127.0.0.6")
        c.ehlo("x.example")
        c.mail(SENDER)
        self.assertEqual(c.rcpt("friend@elsewhere.example")[0], 250)

        self.gw.ctl("relay", "move", "2", "1")
        c = self.gw.smtp(source="127.0.0.5")
        c.ehlo("x.example")
        self.assertEqual(c.mail(SENDER)[0], 250)
        self.assertEqual(c.rcpt("friend@elsewhere.example")[0], 250)

    def test_sender_rule_refuses_postmaster(self):
        """Seed: `postmaster@corp.example false` refuses that sender."""
        self.gw.ctl("alias", "add", "*@corp.example", "*@corp.example")
        self.gw.ctl("relay", "add", "postmaster@corp.example", "deny")
        client = self.gw.smtp()
        client.ehlo("spoofer.example")
        code, text = client.mail("postmaster@corp.example")
        self.assertEqual(code, 550)
        self.assertIn(b"5.7.1", text)
        # the refused MAIL opened no transaction: another sender may follow
        self.assertEqual(client.mail("user1@corp.example")[0], 250)


class Listeners(GatewayTestCase):
    """R-1.1: several listeners at once; changing them while running is safe."""

    def test_two_ports_both_answer(self):
        """The seed runs 25 and 20025 together; here two free ports stand in."""
        p1, p2 = free_port(), free_port()
        gw = self.gateway(listeners=("127.0.0.1:%d" % p1, "127.0.0.1:%d" % p2))
        self.assertEqual(sorted(gw.bound()), sorted(["127.0.0.1:%d" % p1, "127.0.0.1:%d" % p2]))
        for index in (0, 1):
            client = gw.smtp(index)
            self.assertEqual(client.noop()[0], 250)

    def test_ipv6_loopback(self):
        try:
            socket.socket(socket.AF_INET6).bind(("::1", 0))
        except OSError:
            self.fail("this machine has no IPv6 loopback")
        gw = self.gateway(listeners=("127.0.0.1:0", "[::1]:0"))
        bound = gw.bound()
        self.assertTrue(bound[1].startswith("[::1]:"), bound)
        client = gw.smtp(1)
        code, text = client.ehlo("v6.example")
        self.assertEqual(code, 250)
        self.assertIn(b"::1", text)

    def test_rebind_failure_rolls_back(self):
        """A port that cannot be bound changes nothing: the old listener still answers."""
        gw = self.gateway()
        old = gw.bound()
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        r = gw.ctl("listen", "set", "127.0.0.1:0,127.0.0.1:%d" % busy.getsockname()[1], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("listen", r.stderr)
        self.assertEqual(gw.bound(), old)
        self.assertEqual(gw.smtp().noop()[0], 250)

    def test_rebind_keeps_existing_port(self):
        """Adding a port while keeping the current one needs no stop/start."""
        p1 = free_port()
        gw = self.gateway(listeners=("127.0.0.1:%d" % p1,))
        client = gw.smtp()
        p2 = free_port()
        gw.ctl("listen", "set", "127.0.0.1:%d,127.0.0.1:%d" % (p1, p2))
        self.assertEqual(sorted(gw.bound()), sorted(["127.0.0.1:%d" % p1, "127.0.0.1:%d" % p2]))
        self.assertEqual(client.noop()[0], 250)   # the open session survived
        self.assertEqual(gw.smtp(1).noop()[0], 250)

    def test_start_stop_services_independently(self):
        """R-4.4: receiver and delivery start and stop on their own."""
        gw = self.gateway()
        port = gw.port()
        gw.ctl("stop", "receiver")
        st = gw.status()
        self.assertEqual((st["receiver"], st["delivery"]), ("stopped", "running"))
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        gw.ctl("stop", "delivery")
        self.assertEqual(gw.status()["delivery"], "stopped")
        gw.ctl("start", "receiver")
        st = gw.status()
        self.assertEqual((st["receiver"], st["delivery"]), ("running", "stopped"))
        self.assertEqual(gw.smtp().noop()[0], 250)


class Durability(GatewayTestCase):
    """R-1.5, R-3.7, R-3.8: nothing acknowledged is ever lost."""

    def _setup(self, hop_port):
        gw = self.gateway(settings={"delivery.retry_interval": 1})
        gw.ctl("domain", "add", "corp.example")
        gw.ctl("user", "add", "user1@corp.example")
        gw.ctl("route", "add", "corp.example", "127.0.0.1", str(hop_port))
        return gw

    def test_next_hop_down_then_up_delivers(self):
        port = free_port()
        gw = self._setup(port)
        client = gw.smtp()
        code, text = send(client, SENDER, ["user1@corp.example"], BODY)
        self.assertEqual(code, 250, text)
        wait_until(lambda: gw.status()["deferred"] >= 1, what="a deferred attempt")
        self.assertEqual(gw.status()["queue"], 1)
        hop = self.next_hop(port=port)
        (mail_from, rcpts, content), = hop.wait_for(1)
        self.assertEqual(split_received(content)[1], BODY)
        wait_until(lambda: gw.status()["queue"] == 0, what="empty queue")

    def test_kill9_after_250_then_restart_delivers(self):
        port = free_port()
        gw = self._setup(port)
        client = gw.smtp()
        ids = []
        for i in range(5):
            code, text = send(client, SENDER, ["user1@corp.example"], BODY + b"n=%d\r\n" % i)
            self.assertEqual(code, 250, text)
            ids.append(i)
        gw.kill9()
        hop = self.next_hop(port=port)
        gw.restart()
        msgs = hop.wait_for(5)
        time.sleep(0.5)
        self.assertEqual(len(hop.messages), 5)
        bodies = sorted(split_received(c)[1] for _, _, c in msgs)
        self.assertEqual(bodies, sorted(BODY + b"n=%d\r\n" % i for i in ids))

    def test_permanent_failure_leaves_queue(self):
        """5xx from the next hop is permanent at once: the message leaves the queue."""
        hop = self.next_hop()
        hop.refuse["user1@corp.example"] = "550 5.1.1 no such user here"
        gw = self._setup(hop.port)
        client = gw.smtp()
        code, text = send(client, SENDER, ["user1@corp.example"], BODY)
        self.assertEqual(code, 250)
        wait_until(lambda: gw.status()["failed"] >= 1, what="a permanent failure")
        wait_until(lambda: gw.status()["queue"] == 0, what="empty queue")
        self.assertEqual(hop.messages, [])


    def test_full_disk_tempfails_and_loses_nothing(self):
        """A write the disk refuses is a 451 for that message, never a 250
        or a crash; the daemon goes on with what fits.  The file size limit
        stands in for a full disk (EFBIG where a disk says ENOSPC); a 7 MB
        body goes to a body segment, which cannot grow past 6 MB."""
        hop = self.next_hop()
        gw = self.gateway(settings={"delivery.retry_interval": 1}, file_size_limit=6 * 1024 * 1024)
        gw.ctl("domain", "add", "corp.example")
        gw.ctl("user", "add", "user1@corp.example")
        gw.ctl("route", "add", "corp.example", "127.0.0.1", str(hop.port))
        big = BODY + b"x" * 76 + b"\r\n"
        big = big * (7 * 1024 * 1024 // len(big))
        client = gw.smtp()
        code, text = send(client, SENDER, ["user1@corp.example"], big)
        self.assertEqual(code, 451, text)
        self.assertIn(b"4.3.0", text)
        self.assertIn("writing a body segment: File too large", gw.log())
        code, text = send(client, SENDER, ["user1@corp.example"], BODY)
        self.assertEqual(code, 250, text)
        client.quit()
        (mail_from, rcpts, content), = hop.wait_for(1)
        self.assertEqual(split_received(content)[1], BODY)
        wait_until(lambda: gw.status()["queue"] == 0, what="empty queue")
        time.sleep(0.5)
        self.assertEqual(len(hop.messages), 1)
        # a restart finds nothing of the refused message
        self.assertEqual(gw.stop(), 0)
        gw.restart()
        time.sleep(1)
        self.assertEqual(gw.status()["queue"], 0)
        self.assertEqual(len(hop.messages), 1)


class DebugMode(GatewayTestCase):

    def test_debug_prints_configuration_then_trace(self):
        """R-4.1: --debug prints the effective configuration, then the trace."""
        from mgtest import Gateway
        gw = Gateway(self)
        self._gateways.append(gw)
        gw.start(debug=True)
        gw.ctl("domain", "add", "corp.example")
        client = gw.smtp()
        client.ehlo("debug.example")
        client.quit()
        wait_until(lambda: "RECV <- [ehlo debug.example]" in gw.log(), what="trace in the log")
        log = gw.log()
        self.assertIn("---- settings ----", log)
        self.assertIn("receiver.max_received_headers", log)
        self.assertLess(log.index("---- settings ----"), log.index("RECV <- [ehlo debug.example]"))


if __name__ == "__main__":
    unittest.main()
