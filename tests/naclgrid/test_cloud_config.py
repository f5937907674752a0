"""Cloud options, credentials, user-data, and each cloud's create_node
arguments checked against libcloud's real driver signatures."""

import inspect

import pytest
from libcloud.compute.base import Node, NodeState
from libcloud.compute.drivers.azure_arm import AzureNodeDriver
from libcloud.compute.drivers.dummy import DummyNodeDriver
from libcloud.compute.drivers.ec2 import EC2NodeDriver
from libcloud.compute.drivers.gce import GCENodeDriver
from libcloud.compute.drivers.openstack import OpenStack_1_1_NodeDriver
from twisted.internet.task import Clock

from naclgrid.elastic import ElasticService, build_elastic, check_elastic_config
from naclgrid.elastic.cloud import (TAG_KEY, TAG_NODE, TAG_POOL, adapter_for, make_driver,
                                    parse_user_data, render_user_data)
from naclgrid.elastic.cloud.config import CredentialError, credentials
from naclgrid.elastic.cloud.userdata import MAX_USER_DATA
from tests.naclgrid.api_support import ApiEnv

KEY = "ngk_0123456789abcdef_" + "ab" * 32
TAGS = {TAG_POOL: "render", TAG_NODE: "gh-render-00aa11bb", TAG_KEY: "0123456789abcdef"}
EC2 = {"image": "ami-0c1d2e3f4a5b6c7d8", "size": "c6i.xlarge", "region": "eu-west-1"}


def test_elastic_options_are_checked():
    assert check_elastic_config(None) == []
    assert check_elastic_config({"enabled": True, "max_nodes": 8, "standby": 1}) == []
    errors = check_elastic_config({
        "enabled": "yes", "max_nodes": -1, "min_nodes": 3, "provider": "vultr",
        "pool": "Render Farm", "colour": "red", "price_per_hour": "1"})
    assert "elastic.enabled: must be true or false, not 'yes'" in errors
    assert "elastic.max_nodes: must be an integer from 0 to 10000, not -1" in errors
    assert "elastic.provider: one of local, dummy, ec2, gce, azure, openstack, not 'vultr'" in errors
    assert "elastic.pool: 1-40 characters of a-z 0-9 -" in errors
    assert "elastic.price_per_hour: must be a number from 0 to 1000000.0, not '1'" in errors
    assert any(e.startswith("elastic.colour: unknown option") for e in errors)
    assert check_elastic_config({"min_nodes": 5, "max_nodes": 2}) == [
        "elastic.min_nodes: 5 is more than max_nodes (2)"]


def test_cloud_options_are_checked_per_provider():
    assert check_elastic_config({"provider": "ec2", "server_url": "https://g/naclgrid/",
                                 "cloud": dict(EC2, subnet_id="subnet-1", spot=True)}) == []
    errors = check_elastic_config({"provider": "ec2", "cloud": {
        "size": "", "secret": "hunter2", "project": "p", "spot": "yes",
        "security_group_ids": "sg-1"}})
    assert errors == [
        "elastic.server_url: required for a cloud provider (the URL its nodes reach the "
        "naclgrid API at)",
        "elastic.cloud.project: unknown option for ec2 (known: iam_profile, image, install, key, "
        "key_env, key_name, pip_index_url, region, secret_env, secret_file, security_group_ids, "
        "size, spot, subnet_id)",
        "elastic.cloud.size: must be a string",
        "elastic.cloud.security_group_ids: must be a list of strings",
        "elastic.cloud.spot: must be true or false",
        "elastic.cloud.image: required for provider ec2",
        "elastic.cloud.region: required for provider ec2",
        "elastic.cloud.secret: never put a secret in the config; use secret_env or secret_file",
    ]
    assert "elastic.cloud.project: required for provider gce" in check_elastic_config(
        {"provider": "gce", "server_url": "https://g/", "cloud": dict(EC2)})


