"""Delivery by DNS (R-3.1) and run-time loop protection (R-3.4).

mailgated resolves through libunbound, forwarding to a real dnsmasq on
127.0.0.1 (mgtest.DnsServer) that knows only the records each test gives;
next hops are aiosmtpd servers on distinct loopback addresses sharing one
port (delivery.port), so the address a message reached names the MX host.
"""
import re

from mgtest import GatewayTestCase, Trace, free_port, wait_until

SENDER = "alice@example.org"
BODY = (b"From: Alice <alice@example.org>\r\n"
        b"Subject: dns test\r\n"
        b"\r\n"
        b"Hello.\r\n")


def send(client, rcpts, body=BODY, sender=SENDER):
    client.ehlo_or_helo_if_needed()
    code, text = client.mail(sender)
    assert code == 250, (code, text)
    for r in rcpts:
        code, text = client.rcpt(r)
        assert code == 250, (r, code, text)
    code, text = client.data(body)
    assert code == 250, (code, text)
    return re.search(rb"(B\d{10})", text).group(1).decode()


class DnsDelivery(GatewayTestCase):

    def start(self, mx=(), hosts=(), raw=(), port=None):
        self.port = port or free_port("127.0.0.2")
        self.dns = self.dns_server(mx=mx, hosts=hosts, raw=raw)
        self.gw = self.gateway(settings={"dns.forwarder": self.dns.forwarder,
                                         "delivery.port": self.port,
                                         "delivery.retry_interval": 1})
        self.gw.ctl("relay", "add", "127.0.0.1", "allow")
        self.route_senders()

    def route_senders(self):
        """Failure reports to the senders' domain go to a next hop of their own."""
        self.senders = self.next_hop()
        self.gw.ctl("route", "add", "example.org", "127.0.0.1", str(self.senders.port))

    def hop_at(self, address):
        return self.next_hop(host=address, port=self.port)

    def queue_size(self):
        return self.gw.status()["queue"]

    def test_mx_preference(self):
        """R-3.1: the MX with the lowest preference value gets the mail."""
        self.start(mx=[("pref.dnstest", "mx2.pref.dnstest", 20), ("pref.dnstest", "mx1.pref.dnstest", 10)],
                   hosts=[("mx1.pref.dnstest", "127.0.0.2"), ("mx2.pref.dnstest", "127.0.0.3")])
        best = self.hop_at("127.0.0.2")
        worse = self.hop_at("127.0.0.3")
        trace = Trace(self.gw).wait_ready()
        client = self.gw.smtp()
        for i in range(3):
            send(client, ["u%d@pref.dnstest" % i])
        client.quit()
        best.wait_for(3)
        wait_until(lambda: self.queue_size() == 0, what="empty queue")
        self.assertEqual(worse.messages, [])
        self.assertEqual(sorted(r for m in best.messages for r in m[1]),
                         ["u0@pref.dnstest", "u1@pref.dnstest", "u2@pref.dnstest"])
        trace.wait_for("MX pref.dnstest: mx1.pref.dnstest preference 10")

    def test_next_mx_when_first_is_down(self):
        """R-3.1: the preferred MX refuses connections: the next one gets it."""
        self.start(mx=[("down.dnstest", "mx1.down.dnstest", 10), ("down.dnstest", "mx2.down.dnstest", 20)],
                   hosts=[("mx1.down.dnstest", "127.0.0.4"), ("mx2.down.dnstest", "127.0.0.3")])
        second = self.hop_at("127.0.0.3")
        trace = Trace(self.gw).wait_ready()
        client = self.gw.smtp()
        queue_id = send(client, ["bob@down.dnstest"])
        (mail_from, rcpts, content), = second.wait_for(1)
        self.assertEqual(rcpts, ["bob@down.dnstest"])
        self.assertIn(queue_id.encode(), content)
        wait_until(lambda: self.queue_size() == 0, what="empty queue")
        self.assertEqual(self.gw.status()["deferred"], 0)
        trace.wait_for("connect to 127.0.0.4 (mx1.down.dnstest) port %d failed" % self.port)

    def test_answers_cached_for_their_ttl(self):
        """R-3.1: answers are kept for their TTL (60 s here): with the DNS
        server gone, mail to the same domain still finds its MX."""
        self.start(mx=[("cache.dnstest", "mx.cache.dnstest", 10)],
                   hosts=[("mx.cache.dnstest", "127.0.0.2")])
        hop = self.hop_at("127.0.0.2")
        client = self.gw.smtp()
        send(client, ["one@cache.dnstest"])
        hop.wait_for(1)
        self.dns.stop()
        send(client, ["two@cache.dnstest"])
        hop.wait_for(2)
        self.assertEqual(hop.messages[1][1], ["two@cache.dnstest"])
        self.assertEqual(self.gw.status()["deferred"], 0)

    def test_address_record_without_mx(self):
        """R-3.1 (RFC 5321 5.1): no MX: the domain's own A record."""
        self.start(hosts=[("plain.dnstest", "127.0.0.2")])
        hop = self.hop_at("127.0.0.2")
        client = self.gw.smtp()
        send(client, ["carol@plain.dnstest"])
        (mail_from, rcpts, content), = hop.wait_for(1, timeout=4)
        self.assertEqual(rcpts, ["carol@plain.dnstest"])
        wait_until(lambda: self.queue_size() == 0, what="empty queue")

    def test_null_mx_fails_permanently(self):
        """R-3.1 (RFC 7505): "MX 0 ." fails at once, no retry."""
        self.start(raw=[("nullmx.dnstest", 15, "000000")], hosts=[("nullmx.dnstest", "127.0.0.2")])
        hop = self.hop_at("127.0.0.2")
        client = self.gw.smtp()
        queue_id = send(client, ["dave@nullmx.dnstest"])
        wait_until(lambda: self.queue_size() == 0, what="empty queue")
        status = self.gw.status()
        self.assertEqual(status["deferred"], 0)
        self.assertGreaterEqual(status["failed"], 1)
        self.assertEqual(hop.messages, [])
        self.assertIn("%s: fail: from=%s to=dave@nullmx.dnstest" % (queue_id, SENDER),
                      self.gw.log_file("fail"))
        self.assertIn("does not accept mail (null MX)", self.gw.log_file("fail"))
        (mail_from, rcpts, report), = self.senders.wait_for(1)
        self.assertEqual(rcpts, [SENDER])
        self.assertIn(b"Final-Recipient: rfc822; dave@nullmx.dnstest", report)

    def test_unknown_domain_fails_permanently(self):
        """R-3.1: NXDOMAIN for the recipient domain is permanent."""
        self.start()
        client = self.gw.smtp()
        send(client, ["erin@nowhere.dnstest"])
        wait_until(lambda: self.queue_size() == 0, what="empty queue")
        self.assertEqual(self.gw.status()["deferred"], 0)
        self.assertIn("domain nowhere.dnstest not found", self.gw.log_file("fail"))

    def test_route_host_name_resolved(self):
        """R-3.1: a route to a host name goes through the resolver too:
        "localhost" is NXDOMAIN in the DNS server, yet the route works
        (the hosts file / libunbound's localhost zone answer first)."""
        self.dns = self.dns_server(local_domains=("dnstest", "localhost"))
        hop = self.next_hop()
        self.gw = self.gateway(settings={"dns.forwarder": self.dns.forwarder})
        self.gw.ctl("domain", "add", "corp.example")
        self.gw.ctl("user", "add", "user1@corp.example")
        self.gw.ctl("route", "add", "corp.example", "localhost", str(hop.port))
        client = self.gw.smtp()
        send(client, ["user1@corp.example"])
        (mail_from, rcpts, content), = hop.wait_for(1, timeout=4)
        self.assertEqual(rcpts, ["user1@corp.example"])


