"""Failure reports (R-3.7, RFC 3464) end to end.

corp.example is routed to one aiosmtpd next hop (the internal server, which
may refuse recipients or be down); example.org, the senders' domain, to
another (where the reports arrive).
"""
import email
import email.policy

from mgtest import GatewayTestCase, NextHop, Trace, free_port, wait_until
from test_delivery import BODY, SENDER, send


class Reports(GatewayTestCase):

    def setUp(self):
        self.senders = self.next_hop()

    def start(self, corp_port, settings=None):
        base = {"delivery.retry_interval": 1}
        base.update(settings or {})
        self.gw = self.gateway(settings=base)
        self.gw.ctl("domain", "add", "corp.example")
        for user in ("user1", "user2", "user3"):
            self.gw.ctl("user", "add", user + "@corp.example")
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(corp_port))
        self.gw.ctl("route", "add", "example.org", "127.0.0.1", str(self.senders.port))

    def queue_size(self):
        return self.gw.status()["queue"]

    def settle(self):
        wait_until(lambda: self.queue_size() == 0, timeout=20, what="empty queue")

    def parse(self, content):
        return email.message_from_bytes(content, policy=email.policy.default)

    def test_permanent_failure_report(self):
        corp = self.next_hop()
        corp.refuse["user2@corp.example"] = "550 5.1.1 <user2@corp.example>: no such user"
        self.start(corp.port)
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example", "user2@corp.example"])
        (mail_from, rcpts, content), = self.senders.wait_for(1)
        self.settle()
        self.assertEqual(mail_from, "<>")
        self.assertEqual(rcpts, [SENDER])
        report = self.parse(content)
        self.assertEqual(report.get_content_type(), "multipart/report")
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        self.assertEqual(report["To"].addresses[0].addr_spec, SENDER)
        self.assertIn("\r\nTo: <%s>\r\n" % SENDER, content.decode())
        text = content.decode()
        self.assertIn("Final-Recipient: rfc822; user2@corp.example\r\nAction: failed\r\n"
                      "Status: 5.1.1\r\n", text)
        self.assertNotIn("user1@corp.example\r\nAction", text)    # delivered: not reported
        self.assertIn("X-Mailgate-Queue-ID: %s" % queue_id, text)
        self.assertIn("Content-Type: text/rfc822-headers", text)
        self.assertIn("Subject: delivery test", text)             # original headers
        self.assertNotIn("A line that starts with a dot", text)   # never the body
        self.assertEqual(len(corp.messages), 1)                   # user1 delivered once
        self.assertEqual(len(self.senders.messages), 1)

    def test_expiry_exactly_one_report(self):
        """Next hop never answers: give up, and exactly one report listing
        every recipient."""
        self.start(free_port(), {"delivery.give_up_no_response": 2})
        client = self.gw.smtp()
        send(client, ["user1@corp.example", "user3@corp.example"])
        (mail_from, rcpts, content), = self.senders.wait_for(1, timeout=30)
        self.settle()
        text = content.decode()
        self.assertIn("Final-Recipient: rfc822; user1@corp.example", text)
        self.assertIn("Final-Recipient: rfc822; user3@corp.example", text)
        self.assertIn("Diagnostic-Code: X-Mailgate; expired: connect to", text)
        self.gw.ctl("queue", "flush")
        wait_until(lambda: self.gw.status()["active"] == 0, what="idle delivery")
        self.assertEqual(len(self.senders.messages), 1)

    def test_no_report_for_null_sender(self):
        corp = self.next_hop()
        corp.refuse["user1@corp.example"] = "550 5.1.1 no such user"
        self.start(corp.port)
        trace = Trace(self.gw).wait_ready()
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"], sender="")
        trace.wait_for("[%s] no delivery report: the sender is null" % queue_id)
        self.settle()
        self.assertEqual(self.senders.messages, [])
        self.assertEqual(self.gw.status()["received"], 1)

    def test_failed_report_is_not_reported(self):
        """No loops: a report that fails itself (null sender) ends there."""
        corp = self.next_hop()
        corp.refuse["user1@corp.example"] = "550 5.1.1 no such user"
        self.senders.refuse[SENDER] = "550 5.1.1 sender gone"
        self.start(corp.port)
        trace = Trace(self.gw).wait_ready()
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"])
        line, = trace.wait_for("[%s] failure report " % queue_id)
        report_id = line.split("failure report ")[1].split()[0]
        trace.wait_for("[%s] failed <%s>: 550 5.1.1 sender gone" % (report_id, SENDER))
        trace.wait_for("[%s] no delivery report: the sender is null" % report_id)
        self.settle()
        self.assertEqual(self.senders.messages, [])
        self.assertEqual(self.gw.status()["failed"], 2)

    def test_japanese_report_with_postmaster_copy(self):
        corp = self.next_hop()
        corp.refuse["user1@corp.example"] = "550 5.1.1 no such user"
        self.start(corp.port, {"delivery.report_language": "ja",
                               "delivery.fail_report_copy": "true",
                               "delivery.postmaster": "pm@example.org"})
        client = self.gw.smtp()
        send(client, ["user1@corp.example"])
        (mail_from, rcpts, content), = self.senders.wait_for(1)
        self.assertEqual(sorted(rcpts), [SENDER, "pm@example.org"])
        report = self.parse(content)
        self.assertEqual(report["Subject"], "配送不能のお知らせ")
        human = report.get_payload()[0].get_content()
        self.assertIn("次の宛先に配送できませんでした", human)
        self.assertIn("<user1@corp.example>: 550 5.1.1 no such user", human)

    def test_delay_warning_once(self):
        port = free_port()
        corp = NextHop(self, port=port)      # down for now
        self.start(port, {"delivery.delay_warning": 1})
        client = self.gw.smtp()
        send(client, ["user1@corp.example"])
        (mail_from, rcpts, content), = self.senders.wait_for(1, timeout=30)
        text = content.decode()
        self.assertIn("Action: delayed", text)
        self.assertIn("Status: 4.", text)
        self.assertIn("WARNING ONLY", text)
        deferred = self.gw.status()["deferred"]
        wait_until(lambda: self.gw.status()["deferred"] >= deferred + 1, timeout=30,
                   what="another retry")
        self.assertEqual(len(self.senders.messages), 1)      # warned once
        corp.start()
        corp.wait_for(1, timeout=30)
        self.settle()
        self.assertEqual(len(self.senders.messages), 1)
