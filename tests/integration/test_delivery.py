"""The delivery agent end to end: routes, connection reuse, retries, Maildir.

The real mailgated on loopback, fed with smtplib, delivering to aiosmtpd
next hops (see mgtest.py).  Requirement ids point back to ../shared/SPEC.md.
"""
import glob
import mailbox
import os
import re
import time

from mgtest import GatewayTestCase, NextHop, Trace, free_port, wait_until

SENDER = "alice@example.org"
BODY = (b"From: Alice <alice@example.org>\r\n"
        b"To: User One <user1@corp.example>\r\n"
        b"Subject: delivery test\r\n"
        b"\r\n"
        b"Hello.\r\n"
        b".A line that starts with a dot\r\n"
        b"..and one with two\r\n"
        b".\r\n"
        b"last line\r\n")
USERS = ["user1@corp.example", "user2@corp.example", "user3@corp.example"]


def strip_received(content):
    """The forwarded message without our Received: header (first header)."""
    assert content.startswith(b"Received: "), content[:200]
    lines = content.split(b"\r\n")
    i = 1
    while lines[i].startswith((b"\t", b" ")):
        i += 1
    return b"\r\n".join(lines[i:])


def send(client, rcpts, body=BODY, sender=SENDER):
    """One transaction; returns the queue id from the 250 reply."""
    client.ehlo_or_helo_if_needed()
    code, text = client.mail(sender)
    assert code == 250, (code, text)
    for r in rcpts:
        code, text = client.rcpt(r)
        assert code == 250, (r, code, text)
    code, text = client.data(body)
    assert code == 250, (code, text)
    return re.search(rb"(B\d{10})", text).group(1).decode()


