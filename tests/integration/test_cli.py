"""mailgatectl against the real mailgated: every verb, its refusals, --json.

Contract (DESIGN.md "Interfaces that outside checks rely on"): exit 0 on
success; a refused value exits 1 with one line per problem on stderr that
names the field; a usage error (unknown verb, wrong arguments, unknown
option) exits 2.  Lists and status print JSON with --json.
Requirement ids point back to ../shared/SPEC.md.
"""
import json
import os
import signal
import smtplib
import stat
import subprocess
import tempfile
import unittest

from mgtest import (MAILGATECTL, MAILGATED, GatewayTestCase, NextHop, Trace,
                    free_port, wait_until)

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


class CliTestCase(GatewayTestCase):
    def setUp(self):
        self.gw = self.gateway()

    def ctl(self, *args, **kwargs):
        return self.gw.ctl(*args, **kwargs)

    def ctl_json(self, *args):
        return self.gw.ctl_json(*args)

    def assertRefused(self, args, field, input=None, code=1):
        """The command exits @code with one line per problem, naming @field."""
        r = self.ctl(*args, check=False, input=input)
        self.assertEqual(r.returncode, code, (args, r.stdout, r.stderr))
        lines = r.stderr.strip().split("\n")
        self.assertTrue(all(l.startswith("mailgatectl: ") for l in lines), r.stderr)
        self.assertIn(field, r.stderr)
        return r

    def assertUsage(self, *args):
        r = self.ctl(*args, check=False)
        self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
        self.assertIn("Usage: mailgatectl", r.stderr)
        self.assertEqual(r.stdout, "")
        return r


