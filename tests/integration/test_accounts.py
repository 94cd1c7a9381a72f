"""Changing an existing account's password and a domain's shared-box flag
(mailgatectl user password / domain set), applied live."""
import unittest

from mgtest import GatewayTestCase
from test_frontdoor import FrontDoorBase

SENDER = "alice@example.org"


class Password(FrontDoorBase):

    def tls_client(self):
        client = self.gw.smtp()
        client.ehlo("client.example.org")
        client.starttls(context=self.ca.client_context())
        client.ehlo("client.example.org")
        return client

    def login(self, mech, password):
        client = self.tls_client()
        client.user, client.password = "user1@corp.example", password
        code, _ = self._auth(client, mech)
        client.close()
        return code

    def _auth(self, client, mech):
        try:
            return client.auth(mech, getattr(client, "auth_" + mech.lower().replace("-", "_")))
        except Exception as e:   # smtplib raises SMTPAuthenticationError on 535
            return (getattr(e, "smtp_code", None), str(e))

    def test_new_password_replaces_old(self):
        """The new password works at once for PLAIN and CRAM-MD5 (its secret
        follows); the old one no longer does; it never appears in argv."""
        self.assertEqual(self.login("PLAIN", "pass one"), 235)
        self.gw.ctl("user", "password", "user1@corp.example", input="pass two\n")
        self.assertEqual(self.login("PLAIN", "pass two"), 235)
        self.assertEqual(self.login("CRAM-MD5", "pass two"), 235)
        self.assertEqual(self.login("PLAIN", "pass one"), 535)

    def test_unknown_account_refused(self):
        r = self.gw.ctl("user", "password", "nobody@corp.example", input="x\n", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("address", r.stderr)
        r = self.gw.ctl("user", "password", "user1@corp.example", input="\n", check=False)
        self.assertEqual(r.returncode, 1)


class SharedBox(GatewayTestCase):

    def test_switch_shared_box(self):
        """R-2.1: in shared-box domains a user name is valid in all of them."""
        gw = self.gateway()
        gw.ctl("domain", "add", "corp.example")
        gw.ctl("domain", "add", "branch.example")
        gw.ctl("user", "add", "user1@corp.example")

        def rcpt(address):
            client = gw.smtp()
            client.ehlo("client.example.org")
            client.mail(SENDER)
            code = client.rcpt(address)[0]
            client.quit()
            return code

        self.assertEqual(rcpt("user1@branch.example"), 550)
        gw.ctl("domain", "set", "corp.example", "--shared-box")
        gw.ctl("domain", "set", "branch.example", "--shared-box")
        self.assertIn("corp.example", [d["name"] for d in gw.ctl_json("domain", "list")
                                       if d["shared_box"]])
        self.assertEqual(rcpt("user1@branch.example"), 250)
        gw.ctl("domain", "set", "branch.example", "--no-shared-box")
        self.assertEqual(rcpt("user1@branch.example"), 550)

        self.assertEqual(gw.ctl("domain", "set", "corp.example", check=False).returncode, 2)
        r = gw.ctl("domain", "set", "nowhere.example", "--shared-box", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("domain", r.stderr)


if __name__ == "__main__":
    unittest.main()
