"""``[app.naclgrid.elastic.cloud]``: which machines to rent, and the
credentials to rent them with.

Secrets never sit in the config file: ``secret_env`` names an environment
variable (a systemd ``EnvironmentFile`` or credential), ``secret_file`` a
file readable by the server only. Common options::

    image = "ami-0abcdef1234567890"   # EC2 AMI, GCE image, Azure "publisher:offer:sku:version",
                                      # OpenStack image id
    size = "c6i.xlarge"               # instance type / machine type / VM size / flavor id
    region = "eu-west-1"              # EC2 region, GCE zone, Azure location, OpenStack region
    key = "AKIA..."                   # access key id / service account / client id / user
    key_env = "AWS_ACCESS_KEY_ID"     # ... or read it from the environment
    secret_env = "AWS_SECRET_ACCESS_KEY"
    secret_file = "/etc/gridhost/cloud.secret"
    install = "gridhost==0.1.0"       # what pip installs on the node (a wheel URL works too)
    pip_index_url = ""                # a private index, if any

Per provider: EC2 ``subnet_id``, ``security_group_ids``, ``key_name``,
``iam_profile``, ``spot``; GCE ``project``, ``network``; Azure
``tenant_id``, ``subscription_id``, ``resource_group``, ``network``,
``subnet``, ``ssh_public_key``; OpenStack ``auth_url``, ``project``,
``networks``, ``key_name``, ``security_groups``; dummy (tests) nothing.
"""

import os

COMMON = {"image": str, "size": str, "region": str, "key": str, "key_env": str,
          "secret_env": str, "secret_file": str, "install": str, "pip_index_url": str}
SPECIFIC = {
    "dummy": {},
    "ec2": {"subnet_id": str, "security_group_ids": list, "key_name": str, "iam_profile": str,
            "spot": bool},
    "gce": {"project": str, "network": str},
    "azure": {"tenant_id": str, "subscription_id": str, "resource_group": str, "network": str,
              "subnet": str, "ssh_public_key": str},
    "openstack": {"auth_url": str, "project": str, "networks": list, "key_name": str,
                  "security_groups": list},
}
REQUIRED = {
    "dummy": (),
    "ec2": ("image", "size", "region"),
    "gce": ("image", "size", "region", "project"),
    "azure": ("image", "size", "region", "tenant_id", "subscription_id", "resource_group",
              "network", "ssh_public_key"),
    "openstack": ("image", "size", "auth_url", "project"),
}
DEFAULT_KEY_ENV = {"ec2": "AWS_ACCESS_KEY_ID", "gce": "GCE_SERVICE_ACCOUNT",
                   "azure": "AZURE_CLIENT_ID", "openstack": "OS_USERNAME"}
DEFAULT_SECRET_ENV = {"ec2": "AWS_SECRET_ACCESS_KEY", "gce": "GCE_KEY_FILE",
                      "azure": "AZURE_CLIENT_SECRET", "openstack": "OS_PASSWORD"}
_TYPE_NAMES = {str: "a string", list: "a list of strings", bool: "true or false"}


def check_cloud_config(provider, table):
    """``"elastic.cloud.key: problem"`` strings; credentials are not looked
    up here (the environment of ``check-config`` is not the server's)."""
    known = dict(COMMON, **SPECIFIC[provider])
    errors = [f"elastic.cloud.{key}: unknown option for {provider} "
              f"(known: {', '.join(sorted(known))})" for key in sorted(table)
              if key not in known and key != "secret"]
    for key, kind in known.items():
        if key not in table:
            continue
        value = table[key]
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is list:
            ok = ok and all(isinstance(v, str) and v for v in value)
        if kind is str:
            ok = ok and bool(value)
        if not ok:
            errors.append(f"elastic.cloud.{key}: must be {_TYPE_NAMES[kind]}")
    for key in REQUIRED[provider]:
        if key not in table:
            errors.append(f"elastic.cloud.{key}: required for provider {provider}")
    if "secret" in table:
        errors.append("elastic.cloud.secret: never put a secret in the config; use "
                      "secret_env or secret_file")
    return errors


class CredentialError(Exception):
    pass


def credentials(provider, table, environ=None):
    """``(key, secret)`` from the table, the environment or the secret file."""
    environ = os.environ if environ is None else environ
    key = table.get("key") or environ.get(table.get("key_env") or DEFAULT_KEY_ENV.get(provider, ""))
    secret = None
    if table.get("secret_file"):
        try:
            with open(table["secret_file"], encoding="utf-8") as handle:
                secret = handle.read().strip()
        except OSError as exc:
            raise CredentialError(f"elastic.cloud.secret_file: cannot read "
                                  f"{table['secret_file']}: {exc.strerror}") from None
    else:
        name = table.get("secret_env") or DEFAULT_SECRET_ENV.get(provider, "")
        secret = environ.get(name)
        if not secret:
            raise CredentialError(f"elastic.cloud: the environment variable {name} holding "
                                  f"the {provider} secret is not set")
    if not key:
        raise CredentialError(f"elastic.cloud: no {provider} key id (set key or key_env)")
    return key, secret


def make_driver(provider, table, environ=None):
    """A libcloud NodeDriver for the provider, with credentials resolved."""
    from libcloud.compute.providers import Provider, get_driver

    if provider == "dummy":
        return get_driver(Provider.DUMMY)(0)
    key, secret = credentials(provider, table, environ)
    if provider == "ec2":
        return get_driver(Provider.EC2)(key, secret, region=table["region"])
    if provider == "gce":
        # secret is the path of the service account's JSON key file.
        return get_driver(Provider.GCE)(key, secret, project=table["project"],
                                        datacenter=table["region"])
    if provider == "azure":
        return get_driver(Provider.AZURE_ARM)(table["tenant_id"], table["subscription_id"],
                                              key=key, secret=secret, region=table["region"])
    if provider == "openstack":
        return get_driver(Provider.OPENSTACK)(
            key, secret, ex_force_auth_url=table["auth_url"],
            ex_force_auth_version="3.x_password", ex_tenant_name=table["project"],
            ex_force_service_region=table.get("region"))
    raise ValueError(f"unknown provider {provider!r}")
