"""The cloud-init user-data a new node boots with.

It installs gridhost in a venv and runs ``gridhost agent`` as a systemd
service under a dynamic user. The agent's config, which holds the node's
own agent key, is written root-only and handed to the service with
``LoadCredential=``, so the agent process reads it without the file ever
being readable by an unprivileged user. The key can still be read from the
instance metadata service by anything on the node: that is why every node
gets its own key, revoked when the node goes.

The document is emitted as JSON, which is valid YAML: no YAML writer is
needed and no string can break the quoting.
"""

import json

MAX_USER_DATA = 16 * 1024          # EC2's limit, the smallest of the four clouds
AGENT_CONFIG = "/etc/gridhost/agent.toml"
VENV = "/opt/gridhost"
UNIT = "gridhost-agent.service"


def _toml_string(text):
    # TOML basic strings share JSON's escapes for everything we emit.
    return json.dumps(text)


def agent_config(url, key, node, slots):
    return "\n".join([
        "[agent]",
        f"url = {_toml_string(url)}",
        f"key = {_toml_string(key)}",
        f"node = {_toml_string(node)}",
        f"slots = {int(slots)}",
        'status = "off"',
        'cache_dir = "/var/cache/gridhost"',
        "",
    ])


def systemd_unit():
    return "\n".join([
        "[Unit]",
        "Description=gridhost agent (naclgrid tasks in a WebAssembly sandbox)",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        f"LoadCredential=agent.toml:{AGENT_CONFIG}",
        f"ExecStart={VENV}/bin/gridhost agent --config ${{CREDENTIALS_DIRECTORY}}/agent.toml",
        "DynamicUser=yes",
        "CacheDirectory=gridhost",
        "Restart=always",
        "RestartSec=5",
        # SIGTERM drains (finishes or releases held tasks); give it time.
        "TimeoutStopSec=120",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])


def render_user_data(url, key, node, slots, install="gridhost", pip_index_url=""):
    """The ``#cloud-config`` document (str) for one node."""
    pip = [f"{VENV}/bin/pip", "install", "--no-cache-dir"]
    if pip_index_url:
        pip += ["--index-url", pip_index_url]
    document = {
        "package_update": True,
        "packages": ["python3-venv"],
        "write_files": [
            {"path": AGENT_CONFIG, "permissions": "0600", "owner": "root:root",
             "content": agent_config(url, key, node, slots)},
            {"path": f"/etc/systemd/system/{UNIT}", "permissions": "0644",
             "content": systemd_unit()},
        ],
        "runcmd": [
            ["python3", "-m", "venv", VENV],
            pip + [install],
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", UNIT],
        ],
    }
    text = "#cloud-config\n" + json.dumps(document, indent=1) + "\n"
    if len(text.encode()) > MAX_USER_DATA:
        raise ValueError(f"user-data is {len(text)} bytes, more than {MAX_USER_DATA}")
    return text


def parse_user_data(text):
    """The document back (tests, and operators debugging a node)."""
    header, _, body = text.partition("\n")
    if header != "#cloud-config":
        raise ValueError("not a #cloud-config document")
    return json.loads(body)
