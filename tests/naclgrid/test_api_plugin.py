"""NaclgridApp as a gridhost plugin: options, build, start-up, health."""

import os
import stat

import pytest
import treq
from treq.testing import StubTreq
from twisted.internet.task import Clock
from twisted.logger import Logger
from twisted.plugin import IPlugin
from twisted.python.filepath import FilePath
from zope.interface.verify import verifyObject

from gridhost.core.context import HostContext
from gridhost.core.interfaces import IAppInstance, IGridApp
from gridhost.core.stores import StoreConnection
from naclgrid.apps import wasm_bytes
from naclgrid.plugin import NaclgridApp
from tests.naclgrid.api_support import result_of


@pytest.fixture
def app():
    return NaclgridApp()


def context(tmp_path, clock):
    data_dir = FilePath(str(tmp_path)).child("naclgrid")
    data_dir.makedirs(ignoreExistingDirectory=True)
    return HostContext(reactor=clock, store=StoreConnection.from_setting("memory", clock),
                       data_dir=data_dir, log=Logger(namespace="naclgrid"), metrics=None,
                       server={"data_dir": str(tmp_path)})


def test_provides_the_plugin_interfaces(app):
    verifyObject(IGridApp, app)
    assert IPlugin.providedBy(app)
    assert app.name == "naclgrid" and app.requires == ()


def test_check_config_accepts_defaults_and_good_values(app, tmp_path):
    wasm = tmp_path / "mine.wasm"
    wasm.write_bytes(wasm_bytes("echo"))
    assert app.check_config({}) == []
    assert app.check_config({
        "max_input_bytes": 1024, "lease_seconds": 30, "max_attempts": 5, "max_wait": 30.5,
        "task_fuel": 10**9, "namespace": "grid:", "builtin_applications": False,
        "applications": {"mine": str(wasm)},
    }) == []


@pytest.mark.parametrize("section, key", [
    ({"bogus": 1}, "bogus"),
    ({"max_input_bytes": "1k"}, "max_input_bytes"),
    ({"max_input_bytes": 0}, "max_input_bytes"),
    ({"max_attempts": True}, "max_attempts"),
    ({"max_attempts": 2.5}, "max_attempts"),
    ({"lease_seconds": 1}, "lease_seconds"),
    ({"write_admin_key": "yes"}, "write_admin_key"),
    ({"namespace": ""}, "namespace"),
    ({"applications": ["a"]}, "applications"),
    ({"applications": {"bad name": "/x"}}, "applications.bad name"),
    ({"applications": {"gone": "/nonexistent.wasm"}}, "applications.gone"),
])
def test_check_config_reports_each_problem_with_its_key(app, section, key):
    errors = app.check_config(section)
    assert len(errors) == 1 and errors[0].startswith(key + ":"), errors


def test_check_config_rejects_non_wasm(app, tmp_path):
    fake = tmp_path / "fake.wasm"
    fake.write_bytes(b"#!/bin/sh\n")
    assert app.check_config({"applications": {"fake": str(fake)}}) == [
        f"applications.fake: {str(fake)!r} is not a WebAssembly module"]


def test_build_start_and_serve(app, tmp_path):
    clock = Clock()
    clock.advance(1_700_000_000)
    instance = app.build({"max_attempts": 2}, context(tmp_path, clock))
    verifyObject(IAppInstance, instance)
    assert sorted(instance.api.applications) == ["echo", "pi"]
    assert result_of(instance.health())["ok"] is False  # not started yet

    instance.service.startService()
    key_file = tmp_path / "admin.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    health = result_of(instance.health())
    assert health["ok"] is True and health["applications"] == ["echo", "pi"]

    stub = StubTreq(instance.resource())
    auth = {"Authorization": "Bearer " + key_file.read_text().strip()}
    reply = result_of(stub.post("http://h/new_job", data={"application": "pi"}, headers=auth))
    job_id = result_of(reply.json())["job_id"]
    status = result_of(result_of(stub.get("http://h/job", params={"job_id": job_id},
                                          headers=auth)).json())
    assert status["application"] == "pi"
    # The configured default applies to jobs that do not choose.
    assert result_of(instance.api.get_job(job_id)).max_attempts == 2
    # Registered modules are in the store, for agents to download.
    pi = instance.api.applications["pi"]
    assert result_of(instance.api.get_file(pi.sha256)) == wasm_bytes("pi")
    instance.service.stopService()


def test_other_apps_register_modules_through_the_grid(app, tmp_path):
    clock = Clock()
    instance = app.build({"builtin_applications": False}, context(tmp_path, clock))
    instance.service.startService()
    module = wasm_bytes("echo")
    ref = result_of(instance.api.applications.register("tracer", module))
    assert result_of(instance.api.get_file(ref.sha256)) == module
    assert list(instance.api.applications) == ["tracer"]
    with pytest.raises(ValueError):
        instance.api.applications.add("junk", b"not wasm")
    instance.service.stopService()


def test_keys_created_by_the_cli_work_on_a_memory_store(app, tmp_path):
    from naclgrid.auth import KeyService
    from naclgrid.auth.filestore import FileKeyStore

    clock = Clock()
    instance = app.build({"write_admin_key": False}, context(tmp_path, clock))
    instance.service.startService()
    assert not (tmp_path / "admin.key").exists()
    cli = KeyService(FileKeyStore(str(tmp_path / "naclgrid" / "keys.json")), clock)
    key, _ = result_of(cli.create("agent", "box"))
    stub = StubTreq(instance.resource())
    reply = result_of(stub.post("http://h/pop", headers={"Authorization": f"Bearer {key}"}))
    assert reply.code == 200 and result_of(treq.json_content(reply)) == {"tasks": []}
    instance.service.stopService()