class Delivery(GatewayTestCase):
    """Routes to an aiosmtpd next hop (R-3.1)."""

    def setUp(self):
        self.hop = self.next_hop()
        self.gw = self.gateway()
        self.gw.ctl("domain", "add", "corp.example")
        for user in USERS:
            self.gw.ctl("user", "add", user)
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(self.hop.port))

    def queue_size(self):
        return self.gw.status()["queue"]

    def test_relay_exact_body_and_envelope(self):
        """R-3.1: the next hop gets the exact envelope and body (dot-stuffing
        undone by the hop), and the message leaves the queue (R-3.8)."""
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"])
        client.quit()
        (mail_from, rcpts, content), = self.hop.wait_for(1)
        self.assertEqual(mail_from, SENDER)
        self.assertEqual(rcpts, ["user1@corp.example"])
        self.assertEqual(strip_received(content), BODY)
        self.assertIn(queue_id.encode(), content.split(b"\r\n\r\n")[0])
        wait_until(lambda: self.queue_size() == 0, what="empty queue")
        self.assertGreaterEqual(self.gw.status()["delivered"], 1)
        # one sender log line per attempt: queue id, recipient, next hop, reply
        wait_until(lambda: "%s: sender: from=%s to=user1@corp.example relay=127.0.0.1:%d "
                           "status=sent reply=\"250 2.0.0 Ok: stored\""
                           % (queue_id, SENDER, self.hop.port) in self.gw.log_file("sender"),
                   what="sender log line")

    def test_trace_lines(self):
        """R-4.1: routing decision, connection, protocol lines, result."""
        trace = Trace(self.gw)
        time.sleep(0.5)   # let the subscription reach the daemon
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"])
        self.hop.wait_for(1)
        port = self.hop.port
        trace.wait_for("[%s] route corp.example -> 127.0.0.1:%d" % (queue_id, port))
        trace.wait_for("connecting to 127.0.0.1:%d" % port)
        trace.wait_for("SEND -> [MAIL FROM:<%s>]" % SENDER)
        trace.wait_for("RECV <- [250 2.0.0 Ok: stored]")
        trace.wait_for("[%s] delivered to <user1@corp.example> via 127.0.0.1:%d: 250"
                       % (queue_id, port))
        # body bytes are never traced
        self.assertFalse([l for l in trace.lines if "A line that starts" in l])

    def test_hundred_messages_reuse_connections(self):
        """R-3.6: 100 messages to one next hop over far fewer connections,
        each delivered exactly once."""
        client = self.gw.smtp()
        for i in range(100):
            body = BODY.replace(b"delivery test", b"message %03d" % i)
            send(client, ["user%d@corp.example" % (i % 3 + 1)], body)
        client.quit()
        self.hop.wait_for(100, timeout=60)
        wait_until(lambda: self.queue_size() == 0, what="empty queue")
        time.sleep(0.3)
        subjects = sorted(re.search(rb"Subject: (message \d+)", m[2]).group(1)
                          for m in self.hop.messages)
        self.assertEqual(subjects, [b"message %03d" % i for i in range(100)])
        # connections are cached and reused; at most max_per_destination (20)
        # run at once, and a backlog of 100 opens about 10
        self.assertLessEqual(self.hop.connections, 20,
                             "%d connections for 100 messages" % self.hop.connections)

    def test_permanent_failure_removes_message(self):
        """R-3.7: 5xx from the next hop fails the recipient at once; the
        message leaves the queue and nothing is delivered."""
        self.hop.refuse["user1@corp.example"] = "550 5.1.1 no such user here"
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"])
        wait_until(lambda: self.queue_size() == 0, what="empty queue")
        status = self.gw.status()
        self.assertGreaterEqual(status["failed"], 1)
        self.assertEqual(status["deferred"], 0)
        self.assertEqual(self.hop.messages, [])
        line = ("%s: fail: from=%s to=user1@corp.example relay=127.0.0.1:%d status=bounced "
                "reply=\"550 5.1.1 no such user here\"" % (queue_id, SENDER, self.hop.port))
        wait_until(lambda: line in self.gw.log_file("fail"), what="fail log line")
        self.assertIn(line.replace(": fail:", ": sender:"), self.gw.log_file("sender"))

    def test_clean_stop_with_cached_connection(self):
        """The daemon stops cleanly with an idle cached connection, and a
        delivered message is not sent again after the restart (R-3.8)."""
        client = self.gw.smtp()
        send(client, ["user1@corp.example"])
        client.quit()
        self.hop.wait_for(1)
        wait_until(lambda: self.queue_size() == 0, what="empty queue")
        self.assertEqual(self.gw.stop(), 0)
        self.gw.restart()
        time.sleep(1.5)
        self.assertEqual(self.queue_size(), 0)
        self.assertEqual(len(self.hop.messages), 1)

    def test_one_of_three_refused(self):
        """R-3.7, R-3.8: 3 recipients, 1 gets 550: the other 2 are delivered
        exactly once and the message leaves the queue."""
        self.hop.refuse["user2@corp.example"] = "550 5.1.1 unknown"
        client = self.gw.smtp()
        send(client, USERS)
        (mail_from, rcpts, content), = self.hop.wait_for(1)
        self.assertEqual(sorted(rcpts), ["user1@corp.example", "user3@corp.example"])
        wait_until(lambda: self.queue_size() == 0, what="empty queue")
        time.sleep(1.5)
        self.assertEqual(len(self.hop.messages), 1)

    def test_temporary_failure_retries_only_pending(self):
        """R-3.7, R-3.8: a recipient deferred with 451 is retried alone; the
        ones already delivered are never sent again."""
        self.gw.ctl("config", "set", "delivery.retry_interval", "1")
        self.hop.refuse["user3@corp.example"] = "451 4.3.0 try again later"
        client = self.gw.smtp()
        send(client, USERS)
        first, = self.hop.wait_for(1)
        self.assertEqual(sorted(first[1]), ["user1@corp.example", "user2@corp.example"])
        wait_until(lambda: self.gw.status()["deferred"] >= 1, what="a deferred attempt")
        self.assertEqual(self.queue_size(), 1)
        del self.hop.refuse["user3@corp.example"]
        msgs = self.hop.wait_for(2, timeout=30)
        self.assertEqual(msgs[1][1], ["user3@corp.example"])
        self.assertEqual(strip_received(msgs[1][2]), BODY)
        wait_until(lambda: self.queue_size() == 0, what="empty queue")
        time.sleep(1.5)
        self.assertEqual(len(self.hop.messages), 2)


