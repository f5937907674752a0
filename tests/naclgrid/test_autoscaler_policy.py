"""The autoscaler's policy on its own: demand, capacity requests, limits,
cooldowns, the spending cap, and scale-down by lease state."""

from zope.interface.verify import verifyObject

from naclgrid.elastic import ClusterView, ElasticPolicy, ElasticSettings, JobDemand, NodeView
from naclgrid.elastic.demand import capacity_request
from naclgrid.elastic.interfaces import IElasticPolicy
from naclgrid.elastic.model import BOOTING, DOWN, DRAINING, HOLD, READY, UP
from naclgrid.pool import Demand
from naclgrid.pool.interfaces import IScalingPolicy


def policy(**options):
    base = {"max_nodes": 10, "scale_up_cooldown": 0, "scale_down_cooldown": 0,
            "idle_timeout": 60}
    base.update(options)
    return ElasticPolicy(ElasticSettings(**base))


def ready(name, leases=0, idle_for=None):
    return NodeView(name, READY, leases, idle_for if leases == 0 else None, age=100)


def test_it_implements_the_pool_policy_interface_and_its_own():
    p = policy()
    verifyObject(IScalingPolicy, p)
    verifyObject(IElasticPolicy, p)


def test_queued_work_scales_up_by_slots_per_node():
    p = policy(slots_per_node=4)
    d = p.decide(ClusterView(jobs=(JobDemand("j", queued=9, leased=0),)), now=0)
    assert (d.action, d.count, d.target) == (UP, 3, 3)
    assert d.reason == "9 queued tasks in 1 job want 9 slots = 3 nodes; have 0: start 3"
    assert d.details["wanted_slots"] == 9


def test_a_capacity_request_caps_what_a_job_may_rent():
    p = policy()
    jobs = (JobDemand("big", queued=1000, leased=0, slots_requested=3),
            JobDemand("small", queued=2, leased=0, slots_requested=50),
            JobDemand("plain", queued=1, leased=1))
    d = p.decide(ClusterView(jobs=jobs), now=0)
    assert (d.action, d.count) == (UP, 3 + 2 + 2)


def test_ghz_and_slots_requests_are_read_from_job_meta():
    assert capacity_request({}, 2.0) is None
    assert capacity_request({"ghz": "10"}, 2.0) == 5
    assert capacity_request({"ghz": "10.5"}, 2.0) == 6
    assert capacity_request({"ghz": "0.1"}, 2.0) == 1
    assert capacity_request({"slots": "7", "ghz": "100"}, 2.0) == 7      # slots win
    for bad in ("", "lots", "-3", "nan", "inf", "0"):
        assert capacity_request({"ghz": bad}, 2.0) is None, bad
        assert capacity_request({"slots": bad}, 2.0) is None, bad


def test_leases_of_other_nodes_are_covered_work():
    p = policy()
    view = ClusterView(jobs=(JobDemand("j", queued=2, leased=5),), foreign_leases=5)
    d = p.decide(view, now=0)
    assert (d.action, d.count) == (UP, 2)
    assert "beyond 5 leased by other nodes" in d.reason


def test_min_max_and_standby():
    p = policy(min_nodes=2, max_nodes=5, standby=1)
    d = p.decide(ClusterView(), now=0)
    assert (d.action, d.count, d.target) == (UP, 2, 2)      # min_nodes with no work
    d = p.decide(ClusterView(jobs=(JobDemand("j", 2, 0),)), now=1)
    assert d.target == 3                                     # 2 needed + 1 standby
    d = p.decide(ClusterView(jobs=(JobDemand("j", 100, 0),)), now=2)
    assert d.target == 5 and d.blocked_by == "max_nodes"
    assert "capped at 5: max_nodes is 5" in d.reason


def test_launches_per_tick_are_bounded():
    p = policy(max_nodes=100, max_launch_per_tick=4)
    d = p.decide(ClusterView(jobs=(JobDemand("j", 50, 0),)), now=0)
    assert (d.action, d.count, d.target) == (UP, 4, 50)
    assert "at most 4 per tick" in d.reason


def test_the_spend_cap_limits_nodes_and_the_budget_stops_new_ones():
    p = policy(price_per_hour=0.5, max_hourly_spend=2.0)
    d = p.decide(ClusterView(jobs=(JobDemand("j", 100, 0),)), now=0)
    assert (d.count, d.target, d.blocked_by) == (4, 4, "spend_cap")
    assert "the spend cap of 2/h buys 4 nodes at 0.5/h" in d.reason

    p = policy(price_per_hour=0.5, budget=10.0, min_nodes=2, idle_timeout=0)
    nodes = (ready("a", idle_for=500), ready("b", leases=1))
    d = p.decide(ClusterView(jobs=(JobDemand("j", 100, 1),), nodes=nodes, spent=10.0), now=0)
    # Spent: no node may stay, but the one holding a lease is kept.
    assert (d.action, d.victims, d.target) == (DOWN, ("a",), 0)
    assert "the budget is spent (10.00 of 10)" in d.reason
    assert "kept 1 node holding leases" in d.reason


