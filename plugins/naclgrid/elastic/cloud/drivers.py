"""What differs between clouds behind libcloud's one NodeDriver interface:
where user-data and tags go in ``create_node``, where tags come back in
``list_nodes``, and how to list only our nodes.

Tags (labels on GCE, metadata on OpenStack) mark a node as ours::

    gridhost-pool   = <pool>        the pool it belongs to
    gridhost-node   = <node id>     the id its agent registers with
    gridhost-key-id = <key id>      its agent key's public id, to revoke it

so a restarted server finds its nodes and can still revoke their keys.
"""

from libcloud.compute.base import NodeImage, NodeLocation, NodeSize

TAG_POOL = "gridhost-pool"
TAG_NODE = "gridhost-node"
TAG_KEY = "gridhost-key-id"


def _size(driver, size_id, price=None):
    # Drivers send only size.id; building it avoids a list_sizes round trip.
    return NodeSize(id=size_id, name=size_id, ram=None, disk=None, bandwidth=None, price=price,
                    driver=driver)


class Adapter:
    """The default (and EC2/OpenStack-like) behaviour."""

    kind = "cloud"
    tags_field = "tags"

    def __init__(self, options):
        self.options = options

    def create_kwargs(self, driver, name, user_data, tags):
        raise NotImplementedError

    def tags_of(self, node):
        return dict(node.extra.get(self.tags_field) or {})

    def list_ours(self, driver, pool):
        return [n for n in driver.list_nodes() if self.tags_of(n).get(TAG_POOL) == pool]

    def create(self, driver, name, user_data, tags):
        return driver.create_node(**self.create_kwargs(driver, name, user_data, tags))


class DummyAdapter(Adapter):
    """libcloud's DummyNodeDriver keeps nodes in memory and ignores names,
    user-data and tags; the adapter stores them on the node's ``extra``, as
    a real cloud would keep them, so adoption works the same way."""

    kind = "dummy"

    def create_kwargs(self, driver, name, user_data, tags):
        return {"name": name, "size": _size(driver, self.options.get("size", "s1")),
                "image": NodeImage(id=self.options.get("image", "i1"), name=None, driver=driver)}

    def create(self, driver, name, user_data, tags):
        node = super().create(driver, name, user_data, tags)
        node.extra.update(tags=dict(tags), user_data=user_data)
        return node


class Ec2Adapter(Adapter):
    kind = "ec2"

    def create_kwargs(self, driver, name, user_data, tags):
        o = self.options
        kwargs = {"name": name, "size": _size(driver, o["size"]),
                  "image": NodeImage(id=o["image"], name=None, driver=driver),
                  "ex_userdata": user_data, "ex_metadata": dict(tags),
                  # A node that shuts itself down is gone, not parked and billed for disks.
                  "ex_terminate_on_shutdown": True}
        if o.get("key_name"):
            kwargs["ex_keyname"] = o["key_name"]
        if o.get("iam_profile"):
            kwargs["ex_iamprofile"] = o["iam_profile"]
        if o.get("subnet_id"):
            from libcloud.compute.drivers.ec2 import EC2NetworkSubnet
            kwargs["ex_subnet"] = EC2NetworkSubnet(o["subnet_id"], o["subnet_id"], "available")
        if o.get("security_group_ids"):
            kwargs["ex_security_group_ids"] = list(o["security_group_ids"])
        if o.get("spot"):
            kwargs["ex_spot"] = True
        return kwargs

    def list_ours(self, driver, pool):
        # Filter at the API: an account may run thousands of other instances.
        return driver.list_nodes(ex_filters={
            f"tag:{TAG_POOL}": pool,
            "instance-state-name": ["pending", "running", "stopping", "stopped"]})


class GceAdapter(Adapter):
    kind = "gce"
    tags_field = "labels"

    def create_kwargs(self, driver, name, user_data, tags):
        o = self.options
        kwargs = {"name": name, "size": o["size"], "image": o["image"],
                  "location": o["region"], "ex_labels": dict(tags),
                  # cloud-init reads GCE's "user-data" metadata key.
                  "ex_metadata": {"user-data": user_data}}
        if o.get("network"):
            kwargs["ex_network"] = o["network"]
        return kwargs


class AzureAdapter(Adapter):
    kind = "azure"

    def create_kwargs(self, driver, name, user_data, tags):
        from libcloud.compute.base import NodeAuthSSHKey
        from libcloud.compute.drivers.azure_arm import AzureImage

        o = self.options
        parts = o["image"].split(":")
        if len(parts) != 4:
            raise ValueError("elastic.cloud.image: Azure images are publisher:offer:sku:version")
        publisher, offer, sku, version = parts
        location = NodeLocation(id=o["region"], name=o["region"], country=None, driver=driver)
        kwargs = {"name": name, "size": _size(driver, o["size"]),
                  "image": AzureImage(version, sku, offer, publisher, o["region"], driver),
                  "auth": NodeAuthSSHKey(o["ssh_public_key"]),
                  "ex_resource_group": o["resource_group"], "location": location,
                  "ex_network": o["network"], "ex_tags": dict(tags),
                  "ex_customdata": user_data, "ex_use_managed_disks": True,
                  "ex_os_disk_delete": True}
        if o.get("subnet"):
            kwargs["ex_subnet"] = o["subnet"]
        return kwargs

    def list_ours(self, driver, pool):
        nodes = driver.list_nodes(ex_resource_group=self.options["resource_group"])
        return [n for n in nodes if self.tags_of(n).get(TAG_POOL) == pool]


class OpenStackAdapter(Adapter):
    kind = "openstack"
    tags_field = "metadata"

    def create_kwargs(self, driver, name, user_data, tags):
        from libcloud.compute.drivers.openstack import OpenStackNetwork

        o = self.options
        kwargs = {"name": name, "size": _size(driver, o["size"]),
                  "image": NodeImage(id=o["image"], name=None, driver=driver),
                  "ex_userdata": user_data, "ex_metadata": dict(tags)}
        if o.get("networks"):
            kwargs["networks"] = [OpenStackNetwork(n, None, None, driver) for n in o["networks"]]
        if o.get("key_name"):
            kwargs["ex_keyname"] = o["key_name"]
        if o.get("security_groups"):
            from libcloud.compute.drivers.openstack import OpenStackSecurityGroup
            kwargs["ex_security_groups"] = [
                OpenStackSecurityGroup(None, None, g, "", driver=driver)
                for g in o["security_groups"]]
        return kwargs


ADAPTERS = {"dummy": DummyAdapter, "ec2": Ec2Adapter, "gce": GceAdapter,
            "azure": AzureAdapter, "openstack": OpenStackAdapter}


def adapter_for(provider, options):
    return ADAPTERS[provider](options)
