"""Per-site request metrics: labelled children are cached, counts stay exact."""

from prometheus_client import CollectorRegistry, generate_latest

from gridhost.core import operations
from gridhost.core.operations import SiteMetrics


def text(registry):
    return generate_latest(registry).decode()


def test_counts_and_latencies_per_site_method_and_code():
    registry = CollectorRegistry()
    metrics = SiteMetrics(registry)
    for _ in range(3):
        metrics.observe("grid:/g", "GET", 200, 0.002)
    metrics.observe("grid:/g", "GET", 404, 0.003)
    metrics.observe("farm:/", "POST", 200, -1.0)  # a clock stepped back counts as 0
    out = text(registry)
    assert 'gridhost_requests_total{code="200",method="GET",site="grid:/g"} 3.0' in out
    assert 'gridhost_requests_total{code="404",method="GET",site="grid:/g"} 1.0' in out
    assert 'gridhost_requests_total{code="200",method="POST",site="farm:/"} 1.0' in out
    assert 'gridhost_request_seconds_count{site="grid:/g"} 4.0' in out
    assert 'gridhost_request_seconds_bucket{le="0.001",site="farm:/"} 1.0' in out


def test_the_child_cache_is_bounded_but_counting_goes_on(monkeypatch):
    monkeypatch.setattr(operations, "MAX_CACHED_LABELS", 2)
    registry = CollectorRegistry()
    metrics = SiteMetrics(registry)
    for method in ("A", "B", "C", "D", "D"):
        metrics.observe("s", method, 200, 0.0)
    assert len(metrics._children) == 2
    assert 'gridhost_requests_total{code="200",method="D",site="s"} 2.0' in text(registry)
