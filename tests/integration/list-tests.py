#!/usr/bin/env python3
"""Print "module.Class.test_name" for every test method of every
tests/integration/test_*.py (or of the files given).

meson registers each as its own test (one case = one meson test), so a
failure is named and cases run in parallel.  The files are parsed, not
imported, so configuring needs no test dependency.  A new test file is
picked up when meson configures (a fresh build dir, or
`meson setup --reconfigure`).
"""
import ast
import glob
import os
import sys

paths = sys.argv[1:] or sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_*.py")))
for path in paths:
    module = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name.startswith("test"):
                print("%s.%s.%s" % (module, node.name, item.name))
