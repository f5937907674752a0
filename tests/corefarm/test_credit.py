"""The CPU-seconds ledger, tile metering through the Grid the REST API uses,
and holding jobs whose owner cannot pay (real Grid, memory store, Clock)."""

import pytest
from twisted.internet.task import Clock
from twisted.logger import Logger

from naclgrid.grid import Grid
from naclgrid.model import INSUFFICIENT_CREDIT
from naclgrid.stores.memory import MemoryGridStore

from corefarm.accounts import Keyspace
from corefarm.credit import CreditGate, Ledger, MeteredGrid, TileMeter
from tests.corefarm.site_support import T0, result_of


class World:
    def __init__(self, grant=100.0, tile_estimate=2.0):
        self.clock = Clock()
        self.clock.advance(T0)
        self.grid = Grid(MemoryGridStore(), self.clock)
        kv = Keyspace(self.grid.store, self.clock)
        self.ledger = Ledger(kv.child("c:"), starting_grant=grant)
        self.meter = TileMeter(kv.child("m:"), self.ledger, self.grid, log=Logger())
        self.metered = MeteredGrid(self.grid, self.meter)
        self.gate = CreditGate(self.grid, self.ledger, tile_estimate=tile_estimate)

    def job(self, owner, tiles, application="yafaray"):
        job = result_of(self.grid.new_job(owner, application))
        result_of(self.grid.start_job(job.job_id, b"$scene.xml$ 0"))
        result_of(self.grid.fork_many(job.job_id, [("render_tile", b"%d" % i) for i in range(tiles)]))
        return job.job_id

    def render(self, job_id, user, node, seconds, count=1):
        tasks = result_of(self.metered.pop(node, user, max=count, job_id=job_id))
        self.clock.advance(seconds)
        for t in tasks:
            result_of(self.metered.ack(t.job_id, t.slot, t.lease_id, result=b"pixels"))
        return tasks


@pytest.fixture
def world():
    return World()


def test_new_participants_get_the_grant_once(world):
    assert result_of(world.ledger.balance("alice")) == 100.0
    assert result_of(world.ledger.ensure("alice")) is False
    assert result_of(world.ledger.balance("alice")) == 100.0


def test_a_delivered_tile_moves_its_lease_time_from_owner_to_contributor(world):
    job = world.job("alice", tiles=3)
    world.render(job, "bob", "bobs-agent", seconds=2.5)
    alice, bob = result_of(world.ledger.account("alice")), result_of(world.ledger.account("bob"))
    assert alice["consumed"] == 2.5 and alice["balance"] == 97.5
    assert bob["donated"] == 2.5 and bob["balance"] == 102.5
    assert result_of(world.ledger.total_exchanged()) == 2.5
    assert result_of(world.ledger.job_cost(job)) == (2.5, 1)


def test_a_tile_is_booked_once_even_if_acked_twice(world):
    job = world.job("alice", tiles=1)
    task = result_of(world.metered.pop("n1", "bob", job_id=job))[0]
    world.clock.advance(1)
    result_of(world.metered.ack(job, task.slot, task.lease_id, result=b"x"))
    result_of(world.metered.ack(job, task.slot, task.lease_id, result=b"x"))   # a retried ack
    assert result_of(world.ledger.account("bob"))["donated"] == 1.0


def test_errors_and_stale_leases_earn_nothing(world):
    job = world.job("alice", tiles=1)
    task = result_of(world.metered.pop("n1", "bob", job_id=job))[0]
    world.clock.advance(1)
    result_of(world.metered.ack(job, task.slot, task.lease_id, error="trap"))
    assert result_of(world.ledger.account("bob"))["donated"] == 0


def test_other_applications_are_not_metered(world):
    job = world.job("alice", tiles=1, application="echo")
    world.render(job, "bob", "n1", seconds=3)
    assert result_of(world.ledger.account("bob"))["donated"] == 0


def test_credit_is_capped_by_the_lease_length(world):
    job = world.job("alice", tiles=1)
    task = result_of(world.metered.pop("n1", "bob", job_id=job))[0]
    world.clock.advance(59)      # leases last 60 s by default
    result_of(world.grid.heartbeat([task.lease]))
    world.clock.advance(30)      # a heartbeat kept it alive, but one tile is worth a lease at most
    result_of(world.metered.ack(job, task.slot, task.lease_id, result=b"x"))
    assert result_of(world.ledger.account("bob"))["donated"] == 60.0


def test_a_job_its_owner_cannot_pay_for_waits_with_the_reason(world):
    job = world.job("alice", tiles=80)          # 80 tiles x 2 s estimate > 100 s grant
    assert result_of(world.gate.reconcile()) == 1
    status = result_of(world.grid.job_status(job))
    assert status["waiting_reason"] == INSUFFICIENT_CREDIT
    assert result_of(world.grid.pop("n1", "bob", job_id=job)) == []   # nothing is served
    # Alice lends her machine to Carol's job and earns enough.
    carol = world.job("carol", tiles=10)
    world.render(carol, "alice", "alices-agent", seconds=7, count=10)
    assert result_of(world.gate.reconcile()) == 0
    assert result_of(world.grid.job_status(job))["waiting_reason"] != INSUFFICIENT_CREDIT
    assert len(result_of(world.grid.pop("n1", "bob", job_id=job))) == 1


def test_the_estimate_follows_the_jobs_own_tiles(world):
    job = world.job("alice", tiles=40)          # 40 x 2 s = 80 s: affordable at first
    assert result_of(world.gate.reconcile()) == 0
    world.render(job, "bob", "n1", seconds=10)   # tiles really cost 10 s: 39 x 10 > 90
    assert result_of(world.gate.reconcile()) == 1


def test_holds_set_by_others_are_left_alone(world):
    job = world.job("alice", tiles=1)
    result_of(world.grid.hold_job(job, "maintenance"))
    result_of(world.gate.reconcile())
    assert result_of(world.grid.get_job(job)).held == "maintenance"


def test_leaderboard_sorts_by_donation_and_skips_idle_members(world):
    job = world.job("alice", tiles=4)
    world.render(job, "bob", "b", seconds=3)
    world.render(job, "carol", "c", seconds=5)
    result_of(world.ledger.balance("dave"))
    board = result_of(world.ledger.board())
    assert [r["user"] for r in board] == ["carol", "bob", "alice"]
    assert board[2]["consumed"] == 8.0


def test_batched_acks_are_metered_like_single_ones(world):
    job = world.job("alice", tiles=3)
    tasks = result_of(world.metered.pop("n1", "bob", max=3, job_id=job))
    world.clock.advance(2)
    acks = [(t.job_id, t.slot, t.lease_id, b"pixels", None) for t in tasks[:2]]
    acks.append((tasks[2].job_id, tasks[2].slot, tasks[2].lease_id, None, "trap"))
    acks.append((job, 99, "no-such-lease", b"x", None))
    outcomes = result_of(world.metered.ack_many(acks))
    assert outcomes[:3] == ["ok", "ok", "ok"] and not isinstance(outcomes[3], str)
    assert result_of(world.ledger.account("bob"))["donated"] == 4.0
