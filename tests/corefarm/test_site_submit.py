"""Submit, My jobs and the job page: bad uploads get a message beside the
field and never a 500; another user's job is a 404 everywhere."""

import io
import tarfile
import zipfile

import pytest

from naclgrid.model import INSUFFICIENT_CREDIT

from tests.corefarm.site_support import Farm, result_of

SCENES = "/work/shared/yafaray-scenes"
MINIMAL = open(f"{SCENES}/00_HANDMADE_minimal_249_style.xml", "rb").read()
V4 = open(f"{SCENES}/07_libyafaray-xml-v4_2023_test01.xml", "rb").read()
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<scene>&lol3;</scene>"""


def tar_gz(members, links=()):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return out.getvalue()


def zip_of(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def farm(tmp_path):
    return Farm(tmp_path, max_upload_bytes=200_000)


@pytest.fixture
def alice(farm):
    browser = farm.browser()
    browser.join("alice")
    return browser


def submit(browser, filename, data, **fields):
    token = browser.get("/submit").csrf()
    form = {"csrf": token, "format": "png", **fields}
    return browser.request("POST", "/submit", data=form,
                           files={"scene": (filename, io.BytesIO(data), "application/octet-stream")})


def test_submit_needs_an_account(farm):
    reply = farm.browser().get("/submit")
    assert reply.code == 303 and reply.header("location") == "/login?next=submit"


def test_a_scene_is_submitted_and_its_page_follows_it(farm, alice):
    reply = submit(alice, "My Scene.xml", MINIMAL, width="64", height="48", samples="2", format="tga")
    assert reply.code == 303, reply
    job_id = reply.header("location").rsplit("/", 1)[1]
    (submitted_id, owner, files, options), = farm.master.submitted
    assert (submitted_id, owner) == (job_id, "alice")
    assert files == {"My_Scene.xml": MINIMAL}
    assert options == {"width": 64, "height": 48, "samples": 2, "format": "tga", "scene": "My_Scene.xml"}

    page = alice.get(f"/jobs/{job_id}")
    assert page.code == 200 and f'data-progress="jobs/{job_id}/progress"' in page.text
    progress = alice.get(f"/jobs/{job_id}/progress").json()
    assert (progress["tiles_done"], progress["tiles_total"], progress["state"]) == (0, 4, "rendering")
    assert progress["reason"] == "no_agent" and "Participate" in progress["reason_text"]
    assert alice.get(f"/jobs/{job_id}/output").code == 409

    farm.finish_tiles(job_id, user="bob", seconds=1.5, count=2)
    progress = alice.get(f"/jobs/{job_id}/progress").json()
    assert progress["tiles_done"] == 2 and progress["progress"] == 0.5 and progress["cpu_seconds"] == 3.0
    preview = alice.get(f"/jobs/{job_id}/preview.png")
    assert preview.code == 200 and preview.body.startswith(b"\x89PNG")

    farm.finish_tiles(job_id, user="bob", seconds=1.0)
    progress = alice.get(f"/jobs/{job_id}/progress").json()
    assert progress["state"] == "done" and progress["output"] == "render.png" and progress["finished"]
    image = alice.get(f"/jobs/{job_id}/output")
    assert image.code == 200 and image.header("content-type") == "image/png"
    assert image.header("content-disposition") == 'attachment; filename="render.png"'
    listing = alice.get("/jobs")
    assert job_id[:12] in listing.text and "Download" in listing.text


def test_archives_are_accepted_with_the_scene_inside(farm, alice):
    archive = tar_gz({"scene.xml": MINIMAL, "textures/wood.png": b"\x89PNG..."})
    reply = submit(alice, "export.tar.gz", archive)
    assert reply.code == 303, reply.field_error("scene")
    assert farm.master.submitted[-1][2] == {"export.tar.gz": archive}
    assert farm.master.submitted[-1][3]["scene"] == "scene.xml"
    reply = submit(alice, "export.zip", zip_of({"a/one.xml": MINIMAL, "a/two.xml": MINIMAL}),
                   scene_name="a/two.xml")
    assert reply.code == 303 and farm.master.submitted[-1][3]["scene"] == "a/two.xml"


@pytest.mark.parametrize("filename,data,field,message", [
    ("scene.xml", b"", "scene", "The file is empty."),
    ("scene.xml", b"<scene><mesh></scene>", "scene", "is not well-formed XML (line 1"),
    ("scene.xml", BOMB, "scene", "XML bomb"),
    ("scene.xml", b"<html><body/></html>", "scene", "its root element is <html>"),
    ("scene.xml", V4, "scene", "YafaRay v4 container"),
    ("holiday.jpg", b"\xff\xd8\xff\xe0JFIF", "scene", "This is not a scene"),
    ("evil.tar.gz", tar_gz({"../../etc/cron.d/x": b"boom", "scene.xml": MINIMAL}), "scene",
     "leaving its folder"),
    ("evil.tar.gz", tar_gz({"/etc/passwd": b"boom"}), "scene", "absolute path"),
    ("evil.tar.gz", tar_gz({"scene.xml": MINIMAL}, links=[("tex.png", "/etc/shadow")]), "scene",
     "links are refused"),
    ("evil.zip", zip_of({"../x.xml": MINIMAL}), "scene", "leaving its folder"),
    ("bomb.zip", zip_of({"scene.xml": MINIMAL, "zeros.bin": bytes(50_000_000)}), "scene",
     "decompression bomb"),
    ("notes.tar.gz", tar_gz({"readme.txt": b"hi"}), "scene", "holds no .xml scene"),
    ("two.tar.gz", tar_gz({"a.xml": MINIMAL, "b.xml": MINIMAL}), "scene_name", "several .xml files"),
    ("junk.tar.gz", b"\x1f\x8b" + b"garbage" * 10, "scene", "damaged"),
])
def test_bad_uploads_get_a_message_beside_the_field(farm, alice, tmp_path, filename, data, field, message):
    before = sorted(p for p in tmp_path.rglob("*"))
    reply = submit(alice, filename, data)
    assert reply.code == 400, reply
    assert message in (reply.field_error(field) or ""), reply.field_error(field)
    assert farm.master.submitted == []
    assert sorted(p for p in tmp_path.rglob("*")) == before          # nothing written


def test_bad_options_are_shown_beside_their_fields(farm, alice):
    reply = submit(alice, "scene.xml", MINIMAL, width="0", height="abc", samples="99999", format="gif")
    assert reply.code == 400
    assert "Width must be a whole number from 1 to 4096" in reply.field_error("width")
    assert "Height must be" in reply.field_error("height")
    assert "Samples must be" in reply.field_error("samples")
    assert reply.field_error("format") == "Choose PNG, TGA or EXR."
    reply = submit(alice, "scene.xml", MINIMAL, width="640")
    assert reply.field_error("height") == "Give both width and height, or neither."


def test_an_oversized_upload_gets_the_limit_on_the_page(farm, alice):
    reply = submit(alice, "big.xml", b"<scene>" + b" " * 300_000 + b"</scene>")
    assert reply.code == 413
    assert "larger than the limit of" in reply.field_error("scene")
    assert farm.master.submitted == []


def test_a_forged_csrf_token_on_submit_is_refused(farm, alice):
    reply = alice.request("POST", "/submit", data={"csrf": "forged", "format": "png"},
                          files={"scene": ("scene.xml", io.BytesIO(MINIMAL), "text/xml")})
    assert reply.code == 403 and "Form expired" in reply.text
    assert farm.master.submitted == []


def test_another_users_job_is_a_404_everywhere(farm, alice):
    job_id = submit(alice, "scene.xml", MINIMAL).header("location").rsplit("/", 1)[1]
    mallory = farm.browser()
    mallory.join("mallory")
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/progress", f"/jobs/{job_id}/preview.png",
                 f"/jobs/{job_id}/output", "/jobs/no-such-job", "/jobs/..%2f..%2fetc"):
        assert mallory.get(path).code == 404, path
    token = mallory.get("/jobs").csrf()
    assert mallory.post(f"/jobs/{job_id}/cancel", {"csrf": token}).code == 404
    assert result_of(farm.grid.get_job(job_id)).state == "running"
    assert job_id[:12] not in mallory.get("/jobs").text


def test_cancel_stops_the_job(farm, alice):
    job_id = submit(alice, "scene.xml", MINIMAL).header("location").rsplit("/", 1)[1]
    token = alice.get(f"/jobs/{job_id}").csrf()
    assert alice.post(f"/jobs/{job_id}/cancel", {"csrf": "forged"}).code == 403
    reply = alice.post(f"/jobs/{job_id}/cancel", {"csrf": token})
    assert reply.code == 303
    assert result_of(farm.grid.get_job(job_id)).state == "cancelled"
    assert alice.get(f"/jobs/{job_id}/progress").json()["finished"] is True


def test_a_job_beyond_the_balance_waits_with_the_reason_shown(tmp_path):
    farm = Farm(tmp_path, starting_grant=5.0)         # 4 tiles x 2 s estimate > 5 s
    alice = farm.browser()
    alice.join("alice")
    job_id = submit(alice, "scene.xml", MINIMAL).header("location").rsplit("/", 1)[1]
    result_of(farm.parts["gate"].reconcile())
    progress = alice.get(f"/jobs/{job_id}/progress").json()
    assert progress["reason"] == INSUFFICIENT_CREDIT
    assert "Waiting for credit" in progress["reason_text"]
    assert "insufficient_credit" in alice.get("/jobs").text


def test_scripts_read_progress_and_the_image_with_an_api_key(farm, alice):
    job_id = submit(alice, "scene.xml", MINIMAL).header("location").rsplit("/", 1)[1]
    farm.finish_tiles(job_id)
    key, _ = result_of(farm.parts["keys"].create("submitter", "alice"))
    other, _ = result_of(farm.parts["keys"].create("submitter", "mallory"))
    script = farm.browser()
    auth = {"Authorization": f"Bearer {key}"}
    assert script.get(f"/jobs/{job_id}/progress", headers=auth).json()["state"] == "done"
    image = script.get(f"/jobs/{job_id}/output", headers=auth)
    assert image.code == 200 and image.body.startswith(b"\x89PNG")
    assert script.get(f"/jobs/{job_id}/output", headers={"Authorization": f"Bearer {other}"}).code == 404
    assert script.get(f"/jobs/{job_id}/output", headers={"Authorization": "Bearer junk"}).code == 404
    assert script.get(f"/jobs/{job_id}/progress").code == 401


def test_the_preview_of_a_render_whose_tiles_were_dropped_says_so(farm, alice, monkeypatch):
    from naclgrid.errors import ResultsExpired
    from twisted.internet.defer import fail

    job_id = submit(alice, "old.xml", MINIMAL).header("location").rsplit("/", 1)[1]
    monkeypatch.setattr(farm.master, "preview_png",
                        lambda job_id, owner: fail(ResultsExpired("dropped")))
    preview = alice.get(f"/jobs/{job_id}/preview.png")
    assert preview.code == 410 and preview.json()["error"] == "results_expired"
