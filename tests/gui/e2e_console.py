#!/usr/bin/python3
"""e2e_console - Mail Control driven as a person would, through AT-SPI.

The real mailgated (tests/integration/mgtest.py's Gateway: temp state dir
and socket, loopback listener on port 0) and the real mail-control, found
on the accessibility bus by PID; every step acts on a widget found by its
role and visible name, and the result is checked through the daemon
(mailgatectl) or by real SMTP.  Run by run-e2e.sh (own Xvfb + D-Bus
session).  Buttons are pressed with their AT-SPI "click" action and text
is set through EditableText (GUI-TESTING.md's deterministic a11y mode).

  MG_BUILD_DIR=build tests/gui/run-e2e.sh /usr/bin/python3 -m unittest tests/gui/e2e_console.py
"""
import os
import smtplib
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from mgtest import BUILD_DIR, Gateway, NextHop, free_port, wait_until  # noqa: E402

from dogtail.config import config  # noqa: E402
config.checkForA11y = False          # else: abort under GSETTINGS_BACKEND=memory
config.logDebugToFile = False
config.logDebugToStdOut = False
config.searchCutoffCount = 50
config.actionDelay = 0.1
config.defaultDelay = 0.1
from dogtail import tree  # noqa: E402
sys.excepthook = sys.__excepthook__  # dogtail hides tracebacks otherwise

MAIL_CONTROL = os.path.join(BUILD_DIR, "gui", "mail-control")


class Console:
    """One mail-control process and its accessible tree."""

    def __init__(self, testcase, socket, language=None):
        env = dict(os.environ, LC_ALL="C.UTF-8")
        env.pop("NO_AT_BRIDGE", None)
        if language is not None:            # LANGUAGE works with C.UTF-8, no locale to generate
            env["LANGUAGE"] = language
            env["MAILGATE_LOCALEDIR"] = os.environ["MG_CONSOLE_LOCALEDIR"]
        self.proc = subprocess.Popen([MAIL_CONTROL, "--socket", socket], env=env)
        testcase.addCleanup(self._stop)
        self.app = wait_until(self._find_app, timeout=30, what="mail-control on the AT-SPI bus")
        self.frame = wait_until(lambda: self.app.child(roleName="frame", retry=False), timeout=10,
                                what="the window")

    def _find_app(self):
        for app in tree.root.applications():
            try:
                if app.get_process_id() == self.proc.pid:
                    return app
            except Exception:
                pass
        return None

    def _stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def showing(self, root, name, role):
        """The showing widget with this name and role (pages not shown are skipped)."""
        def find():
            nodes = root.findChildren(lambda n: n.name == name and n.roleName == role and n.showing)
            return nodes[0] if nodes else None
        return wait_until(find, timeout=10, what="%s %r" % (role, name))

    def tab(self, name):
        tab = self.showing(self.frame, name, "page tab")
        tab.select()
        wait_until(lambda: tab.selected, timeout=5, what="tab %r selected" % name)

    def click(self, root, name):
        self.showing(root, name, "push button").doActionNamed("click")

    def dialog(self, title):
        return wait_until(lambda: self.app.child(name=title, roleName="dialog", retry=False),
                          timeout=10, what="dialog %r" % title)

    def fill(self, dialog, fields):
        for label, text in fields:
            entry = dialog.child(label=label)
            entry.text = text
            wait_until(lambda: entry.text == text, timeout=5, what="entry %r" % label)

    def described(self, description):
        return self.frame.child(description=description)


