"""mailgatectl export / import: the whole configuration as one JSON document.

Import is all or nothing and applied live (issue 7, item 5; docs/config-json.md).
"""
import json
import os
import socket
import tempfile
import unittest

from mgtest import GatewayTestCase

SENDER = "alice@example.org"


class ConfigJson(GatewayTestCase):

    def configure(self, gw):
        gw.ctl("domain", "add", "corp.example", "--shared-box")
        gw.ctl("user", "add", "user1@corp.example", "--password-stdin", input="secret\n")
        gw.ctl("user", "add", "user2@corp.example")
        gw.ctl("alias", "add", "team@corp.example", "user1@corp.example,user2@corp.example")
        gw.ctl("route", "add", "corp.example", "192.0.2.10", "20025")
        gw.ctl("route", "tls", "corp.example", "require")
        gw.ctl("relay", "add", "192.0.2.10", "allow")
        gw.ctl("relay", "add", "postmaster@corp.example", "deny")
        gw.ctl("config", "set", "receiver.max_recipients", "42")

    def write(self, doc):
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        self.addCleanup(os.unlink, path)
        return path

    def test_round_trip_into_a_fresh_gateway(self):
        """Export from one gateway, import into another: the second exports
        the identical document (secrets included) and uses it at once."""
        first = self.gateway()
        self.configure(first)
        exported = first.ctl("export").stdout

        second = self.gateway()
        r = second.ctl("import", self.write(exported))
        self.assertEqual(r.returncode, 0)
        self.assertEqual(json.loads(second.ctl("export").stdout), json.loads(exported))

        # live: the imported account is a valid recipient without a restart
        client = second.smtp()
        client.ehlo("client.example.org")
        client.mail(SENDER)
        self.assertEqual(client.rcpt("user2@corp.example")[0], 250)
        self.assertEqual(client.rcpt("nobody@corp.example")[0], 550)

    def test_bad_document_changes_nothing(self):
        """Every problem is named by its JSON path; nothing is applied."""
        gw = self.gateway()
        self.configure(gw)
        before = gw.ctl("export").stdout
        doc = json.loads(before)
        doc["routes"][0]["port"] = 70000
        doc["domains"].append({"name": "new.example"})
        doc["settings"]["receiver.max_recipients"] = "0"
        r = gw.ctl("import", self.write(doc), check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("$.routes[0].port", r.stderr)
        self.assertIn("$.settings.receiver.max_recipients", r.stderr)
        self.assertEqual(gw.ctl("export").stdout, before)
        self.assertNotIn("new.example", gw.ctl("domain", "list").stdout)

    def test_not_json_refused(self):
        gw = self.gateway()
        before = gw.ctl("export").stdout
        r = gw.ctl("import", self.write("{ this is not json"), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertEqual(gw.ctl("export").stdout, before)

    def test_unbindable_listener_refuses_import(self):
        """A listener that cannot be bound refuses the whole import; the
        old listeners keep answering."""
        gw = self.gateway()
        old_bound = gw.bound()
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        doc = json.loads(gw.ctl("export").stdout)
        doc["listeners"] = ["127.0.0.1:%d" % busy.getsockname()[1]]
        doc["domains"] = [{"name": "corp.example"}]
        r = gw.ctl("import", self.write(doc), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("$.listeners", r.stderr)
        self.assertEqual(gw.bound(), old_bound)
        self.assertEqual(gw.ctl("domain", "list").stdout.strip(), "")
        self.assertEqual(gw.smtp().noop()[0], 250)


if __name__ == "__main__":
    unittest.main()
