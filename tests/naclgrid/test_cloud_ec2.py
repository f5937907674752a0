"""The cloud provider on libcloud's real EC2 driver, its HTTP served by
libcloud's own MockHttp from recorded API replies (tests/naclgrid/fixtures/ec2).
Every request goes through the driver's real signing, encoding and XML
parsing; only the socket is replaced."""

import base64
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from libcloud.compute.drivers.ec2 import EC2NodeDriver
from libcloud.test import MockHttp
from libcloud.utils.py3 import httplib
from twisted.internet.defer import maybeDeferred

from naclgrid.elastic import ElasticPolicy, ElasticService, ElasticSettings
from naclgrid.elastic.cloud import CloudProvider, adapter_for, parse_user_data
from tests.naclgrid.api_support import ApiEnv, result_of

FIXTURES = Path(__file__).parent / "fixtures" / "ec2"
URL = "https://grid.example.org/naclgrid/"
OPTIONS = {"image": "ami-0c1d2e3f4a5b6c7d8", "size": "c6i.xlarge", "region": "eu-west-1",
           "subnet_id": "subnet-0123456789abcdef0",
           "security_group_ids": ["sg-0aa11bb22cc33dd44"], "iam_profile": "gridhost-agent"}


class EC2Recorded(MockHttp):
    """Serves the recorded replies by the request's ``Action``."""

    use_param = "Action"
    requests = []

    def _reply(self, name, url):
        EC2Recorded.requests.append({k: v[0] if len(v) == 1 else v
                                     for k, v in parse_qs(urlparse(url).query).items()})
        return httplib.OK, (FIXTURES / name).read_text(), {}, httplib.responses[httplib.OK]

    def _RunInstances(self, method, url, body, headers):
        return self._reply("run_instances.xml", url)

    def _DescribeInstances(self, method, url, body, headers):
        return self._reply("describe_instances.xml", url)

    def _DescribeAddresses(self, method, url, body, headers):
        return self._reply("describe_addresses.xml", url)

    def _TerminateInstances(self, method, url, body, headers):
        return self._reply("terminate_instances.xml", url)


@pytest.fixture
def ec2():
    EC2Recorded.requests = []
    driver = EC2NodeDriver("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                           region="eu-west-1")
    # The instance's connection only: other tests' EC2 drivers stay untouched.
    driver.connection.conn_class = EC2Recorded
    driver.connection.connection = None
    return driver


def provider_for(driver, env):
    return CloudProvider(driver, adapter_for("ec2", OPTIONS), env.keys, "default", URL, 4,
                         lambda f, *a, **kw: maybeDeferred(f, *a, **kw))


def test_a_node_is_launched_tagged_with_user_data_and_a_fresh_agent_key(ec2):
    env = ApiEnv()
    provider = provider_for(ec2, env)
    node = result_of(provider.create_node("gh-default-0badcafe"))
    assert (node.name, node.provider_id) == ("gh-default-0badcafe", "i-0a1b2c3d4e5f60001")

    (request,) = EC2Recorded.requests
    assert request["Action"] == "RunInstances"
    assert (request["ImageId"], request["InstanceType"]) == ("ami-0c1d2e3f4a5b6c7d8", "c6i.xlarge")
    assert request["SubnetId"] == "subnet-0123456789abcdef0"
    assert request["SecurityGroupId.1"] == "sg-0aa11bb22cc33dd44"
    assert request["IamInstanceProfile.Name"] == "gridhost-agent"
    assert request["InstanceInitiatedShutdownBehavior"] == "terminate"
    tags = {request[f"TagSpecification.1.Tag.{i}.Key"]: request[f"TagSpecification.1.Tag.{i}.Value"]
            for i in range(1, 5)}
    assert tags == {"Name": "gh-default-0badcafe", "gridhost-pool": "default",
                    "gridhost-node": "gh-default-0badcafe", "gridhost-key-id": node.key_id}

    document = parse_user_data(base64.b64decode(request["UserData"]).decode())
    config = document["write_files"][0]["content"]
    key = config.split('key = "')[1].split('"')[0]
    principal = result_of(env.keys.verify_bearer(key))
    assert (principal.role, principal.user, principal.key_id) == (
        "agent", "elastic-default", node.key_id)
    assert document["runcmd"][1][-1] == "gridhost"
    assert "slots = 4" in config and f'url = "{URL}"' in config


def test_the_pool_is_listed_by_tag_filter_and_adopted(ec2):
    env = ApiEnv()
    nodes = result_of(provider_for(ec2, env).list_nodes())
    request, addresses = EC2Recorded.requests
    assert addresses["Action"] == "DescribeAddresses"
    assert request["Action"] == "DescribeInstances"
    # Filtered at the API (an account may run thousands of other instances), and signed.
    assert (request["Filter.1.Name"], request["Filter.1.Value.1"]) == ("tag:gridhost-pool", "default")
    assert request["Filter.2.Name"] == "instance-state-name"
    assert [request[f"Filter.2.Value.{i}"] for i in range(1, 5)] == [
        "pending", "running", "stopping", "stopped"]
    assert request["AWSAccessKeyId"] == "AKIDEXAMPLE" and request["Signature"]
    assert [(n.name, n.provider_id, n.key_id, n.state) for n in nodes] == [
        ("gh-default-1a2b3c4d", "i-0a1b2c3d4e5f60001", "0123456789abcdef", "running"),
        ("gh-default-5e6f7a8b", "i-0a1b2c3d4e5f60002", "fedcba9876543210", "pending")]
    assert nodes[0].created_at == 1715677951.0         # 2024-05-14T09:12:31Z


def test_a_restarted_server_adopts_ec2_nodes_and_terminates_them_when_idle(ec2):
    env = ApiEnv()
    settings = ElasticSettings(enabled=True, provider="ec2", server_url=URL, interval=5,
                               idle_timeout=0, scale_down_cooldown=0, drain_grace=70)
    service = ElasticService(settings, ElasticPolicy(settings), provider_for(ec2, env),
                             env.grid, env.clock, server_id="restarted")
    result_of(service.tick())
    adopted = [e for e in service.journal.entries if e.get("event") == "adopted"]
    assert [e["node"] for e in adopted] == ["gh-default-1a2b3c4d", "gh-default-5e6f7a8b"]
    assert "ec2 node i-0a1b2c3d4e5f60001 carries our pool tag" in adopted[0]["reason"]
    # The first node's agent polls the restarted server; no work: it is fenced, then terminated.
    result_of(env.grid.pop("gh-default-1a2b3c4d", "elastic-default"))
    env.clock.advance(5)
    result_of(service.tick())
    assert service.nodes["gh-default-1a2b3c4d"].phase == "draining"
    EC2Recorded.requests.clear()
    env.clock.advance(70)
    result_of(service.tick())
    actions = [r["Action"] for r in EC2Recorded.requests]
    assert "TerminateInstances" in actions
    terminate = [r for r in EC2Recorded.requests if r["Action"] == "TerminateInstances"][0]
    assert terminate["InstanceId.1"] == "i-0a1b2c3d4e5f60001"
    assert "gh-default-1a2b3c4d" not in service.nodes
