"""mailgatectl relay edit N PATTERN allow|deny: a relay rule changed in
place (ReplaceRelayRule, the console's Edit...), keeping its position.

Same contract as the other verbs (test_cli.py): exit 0 and nothing on
stdout on success, with or without --json; a refused value exits 1 with
one line per problem on stderr naming the field; wrong arguments exit 2.
"""
import unittest

from mgtest import GatewayTestCase

SENDER = "alice@example.org"


class CliRelayEdit(GatewayTestCase):

    def setUp(self):
        self.gw = self.gateway()
        while self.gw.ctl_json("relay", "list"):
            self.gw.ctl("relay", "remove", "1")
        self.gw.ctl("relay", "add", "10.0.0.0/8", "deny")
        self.gw.ctl("relay", "add", "192.0.2.0/24", "allow")

    def rules(self):
        return [(r["position"], r["pattern"], r["action"])
                for r in self.gw.ctl_json("relay", "list")]

    def rcpt(self, address):
        """The refusal (of MAIL or of RCPT), or 250."""
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        code = client.mail(SENDER)[0]
        if code == 250:
            code = client.rcpt(address)[0]
        client.quit()
        return code

    def assertRefused(self, args, field):
        r = self.gw.ctl(*args, check=False)
        self.assertEqual(r.returncode, 1, (args, r.stdout, r.stderr))
        lines = r.stderr.strip().split("\n")
        self.assertTrue(all(line.startswith("mailgatectl: ") for line in lines), r.stderr)
        self.assertIn(field, r.stderr)

    def test_edit_in_place_and_live(self):
        """The rule keeps its position; the running receiver follows at once
        (the loopback client may relay once rule 2 allows it)."""
        self.assertEqual(self.rcpt("bob@elsewhere.example"), 554)
        r = self.gw.ctl("relay", "edit", "2", "127.0.0.0/8", "allow")
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.rules(), [(1, "10.0.0.0/8", "deny"), (2, "127.0.0.0/8", "allow")])
        self.assertEqual(self.rcpt("bob@elsewhere.example"), 250)

        # --json: the same as for the other change verbs (nothing printed)
        r = self.gw.ctl("--json", "relay", "edit", "1", "127.0.0.1", "deny")
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.rules(), [(1, "127.0.0.1", "deny"), (2, "127.0.0.0/8", "allow")])
        self.assertGreaterEqual(self.rcpt("bob@elsewhere.example"), 500)   # first match wins

    def test_edit_refusals(self):
        before = self.rules()
        self.assertRefused(["relay", "edit", "3", "127.0.0.1", "allow"], "relay.position")
        self.assertRefused(["relay", "edit", "0", "127.0.0.1", "allow"], "relay.position")
        self.assertRefused(["relay", "edit", "x", "127.0.0.1", "allow"], "relay.position")
        self.assertRefused(["relay", "edit", "1", "not a pattern!", "allow"], "relay.pattern")
        self.assertRefused(["relay", "edit", "1", "127.0.0.1", "maybe"], "relay.action")
        r = self.gw.ctl("relay", "edit", "1", "127.0.0.1", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("Usage: mailgatectl", r.stderr)
        self.assertEqual(self.rules(), before)


if __name__ == "__main__":
    unittest.main()
