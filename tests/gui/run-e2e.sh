#!/bin/bash
# run-e2e.sh COMMAND... - one dogtail scenario: its own Xvfb (two AT-SPI
# sessions on one display collide) and its own D-Bus session (AT-SPI is
# activated on it).  See ../shared/GUI-TESTING.md.  Without xvfb-run or
# dbus-run-session the scenario is skipped (exit 77), never passed.
set -eu
export GSETTINGS_BACKEND=memory GDK_BACKEND=x11 GTK_THEME=Adwaita
unset NO_AT_BRIDGE GTK_A11Y DBUS_SESSION_BUS_ADDRESS AT_SPI_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY
command -v xvfb-run >/dev/null && command -v dbus-run-session >/dev/null || { echo "SKIP: no xvfb-run/dbus-run-session"; exit 77; }
exec xvfb-run -a -s '-screen 0 1280x1024x24' dbus-run-session -- "$@"