class CliGeneral(CliTestCase):
    def test_status_text_and_json(self):
        """R-4.4: per service running/stopped, listening ports, counters."""
        text = self.ctl("status").stdout
        self.assertIn("receiver: running", text)
        self.assertIn("delivery: running", text)
        status = self.ctl_json("status")
        self.assertEqual(status["receiver"], "running")
        self.assertEqual(status["delivery"], "running")
        self.assertEqual(status["listeners"], self.gw.bound())
        self.assertIsInstance(status["queue"], int)

    def test_start_stop_services(self):
        """R-4.4 and the seed's EPSTRS/EPSTDS: services stop and start alone."""
        self.ctl("stop", "receiver")
        status = self.ctl_json("status")
        self.assertEqual(status["receiver"], "stopped")
        self.assertEqual(status["delivery"], "running")
        self.ctl("stop", "all")
        self.assertEqual(self.ctl_json("status")["delivery"], "stopped")
        self.ctl("start", "delivery")
        status = self.ctl_json("status")
        self.assertEqual((status["receiver"], status["delivery"]), ("stopped", "running"))
        self.ctl("start", "all")
        self.assertEqual(self.ctl_json("status")["receiver"], "running")
        self.assertRefused(["start", "everything"], "service")
        self.assertRefused(["stop", "smtp"], "service")

    def test_usage_errors_exit_2(self):
        self.assertUsage("frobnicate")
        self.assertUsage("domain", "frobnicate")
        self.assertUsage("domain")
        self.assertUsage("domain", "add")
        self.assertUsage("domain", "add", "a.example", "b.example")
        self.assertUsage("status", "--frobnicate")
        self.assertUsage("domain", "list", "--shared-box")
        self.assertUsage("relay", "list", "--at", "1")
        self.assertUsage()
        # Passwords never on the command line: an extra argument is a usage error.
        self.assertUsage("user", "add", "a@example.org", "secret")

    def test_help_and_version(self):
        r = subprocess.run([MAILGATECTL, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for verb in ("status", "relay move N M", "user import FILE.tsv", "listen set",
                     "queue flush [ID]", "trace"):
            self.assertIn(verb, r.stdout)
        r = subprocess.run([MAILGATECTL, "--version"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^mailgatectl \d+\.\d+")

    def test_no_daemon(self):
        path = os.path.join(self.gw.workdir, "nothing-here")
        r = subprocess.run([MAILGATECTL, "--socket", path, "status"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().split("\n")), 1, r.stderr)
        self.assertIn(path, r.stderr)


class CliConfig(CliTestCase):
    def test_config_set_get_list(self):
        """Settings applied live through one validation path (R-5)."""
        self.ctl("config", "set", "receiver.max_recipients", "50")
        self.assertEqual(self.ctl("config", "get", "receiver.max_recipients").stdout, "50\n")
        self.assertIn("receiver.max_recipients = 50\n", self.ctl("config", "list").stdout)
        items = self.ctl_json("config", "list")
        self.assertIn({"key": "receiver.max_recipients", "value": "50"}, items)
        self.assertIn("delivery.retry_interval", [i["key"] for i in items])

    def test_config_refusals(self):
        self.assertRefused(["config", "set", "receiver.max_recipients", "many"],
                           "receiver.max_recipients")
        self.assertRefused(["config", "set", "no.such_key", "1"], "no.such_key")
        self.assertRefused(["config", "get", "no.such_key"], "no.such_key")
        # Nothing changed by the refused value.
        self.assertNotEqual(self.ctl("config", "get", "receiver.max_recipients").stdout,
                            "many\n")


class CliListen(CliTestCase):
    def test_listen_port_zero_shows_bound_port(self):
        """listen list shows the ports actually bound (DESIGN.md)."""
        self.ctl("listen", "set", "127.0.0.1:0")
        text = self.ctl("listen", "list").stdout
        self.assertIn("configured: 127.0.0.1:0\n", text)
        bound = [l.split(": ", 1)[1] for l in text.splitlines() if l.startswith("bound: ")]
        self.assertEqual(len(bound), 1, text)
        host, port = bound[0].rsplit(":", 1)
        self.assertEqual(host, "127.0.0.1")
        self.assertNotEqual(int(port), 0)
        data = self.ctl_json("listen", "list")
        self.assertEqual(data, {"configured": ["127.0.0.1:0"], "bound": bound})
        client = smtplib.SMTP("127.0.0.1", int(port), timeout=10)
        self.addCleanup(client.close)
        self.assertEqual(client.noop()[0], 250)

    def test_listen_set_two_and_refusal(self):
        self.ctl("listen", "set", "127.0.0.1:0,127.0.0.2:0")
        data = self.ctl_json("listen", "list")
        self.assertEqual(len(data["configured"]), 2, data)
        self.assertEqual(len(data["bound"]), 2, data)
        before = data
        self.assertRefused(["listen", "set", "nonsense"], "listen")
        self.assertEqual(self.ctl_json("listen", "list"), before)


class CliDomainsAccounts(CliTestCase):
    def test_domain_add_list_remove(self):
        self.ctl("domain", "add", "example.org")
        self.ctl("domain", "add", "Shared.Example", "--shared-box")
        domains = self.ctl_json("domain", "list")
        self.assertIn({"name": "example.org", "shared_box": False}, domains)
        self.assertIn({"name": "shared.example", "shared_box": True}, domains)
        text = self.ctl("domain", "list").stdout
        self.assertIn("example.org\n", text)
        self.assertIn("shared.example", text)
        self.ctl("domain", "remove", "example.org")
        self.assertEqual([d["name"] for d in self.ctl_json("domain", "list")],
                         ["shared.example"])

    def test_domain_refusals(self):
        self.assertRefused(["domain", "add", "not a domain!"], "domain")
        self.ctl("domain", "add", "example.org")
        self.assertRefused(["domain", "add", "example.org"], "domain")
        self.assertRefused(["domain", "remove", "missing.example"], "domain")

    def test_user_add_password_stdin_list_remove(self):
        self.ctl("domain", "add", "example.org")
        self.ctl("domain", "add", "other.example")
        self.ctl("user", "add", "alice@example.org", "--password-stdin", input="s3cret pass\n")
        self.ctl("user", "add", "bob@example.org")
        self.ctl("user", "add", "carol@other.example")
        users = self.ctl_json("user", "list")
        self.assertIn({"address": "alice@example.org", "has_password": True}, users)
        self.assertIn({"address": "bob@example.org", "has_password": False}, users)
        self.assertEqual(len(users), 3)
        only = self.ctl_json("user", "list", "example.org")
        self.assertEqual(sorted(u["address"] for u in only),
                         ["alice@example.org", "bob@example.org"])
        self.assertNotIn("s3cret", self.ctl("user", "list").stdout)
        self.ctl("user", "remove", "bob@example.org")
        self.assertEqual(len(self.ctl_json("user", "list", "example.org")), 1)

    def test_user_refusals(self):
        self.ctl("domain", "add", "example.org")
        self.assertRefused(["user", "add", "x@elsewhere.example"], "elsewhere.example")
        self.assertRefused(["user", "add", "not-an-address"], "not-an-address")
        self.assertRefused(["user", "add", "a@example.org", "--password-stdin"], "password",
                           input="")
        self.assertRefused(["user", "list", "elsewhere.example"], "domain")
        self.assertRefused(["user", "remove", "nobody@example.org"], "address")
        self.assertEqual(self.ctl_json("user", "list"), [])

    def test_user_import_all_or_nothing(self):
        self.ctl("domain", "add", "example.org")
        bad = os.path.join(self.gw.workdir, "bad.tsv")
        with open(bad, "w") as f:
            f.write("# accounts\nu1@example.org\tpw1\nthis is not an address\nu2@example.org\n")
        self.assertRefused(["user", "import", bad], "line 3")
        self.assertEqual(self.ctl_json("user", "list"), [], "nothing imported")
        good = os.path.join(self.gw.workdir, "good.tsv")
        with open(good, "w") as f:
            f.write("u1@example.org\tpw1\n\nu2@example.org\n")
        self.ctl("user", "import", good)
        users = self.ctl_json("user", "list")
        self.assertEqual(users, [{"address": "u1@example.org", "has_password": True},
                                 {"address": "u2@example.org", "has_password": False}])
        r = self.ctl("user", "import", os.path.join(self.gw.workdir, "missing.tsv"),
                     check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing.tsv", r.stderr)


class CliAliasesRoutes(CliTestCase):
    def test_alias_add_list_remove(self):
        self.ctl("domain", "add", "example.org")
        self.ctl("user", "add", "a@example.org")
        self.ctl("user", "add", "b@example.org")
        self.ctl("alias", "add", "info@example.org", "a@example.org, b@example.org")
        aliases = self.ctl_json("alias", "list")
        self.assertEqual(aliases, [{"alias": "info@example.org",
                                    "targets": ["a@example.org", "b@example.org"]}])
        self.assertIn("info@example.org -> a@example.org, b@example.org",
                      self.ctl("alias", "list").stdout)
        self.assertRefused(["alias", "add", "not an alias", "a@example.org"], "alias")
        self.assertRefused(["alias", "add", "x@example.org", "bad target"], "targets")
        self.ctl("alias", "remove", "info@example.org")
        self.assertEqual(self.ctl_json("alias", "list"), [])
        self.assertRefused(["alias", "remove", "info@example.org"], "alias")

    def test_route_add_list_remove(self):
        """R-3.4: routing table entries."""
        self.ctl("route", "add", "corp.example", "127.0.0.1", "2525")
        self.ctl("route", "add", "other.example", "mx.other.example")
        routes = self.ctl_json("route", "list")
        self.assertIn({"domain": "corp.example", "host": "127.0.0.1", "port": 2525}, routes)
        self.assertIn({"domain": "other.example", "host": "mx.other.example", "port": 25}, routes)
        self.assertIn("corp.example -> 127.0.0.1:2525", self.ctl("route", "list").stdout)
        self.assertRefused(["route", "add", "x.example", "127.0.0.1", "70000"], "route.port")
        self.assertRefused(["route", "add", "x.example", "127.0.0.1", "port"], "route.port")
        self.assertRefused(["route", "add", "x.example", "bad host!"], "route.host")
        self.ctl("route", "remove", "corp.example")
        self.assertEqual([r["domain"] for r in self.ctl_json("route", "list")],
                         ["other.example"])
        self.assertRefused(["route", "remove", "corp.example"], "route.domain")


class CliRelay(CliTestCase):
    def patterns(self):
        return [(r["pattern"], r["action"]) for r in self.ctl_json("relay", "list")]

    def test_relay_order_add_at_move_remove(self):
        """R-2.x relay restrictions: an ordered table, first match wins."""
        while self.ctl_json("relay", "list"):
            self.ctl("relay", "remove", "1")
        self.ctl("relay", "add", "127.0.0.1", "allow")
        self.ctl("relay", "add", "10.0.0.0/8", "deny")
        self.ctl("relay", "add", "192.168.0.0/16", "allow", "--at", "1")
        self.assertEqual(self.patterns(), [("192.168.0.0/16", "allow"),
                                           ("127.0.0.1", "allow"),
                                           ("10.0.0.0/8", "deny")])
        self.ctl("relay", "move", "3", "1")
        self.assertEqual(self.patterns(), [("10.0.0.0/8", "deny"),
                                           ("192.168.0.0/16", "allow"),
                                           ("127.0.0.1", "allow")])
        text = self.ctl("relay", "list").stdout.splitlines()
        self.assertEqual(text[0], "1\t10.0.0.0/8\tdeny")
        self.assertEqual(text[2], "3\t127.0.0.1\tallow")
        self.ctl("relay", "remove", "2")
        self.assertEqual(self.patterns(), [("10.0.0.0/8", "deny"), ("127.0.0.1", "allow")])
        rules = self.ctl_json("relay", "list")
        self.assertEqual([r["position"] for r in rules], [1, 2])

    def test_relay_refusals(self):
        self.assertRefused(["relay", "add", "not a pattern!", "allow"], "relay.pattern")
        self.assertRefused(["relay", "add", "127.0.0.1", "maybe"], "relay.action")
        self.assertRefused(["relay", "add", "127.0.0.1", "allow", "--at", "x"], "relay.position")
        self.assertRefused(["relay", "remove", "99"], "relay.position")
        self.assertRefused(["relay", "move", "1", "x"], "relay.position")


class CliQueueTrace(CliTestCase):
    def test_queue_list_flush(self):
        """R-3.7: a message waits in the queue while its next hop is down;
        flush retries it now."""
        port = free_port()
        self.ctl("domain", "add", "corp.example", "--shared-box")
        self.ctl("user", "add", "user1@corp.example")
        self.ctl("route", "add", "corp.example", "127.0.0.1", str(port))
        client = self.gw.smtp()
        client.sendmail("alice@example.org", ["user1@corp.example"],
                        b"Subject: queued\r\n\r\nbody\r\n")
        client.quit()

        messages = wait_until(lambda: self.ctl_json("queue", "list"), what="a queued message")
        self.assertEqual(len(messages), 1)
        msg = messages[0]
        self.assertRegex(msg["id"], r"^B\d{10}$")
        self.assertEqual(msg["sender"], "alice@example.org")
        self.assertGreater(msg["size"], 0)
        self.assertEqual([r["address"] for r in msg["recipients"]], ["user1@corp.example"])
        self.assertEqual(msg["recipients"][0]["state"], "pending")
        self.assertIn(msg["id"], self.ctl("queue", "list").stdout)

        r = self.ctl("queue", "flush", "B9999999999", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("B9999999999", r.stderr)

        hop = NextHop(self, port=port).start()
        self.ctl("queue", "flush", msg["id"])
        hop.wait_for(1)
        wait_until(lambda: self.ctl_json("queue", "list") == [], what="an empty queue")
        self.ctl("queue", "flush")

    def test_trace_receives_session_lines(self):
        """R-4.2: the trace streams over the control socket while a session runs."""
        trace = Trace(self.gw)

        def session_traced():
            client = self.gw.smtp()
            client.ehlo("trace.example")
            client.quit()
            return [l for l in trace.lines if "recv <- [ehlo trace.example]" in l.lower()]

        wait_until(session_traced, timeout=15, interval=0.2, what="EHLO in the trace")
        # lines arrive in batches: the reply may come in the next one
        wait_until(lambda: any("SEND -> [250" in l for l in trace.lines), timeout=10,
                   what="the reply to EHLO in the trace")
        trace.proc.send_signal(signal.SIGINT)
        self.assertEqual(trace.proc.wait(10), 0)

    def test_trace_ends_when_daemon_stops(self):
        trace = Trace(self.gw)
        wait_until(lambda: self._subscribed(trace), timeout=15, interval=0.2,
                   what="trace subscription")
        self.gw.stop()
        rc = trace.proc.wait(10)
        self.assertEqual(rc, 1)

    def _subscribed(self, trace):
        client = self.gw.smtp()
        client.noop()
        client.quit()
        return trace.lines


class CliSocket(CliTestCase):
    def test_socket_mode_0660(self):
        """DESIGN.md: the control socket is mode 0660."""
        mode = stat.S_IMODE(os.stat(self.gw.socket).st_mode)
        self.assertEqual(mode, 0o660)
        self.assertTrue(stat.S_ISSOCK(os.stat(self.gw.socket).st_mode))

    def test_other_user_refused_by_credentials(self):
        """DESIGN.md: the daemon checks the peer's credentials before anything
        else, so even a world-writable socket does not let "nobody" in."""
        os.chmod(self.gw.workdir, 0o755)
        os.chmod(self.gw.socket, 0o666)
        r = self.ctl("domain", "add", "intruder.example", check=False, prefix=NOBODY)
        self.assertEqual(r.returncode, 1, (r.stdout, r.stderr))
        self.assertIn("access denied by the daemon", r.stderr)
        self.assertEqual(len(r.stderr.strip().split("\n")), 1, r.stderr)
        # The daemon still answers its owner, and nothing was changed.
        self.assertEqual(self.ctl_json("domain", "list"), [])
        self.assertEqual(self.ctl_json("status")["receiver"], "running")

    def test_second_daemon_refused_and_stale_socket_replaced(self):
        other_state = tempfile.mkdtemp(prefix="mgtest-other-", dir=self.gw.workdir)
        r = subprocess.run([MAILGATED, "--state-dir", other_state, "--socket", self.gw.socket,
                            "--profile", "user", "--no-autostart"],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already listening", r.stdout + r.stderr)
        self.assertEqual(self.ctl_json("status")["receiver"], "running")

        self.gw.kill9()
        self.assertTrue(os.path.exists(self.gw.socket), "stale socket left by kill -9")
        self.gw.restart()
        self.assertEqual(self.ctl_json("status")["receiver"], "running")


if __name__ == "__main__":
    unittest.main()