def test_credentials_come_from_the_environment_or_a_file(tmp_path):
    env = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cret"}
    assert credentials("ec2", {}, env) == ("AKID", "s3cret")
    assert credentials("ec2", {"key": "AK2", "secret_env": "MINE"}, {"MINE": "m"}) == ("AK2", "m")
    secret = tmp_path / "cloud.secret"
    secret.write_text("from-file\n")
    assert credentials("ec2", {"key": "AK3", "secret_file": str(secret)}, {}) == ("AK3", "from-file")
    with pytest.raises(CredentialError, match="AWS_SECRET_ACCESS_KEY .* is not set"):
        credentials("ec2", {"key": "AK"}, {})
    with pytest.raises(CredentialError, match="cannot read"):
        credentials("ec2", {"key": "AK", "secret_file": str(tmp_path / "missing")}, {})
    with pytest.raises(CredentialError, match="no ec2 key id"):
        credentials("ec2", {}, {"AWS_SECRET_ACCESS_KEY": "s"})


def test_drivers_are_built_without_touching_the_network():
    driver = make_driver("ec2", EC2, {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"})
    assert isinstance(driver, EC2NodeDriver) and driver.region_name == "eu-west-1"
    assert isinstance(make_driver("dummy", {}), DummyNodeDriver)
    driver = make_driver("openstack", {"auth_url": "https://keystone.example:5000",
                                       "project": "grid", "region": "RegionOne",
                                       "image": "i", "size": "f"},
                         {"OS_USERNAME": "u", "OS_PASSWORD": "p"})
    assert isinstance(driver, OpenStack_1_1_NodeDriver)


def test_user_data_installs_gridhost_and_runs_the_agent_with_its_key_out_of_sight():
    text = render_user_data("https://grid.example.org/naclgrid/", KEY, "gh-render-00aa11bb", 8,
                            install="gridhost==0.1.0", pip_index_url="https://pypi.example/simple")
    assert text.startswith("#cloud-config\n") and len(text) < MAX_USER_DATA
    doc = parse_user_data(text)
    config, unit = doc["write_files"]
    assert config["path"] == "/etc/gridhost/agent.toml" and config["permissions"] == "0600"
    assert config["content"].splitlines()[:5] == [
        "[agent]", 'url = "https://grid.example.org/naclgrid/"', f'key = "{KEY}"',
        'node = "gh-render-00aa11bb"', "slots = 8"]
    assert "LoadCredential=agent.toml:/etc/gridhost/agent.toml" in unit["content"]
    assert "DynamicUser=yes" in unit["content"]
    assert KEY not in unit["content"] and KEY not in str(doc["runcmd"])
    assert doc["runcmd"][1] == ["/opt/gridhost/bin/pip", "install", "--no-cache-dir",
                                "--index-url", "https://pypi.example/simple", "gridhost==0.1.0"]
    assert doc["runcmd"][-1] == ["systemctl", "enable", "--now", "gridhost-agent.service"]
    with pytest.raises(ValueError, match="more than"):
        render_user_data("https://g/", KEY, "n", 1, install="x" * MAX_USER_DATA)


def test_the_agent_reads_the_config_the_user_data_writes(tmp_path):
    from naclgrid.agent.config import load_config

    doc = parse_user_data(render_user_data("https://grid.example.org/naclgrid/", KEY,
                                           "gh-render-00aa11bb", 8))
    path = tmp_path / "agent.toml"
    path.write_text(doc["write_files"][0]["content"])
    config = load_config(["--config", str(path)], environ={})
    assert (config.url, config.key, config.node, config.slots, config.status) == (
        "https://grid.example.org/naclgrid/", KEY, "gh-render-00aa11bb", 8, "off")


def bind(driver_class, kwargs):
    """Fail like a real call would if the arguments do not fit create_node."""
    return inspect.signature(driver_class.create_node).bind(object(), **kwargs)


def test_each_clouds_arguments_fit_its_libcloud_driver():
    ud = "#cloud-config\n{}"
    ec2 = adapter_for("ec2", dict(EC2, subnet_id="subnet-1", security_group_ids=["sg-1"],
                                  key_name="ops", iam_profile="agent", spot=True))
    kwargs = ec2.create_kwargs(None, "gh-render-00aa11bb", ud, TAGS)
    bind(EC2NodeDriver, kwargs)
    assert kwargs["ex_metadata"] == TAGS and kwargs["ex_userdata"] == ud and kwargs["ex_spot"]

    gce = adapter_for("gce", {"image": "debian-12", "size": "e2-standard-4",
                              "region": "europe-west1-b", "project": "p", "network": "grid"})
    kwargs = gce.create_kwargs(None, "gh-render-00aa11bb", ud, TAGS)
    bind(GCENodeDriver, kwargs)
    assert kwargs["ex_labels"] == TAGS and kwargs["ex_metadata"] == {"user-data": ud}

    azure = adapter_for("azure", {
        "image": "Canonical:0001-com-ubuntu-server-jammy:22_04-lts:latest",
        "size": "Standard_D4s_v5", "region": "westeurope", "resource_group": "grid",
        "network": "grid-vnet", "subnet": "agents", "ssh_public_key": "ssh-ed25519 AAAA ops",
        "tenant_id": "t", "subscription_id": "s"})
    kwargs = azure.create_kwargs(None, "gh-render-00aa11bb", ud, TAGS)
    bind(AzureNodeDriver, kwargs)
    assert kwargs["ex_tags"] == TAGS and kwargs["ex_customdata"] == ud
    assert kwargs["image"].publisher == "Canonical" and kwargs["image"].sku == "22_04-lts"
    with pytest.raises(ValueError, match="publisher:offer:sku:version"):
        adapter_for("azure", dict(azure.options, image="ubuntu")).create_kwargs(
            None, "n", ud, TAGS)

    openstack = adapter_for("openstack", {"image": "img-1", "size": "flavor-2", "auth_url": "u",
                                          "project": "p", "networks": ["net-1"],
                                          "key_name": "ops", "security_groups": ["grid"]})
    kwargs = openstack.create_kwargs(None, "gh-render-00aa11bb", ud, TAGS)
    bind(OpenStack_1_1_NodeDriver, kwargs)
    assert kwargs["ex_metadata"] == TAGS and kwargs["ex_userdata"] == ud
    assert [n.id for n in kwargs["networks"]] == ["net-1"]


def test_tags_are_read_back_where_each_cloud_keeps_them():
    def node(**extra):
        return Node("i-1", "n", NodeState.RUNNING, [], [], None, extra=extra)

    assert adapter_for("ec2", EC2).tags_of(node(tags=TAGS)) == TAGS
    assert adapter_for("azure", {}).tags_of(node(tags=TAGS)) == TAGS
    assert adapter_for("gce", {}).tags_of(node(labels=TAGS)) == TAGS
    assert adapter_for("openstack", {}).tags_of(node(metadata=TAGS)) == TAGS
    assert adapter_for("gce", {}).tags_of(node(labels=None)) == {}


def test_build_elastic_wires_a_cloud_pool_or_nothing():
    env = ApiEnv()
    assert build_elastic({"enabled": False}, env.grid, env.keys, Clock(), "http://x/") is None
    top = build_elastic({"enabled": True, "provider": "dummy"}, env.grid, env.keys, env.clock,
                        "http://127.0.0.1:8080/naclgrid/")
    service = top.getServiceNamed("naclgrid-elastic")
    assert isinstance(service, ElasticService) and service.provider.kind == "dummy"
    with pytest.raises(CredentialError):
        build_elastic({"enabled": True, "provider": "ec2", "server_url": "https://g/",
                       "cloud": EC2}, env.grid, env.keys, env.clock, "http://x/", environ={})
    local = build_elastic({"enabled": True, "provider": "local", "max_nodes": 2}, env.grid,
                          env.keys, env.clock, "http://127.0.0.1:8080/naclgrid/",
                          data_dir="/tmp/unused-elastic-test")
    assert local.provider.kind == "local"