class RunTimeLoop(GatewayTestCase):
    """R-3.4: a next hop that is this server itself fails permanently."""

    def test_mx_pointing_at_own_listener(self):
        self.dns = self.dns_server(mx=[("loop.dnstest", "mx.loop.dnstest", 10)],
                                   hosts=[("mx.loop.dnstest", "127.0.0.1")])
        self.gw = self.gateway(settings={"dns.forwarder": self.dns.forwarder})
        self.gw.ctl("relay", "add", "127.0.0.1", "allow")
        DnsDelivery.route_senders(self)
        self.gw.ctl("config", "set", "delivery.port", str(self.gw.port()))
        trace = Trace(self.gw).wait_ready()
        client = self.gw.smtp()
        queue_id = send(client, ["frank@loop.dnstest"])
        wait_until(lambda: self.gw.status()["queue"] == 0, what="empty queue")
        self.assertEqual(self.gw.status()["deferred"], 0)
        self.assertEqual(self.gw.status()["received"], 1)   # not sent back to ourselves
        self.senders.wait_for(1)                              # the report went out
        trace.wait_for("loops back to myself")
        self.assertIn("%s: fail: from=%s to=frank@loop.dnstest" % (queue_id, SENDER),
                      self.gw.log_file("fail"))
        self.assertIn("is this server's own listener 127.0.0.1:%d" % self.gw.port(),
                      self.gw.log_file("fail"))

    def test_route_pointing_at_own_listener(self):
        """A route to our own address and port is refused at run time too."""
        self.gw = self.gateway()
        DnsDelivery.route_senders(self)
        self.gw.ctl("domain", "add", "corp.example")
        self.gw.ctl("user", "add", "user1@corp.example")
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(self.gw.port()))
        client = self.gw.smtp()
        queue_id = send(client, ["user1@corp.example"])
        self.senders.wait_for(1)                              # the failure report
        wait_until(lambda: self.gw.status()["queue"] == 0, what="empty queue")
        self.assertEqual(self.gw.status()["received"], 1)
        self.assertIn("%s: fail: from=%s to=user1@corp.example" % (queue_id, SENDER),
                      self.gw.log_file("fail"))
        self.assertIn("loops back to myself", self.gw.log_file("fail"))
