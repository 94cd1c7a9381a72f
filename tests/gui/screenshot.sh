#!/bin/bash
# screenshot.sh - refresh data/screenshots/mail-control{,-ja}.png
#
# Starts a real mailgated from the build dir in a temporary folder (loopback
# listener on port 0, the README's example configuration), opens
# mail-control on it under its own Xvfb, and grabs the window with
# tests/gui/grab-window.py (GDK; x11-utils finds the window), once in
# English and once in Japanese.
#
#   tests/gui/screenshot.sh BUILD_DIR [OUT_DIR]      (default OUT_DIR: data/screenshots)
set -euo pipefail

build=$(realpath "${1:?usage: screenshot.sh BUILD_DIR [OUT_DIR]}")
src=$(realpath "$(dirname "$0")/../..")
out=$(realpath "${2:-$src/data/screenshots}")
tmp=$(mktemp -d /tmp/mail-control-shot-XXXXXX)
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ctl() { "$build/service/mailgatectl" --socket "$tmp/control" "$@"; }

"$build/service/mailgated" --state-dir "$tmp/state" --socket "$tmp/control" \
  --profile user --no-autostart >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
ctl listen set 127.0.0.1:0
ctl domain add corp.example --shared-box
ctl route add corp.example 192.168.0.10 20025
ctl route add branch.example 192.168.1.10 25
ctl relay add 192.168.0.10 allow
ctl relay add postmaster@corp.example deny
ctl config set delivery.smarthost mail.isp.example
ctl start receiver

# The Japanese catalogue, compiled from po/ja.po here (the build dir's copy
# may be older than the source).
mkdir -p "$tmp/locale/ja/LC_MESSAGES"
msgfmt -o "$tmp/locale/ja/LC_MESSAGES/mailgate.mo" "$src/po/ja.po"

shoot() {   # shoot OUTPUT.png [ENV=VALUE...]
  local png=$1; shift
  env -u DBUS_SESSION_BUS_ADDRESS GSETTINGS_BACKEND=memory GDK_BACKEND=x11 GTK_THEME=Adwaita \
      NO_AT_BRIDGE=1 LC_ALL=C.UTF-8 "$@" \
      xvfb-run -a -s '-screen 0 1100x800x24' dbus-run-session -- bash -c '
        "$0" --socket "$1" & app=$!
        /usr/bin/python3 "$3" "$app" "$2"; status=$?
        kill "$app"; wait "$app" 2>/dev/null || true
        exit $status
      ' "$build/gui/mail-control" "$tmp/control" "$png" "$src/tests/gui/grab-window.py"
}

mkdir -p "$out"
shoot "$out/mail-control.png"
shoot "$out/mail-control-ja.png" LANGUAGE=ja MAILGATE_LOCALEDIR="$tmp/locale"
echo "wrote $out/mail-control.png $out/mail-control-ja.png"