def test_scale_up_cooldown():
    p = policy(scale_up_cooldown=30)
    jobs = (JobDemand("j", 3, 0),)
    assert p.decide(ClusterView(jobs=jobs), now=0).count == 3
    nodes = tuple(NodeView(f"n{i}", BOOTING) for i in range(3))
    more = (JobDemand("j", 6, 0),)
    d = p.decide(ClusterView(jobs=more, nodes=nodes), now=10)
    assert (d.action, d.blocked_by) == (HOLD, "cooldown")
    assert d.reason.endswith("scale-up cooldown for 20 s more")
    assert p.decide(ClusterView(jobs=more, nodes=nodes), now=30).count == 3


def test_work_that_already_runs_wants_no_new_node():
    p = policy()
    # One agent prefetched a second task: nothing is queued, so nothing to start.
    view = ClusterView(jobs=(JobDemand("j", queued=0, leased=2),), nodes=(ready("a", leases=2),))
    d = p.decide(view, now=0)
    assert (d.action, d.target) == (HOLD, 1)
    assert p.decide(view, now=1).reason.endswith("have 1: at target")


def test_booting_nodes_count_so_nothing_is_launched_twice():
    p = policy()
    nodes = tuple(NodeView(f"n{i}", BOOTING, age=5) for i in range(3))
    d = p.decide(ClusterView(jobs=(JobDemand("j", 3, 0),), nodes=nodes), now=0)
    assert (d.action, d.reason.endswith("at target")) == (HOLD, True)


def test_never_a_node_holding_a_lease_whatever_the_surplus():
    p = policy(idle_timeout=0)
    nodes = (ready("a", leases=2), ready("b", leases=1), ready("c", idle_for=0))
    d = p.decide(ClusterView(nodes=nodes), now=0)
    assert (d.action, d.victims) == (DOWN, ("c",))
    d = p.decide(ClusterView(nodes=nodes[:2]), now=1)
    assert (d.action, d.blocked_by) == (HOLD, "leases")
    assert d.reason.endswith("2 too many, but all 2 hold leases")


def test_the_pool_shrinks_only_to_the_highest_demand_of_the_last_idle_timeout():
    p = policy(idle_timeout=60)
    nodes = (ready("a", idle_for=0),)
    d = p.decide(ClusterView(nodes=nodes), now=0)
    # A fresh policy (a restarted server) first watches a whole window.
    assert (d.action, d.blocked_by) == (HOLD, "idle_timeout")
    assert d.reason.endswith("1 too many now, but demand reached 1 node within the last 60 s")
    busy = ClusterView(jobs=(JobDemand("j", 0, 1),), nodes=(ready("a", leases=1),))
    assert p.decide(busy, now=30).reason.endswith("at target")
    # A trickle keeps the node briefly busy now and then: no per-node idle
    # timer decides, the demand of the whole window does.
    assert p.decide(ClusterView(nodes=nodes), now=80).blocked_by == "idle_timeout"
    d = p.decide(ClusterView(nodes=nodes), now=91)
    assert (d.action, d.victims) == (DOWN, ("a",))
    assert "at most 0 wanted in the last 60 s: stop 1 holding no lease (a)" in d.reason


def test_booting_nodes_go_first_then_the_longest_idle():
    p = policy(idle_timeout=10)
    nodes = (ready("old-idle", idle_for=500), ready("new-idle", idle_for=20),
             NodeView("booting", BOOTING, age=3), ready("busy", leases=1))
    view = ClusterView(jobs=(JobDemand("j", 0, 1),), nodes=nodes)
    assert p.decide(view, now=0).action == HOLD
    d = p.decide(view, now=11)
    assert d.target == 1
    assert d.victims == ("booting", "old-idle", "new-idle")


def test_draining_nodes_are_not_counted_as_capacity():
    p = policy()
    nodes = (NodeView("d1", DRAINING), NodeView("d2", DRAINING))
    d = p.decide(ClusterView(jobs=(JobDemand("j", 2, 0),), nodes=nodes), now=0)
    assert (d.action, d.count) == (UP, 2)
    assert d.details["draining"] == 2


def test_scale_down_cooldown_follows_any_change():
    p = policy(scale_down_cooldown=120, idle_timeout=0)
    p.decide(ClusterView(jobs=(JobDemand("j", 1, 0),)), now=0)          # started one
    d = p.decide(ClusterView(nodes=(ready("a", idle_for=0),)), now=60)
    assert (d.action, d.blocked_by) == (HOLD, "cooldown")
    assert d.reason.endswith("scale-down cooldown lasts 60.0 s more")
    assert p.decide(ClusterView(nodes=(ready("a", idle_for=0),)), now=120).action == DOWN


def test_desired_serves_the_local_pool_interface():
    p = policy(max_nodes=3, idle_timeout=30)
    assert p.desired(Demand(0, 0), 0, now=0) == 0
    assert p.desired(Demand(queued=2), 0, now=1) == 2
    assert p.desired(Demand(queued=50), 2, now=2) == 3
    assert p.desired(Demand(queued=0, leased=3), 3, now=3) == 3       # busy: kept
    assert p.desired(Demand(), 3, now=10) == 3                        # idle, not for long
    assert p.desired(Demand(), 3, now=40) == 0
