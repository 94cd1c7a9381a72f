"""Outbound STARTTLS and AUTH to the next hop (R-3.5).

The next hops are aiosmtpd servers offering STARTTLS with a certificate
made with the openssl CLI at setup, and AUTH PLAIN / LOGIN with an
authenticator (mgtest.NextHop tls=, auth=).
"""
import base64
import json

from mgtest import GatewayTestCase, NextHop, Trace, wait_until
from test_delivery import SENDER, send

PASSWORD = "s3cret-Pw"


class RouteHop(GatewayTestCase):
    """Base: corp.example routed to one next hop, trace running."""

    def start(self, hop):
        self.hop = hop
        self.gw = self.gateway(settings={"delivery.retry_interval": 1})
        self.gw.ctl("domain", "add", "corp.example")
        self.gw.ctl("user", "add", "user1@corp.example")
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(hop.port))
        self.trace = Trace(self.gw).wait_ready()

    def deferred_reply(self, queue_id):
        """The first deferral's reply in the sender log."""
        def find():
            for line in self.gw.log_file("sender").splitlines():
                if queue_id in line and "status=deferred" in line:
                    return line
            return None
        return wait_until(find, what="a deferral of %s" % queue_id)


class OutboundTls(RouteHop):

    def test_opportunistic_starttls(self):
        """STARTTLS is used whenever the next hop offers it."""
        self.start(self.next_hop(tls=True))
        send(self.gw.smtp(), ["user1@corp.example"])
        self.hop.wait_for(1)
        self.assertEqual(self.hop.tls_used, [True])
        self.trace.wait_for("SEND -> [STARTTLS]")
        self.trace.wait_for("TLS established: TLSv1.")

    def test_plain_hop_without_starttls_still_works(self):
        """Opportunistic: a next hop without STARTTLS gets the mail in clear."""
        self.start(self.next_hop())
        send(self.gw.smtp(), ["user1@corp.example"])
        self.hop.wait_for(1)
        self.assertEqual(self.hop.tls_used, [False])

    def test_required_tls_refuses_hop_without_starttls(self):
        """tls require: no STARTTLS, no mail; the message waits (4.7.4) and
        goes once the route is opportunistic again."""
        self.start(self.next_hop())
        self.gw.ctl("route", "tls", "corp.example", "require")
        queue_id = send(self.gw.smtp(), ["user1@corp.example"])
        line = self.deferred_reply(queue_id)
        self.assertIn("4.7.4 the next hop does not offer STARTTLS", line)
        self.assertEqual(self.hop.messages, [])
        self.assertEqual(self.gw.status()["queue"], 1)
        self.gw.ctl("route", "tls", "corp.example", "may")
        self.gw.ctl("queue", "flush")
        self.hop.wait_for(1, timeout=30)
        wait_until(lambda: self.gw.status()["queue"] == 0, what="empty queue")

    def test_required_tls_with_starttls(self):
        self.start(self.next_hop(tls=True))
        self.gw.ctl("route", "tls", "corp.example", "require")
        send(self.gw.smtp(), ["user1@corp.example"])
        self.hop.wait_for(1)
        self.assertEqual(self.hop.tls_used, [True])

    def test_bad_tls_value_refused(self):
        self.start(self.next_hop())
        r = self.gw.ctl("route", "tls", "corp.example", "always", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("route.tls", r.stderr)
        r = self.gw.ctl("route", "tls", "nowhere.example", "require", check=False)
        self.assertEqual(r.returncode, 1)


class OutboundAuth(RouteHop):

    def set_auth(self, user="gw", password=PASSWORD):
        self.gw.ctl("route", "auth", "corp.example", user, input=password + "\n")

    def assert_no_secret_traced(self):
        secrets = (PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
                   base64.b64encode(b"\0gw\0" + PASSWORD.encode()).decode())
        for line in self.trace.lines:
            for secret in secrets:
                self.assertNotIn(secret, line)

    def test_auth_plain_over_tls(self):
        self.start(self.next_hop(tls=True, auth={"gw": PASSWORD}))
        self.set_auth()
        send(self.gw.smtp(), ["user1@corp.example"])
        self.hop.wait_for(1)
        self.assertEqual(self.hop.logins, [("PLAIN", "gw")])
        self.trace.wait_for("SEND -> [<credentials hidden>]")
        self.assert_no_secret_traced()

    def test_auth_login(self):
        self.start(self.next_hop(tls=True, auth={"gw": PASSWORD}, auth_exclude=["PLAIN"]))
        self.set_auth()
        send(self.gw.smtp(), ["user1@corp.example"])
        self.hop.wait_for(1)
        self.assertEqual(self.hop.logins, [("LOGIN", "gw")])
        self.assert_no_secret_traced()

    def test_wrong_password_is_deferred(self):
        self.start(self.next_hop(tls=True, auth={"gw": PASSWORD}))
        self.set_auth(password="wrong")
        queue_id = send(self.gw.smtp(), ["user1@corp.example"])
        self.assertIn("authentication failed: 535", self.deferred_reply(queue_id))
        self.assertEqual(self.hop.messages, [])
        self.set_auth()                       # fixed: the retry logs in
        self.gw.ctl("queue", "flush")
        self.hop.wait_for(1, timeout=30)
        self.assertEqual(self.hop.logins, [("PLAIN", "gw")])

    def test_credentials_never_sent_in_clear(self):
        """A next hop that offers AUTH but no STARTTLS gets no password."""
        self.start(self.next_hop(auth={"gw": PASSWORD}, auth_require_tls=False))
        self.set_auth()
        queue_id = send(self.gw.smtp(), ["user1@corp.example"])
        self.assertIn("not sending credentials without TLS", self.deferred_reply(queue_id))
        self.assertEqual(self.hop.logins, [])
        self.assertEqual(self.hop.messages, [])
        self.gw.ctl("route", "auth", "corp.example")      # no login any more
        self.gw.ctl("queue", "flush")
        self.hop.wait_for(1, timeout=30)

    def test_route_show(self):
        """route show: STARTTLS requirement and login user; never the password."""
        self.start(self.next_hop())
        shown = self.gw.ctl_json("route", "show", "corp.example")
        self.assertEqual(shown, {"domain": "corp.example", "host": "127.0.0.1",
                                 "port": self.hop.port, "tls": "may", "auth_user": ""})
        self.gw.ctl("route", "tls", "corp.example", "require")
        self.set_auth()
        shown = self.gw.ctl_json("route", "show", "corp.example")
        self.assertEqual((shown["tls"], shown["auth_user"]), ("require", "gw"))
        text = self.gw.ctl("route", "show", "corp.example").stdout
        self.assertIn("STARTTLS: required", text)
        self.assertIn("Login: gw", text)
        self.assertNotIn(PASSWORD, text + json.dumps(shown))
        # credentials and TLS survive a restart (config.db, migration 3)
        self.assertEqual(self.gw.stop(), 0)
        self.gw.restart()
        self.assertEqual(self.gw.ctl_json("route", "show", "corp.example")["auth_user"], "gw")
        r = self.gw.ctl("route", "show", "nowhere.example", check=False)
        self.assertEqual(r.returncode, 1)

    def test_password_from_stdin_only(self):
        self.start(self.next_hop())
        r = self.gw.ctl("route", "auth", "corp.example", "gw", input="", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertNotIn(PASSWORD, r.stderr)
