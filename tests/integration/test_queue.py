"""Queue tools (R-3.8) and the hop count on the way out (R-3.4).

`mailgatectl queue list|show|flush|hold|release|delete` against the real
daemon, with a next hop that is down (messages stay queued) or up.
"""
import json

from mgtest import GatewayTestCase, NextHop, free_port, wait_until
from test_delivery import BODY, SENDER, send


class QueueTools(GatewayTestCase):

    def setUp(self):
        self.port = free_port()
        self.hop = NextHop(self, port=self.port)      # down until started
        self.gw = self.gateway(settings={"delivery.retry_interval": 1})
        self.gw.ctl("domain", "add", "corp.example")
        self.gw.ctl("user", "add", "user1@corp.example")
        self.gw.ctl("user", "add", "user2@corp.example")
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(self.port))

    def queued(self):
        return {m["id"]: m for m in self.gw.ctl_json("queue", "list")}

    def test_show_hold_release(self):
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example", "user2@corp.example"])
        wait_until(lambda: self.gw.status()["deferred"] >= 1, what="a deferred attempt")

        shown = self.gw.ctl_json("queue", "show", queue_id)
        self.assertEqual(shown["id"], queue_id)
        self.assertEqual(shown["sender"], SENDER)
        self.assertEqual([r["address"] for r in shown["recipients"]],
                         ["user1@corp.example", "user2@corp.example"])
        self.assertEqual({r["state"] for r in shown["recipients"]}, {"pending"})
        self.assertIn("Subject: delivery test\r\n", shown["headers"])
        self.assertNotIn("Hello.", shown["headers"])       # headers only
        text = self.gw.ctl("queue", "show", queue_id).stdout
        self.assertIn("user1@corp.example (pending)", text)
        self.assertIn("Subject: delivery test", text)

        self.gw.ctl("queue", "hold", queue_id)
        self.assertTrue(self.queued()[queue_id]["held"])
        self.hop.start()
        self.gw.ctl("queue", "flush", queue_id)           # held: flush does not send
        attempts = self.queued()[queue_id]["attempts"]
        wait_until(lambda: self.gw.status()["active"] == 0, what="no active job")
        self.assertEqual(self.hop.messages, [])
        self.assertEqual(self.queued()[queue_id]["attempts"], attempts)

        self.gw.ctl("queue", "release", queue_id)
        self.hop.wait_for(1, timeout=30)
        wait_until(lambda: self.queued() == {}, what="empty queue")

    def test_delete(self):
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"])
        wait_until(lambda: self.gw.status()["deferred"] >= 1, what="a deferred attempt")
        self.gw.ctl("queue", "delete", queue_id)
        self.assertEqual(self.queued(), {})
        self.hop.start()
        # gone for good: not delivered, and not back after a restart
        self.assertEqual(self.gw.stop(), 0)
        self.gw.restart()
        self.assertEqual(self.queued(), {})
        self.assertEqual(self.hop.messages, [])

    def test_unknown_id_refused(self):
        for verb in ("show", "hold", "release", "delete", "flush"):
            r = self.gw.ctl("queue", verb, "B9999999999", check=False)
            self.assertEqual(r.returncode, 1, verb)
            self.assertIn("B9999999999", r.stderr)
        r = self.gw.ctl("queue", "hold", check=False)
        self.assertEqual(r.returncode, 2)

    def test_hop_count_enforced_on_the_way_out(self):
        """R-3.4: a queued message with more Received: headers than
        receiver.max_received_headers (besides our own) fails permanently
        when it is due, even though it was accepted under a higher limit."""
        hops = b"".join(b"Received: from hop%d.example by x; Fri, 27 Nov 2026 00:00:00 +0000\r\n"
                        % i for i in range(4))
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"], hops + BODY)
        # tried once while the next hop is down: deferred, due later
        wait_until(lambda: self.gw.status()["deferred"] >= 1, what="a deferred attempt")
        self.gw.ctl("queue", "hold", queue_id)
        self.gw.ctl("config", "set", "receiver.max_received_headers", "3")
        self.hop.start()
        self.gw.ctl("queue", "release", queue_id)
        self.gw.ctl("queue", "flush", queue_id)
        wait_until(lambda: self.queued() == {}, timeout=20, what="empty queue")
        self.assertEqual(self.hop.messages, [])
        self.assertIn("%s: fail: from=%s to=user1@corp.example" % (queue_id, SENDER),
                      self.gw.log_file("fail"))
        self.assertIn("too many hops (5 Received: headers", self.gw.log_file("fail"))
