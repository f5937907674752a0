"""Find the installed apps, loudly.

``twisted.plugin.getPlugins`` logs and skips a plugin module that fails to
import, so a typo in a plugin would make its app vanish with nothing but a
line in a log. We import every plugin module ourselves first and turn each
failure into an error carrying the traceback.
"""

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from twisted.plugin import getPlugins
from zope.interface.exceptions import Invalid
from zope.interface.verify import verifyObject

from gridhost.core.interfaces import IGridApp

# Builtins first, in this order, so messages read "installed: naclgrid, corefarm".
BUILTIN_ORDER = ("naclgrid", "corefarm")


def _add_plugin_dirs(package, extra_dirs):
    for folder in extra_dirs:
        folder = str(Path(folder).resolve())
        if folder not in package.__path__:
            package.__path__.append(folder)
        # A plugin folder may hold the plugin module and the package it imports.
        if folder not in sys.path:
            sys.path.append(folder)


def _import_all(package):
    """Import every plugin module; return ``(modules, errors)``."""
    modules, errors = [], []
    for info in pkgutil.iter_modules(package.__path__):
        name = f"{package.__name__}.{info.name}"
        try:
            modules.append(importlib.import_module(name))
        except Exception:  # noqa: BLE001 - any import failure is reported, with its traceback
            where = Path(info.module_finder.path) / info.name
            errors.append(f"plugin module {name} ({where}) failed to import:\n"
                          + traceback.format_exc().rstrip())
    return modules, errors


def _providers(modules):
    # getPlugins trusts dropin.cache by modification time, so a cache written
    # while a module was broken keeps hiding its app after the fix. Anything
    # the cache missed is still found here.
    for module in modules:
        for value in vars(module).values():
            if IGridApp.providedBy(value) and not isinstance(value, type):
                yield value


def discover_apps(extra_dirs=(), get=getPlugins):
    """Return ``(apps, errors)``: ``apps`` maps name -> IGridApp in a stable
    order (builtins first, then by name); ``errors`` lists broken plugin
    modules, invalid plugins and duplicate names."""
    import gridhost.plugins as package

    _add_plugin_dirs(package, extra_dirs)
    modules, errors = _import_all(package)
    found = {}
    seen = set()
    for app in [*get(IGridApp, package), *_providers(modules)]:
        if id(app) in seen:
            continue
        seen.add(id(app))
        try:
            verifyObject(IGridApp, app)
        except Invalid as e:
            errors.append(f"plugin {app!r} does not provide IGridApp: {e}")
            continue
        if app.name in found:
            errors.append(f"two plugins claim the app name {app.name!r}: "
                          f"{type(found[app.name]).__module__} and {type(app).__module__}")
            continue
        found[app.name] = app
    ordered = {n: found[n] for n in BUILTIN_ORDER if n in found}
    ordered.update({n: found[n] for n in sorted(found) if n not in ordered})
    return ordered, errors
