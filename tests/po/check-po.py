#!/usr/bin/env python3
"""Translation checks (STYLE.md B10), run by meson test:

1. POTFILES.in lists every source file that marks strings with _() / N_();
2. po/ja.po is valid (msgfmt --check);
3. po/ja.po translates every message the sources have (msgcmp against a
   freshly extracted template): nothing untranslated, nothing fuzzy.
"""
import os
import re
import subprocess
import sys
import tempfile

srcdir = sys.argv[1]
failures = []

listed = set()
with open(os.path.join(srcdir, "po", "POTFILES.in"), encoding="utf-8") as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith("#"):
            listed.add(line)

marker = re.compile(r"\b(N?_|C_|NC_)\s*\(\s*\"")
for top in ("shared", "service", "gui"):
    for root, _, files in os.walk(os.path.join(srcdir, top)):
        for name in files:
            if not name.endswith((".c", ".ui")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, srcdir)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            marked = marker.search(text) or (name.endswith(".ui") and 'translatable="yes"' in text)
            if marked and rel not in listed:
                failures.append("%s marks strings for translation but is not in po/POTFILES.in" % rel)
for rel in sorted(listed):
    if not os.path.exists(os.path.join(srcdir, rel)):
        failures.append("po/POTFILES.in lists %s, which does not exist" % rel)

ja = os.path.join(srcdir, "po", "ja.po")
r = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, ja],
                   capture_output=True, text=True)
if r.returncode != 0:
    failures.append("msgfmt --check po/ja.po:\n" + r.stderr)
elif "fuzzy" in r.stderr or "untranslated" in r.stderr:
    failures.append("po/ja.po is incomplete: " + r.stderr.strip())

with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, "mailgate.pot")
    cmd = ["xgettext", "--from-code=UTF-8", "--add-comments", "--keyword=_", "--keyword=N_",
           "--keyword=C_:1c,2", "--keyword=NC_:1c,2", "--keyword=g_dngettext:2,3",
           "--directory=" + srcdir, "--output=" + pot] + sorted(listed)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        failures.append("xgettext failed:\n" + r.stderr)
    else:
        r = subprocess.run(["msgcmp", ja, pot], capture_output=True, text=True)
        if r.returncode != 0:
            failures.append("po/ja.po lacks translations (run ninja mailgate-update-po, then translate):\n"
                            + r.stderr)

for f in failures:
    print("FAIL:", f)
print("1..1")
print("%s 1 - translations complete" % ("not ok" if failures else "ok"))
sys.exit(1 if failures else 0)
