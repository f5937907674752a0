"""Project rules that are cheap to check mechanically."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for folder in ("gridhost", "plugins", "twisted", "examples")
           for p in (ROOT / folder).rglob("*.py")]
GLOBAL_REACTOR = re.compile(r"^\s*from twisted\.internet import .*\breactor\b|^\s*import twisted\.internet\.reactor",
                            re.M)


def _allowed_reactor_import(path, text):
    # The twistd entry, and CLI entry points that own a process, may take the
    # global reactor; nothing below them may.
    if path == ROOT / "gridhost/core/tap.py":
        return True
    return "def main(" in text and all(
        _inside_main(text, m.start()) for m in GLOBAL_REACTOR.finditer(text))


def _inside_main(text, offset):
    before = text[:offset]
    last_def = max(before.rfind("\ndef "), before.rfind("\nasync def "))
    return before[last_def:].lstrip().split("(")[0].endswith(("main", "_main", "run_main"))


def test_no_global_reactor_below_the_entry_points():
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES
                 if GLOBAL_REACTOR.search(p.read_text()) and not _allowed_reactor_import(p, p.read_text())]
    assert offenders == []


def test_no_init_in_twisted_plugins():
    assert not (ROOT / "twisted/__init__.py").exists()
    assert not (ROOT / "twisted/plugins/__init__.py").exists()


def test_logging_goes_through_twisted_logger():
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES
                 if re.search(r"from twisted\.python import log\b|twisted\.python\.log\.", p.read_text())]
    assert offenders == []
