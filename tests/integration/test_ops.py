"""Running it for real: configuration lint and migration from the seed product.

`mailgatectl check` (Check control method) and `mailgatectl import-epost DIR
[--dry-run]` (ImportEpost) against the real mailgated.  The seed's example
files are in data/epost/ (seed-a/b/c exactly as ../shared/seed/ prints them;
"filled" with the placeholders filled in, Shift_JIS + CRLF as on Windows).
"""
import json
import re
import os
import shutil
import subprocess
import tempfile

from mgtest import GatewayTestCase, free_port, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
EPOST = os.path.join(HERE, "data", "epost")


def codes(findings):
    return sorted((f["code"], f["setting"]) for f in findings)


class Check(GatewayTestCase):
    def setUp(self):
        self.gw = self.gateway()

    def check(self):
        r = self.gw.ctl("--json", "check", check=False)
        return r.returncode, json.loads(r.stdout)

    def test_clean_configuration(self):
        """A seed method C gateway has nothing to report: exit 0."""
        self.gw.ctl("domain", "add", "corp.example", "--shared-box")
        self.gw.ctl("route", "add", "corp.example", "192.168.0.10", "20025")
        self.gw.ctl("relay", "add", "192.168.0.10", "allow")
        rc, findings = self.check()
        self.assertEqual(findings, [])
        self.assertEqual(rc, 0)
        r = self.gw.ctl("check")
        self.assertIn("No problems found.", r.stdout)

    def test_ping_pong_and_open_relay(self):
        """R-3.4, R-2.4: loops and a public range are errors (exit 1), each
        naming the setting and the fix; a wildcard alias is a warning."""
        port = free_port()
        self.gw.ctl("listen", "set", "127.0.0.1:%d" % port)
        self.gw.ctl("domain", "add", "corp.example")
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(port))
        self.gw.ctl("config", "set", "delivery.smarthost", "localhost:%d" % port)
        self.gw.ctl("relay", "add", "0.0.0.0/0", "allow")
        self.gw.ctl("alias", "add", "*@corp.example", "*@corp.example")
        rc, findings = self.check()
        self.assertEqual(rc, 1)
        self.assertEqual(codes(findings), [
            ("public-relay-range", "relay rule 1"),
            ("route-loop", "route corp.example"),
            ("smarthost-loop", "delivery.smarthost"),
            ("wildcard-alias", "alias *@corp.example"),
        ])
        by_code = {f["code"]: f for f in findings}
        self.assertEqual(by_code["route-loop"]["severity"], "error")
        self.assertEqual(by_code["route-loop"]["argument"], "127.0.0.1:%d" % port)
        self.assertEqual(by_code["wildcard-alias"]["severity"], "warning")
        self.assertEqual(findings[-1]["code"], "wildcard-alias")   # errors first
        for f in findings:
            self.assertTrue(f["message"].endswith("."), f)
            self.assertTrue(f["fix"].endswith("."), f)
            self.assertNotIn("\n", f["fix"])

        text = self.gw.ctl("check", check=False)
        self.assertEqual(text.returncode, 1)
        self.assertIn("error: [route corp.example]", text.stdout)
        self.assertIn("warning: [alias *@corp.example]", text.stdout)
        self.assertEqual(text.stdout.count("  fix: "), 4)

    def test_forward_all_without_route_and_auth(self):
        """Forward-all with nowhere to go; AUTH PLAIN without TLS."""
        self.gw.ctl("domain", "add", "lost.example")
        self.gw.ctl("config", "set", "auth.methods", "PLAIN,LOGIN")
        self.gw.ctl("config", "set", "auth.require_tls", "false")
        rc, findings = self.check()
        self.assertEqual(rc, 1)
        self.assertEqual(codes(findings), [
            ("auth-without-tls", "auth.require_tls"),
            ("forward-all-no-route", "delivery.forward_all"),
        ])
        self.assertIn("lost.example", [f["argument"] for f in findings])

    def test_warnings_only_exit_zero(self):
        self.gw.ctl("alias", "add", "*@corp.example", "*@corp.example")
        rc, findings = self.check()
        self.assertEqual(rc, 0)
        self.assertEqual([f["severity"] for f in findings], ["warning"])


