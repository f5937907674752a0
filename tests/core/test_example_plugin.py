"""The tutorial's guestbook app, unit-tested without a config file."""

import json
import sys

import pytest
from treq.testing import StubTreq
from twisted.python.filepath import FilePath

from gridhost.core.context import HostContext
from gridhost.core.stores import StoreConnection
from gridhost.testing import result_of


@pytest.fixture
def guestbook(request, clock, tmp_path):
    folder = str(request.config.rootpath / "examples" / "plugins")
    sys.path.insert(0, folder)
    try:
        from guestbook.app import GuestbookApp
    finally:
        sys.path.remove(folder)
    app = GuestbookApp()
    context = HostContext(reactor=clock, store=StoreConnection("memory", None, clock),
                          data_dir=FilePath(str(tmp_path)), log=None, metrics=None)
    return app, app.build({"title": "Visitors", "max_entries": 2}, context)


def test_check_config_reports_every_problem(guestbook):
    app, _ = guestbook
    assert app.check_config({"title": 3, "max_entries": 0, "colour": "red"}) == [
        "colour: unknown option (known: title, max_entries)",
        "title: expected str",
        "max_entries: must be between 1 and 10000",
    ]


def test_sign_and_read_back(guestbook):
    _, instance = guestbook
    http = StubTreq(instance.resource())
    for name in ("ada", "bob", "cy"):
        response = result_of(http.post("http://x/sign", data={"name": name, "message": "hi <b>"}))
        assert response.code == 200
    page = result_of(result_of(http.get("http://x/")).text())
    assert "<h1>Visitors</h1>" in page
    assert "cy" in page and "bob" in page and "ada" not in page  # max_entries = 2
    assert "hi &lt;b&gt;" in page
    assert result_of(instance.health()) == {"ok": True, "entries": 2}


def test_bad_input_is_a_400_naming_the_field(guestbook):
    _, instance = guestbook
    response = result_of(StubTreq(instance.resource()).post("http://x/sign", data={"name": "", "message": "x" * 600}))
    assert response.code == 400
    assert json.loads(result_of(response.content())) == {
        "error": "bad_request",
        "message": {"name": "between 1 and 80 characters", "message": "between 1 and 500 characters"}}