class NextHopDown(GatewayTestCase):
    """R-3.7: no response from the next hop: keep, retry, give up."""

    def setUp(self):
        self.port = free_port()
        self.hop = NextHop(self, port=self.port)   # not started yet
        self.gw = self.gateway(settings={"delivery.retry_interval": 1})
        self.gw.ctl("domain", "add", "corp.example")
        self.gw.ctl("user", "add", "user1@corp.example")
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(self.port))

    def test_retried_until_the_hop_is_up(self):
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"])
        wait_until(lambda: self.gw.status()["deferred"] >= 1, what="a deferred attempt")
        self.assertEqual(self.gw.status()["queue"], 1)
        listed = self.gw.ctl("queue", "list").stdout
        self.assertIn(queue_id, listed)
        self.hop.start()
        (mail_from, rcpts, content), = self.hop.wait_for(1, timeout=30)
        self.assertEqual(rcpts, ["user1@corp.example"])
        self.assertEqual(strip_received(content), BODY)
        wait_until(lambda: self.gw.status()["queue"] == 0, what="empty queue")
        self.assertIn("%s: sender: from=%s to=user1@corp.example relay=127.0.0.1:%d "
                      "status=deferred" % (queue_id, SENDER, self.port),
                      self.gw.log_file("sender"))

    def test_queued_message_survives_restart(self):
        """R-3.8: stop with a deferred message queued (clean exit), start
        again: the message is still there and goes out once the hop is up."""
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"])
        client.quit()
        wait_until(lambda: self.gw.status()["deferred"] >= 1, what="a deferred attempt")
        self.assertEqual(self.gw.stop(), 0)
        self.hop.start()
        self.gw.restart()
        (mail_from, rcpts, content), = self.hop.wait_for(1, timeout=30)
        self.assertIn(queue_id.encode(), content)
        wait_until(lambda: self.gw.status()["queue"] == 0, what="empty queue")
        time.sleep(1.5)
        self.assertEqual(len(self.hop.messages), 1)

    def test_gives_up_after_no_response_limit(self):
        self.gw.ctl("config", "set", "delivery.give_up_no_response", "1")
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"])
        wait_until(lambda: self.gw.status()["queue"] == 0, timeout=20, what="expiry")
        self.assertGreaterEqual(self.gw.status()["failed"], 1)
        wait_until(lambda: "%s: fail: from=%s to=user1@corp.example status=expired "
                           "reply=\"expired: " % (queue_id, SENDER) in self.gw.log_file("fail"),
                   what="expiry log line")


class KillDuringDelivery(GatewayTestCase):
    """R-3.8: kill -9 while a message is being delivered: nothing is lost;
    only the message in flight may arrive twice."""

    def test_kill9_while_next_hop_holds_the_data(self):
        hop = self.next_hop()
        gw = self.gateway()
        gw.ctl("domain", "add", "corp.example")
        gw.ctl("user", "add", "user1@corp.example")
        gw.ctl("route", "add", "corp.example", "127.0.0.1", str(hop.port))
        client = gw.smtp()
        done = send(client, ["user1@corp.example"],
                    BODY.replace(b"delivery test", b"before the kill"))
        hop.wait_for(1)
        wait_until(lambda: gw.status()["queue"] == 0, what="empty queue")

        hop.data_delay = 3            # the next hop sits on the next message
        in_flight = send(client, ["user1@corp.example"],
                         BODY.replace(b"delivery test", b"in flight"))
        client.close()
        wait_until(lambda: hop.data_started >= 2, what="message data at the next hop")
        gw.kill9()
        hop.data_delay = 0
        gw.restart()
        wait_until(lambda: gw.status()["queue"] == 0, timeout=30, what="empty queue")

        def count(subject):
            return sum(1 for m in hop.messages if subject in m[2])
        wait_until(lambda: count(b"Subject: in flight") >= 1, what="the message in flight")
        self.assertEqual(count(b"Subject: before the kill"), 1, done)
        self.assertIn(count(b"Subject: in flight"), (1, 2), in_flight)


class LocalMailbox(GatewayTestCase):
    """R-3.3: forward-all off: local users' mail goes into their Maildir."""

    def test_maildir_delivery(self):
        self.gw = self.gateway(settings={"delivery.forward_all": "false"})
        self.gw.ctl("domain", "add", "corp.example")
        self.gw.ctl("user", "add", "user1@corp.example")
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"])
        wait_until(lambda: self.gw.status()["queue"] == 0, what="empty queue")
        maildir = os.path.join(self.gw.state_dir, "mailbox", "user1@corp.example")
        files = glob.glob(os.path.join(maildir, "new", "*"))
        self.assertEqual(len(files), 1, files)
        for sub in ("tmp", "new", "cur"):
            self.assertEqual(os.stat(os.path.join(maildir, sub)).st_mode & 0o777, 0o700)
        self.assertEqual(os.listdir(os.path.join(maildir, "tmp")), [])
        with open(files[0], "rb") as f:
            content = f.read()
        self.assertTrue(content.startswith(b"Return-Path: <alice@example.org>\n"
                                           b"Delivered-To: user1@corp.example\n"
                                           b"Received: "), content[:200])
        self.assertIn(queue_id.encode(), content)
        self.assertTrue(content.endswith(BODY.split(b"\r\n\r\n", 1)[1].replace(b"\r\n", b"\n")),
                        content)
        self.assertNotIn(b"\r\n", content)

        # a standard Maildir reader sees one message with its headers
        box = mailbox.Maildir(maildir, create=False)
        (key, msg), = box.items()
        self.assertEqual(msg["Subject"], "delivery test")
        self.assertEqual(msg["Delivered-To"], "user1@corp.example")
        self.assertEqual(msg.get_subdir(), "new")
        box.close()
