"""Metrics (issue 7 item 9): counters in `mailgatectl status --json` and the
optional Prometheus endpoint on a loopback port (setting metrics.listen)."""
import re
import unittest
import urllib.request

from mgtest import GatewayTestCase, free_port, wait_until

SENDER = "alice@example.org"
BODY = b"Subject: metrics\r\n\r\nhello\r\n"


class Metrics(GatewayTestCase):

    def setUp(self):
        self.hop = self.next_hop()
        self.gw = self.gateway()
        self.gw.ctl("domain", "add", "corp.example")
        self.gw.ctl("user", "add", "user1@corp.example")
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(self.hop.port))

    def traffic(self):
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.mail(SENDER)
        self.assertEqual(client.rcpt("nobody@corp.example")[0], 550)
        self.assertEqual(client.rcpt("victim@elsewhere.example")[0], 554)
        self.assertEqual(client.rcpt("user1@corp.example")[0], 250)
        self.assertEqual(client.data(BODY)[0], 250)
        client.quit()
        self.hop.wait_for(1)
        wait_until(lambda: self.gw.status()["delivered"] >= 1, what="a delivery")

    def test_status_counts_rejections_and_latency(self):
        self.traffic()
        st = self.gw.status()
        self.assertEqual(st["rejections"].get("550 5.1.1"), 1, st["rejections"])
        self.assertEqual(st["rejections"].get("554 5.7.1"), 1, st["rejections"])
        self.assertEqual(st["received"], 1)
        self.assertEqual(st["commits"], 1)
        self.assertGreater(st["commit-latency-max-ms"], 0)
        self.assertGreaterEqual(st["delivery-connections"], 1)

    def test_prometheus_endpoint(self):
        port = free_port()
        self.gw.ctl("config", "set", "metrics.listen", "127.0.0.1:%d" % port)
        self.traffic()
        url = "http://127.0.0.1:%d/metrics" % port
        with urllib.request.urlopen(url, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            text = r.read().decode()
        self.assertIn('mailgate_service_up{service="receiver"} 1\n', text)
        self.assertIn("mailgate_messages_received_total 1\n", text)
        self.assertRegex(text, r'mailgate_rejections_total\{code="550",status="5\.1\.1"\} 1\n')
        self.assertRegex(text, r"mailgate_recipients_delivered_total [1-9]")
        # switched off again: nothing listens
        self.gw.ctl("config", "set", "metrics.listen", "")
        with self.assertRaises(OSError):
            urllib.request.urlopen(url, timeout=5)

    def test_only_loopback(self):
        r = self.gw.ctl("config", "set", "metrics.listen", "0.0.0.0:9325", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("metrics.listen", r.stderr)
        r = self.gw.ctl("config", "set", "metrics.listen", "127.0.0.1", check=False)
        self.assertEqual(r.returncode, 1)


if __name__ == "__main__":
    unittest.main()
