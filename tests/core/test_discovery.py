"""Plugin discovery: broken and duplicate plugins are reported, never dropped."""

import sys

import pytest

import gridhost.plugins
from gridhost.core.discovery import discover_apps

GOOD = '''
from zope.interface import implementer
from gridhost.core.interfaces import IGridApp

@implementer(IGridApp)
class App:
    name = "{name}"
    requires = ()
    def check_config(self, section):
        return []
    def build(self, section, context):
        raise NotImplementedError

app = App()
'''


@pytest.fixture
def plugin_dir(tmp_path):
    saved_path, saved_sys_path = list(gridhost.plugins.__path__), list(sys.path)
    saved_modules = set(sys.modules)
    yield tmp_path
    gridhost.plugins.__path__[:] = saved_path
    sys.path[:] = saved_sys_path
    for name in set(sys.modules) - saved_modules:
        del sys.modules[name]


def test_builtin_apps_are_found():
    apps, errors = discover_apps()
    assert errors == []
    assert list(apps)[:2] == ["naclgrid", "corefarm"]


def test_a_plugin_folder_adds_an_app(plugin_dir):
    (plugin_dir / "extra_plugin.py").write_text(GOOD.format(name="extra"))
    apps, errors = discover_apps(extra_dirs=[plugin_dir])
    assert errors == []
    assert list(apps) == ["naclgrid", "corefarm", "extra"]


def test_broken_plugin_is_reported_with_its_traceback(plugin_dir):
    (plugin_dir / "broken_plugin.py").write_text("import no_such_module_anywhere\n")
    apps, errors = discover_apps(extra_dirs=[plugin_dir])
    assert len(errors) == 1
    assert errors[0].startswith("plugin module gridhost.plugins.broken_plugin (")
    assert "Traceback (most recent call last)" in errors[0]
    assert "ModuleNotFoundError: No module named 'no_such_module_anywhere'" in errors[0]
    assert "naclgrid" in apps  # the healthy ones are still listed


def test_two_plugins_with_one_name_is_an_error(plugin_dir):
    (plugin_dir / "first_plugin.py").write_text(GOOD.format(name="twin"))
    (plugin_dir / "second_plugin.py").write_text(GOOD.format(name="twin"))
    _, errors = discover_apps(extra_dirs=[plugin_dir])
    assert errors == ["two plugins claim the app name 'twin': "
                      "gridhost.plugins.first_plugin and gridhost.plugins.second_plugin"]


def test_object_that_is_not_an_app_is_reported(plugin_dir):
    (plugin_dir / "half_plugin.py").write_text(
        "from zope.interface import implementer\nfrom gridhost.core.interfaces import IGridApp\n"
        "@implementer(IGridApp)\nclass Half:\n    name = 'half'\nhalf = Half()\n")
    _, errors = discover_apps(extra_dirs=[plugin_dir])
    assert len(errors) == 1 and "does not provide IGridApp" in errors[0]
