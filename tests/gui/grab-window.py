#!/usr/bin/python3
"""grab-window.py PID OUT.png - save the X window of process PID as PNG.

For tests/gui/screenshot.sh: finds the top-level window whose _NET_WM_PID
is PID (xwininfo/xprop from x11-utils), waits for it to be drawn, and
copies its area of the screen with GDK (no ImageMagick needed).
"""
import re
import subprocess
import sys
import time

import gi
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk  # noqa: E402


def find_window(pid, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tree = subprocess.run(["xwininfo", "-root", "-children"], capture_output=True, text=True).stdout
        for wid in re.findall(r"^\s+(0x[0-9a-f]+) ", tree, re.M):
            prop = subprocess.run(["xprop", "-id", wid, "_NET_WM_PID", "WM_STATE"],
                                  capture_output=True, text=True).stdout
            if re.search(r"_NET_WM_PID\(CARDINAL\) = %d\b" % pid, prop):
                info = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True).stdout
                if "IsViewable" in info:
                    geometry = [int(re.search(p + r":\s+(-?\d+)", info).group(1))
                                for p in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height")]
                    return geometry
        time.sleep(0.1)
    raise SystemExit("no window of pid %d appeared" % pid)


def main():
    pid, out = int(sys.argv[1]), sys.argv[2]
    x, y, width, height = find_window(pid)
    time.sleep(1.5)                      # let the last frame be drawn
    root = Gdk.get_default_root_window()
    pixbuf = Gdk.pixbuf_get_from_window(root, x, y, width, height)
    pixbuf.savev(out, "png", [], [])


if __name__ == "__main__":
    main()