class ConsoleScenarios(unittest.TestCase):

    def test_domain_route_start_and_mail_arrives(self):
        """(a) add corp.test, an account and a route to a loopback next hop
        through the window, each staged until Apply, start the services; mail
        sent with smtplib arrives at the next hop and the trace pane shows the
        session."""
        hop = NextHop(self)
        hop.start()
        gw = Gateway(self).start(autostart=False)
        console = Console(self, gw.socket)

        console.tab("Domains")
        console.click(console.frame, "Add…")
        dialog = console.dialog("Add Domain")
        console.fill(dialog, [("Domain name:", "corp.test")])
        console.click(dialog, "Add")
        # staged in the list until Apply: the daemon has not got it yet
        console.showing(console.frame, "To be added", "table cell")
        self.assertNotIn("corp.test", gw.ctl("domain", "list").stdout)
        console.click(console.frame, "Apply")
        wait_until(lambda: "corp.test" in gw.ctl("domain", "list").stdout, what="domain added")

        console.tab("Accounts")
        console.click(console.frame, "Add…")
        dialog = console.dialog("Add Account")
        console.fill(dialog, [("Address:", "bob@corp.test")])
        console.click(dialog, "Add")
        console.click(console.frame, "Apply")
        wait_until(lambda: "bob@corp.test" in gw.ctl("user", "list").stdout, what="account added")

        console.tab("Server settings")
        console.click(console.frame, "Add…")
        dialog = console.dialog("Add Route")
        console.fill(dialog, [("Domain:", "corp.test"), ("Host:", "127.0.0.1"), ("Port:", str(hop.port))])
        console.click(dialog, "Add")
        console.click(console.frame, "Apply")
        wait_until(lambda: "127.0.0.1" in gw.ctl("route", "list").stdout, what="route applied")

        console.tab("Service control")
        self.showing_start(console, "Start the receiver")
        self.showing_start(console, "Start delivery")
        receiver = console.described("Receiver status")
        wait_until(lambda: receiver.name == "Running", what="receiver running in the window")
        self.assertEqual(gw.status()["receiver"], "running")

        client = gw.smtp()
        client.sendmail("alice@example.net", ["bob@corp.test"], b"Subject: hi\r\n\r\nhello\r\n")
        client.quit()
        wait_until(lambda: hop.messages, timeout=30, what="mail at the next hop")
        self.assertEqual(hop.messages[0][1], ["bob@corp.test"])

        console.tab("Trace")
        pane = console.frame.child(name="Trace pane")
        wait_until(lambda: "bob@corp.test" in pane.text, what="the session in the trace pane")

    def showing_start(self, console, description):
        button = wait_until(lambda: [n for n in console.frame.findChildren(
            lambda n: n.roleName == "push button" and n.description == description and n.showing)],
            what="button %r" % description)[0]
        button.doActionNamed("click")

    def test_port_change_while_running(self):
        """(b) change the listening port while the receiver runs: the new
        port answers, the old does not, and the receiver still stops."""
        gw = Gateway(self).start(autostart=True)
        old_port = gw.port()
        new_port = free_port()
        console = Console(self, gw.socket)

        console.tab("Service control")
        receiver = console.described("Receiver status")
        wait_until(lambda: receiver.name == "Running", what="receiver running")

        # Select the old listener and remove it, add the new one, apply
        cell = wait_until(lambda: [n for n in console.frame.findChildren(
            lambda n: n.roleName == "table cell" and n.name == "127.0.0.1:0" and n.showing)],
            what="the listener row")[0]
        cell.select()
        console.click(console.frame, "Remove")
        console.click(console.frame, "Add…")
        dialog = console.dialog("Add Listening Port")
        console.fill(dialog, [("Address and port:", "127.0.0.1:%d" % new_port)])
        console.click(dialog, "Add")
        console.click(console.frame, "Apply")
        wait_until(lambda: gw.bound() == ["127.0.0.1:%d" % new_port], what="rebound")

        smtplib.SMTP("127.0.0.1", new_port, timeout=10).quit()
        with self.assertRaises(OSError):
            smtplib.SMTP("127.0.0.1", old_port, timeout=5)

        self.showing_start(console, "Stop the receiver")
        wait_until(lambda: receiver.name == "Stopped", what="receiver stopped in the window")
        self.assertEqual(gw.status()["receiver"], "stopped")


class ConsoleScenariosJapanese(unittest.TestCase):

    def test_add_domain_in_japanese(self):
        """The same clicks in Japanese: the seed's terms on the tabs, the
        translated buttons and labels, and the domain lands in the daemon."""
        gw = Gateway(self).start(autostart=False)
        console = Console(self, gw.socket, language="ja")

        console.tab("ドメイン管理")
        console.click(console.frame, "追加(A)…")
        dialog = console.dialog("ドメインの追加")
        console.fill(dialog, [("ドメイン名(D):", "corp.test")])
        console.click(dialog, "追加(A)")
        console.click(console.frame, "適用(A)")
        wait_until(lambda: "corp.test" in gw.ctl("domain", "list").stdout, what="domain added")

        console.tab("サービス制御")
        receiver = console.described("受信サービスの状態")
        wait_until(lambda: receiver.name == "停止中", what="receiver shown stopped, in Japanese")


if __name__ == "__main__":
    unittest.main()
