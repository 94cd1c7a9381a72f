"""ApplyChanges: the console's Apply, several configuration changes in one
call, all or nothing in one SQLite transaction (issue 5): the list tabs'
adds/removes and the Server settings tab's settings with its routes.  Called as a raw
D-Bus peer on the control socket (mailgatectl has no verb for it)."""
import unittest

import gi
gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402

from mgtest import GatewayTestCase  # noqa: E402

SENDER = "alice@example.org"


class ApplyChanges(GatewayTestCase):

    def setUp(self):
        self.gw = self.gateway()
        self.gw.ctl("relay", "add", "192.0.2.0/24", "allow")

    def call(self, changes):
        """ApplyChanges([(method, parameters), ...]); parameters are
        GLib.Variant tuples.  Returns the problems as a list of tuples."""
        conn = Gio.DBusConnection.new_for_address_sync(
            "unix:path=" + self.gw.socket,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
        self.addCleanup(conn.close_sync, None)
        args = GLib.Variant("(a(sv))", (changes,))
        reply = conn.call_sync(None, "/org/mailgate/Control", "org.mailgate.Control1",
                               "ApplyChanges", args, GLib.VariantType("(a(sss))"),
                               Gio.DBusCallFlags.NONE, 30000, None)
        return reply.unpack()[0]

    def state(self):
        """Everything ApplyChanges can touch, as the daemon reports it."""
        return {
            "domains": self.gw.ctl_json("domain", "list"),
            "accounts": self.gw.ctl_json("user", "list"),
            "aliases": self.gw.ctl_json("alias", "list"),
            "relay": self.gw.ctl_json("relay", "list"),
            "settings": self.gw.ctl_json("config", "list"),
            "routes": self.gw.ctl_json("route", "list"),
        }

    def setting(self, key):
        return self.gw.ctl("config", "get", key).stdout.strip()

    def rcpt(self, address):
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.mail(SENDER)
        code = client.rcpt(address)[0]
        client.quit()
        return code

    def test_third_change_invalid_changes_nothing(self):
        """A list whose 3rd change is invalid: nothing of the first two is
        kept (one transaction), and the problem names the change and field."""
        before = self.state()
        problems = self.call([
            ("AddDomain", GLib.Variant("(sb)", ("corp.example", False))),
            ("AddAccount", GLib.Variant("(ss)", ("bob@corp.example", ""))),
            ("AddDomain", GLib.Variant("(sb)", ("not a domain!", False))),
            ("MoveRelayRule", GLib.Variant("(uu)", (1, 1))),
        ])
        self.assertEqual(problems, [("invalid-domain", "changes[2].domain", "not a domain!")])
        self.assertEqual(self.state(), before)
        self.assertEqual(self.rcpt("bob@corp.example"), 554)   # not our domain: not applied live

    def test_every_problem_named(self):
        """Every change is tried, so each bad one is reported with its index."""
        before = self.state()
        problems = self.call([
            ("AddRelayRule", GLib.Variant("(sbu)", ("10.0.0.0/33", True, 0))),
            ("RemoveAlias", GLib.Variant("(s)", ("nobody@corp.example",))),
            ("RemoveRelayRule", GLib.Variant("(u)", (1,))),
        ])
        self.assertEqual(sorted(p[:2] for p in problems),
                         [("invalid-pattern", "changes[0].relay.pattern"),
                          ("not-found", "changes[1].alias")])
        self.assertEqual(self.state(), before)

    def test_all_applied_in_order_and_live(self):
        """Later changes see earlier ones (the account's domain is added in
        the same call); everything is applied to the running receiver."""
        self.assertEqual(self.rcpt("bob@corp.example"), 554)
        problems = self.call([
            ("AddDomain", GLib.Variant("(sb)", ("Corp.Example", False))),
            ("AddAccount", GLib.Variant("(ss)", ("bob@corp.example", "s3cret"))),
            ("AddAlias", GLib.Variant("(sas)", ("info@corp.example", ["bob@corp.example"]))),
            ("AddRelayRule", GLib.Variant("(sbu)", ("postmaster@corp.example", False, 0))),
            ("MoveRelayRule", GLib.Variant("(uu)", (2, 1))),
            ("ReplaceRelayRule", GLib.Variant("(usb)", (2, "198.51.100.0/24", False))),
            ("SetDomainSharedBox", GLib.Variant("(sb)", ("corp.example", True))),
        ])
        self.assertEqual(problems, [])
        state = self.state()
        self.assertEqual([(d["name"], d["shared_box"]) for d in state["domains"]], [("corp.example", True)])
        self.assertEqual([a["address"] for a in state["accounts"]], ["bob@corp.example"])
        self.assertEqual([(r["pattern"], r["allow"]) for r in state["relay"]],
                         [("postmaster@corp.example", False), ("198.51.100.0/24", False)])
        self.assertEqual(self.rcpt("bob@corp.example"), 250)
        self.assertEqual(self.rcpt("info@corp.example"), 250)

    def server_page_changes(self, branch_port):
        """What the console's Server settings tab sends: its settings, then
        its routes, in one list."""
        return [
            ("ApplySettings", GLib.Variant("(a{ss})", ({"delivery.smarthost": "relay.example.net",
                                                         "receiver.max_recipients": "50"},))),
            ("AddRoute", GLib.Variant("(ssq)", ("corp.example", "127.0.0.1", 2526))),
            ("AddRoute", GLib.Variant("(ssq)", ("branch.example", "127.0.0.1", branch_port))),
            ("SetRouteTls", GLib.Variant("(sb)", ("corp.example", True))),
        ]

    def test_settings_and_routes_all_or_nothing(self):
        """Settings and routes in one ApplyChanges: a bad port in a route
        keeps the settings from applying too."""
        self.gw.ctl("route", "add", "old.example", "127.0.0.1", "2527")
        before = self.state()
        problems = self.call(self.server_page_changes(0)
                             + [("RemoveRoute", GLib.Variant("(s)", ("old.example",)))])
        self.assertEqual(problems, [("invalid-port", "changes[2].route.port", "0")])
        self.assertEqual(self.state(), before)
        self.assertNotEqual(self.setting("delivery.smarthost"),
                            "relay.example.net")

        problems = self.call(self.server_page_changes(2528)
                             + [("RemoveRoute", GLib.Variant("(s)", ("old.example",)))])
        self.assertEqual(problems, [])
        self.assertEqual(self.setting("delivery.smarthost"), "relay.example.net")
        self.assertEqual(self.setting("receiver.max_recipients"), "50")
        self.assertEqual([(r["domain"], r["port"]) for r in self.gw.ctl_json("route", "list")],
                         [("branch.example", 2528), ("corp.example", 2526)])
        self.assertEqual(self.gw.ctl_json("route", "show", "corp.example")["tls"], "require")

    def test_setting_problem_keeps_its_key(self):
        """A bad setting inside ApplyChanges is named by its key (the console
        shows it under that setting's field); the valid route with it is not
        applied either."""
        before = self.state()
        problems = self.call([
            ("AddRoute", GLib.Variant("(ssq)", ("corp.example", "127.0.0.1", 2526))),
            ("ApplySettings", GLib.Variant("(a{ss})", ({"delivery.port": "x"},))),
            ("SetRouteAuth", GLib.Variant("(sss)", ("nowhere.example", "u", "p"))),
        ])
        self.assertEqual(sorted(p[:2] for p in problems),
                         [("not-a-number", "changes[1].delivery.port"),
                          ("not-found", "changes[2].route.domain")])
        self.assertEqual(self.state(), before)

    def test_unknown_method_refused(self):
        """A list the daemon cannot read is an error, and nothing runs."""
        before = self.state()
        for changes, message in (
                ([("AddDomain", GLib.Variant("(sb)", ("corp.example", False))),
                  ("DropEverything", GLib.Variant("(s)", ("all",)))], "changes[1]"),
                ([("AddDomain", GLib.Variant("(s)", ("corp.example",)))], "changes[0]"),
                ([("SetListeners", GLib.Variant("(as)", (["127.0.0.1:0"],)))], "changes[0]")):
            with self.assertRaises(GLib.Error) as caught:
                self.call(changes)
            self.assertIn("InvalidArgs", caught.exception.message)
            self.assertIn(message, caught.exception.message)
        self.assertEqual(self.state(), before)


if __name__ == "__main__":
    unittest.main()
