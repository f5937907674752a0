"""The corefarm app around naclgrid: jobs started through the REST API reach
the render master once; config checks; the app's periodic services."""

from corefarm.plugin import CorefarmApp
from corefarm.site.settings import check_section
from corefarm.site.watcher import StartedJobWatcher
from tests.corefarm.site_support import Farm, FakeMaster, result_of


def api_job(grid, owner="blender-user", start=True):
    job = result_of(grid.new_job(owner, "yafaray"))
    result_of(grid.drop_file(job.job_id, "scene.tar.gz", b"archive"))
    if start:
        result_of(grid.start_job(job.job_id, b"$scene.xml$ 0"))
    return job.job_id


def test_an_api_started_render_job_is_handed_to_the_master_once(tmp_path):
    farm = Farm(tmp_path)
    watcher = farm.parts["watcher"]
    waiting = api_job(farm.grid, start=False)
    job_id = api_job(farm.grid)
    echo = result_of(farm.grid.new_job("x", "echo"))
    result_of(farm.grid.start_job(echo.job_id, b""))
    # The store's "started" event hands the job over at once.
    assert farm.master.ran == [job_id]
    assert result_of(watcher.look()) == []
    # A second server sharing the store does not run it again.
    other = StartedJobWatcher(farm.grid, FakeMaster(farm.grid), farm.parts["kv"])
    assert result_of(other.look()) == []
    result_of(farm.grid.start_job(waiting, b"$scene.xml$ 1"))
    assert farm.master.ran == [job_id, waiting]


def test_the_periodic_look_catches_a_start_whose_event_was_missed(tmp_path):
    farm = Farm(tmp_path)
    farm.master.tiles = 0          # the listening server's master forks nothing yet
    job_id = api_job(farm.grid)
    # A watcher that was not listening (its own claims, so nothing is claimed yet).
    late_master = FakeMaster(farm.grid)
    late = StartedJobWatcher(farm.grid, late_master, farm.parts["kv"].child("late:"))
    assert result_of(late.look()) == [job_id]
    assert late_master.ran == [job_id]


def test_jobs_the_site_submitted_are_left_to_their_master(tmp_path):
    farm = Farm(tmp_path)
    master = farm.master
    master.tiles = 0               # its master is still loading the scene: nothing forked yet
    job_id = result_of(master.submit("alice", {"scene.xml": b"<scene/>"}, {"scene": "scene.xml"}))
    assert result_of(farm.parts["watcher"].look()) == []
    assert master.ran == [job_id]


def test_the_periodic_services_reconcile_credit_and_watch(tmp_path):
    farm = Farm(tmp_path, starting_grant=1.0, credit_interval=2.0, watch_interval=1.0)
    farm.service.startService()
    try:
        job_id = api_job(farm.grid)
        farm.clock.advance(1.0)
        assert farm.master.ran == [job_id]
        farm.clock.advance(2.0)                     # 4 tiles x 2 s > 1 s of credit
        assert result_of(farm.grid.job_status(job_id))["waiting_reason"] == "insufficient_credit"
    finally:
        farm.service.stopService()


def test_config_checks_name_the_key_and_problem():
    assert check_section({}) == []
    assert check_section({"starting_grant": 10, "max_upload_bytes": 2048, "naclgrid_path": "/g",
                          "public_url": "https://farm.example"}) == []
    errors = check_section({"starting_grant": "lots", "max_upload_bytes": 1, "colour": "red",
                            "naclgrid_path": "grid", "public_url": "ftp://x", "tile_estimate": True,
                            "max_width": 1.5})
    assert errors == [
        "colour: unknown option (known: " + ", ".join(sorted(
            __import__("corefarm.site.settings", fromlist=["x"]).SiteSettings.__dataclass_fields__)) + ")",
        "max_upload_bytes: must be between 1024 and 1.71799e+10",
        "max_width: expected an integer",
        "naclgrid_path: expected a path starting with '/'",
        "public_url: expected an http(s) URL",
        "starting_grant: expected a number",
        "tile_estimate: expected a number",
    ]
    assert CorefarmApp().check_config({"nope": 1})[0].startswith("nope: unknown option")


def test_throughput_is_a_rate_over_the_last_minute(tmp_path):
    farm = Farm(tmp_path)
    figures = farm.parts["services"].figures
    job_id = result_of(farm.master.submit("alice", {"s.xml": b"<scene/>"}, {"scene": "s.xml"}))
    assert result_of(figures.current())["throughput"] == 0.0
    farm.finish_tiles(job_id, seconds=30.0)           # 4 tiles in 30 s
    assert result_of(figures.current())["throughput"] == 8.0


def test_the_parts_provide_the_interfaces_the_site_codes_against():
    from zope.interface.verify import verifyClass

    from corefarm.accounts.interfaces import IAccounts, ISessionStore
    from corefarm.accounts import Accounts, SessionStore
    from corefarm.credit import CreditGate, Ledger
    from corefarm.credit.interfaces import ICreditGate, ILedger
    from corefarm.render.master import RenderMaster
    from corefarm.site.interfaces import IRenderMaster
    from corefarm.site.nomaster import MissingMaster

    for interface, cls in ((IAccounts, Accounts), (ISessionStore, SessionStore), (ILedger, Ledger),
                           (ICreditGate, CreditGate), (IRenderMaster, MissingMaster),
                           (IRenderMaster, RenderMaster), (IRenderMaster, FakeMaster)):
        assert verifyClass(interface, cls, tentative=True), (interface, cls)
