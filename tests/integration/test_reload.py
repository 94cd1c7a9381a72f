"""SIGHUP / systemctl reload (issue 7 item 1): config.db and the TLS
certificate are read again; a broken certificate keeps the one in use."""
import os
import signal
import unittest

from mgtest import smtp_tls, wait_until
from test_frontdoor import FrontDoorBase


class Reload(FrontDoorBase):

    def listeners(self):
        return ("127.0.0.1:0", "127.0.0.1:0/tls")

    def serial(self):
        client = smtp_tls(self.gw, 1, context=self.ca.client_context())
        number = int(client.sock.getpeercert()["serialNumber"], 16)
        client.quit()
        return number

    def test_sighup_reloads_certificate(self):
        first = self.serial()
        self.gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "TLS certificate reloaded from" in self.gw.log(),
                   what="the reload in the log")
        self.assertEqual(self.gw.status()["receiver"], "running")
        self.assertEqual(self.serial(), first)   # same files: same certificate

        # a broken file at reload: the certificate in use stays
        with open(self.cert, "w") as f:
            f.write("not a certificate\n")
        self.gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "previous certificate stays" in self.gw.log(),
                   what="the failed reload in the log")
        self.assertEqual(self.serial(), first)


if __name__ == "__main__":
    unittest.main()