class ImportEpost(GatewayTestCase):
    def setUp(self):
        self.gw = self.gateway()

    def state(self):
        return {
            "routes": self.gw.ctl_json("route", "list"),
            "relay": self.gw.ctl_json("relay", "list"),
            "aliases": self.gw.ctl_json("alias", "list"),
            "users": self.gw.ctl_json("user", "list"),
            "domains": self.gw.ctl_json("domain", "list"),
        }

    def copy_filled(self, drop_bad_lines):
        """The filled example set, with its unusable lines commented out."""
        d = tempfile.mkdtemp(prefix="mg-epost-")
        self.addCleanup(shutil.rmtree, d, True)
        bad = {"gateway.dat": (7, 8), "effect.dat": (5,), "users.tsv": (3,)}
        for name in os.listdir(os.path.join(EPOST, "filled")):
            with open(os.path.join(EPOST, "filled", name), "rb") as f:
                lines = f.read().split(b"\r\n")
            if drop_bad_lines:
                for n in bad.get(name, ()):
                    lines[n - 1] = b";" + lines[n - 1]
            with open(os.path.join(d, name), "wb") as f:
                f.write(b"\r\n".join(lines))
        return d

    def test_seed_examples_report_every_line(self):
        """SPEC §8: the manual's examples still hold placeholders; every such
        line is reported with file and line number and nothing changes."""
        before = self.state()
        r = self.gw.ctl("import-epost", os.path.join(EPOST, "seed-a"), check=False)
        self.assertEqual(r.returncode, 1)
        for where in ("gateway.dat:5:", "effect.dat:1:", "effect.dat:2:", "aliases.txt:1:"):
            self.assertIn("mailgatectl: " + where, r.stderr)
        self.assertIn("domain.jp, 192.168.0.x, 25", r.stderr)
        self.assertNotIn("gateway.dat:3:", r.stderr)   # the header comment
        self.assertIn("nothing was imported", r.stderr)
        self.assertEqual(self.state(), before)

        r = self.gw.ctl("import-epost", os.path.join(EPOST, "seed-c"), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("gateway.dat:4:", r.stderr)
        self.assertNotIn("gateway.dat:2:", r.stderr)   # "対象ドメイン, ..." header
        self.assertEqual(self.state(), before)

    def test_bad_lines_block_the_import(self):
        """All or nothing: one unusable line and nothing is applied, but the
        plan and every bad line are shown."""
        before = self.state()
        r = self.gw.ctl("import-epost", os.path.join(EPOST, "filled"), check=False)
        self.assertEqual(r.returncode, 1)
        for where in ("gateway.dat:7:", "gateway.dat:8:", "effect.dat:5:", "users.tsv:3:"):
            self.assertIn(where, r.stderr)
        self.assertIn("よく分からない行", r.stderr)   # decoded from Shift_JIS
        self.assertIn("+ route add domain.co.jp 192.168.0.10 25", r.stdout)
        self.assertEqual(self.state(), before)

    def test_dry_run_then_import(self):
        d = self.copy_filled(drop_bad_lines=True)
        before = self.state()
        r = self.gw.ctl("import-epost", d, "--dry-run")
        self.assertIn("Would change:", r.stdout)
        for line in ("+ domain add domain.co.jp",
                     "+ user add user1@domain.co.jp --password-stdin",
                     "+ user add user2@domain.co.jp",
                     "+ route add domain.co.jp 192.168.0.10 25",
                     "+ route add sub.domain.co.jp mail.domain.co.jp 25",
                     "+ alias add user2@domain.co.jp user2@domain.co.jp,user2-backup@domain.co.jp",
                     "+ relay add 192.168.0.10 allow",
                     "+ relay add postmaster@domain.co.jp deny",
                     "+ relay add 192.168.1.0/24 allow"):
            self.assertIn(line, r.stdout)
        self.assertEqual(self.state(), before)

        r = self.gw.ctl("import-epost", d)
        self.assertIn("Changed:", r.stdout)
        routes = {x["domain"]: (x["host"], x["port"]) for x in self.gw.ctl_json("route", "list")}
        self.assertEqual(routes, {"domain.co.jp": ("192.168.0.10", 25),
                                  "sub.domain.co.jp": ("mail.domain.co.jp", 25)})
        relay = [(x["pattern"], x["allow"]) for x in self.gw.ctl_json("relay", "list")]
        self.assertEqual(relay[-3:], [("192.168.0.10", True),
                                      ("postmaster@domain.co.jp", False),
                                      ("192.168.1.0/24", True)])   # order kept
        users = {x["address"]: x for x in self.gw.ctl_json("user", "list")}
        self.assertIn("user1@domain.co.jp", users)
        self.assertIn("user2@domain.co.jp", users)

        # again: nothing left to change
        r = self.gw.ctl("import-epost", d)
        self.assertIn("0 changes", r.stdout)
        self.assertIn("= route add domain.co.jp 192.168.0.10 25", r.stdout)
        self.assertEqual(len(self.gw.ctl_json("relay", "list")), len(relay))

    def call_import(self, routes, relay_rules, aliases, accounts):
        """ImportEpost straight over the control socket (no client-side
        parsing), as a raw D-Bus peer; returns (changes, problems)."""
        import gi
        gi.require_version("Gio", "2.0")
        from gi.repository import Gio, GLib
        conn = Gio.DBusConnection.new_for_address_sync(
            "unix:path=" + self.gw.socket,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT, None, None)
        self.addCleanup(conn.close_sync, None)
        args = GLib.Variant("(a(sssq)a(ssb)a(ssas)a(sss)b)",
                            (routes, relay_rules, aliases, accounts, False))
        reply = conn.call_sync(None, "/org/mailgate/Control", "org.mailgate.Control1",
                               "ImportEpost", args, GLib.VariantType("(a(ss)a(sss))"),
                               Gio.DBusCallFlags.NONE, 30000, None)
        return reply.unpack()

    def test_daemon_validates_again(self):
        """The daemon does not trust the client: a bad entry is a problem
        naming its origin, and nothing changes."""
        before = self.state()
        changes, problems = self.call_import(
            [("gateway.dat:1", "a.example", "10.1.1.1", 25),
             ("gateway.dat:2", "b.example", "bad host!", 25)],
            [("effect.dat:1", "10.5.0.0/16", True)], [], [])
        self.assertEqual(problems, [("invalid-host", "gateway.dat:2", "bad host!")])
        self.assertEqual(changes, [])
        self.assertEqual(self.state(), before)

    def test_refusal_while_applying_is_undone(self):
        """An entry refused by the store half-way (the same account twice;
        accounts are written last) undoes everything applied before it:
        the new domain, the replaced route, the new alias, the appended
        relay rule, the first account."""
        self.gw.ctl("route", "add", "a.example", "10.9.9.9", "2525")
        before = self.state()
        changes, problems = self.call_import(
            [("gateway.dat:1", "a.example", "10.1.1.1", 25)],
            [("effect.dat:1", "10.5.0.0/16", True)],
            [("aliases.txt:1", "x@a.example", ["y@a.example"])],
            [("users.tsv:1", "u@new.example", ""), ("users.tsv:2", "u@new.example", "")])
        self.assertEqual([p[0] for p in problems], ["exists"])
        self.assertEqual(changes, [])
        self.assertEqual(self.state(), before)
        self.assertIn("a.example", self.gw.ctl("route", "list").stdout)
        self.assertIn("10.9.9.9", self.gw.ctl("route", "list").stdout)


class Logs(GatewayTestCase):
    """R-4.3: `mailgatectl log tail [KIND]` and `log search QUEUE_ID`."""

    def setUp(self):
        self.hop = self.next_hop()
        self.gw = self.gateway()
        self.gw.ctl("domain", "add", "corp.example", "--shared-box")
        self.gw.ctl("user", "add", "user1@corp.example")
        self.gw.ctl("route", "add", "corp.example", "127.0.0.1", str(self.hop.port))

    def send_one(self):
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        self.assertEqual(client.mail("sender@example.org")[0], 250)
        self.assertEqual(client.rcpt("user1@corp.example")[0], 250)
        code, text = client.data(b"Subject: log test\r\n\r\nhello\r\n")
        self.assertEqual(code, 250, text)
        client.quit()
        m = re.search(rb"queued as (B\d{10})", text)
        self.assertIsNotNone(m, text)
        return m.group(1).decode()

    def test_search_follows_one_message(self):
        queue_id = self.send_one()
        other_id = self.send_one()
        self.hop.wait_for(2)
        wait_until(lambda: "sender: " in self.gw.ctl("log", "search", queue_id).stdout,
                   what="the delivery logged")
        lines = self.gw.ctl("log", "search", queue_id).stdout.splitlines()
        self.assertTrue(all((" %s: " % queue_id) in l for l in lines), lines)
        self.assertNotIn(other_id, "\n".join(lines))
        kinds = [l.split(" ")[2] for l in lines]
        self.assertEqual(kinds[0], "receive:")       # received before it was sent
        self.assertIn("sender:", kinds)
        self.assertEqual(self.gw.ctl_json("log", "search", queue_id)["lines"], lines)

        r = self.gw.ctl("log", "search", "B9999999999", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("nothing is logged about B9999999999", r.stderr)

    def test_tail_by_kind(self):
        queue_id = self.send_one()
        self.hop.wait_for(1)
        wait_until(lambda: queue_id in self.gw.ctl("log", "tail", "sender").stdout,
                   what="sender log line")
        receive = self.gw.ctl("log", "tail", "receive").stdout
        self.assertIn(queue_id + ": receive:", receive)
        self.assertNotIn(": sender:", receive)
        every = self.gw.ctl("log", "tail").stdout
        self.assertIn(queue_id + ": receive:", every)
        self.assertIn(queue_id + ": sender:", every)
        self.assertEqual(self.gw.ctl("log", "tail", "fail").stdout, "")

        r = self.gw.ctl("log", "tail", "mail", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn('unknown log "mail"', r.stderr)


class SelfTest(GatewayTestCase):
    """`mailgatectl selftest`: the classic open-relay dialogues from loopback."""

    def setUp(self):
        self.gw = self.gateway()
        self.gw.ctl("domain", "add", "corp.example", "--shared-box")
        self.gw.ctl("user", "add", "user1@corp.example")

    def test_safe_configuration(self):
        r = self.gw.ctl("--json", "selftest")
        report = json.loads(r.stdout)
        self.assertEqual(report["trusted_by_rule"], 0)
        self.assertEqual(report["client"], "127.0.0.1")
        self.assertEqual(report["target"], self.gw.bound()[0])
        names = [x["name"] for x in report["results"]]
        for name in ("percent hack", "bang path", "source route", "quoted local part",
                     "IP literal of this host", "unknown domain", "null sender"):
            self.assertIn(name, names)
        for x in report["results"]:
            self.assertEqual(x["verdict"], "refused", x)
            self.assertRegex(x["reply"], r"^5\d\d ", x)
        text = self.gw.ctl("selftest").stdout
        self.assertIn("All 14 relay attempts were refused", text)
        self.assertIn("RCPT TO:<relaytest%example.net@corp.example>", text)
        # nothing was queued
        self.assertEqual(self.gw.status()["queue"], 0)

    def test_open_configuration_fails(self):
        """A relay rule on a sender domain anyone can forge opens the gateway."""
        self.gw.ctl("relay", "add", "@example.com", "allow")
        r = self.gw.ctl("selftest", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("RELAYED  plain relay", r.stdout)
        self.assertIn("OPEN RELAY: ", r.stderr)
        self.assertEqual(self.gw.status()["queue"], 0)   # never DATA

    def test_trusted_loopback_proves_nothing(self):
        """If 127.0.0.1 may relay, the test cannot pass: it says which rule."""
        self.gw.ctl("relay", "add", "127.0.0.0/8", "allow")
        r = self.gw.ctl("selftest", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("127.0.0.1 may relay by relay rule 1", r.stderr)
        self.assertNotIn("were refused", r.stdout)


class Export(GatewayTestCase):
    """`mailgatectl export`: the whole configuration as one JSON document
    (schema docs/config-json.md, version 1)."""

    def test_export_everything(self):
        gw = self.gateway()
        gw.ctl("domain", "add", "corp.example", "--shared-box")
        gw.ctl("user", "add", "user1@corp.example", "--password-stdin", input="secret\n")
        gw.ctl("alias", "add", "team@corp.example", "user1@corp.example")
        gw.ctl("route", "add", "corp.example", "192.168.0.10", "20025")
        gw.ctl("relay", "add", "192.168.0.10", "allow")
        gw.ctl("relay", "add", "postmaster@corp.example", "deny")
        gw.ctl("config", "set", "receiver.max_recipients", "42")
        r = gw.ctl("export")
        doc = json.loads(r.stdout)
        self.assertEqual(doc["format"], "mailgate-config")
        self.assertEqual(doc["version"], 1)
        self.assertEqual(doc["settings"]["receiver.max_recipients"], "42")
        self.assertEqual(doc["settings"],
                         {i["key"]: i["value"] for i in gw.ctl_json("config", "list")})
        self.assertEqual(doc["listeners"], ["127.0.0.1:0"])
        self.assertEqual(doc["domains"], [{"name": "corp.example", "shared_box": True}])
        (account,) = doc["accounts"]
        self.assertEqual(account["address"], "user1@corp.example")
        self.assertTrue(account["password_hash"].startswith("$pbkdf2-sha256$"))
        self.assertNotIn("secret\"", r.stdout)
        self.assertEqual(doc["aliases"], [{"alias": "team@corp.example",
                                           "targets": ["user1@corp.example"]}])
        self.assertEqual([(x["domain"], x["host"], x["port"]) for x in doc["routes"]],
                         [("corp.example", "192.168.0.10", 20025)])
        self.assertEqual(doc["relay_rules"], [{"pattern": "192.168.0.10", "allow": True},
                                              {"pattern": "postmaster@corp.example",
                                               "allow": False}])
