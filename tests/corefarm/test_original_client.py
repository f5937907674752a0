"""The original Corefarm client flow, end to end against a real server.

As the Blender 2.49 exporter's "render on Corefarm" button did: HMAC-signed
``new_job(application=yafaray)``, ``drop_file`` of a ``.tar.gz`` holding
``scene.xml`` and its texture, ``start_job(input="$scene.xml$ 0")`` (0 =
TGA). The corefarm app notices the started job and runs the render master;
one native agent renders the tiles; the image is downloaded. The signing
below is written from the wire protocol, not with naclgrid's client.
"""

import hashlib
import hmac
import io
import json
import re
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from http.cookiejar import CookieJar
from urllib.parse import urlencode

import pytest
from PIL import Image

from gridhost.testing import wait_for
from tests.corefarm.browser_support import PASSWORD, farm_server

pytestmark = pytest.mark.integration

SCENE = "/work/shared/yafaray-scenes/00_HANDMADE_minimal_249_style.xml"
WIDTH, HEIGHT = 80, 60


def exported_archive():
    """scene.xml with an image texture by bare file name, plus that texture."""
    xml = open(SCENE, encoding="utf-8").read()
    xml = xml.replace('<type sval="clouds"/>', '<filename sval="wood.png"/>\n\t<type sval="image"/>', 1)
    xml = xml.replace('<height ival="480"/>', f'<height ival="{HEIGHT}"/>')
    xml = xml.replace('<width ival="640"/>', f'<width ival="{WIDTH}"/>')
    xml = xml.replace('<AA_minsamples ival="4"/>', '<AA_minsamples ival="1"/>')
    texture = io.BytesIO()
    Image.new("RGB", (8, 8), (150, 90, 40)).save(texture, "PNG")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in (("scene.xml", xml.encode()), ("wood.png", texture.getvalue())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


class SignedClient:
    """The exporter's calls: parameters plus login, date and an HMAC-SHA256
    signature over METHOD + sorted k=v (a file counts as its sha256)."""

    def __init__(self, api, key):
        self.api, self.key = api, key
        self.login = key[4:].split("_", 1)[0]

    def call(self, method, query=None, form=None, file=None):
        query, form = dict(query or {}), dict(form or {})
        form.update(login=self.login, date=str(int(time.time())))
        signed = {**query, **form}
        if file is not None:
            signed["file"] = hashlib.sha256(file[1]).hexdigest()
        message = method + "".join(f"{k}={v}" for k, v in sorted(signed.items()))
        form["signature"] = hmac.new(self.key.encode(), message.encode(), hashlib.sha256).hexdigest()
        url = self.api + method + ("?" + urlencode(query) if query else "")
        if file is None:
            body, kind = urlencode(form).encode(), "application/x-www-form-urlencoded"
        else:
            boundary = uuid.uuid4().hex
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                     for k, v in form.items()]
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                         f'filename="{file[0]}"\r\nContent-Type: application/gzip\r\n\r\n'.encode()
                         + file[1] + b"\r\n")
            body, kind = b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
        request = urllib.request.Request(url, data=body, headers={"Content-Type": kind})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def site_session(base):
    """A member of the site, as a browser would be (cookies, CSRF tokens)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def page(path, form=None):
        data = urlencode(form).encode() if form is not None else None
        with opener.open(base + path, data=data, timeout=30) as response:
            return response.read().decode()

    def csrf(html):
        return re.search(r'<form[^>]*class="card"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"',
                         html).group(1)

    token = csrf(page("/join"))
    page("/join", {"csrf": token, "name": "blender", "email": "", "password": PASSWORD,
                   "password2": PASSWORD})
    keys = {}
    for role in ("submitter", "agent"):
        html = page("/download/keys", {"csrf": csrf(page("/download")), "role": role})
        keys[role] = re.search(r'data-field="new-key">(ngk_[0-9a-f_]+)<', html).group(1)
    return keys


def stop(process):
    process.terminate()
    try:
        process.wait(30)            # it delivers the tiles in hand first
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def test_the_blender_exporter_flow_renders_and_the_image_downloads(tmp_path):
    with farm_server(tmp_path / "farm") as server:
        keys = site_session(server.url)
        client = SignedClient(server.url + "/naclgrid/", keys["submitter"])
        answer = client.call("new_job", form={"application": "yafaray", "isconfidential": "true"})
        job_id = answer["id"]
        archive = exported_archive()
        dropped = client.call("drop_file", query={"job_id": job_id}, file=("scene.tar.gz", archive))
        assert dropped["sha256"] == hashlib.sha256(archive).hexdigest()
        started = client.call("start_job", query={"job_id": job_id},
                              form={"input": "$scene.xml$ 0", "ghz": "50"})
        assert started["msg"] == "success"
        with pytest.raises(urllib.error.HTTPError) as replay:    # a signature works once
            client.call("start_job", query={"job_id": job_id}, form={"input": "$scene.xml$ 0"})
        assert replay.value.code in (401, 409)

        agent = subprocess.Popen(
            [sys.executable, "-m", "gridhost.core.cli", "agent", "--url", server.url + "/naclgrid/",
             "--key", keys["agent"], "--slots", "1", "--status", "off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        auth = {"Authorization": f"Bearer {keys['submitter']}"}
        try:
            def finished():
                status, progress = server.get_json(f"/jobs/{job_id}/progress", headers=auth)
                assert status == 200, progress
                assert progress["state"] not in ("failed", "cancelled"), progress
                return progress if progress["state"] == "done" else None

            progress = wait_for(finished, 120, "the render to finish")
        finally:
            stop(agent)
        assert progress["tiles_done"] == progress["tiles_total"] > 0
        status, body, headers = server.get(f"/jobs/{job_id}/output", headers=auth)
        assert status == 200
        image = Image.open(io.BytesIO(body))
        assert image.format == "TGA" and image.size == (WIDTH, HEIGHT)
        # The job was charged to the key's user; the agent's tiles were credited to its owner.
        status, account = server.get_json("/api/figures")
        assert account["cpu_seconds"] > 0
