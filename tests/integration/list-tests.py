#!/usr/bin/env python3
"""Print "module.Class.test_name" for every test method in the given files.

meson registers each as its own test (one case = one meson test), so a
failure is named and cases run in parallel.  The files are parsed, not
imported, so configuring needs no test dependency.
"""
import ast
import os
import sys

for path in sys.argv[1:]:
    module = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name.startswith("test"):
                print("%s.%s.%s" % (module, node.name, item.name))
