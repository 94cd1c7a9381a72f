"""SPF check of the sender (R-1.7, RFC 7208; setting receiver.spf).

mailgated asks libunbound, forwarding to a real dnsmasq on 127.0.0.1
(mgtest.DnsServer) that serves the TXT, MX and A records below; clients
connect from 127.0.0.1, 127.0.0.2 and 127.0.0.3 so one record can pass one
client and fail another.
"""
from mgtest import GatewayTestCase, Trace

RCPT = "user1@corp.example"
BODY = b"Subject: spf\r\n\r\nHello.\r\n"

TXT = [
    ("pass.dnstest", "v=spf1 ip4:127.0.0.1 -all"),
    ("soft.dnstest", "v=spf1 ip4:127.0.0.1 ~all"),
    ("inc.dnstest", "v=spf1 include:pass.dnstest -all"),
    ("mx.dnstest", "v=spf1 mx -all"),
    ("broken.dnstest", "v=spf1 ip4:127.0.0.1 bogus -all"),
]
MX = [("mx.dnstest", "mxhost.dnstest", 10)]
HOSTS = [("mxhost.dnstest", "127.0.0.3")]


class Spf(GatewayTestCase):

    def setUp(self):
        self.hop = self.next_hop()
        self.dns = self.dns_server(txt=TXT, mx=MX, hosts=HOSTS)
        self.gw = self.gateway(settings={"dns.forwarder": self.dns.forwarder,
                                         "receiver.spf": "reject"})
        self.gw.ctl("domain", "add", "corp.example")
        self.gw.ctl("user", "add", "user1@corp.example")
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(self.hop.port))
        self.trace = Trace(self.gw).wait_ready()

    def mail(self, sender, source="127.0.0.1", helo="client.example.org"):
        client = self.gw.smtp(source=source)
        client.ehlo(helo)
        return client, client.mail(sender)

    def send(self, sender, source="127.0.0.1"):
        client, (code, text) = self.mail(sender, source)
        self.assertEqual(code, 250, text)
        self.assertEqual(client.rcpt(RCPT)[0], 250)
        code, text = client.data(BODY)
        self.assertEqual(code, 250, text)
        client.quit()

    def test_pass_accepted(self):
        self.send("alice@pass.dnstest")
        self.trace.wait_for("SPF pass.dnstest for 127.0.0.1: pass (ip4:127.0.0.1)")
        (_, rcpts, content), = self.hop.wait_for(1)
        self.assertEqual(rcpts, [RCPT])
        self.assertIn(b"Received-SPF: pass", content)

    def test_fail_refused(self):
        _, (code, text) = self.mail("alice@pass.dnstest", source="127.0.0.2")
        self.assertEqual(code, 550, text)
        self.assertIn(b"5.7.23", text)
        self.assertIn(b"SPF check failed for <alice@pass.dnstest> (client 127.0.0.2)", text)
        self.trace.wait_for("SPF pass.dnstest for 127.0.0.2: fail (-all)")

    def test_include_chain(self):
        self.send("bob@inc.dnstest")
        self.trace.wait_for("SPF inc.dnstest for 127.0.0.1: pass (include:pass.dnstest)")
        _, (code, text) = self.mail("bob@inc.dnstest", source="127.0.0.2")
        self.assertEqual(code, 550, text)
        self.trace.wait_for("SPF inc.dnstest for 127.0.0.2: fail (-all)")

    def test_mx_mechanism(self):
        self.send("carol@mx.dnstest", source="127.0.0.3")
        self.trace.wait_for("SPF mx.dnstest for 127.0.0.3: pass (mx)")
        _, (code, text) = self.mail("carol@mx.dnstest", source="127.0.0.2")
        self.assertEqual(code, 550, text)

    def test_softfail_none_permerror_accepted(self):
        self.send("dave@soft.dnstest", source="127.0.0.2")
        self.trace.wait_for("SPF soft.dnstest for 127.0.0.2: softfail (~all)")
        self.send("erin@nospf.dnstest", source="127.0.0.2")
        self.trace.wait_for("SPF nospf.dnstest for 127.0.0.2: none")
        self.send("frank@broken.dnstest", source="127.0.0.2")
        self.trace.wait_for("SPF broken.dnstest for 127.0.0.2: permerror")
        messages = self.hop.wait_for(3)
        self.assertIn(b"Received-SPF: softfail", messages[0][2])

    def test_temperror_tempfails(self):
        # dnsmasq refuses names outside its zones: the TXT lookup fails
        _, (code, text) = self.mail("gina@elsewhere.example", source="127.0.0.2")
        self.assertEqual(code, 451, text)
        self.assertIn(b"4.7.24", text)
        self.trace.wait_for("SPF elsewhere.example for 127.0.0.2: temperror")

    def test_null_sender_checks_helo(self):
        """RFC 7208 2.3: <> is checked as postmaster@HELO."""
        _, (code, text) = self.mail("", source="127.0.0.2", helo="pass.dnstest")
        self.assertEqual(code, 550, text)
        self.trace.wait_for("SPF pass.dnstest for 127.0.0.2: fail (-all)")
        _, (code, text) = self.mail("", source="127.0.0.2", helo="[127.0.0.2]")
        self.assertEqual(code, 250, text)
        self.trace.wait_for("SPF not checked: null sender")

    def test_relay_rule_skips_check(self):
        self.gw.ctl("relay", "add", "127.0.0.2", "allow")
        _, (code, text) = self.mail("alice@pass.dnstest", source="127.0.0.2")
        self.assertEqual(code, 250, text)
        self.trace.wait_for("SPF not checked: client allowed by a relay rule")

    def test_header_mode_accepts_and_marks(self):
        self.gw.ctl("config", "set", "receiver.spf", "header")
        self.send("alice@pass.dnstest", source="127.0.0.2")
        self.trace.wait_for("SPF pass.dnstest for 127.0.0.2: fail (-all)")
        (_, _, content), = self.hop.wait_for(1)
        self.assertIn(b"Received-SPF: fail", content)
        self.assertIn(b"client-ip=127.0.0.2", content)
        self.assertLess(content.index(b"Received-SPF:"), content.index(b"Received: from"))

    def test_off_accepts_everything(self):
        self.gw.ctl("config", "set", "receiver.spf", "off")
        self.send("alice@pass.dnstest", source="127.0.0.2")
        (_, _, content), = self.hop.wait_for(1)
        self.assertNotIn(b"Received-SPF", content)
        self.assertFalse([l for l in self.trace.lines if "SPF pass.dnstest" in l])

    def test_setting_validated(self):
        r = self.gw.ctl("config", "set", "receiver.spf", "maybe", check=False)
        self.assertNotEqual(r.returncode, 0)
