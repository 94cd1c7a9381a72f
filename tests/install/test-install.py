#!/usr/bin/python3
"""Install layout checks: `meson install` into a temporary DESTDIR.

  test-install.py BUILD_DIR layout [--groff GROFF]
      every file in its FHS place under the configured --prefix, the unit
      pointing at the installed daemon, the man pages rendering cleanly
  test-install.py BUILD_DIR systemd SYSTEMD_ANALYZE
      `systemd-analyze verify`, and `systemd-analyze security` (exposure at most 3.0) on the
      installed unit (registered only when systemd-analyze exists)

Exit status 0 = pass, 1 = fail (TAP-free: meson's exit-code protocol).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

MESON = os.environ.get("MESON", "meson")


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def build_options(build_dir):
    out = subprocess.run([MESON, "introspect", "--buildoptions", build_dir],
                         capture_output=True, text=True, check=True).stdout
    return {o["name"]: o["value"] for o in json.loads(out)}


def install(build_dir, destdir):
    r = subprocess.run([MESON, "install", "-C", build_dir, "--destdir", destdir,
                        "--no-rebuild", "--quiet"], capture_output=True, text=True)
    if r.returncode != 0:
        fail("meson install failed:\n" + r.stdout + r.stderr)


def layout(args, destdir):
    opts = build_options(args.build_dir)
    prefix = opts["prefix"]
    root = destdir + prefix

    def path(option, *rest):
        base = opts[option]
        base = base if os.path.isabs(base) else os.path.join(prefix, base)
        return os.path.join(destdir + base, *rest)

    expected = {
        path("sbindir", "mailgated"): "daemon",
        path("bindir", "mailgatectl"): "command line",
        path("bindir", "mail-control"): "console",
        os.path.join(root, "lib", "systemd", "system", "mailgated.service"): "unit",
        os.path.join(root, "lib", "sysusers.d", "mailgate.conf"): "system user",
        os.path.join(root, "lib", "tmpfiles.d", "mailgate.conf"): "state folders",
        path("mandir", "man8", "mailgated.8"): "man page",
        path("mandir", "man8", "mailgatectl.8"): "man page",
        path("mandir", "man1", "mail-control.1"): "man page",
        path("mandir", "man5", "mailgate.conf.5"): "man page",
        path("datadir", "applications", "org.mailgate.MailControl.desktop"): "desktop file",
        path("datadir", "metainfo", "org.mailgate.MailControl.metainfo.xml"): "AppStream",
        path("datadir", "icons", "hicolor", "scalable", "apps",
             "org.mailgate.MailControl.svg"): "icon",
        path("localedir", "ja", "LC_MESSAGES", "mailgate.mo"): "translation",
    }
    for p, what in sorted(expected.items()):
        if not os.path.isfile(p):
            fail("%s missing: %s" % (what, p))
        print("ok %s %s" % (what, os.path.relpath(p, destdir)))
    for exe in ("sbindir", "bindir"):
        for name in os.listdir(path(exe)):
            if not os.access(path(exe, name), os.X_OK):
                fail("not executable: " + path(exe, name))
    # nothing outside the prefix
    for dirpath, _, files in os.walk(destdir):
        for f in files:
            full = os.path.join(dirpath, f)
            if not full.startswith(root + os.sep):
                fail("installed outside the prefix %s: %s" % (prefix, full))

    unit = open(os.path.join(root, "lib", "systemd", "system", "mailgated.service")).read()
    daemon = os.path.join(opts["sbindir"] if os.path.isabs(opts["sbindir"])
                          else os.path.join(prefix, opts["sbindir"]), "mailgated")
    if not re.search(r"^ExecStart=%s " % re.escape(daemon), unit, re.M):
        fail("the unit does not start %s:\n%s" % (daemon, unit))
    for needed in ("User=mailgate", "ProtectSystem=strict", "NoNewPrivileges=yes",
                   "AmbientCapabilities=CAP_NET_BIND_SERVICE", "StateDirectory=mailgate",
                   "RuntimeDirectory=mailgate"):
        if not re.search(r"^%s$" % re.escape(needed), unit, re.M):
            fail("the unit lacks %s" % needed)
    sysusers = open(os.path.join(root, "lib", "sysusers.d", "mailgate.conf")).read()
    if not re.search(r"^u mailgate - ", sysusers, re.M):
        fail("sysusers.d does not create the mailgate user")

    # man pages: generated from --help and the settings schema
    ctl_page = open(path("mandir", "man8", "mailgatectl.8")).read()
    for verb in ("import\\-epost DIR [\\-\\-dry\\-run]", "selftest", "check",
                 "log search QUEUE_ID"):
        if verb not in ctl_page:
            fail("mailgatectl.8 lacks " + verb)
    conf_page = open(path("mandir", "man5", "mailgate.conf.5")).read()
    for key in ("delivery.forward_all", "receiver.max_message_size"):
        if key not in conf_page:
            fail("mailgate.conf.5 lacks " + key)
    if args.groff:
        for page in expected:
            if "/man" in page and re.search(r"\.\d$", page):
                r = subprocess.run([args.groff, "-man", "-ww", "-z", "-Tutf8", page],
                                   capture_output=True, text=True)
                if r.returncode != 0 or r.stderr.strip():
                    fail("groff warns about %s:\n%s" % (page, r.stderr))
                print("ok renders " + os.path.basename(page))


def systemd(args, destdir):
    opts = build_options(args.build_dir)
    root = destdir + opts["prefix"]
    unit_dir = tempfile.mkdtemp(prefix="mg-unit-")
    try:
        unit = open(os.path.join(root, "lib", "systemd", "system", "mailgated.service")).read()
        # point ExecStart into DESTDIR: verify checks that the program exists
        unit = re.sub(r"^ExecStart=(\S+)", lambda m: "ExecStart=" + destdir + m.group(1),
                      unit, flags=re.M)
        unit_path = os.path.join(unit_dir, "mailgated.service")
        with open(unit_path, "w") as f:
            f.write(unit)
        env = dict(os.environ)
        mandir = opts["mandir"] if os.path.isabs(opts["mandir"]) else os.path.join(opts["prefix"], opts["mandir"])
        env["MANPATH"] = destdir + mandir   # Documentation=man:... must resolve
        r = subprocess.run([args.tool, "verify", unit_path], capture_output=True,
                           text=True, env=env, cwd=unit_dir)
        if r.returncode != 0 or r.stderr.strip():
            fail("systemd-analyze verify:\n" + r.stdout + r.stderr)
        print("ok systemd-analyze verify")
        r = subprocess.run([args.tool, "security", "--offline=yes", "--threshold=30",
                            unit_path], capture_output=True, text=True, env=env,
                           cwd=unit_dir)
        last = (r.stdout.strip().splitlines() or [""])[-1]
        if r.returncode != 0:
            fail("systemd-analyze security (exposure above 3.0):\n" + r.stdout[-3000:] + r.stderr)
        print("ok systemd-analyze security: " + last)
    finally:
        shutil.rmtree(unit_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build_dir")
    parser.add_argument("check", choices=("layout", "systemd"))
    parser.add_argument("tool", nargs="?")
    parser.add_argument("--groff")
    args = parser.parse_args()
    destdir = tempfile.mkdtemp(prefix="mg-destdir-")
    try:
        install(args.build_dir, destdir)
        if args.check == "layout":
            layout(args, destdir)
        else:
            systemd(args, destdir)
    finally:
        shutil.rmtree(destdir, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
