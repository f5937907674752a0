"""Every module imports on its own, whatever was imported before it.

A circular import only shows when the cycle is entered from one particular
side; the test suite's import order hides it. Each of our modules is imported
here first, with every other module of ours forgotten.
"""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import importlib, pkgutil, sys, traceback
    ours = ("gridhost", "naclgrid", "corefarm")
    names = []
    for top in ours:
        package = importlib.import_module(top)
        names.append(top)
        names += [m.name for m in pkgutil.walk_packages(package.__path__, top + ".")
                  if not m.name.endswith(".__main__")]
    failures = []
    for name in sorted(set(names)):
        for loaded in [m for m in sys.modules if m.split(".")[0] in ours]:
            del sys.modules[loaded]
        try:
            importlib.import_module(name)
        except Exception:
            failures.append(name + "\\n" + traceback.format_exc(limit=3))
    print(len(names), "modules")
    print("\\n".join(failures))
    sys.exit(1 if failures else 0)
''')


def test_every_module_imports_first():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
