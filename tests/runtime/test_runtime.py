"""The runtime tier: the real lmcache processes serve what the rendered objects point at.

Each ci/ scenario with an LMCache workload is rendered by the real Helm, started the way a
kubelet would start it (tests/runtime/cluster.py) and checked the way Kubernetes,
Prometheus and the coordinator will check it (tests/runtime/checks.py). One summary line
per scenario appears at the end of every run; `-rA` shows every line of every scenario.
"""

from __future__ import annotations

import pytest

from tests.runtime.scenarios import BROKEN, runtime_values_files

# One worker runs the whole tier (scripts/test.sh passes --dist loadgroup): its processes
# start together once, not once per xdist worker.
pytestmark = pytest.mark.xdist_group("runtime")


def _record(report, record_property) -> None:
    record_property("runtime_summary", report.summary())
    record_property("runtime_tier", report.tier)
    print("\n".join(report.lines))


@pytest.mark.parametrize("runtime_scenario", [p.name for p in runtime_values_files()])
def test_every_probe_service_and_monitor_answers(
    runtime_scenario, runtime_reports, record_property
):
    report = runtime_reports[runtime_scenario]
    _record(report, record_property)
    assert report.failures == [], "\n".join(report.failures)


def _failure(report, *needles: str) -> str:
    found = [f for f in report.failures if all(n in f for n in needles)]
    assert found, f"no failure mentions {needles}; failures:\n" + "\n".join(report.failures)
    return found[0]


@pytest.mark.parametrize("runtime_scenario", [BROKEN])
def test_a_metrics_service_on_the_zmq_port_is_caught(
    runtime_scenario, runtime_reports, record_property
):
    report = runtime_reports[runtime_scenario]
    _record(report, record_property)
    text = _failure(
        report, "Service/my-cache-metrics port metrics", "targetPort server", "GET /metrics"
    )
    # ...with what the process behind it last said.
    assert "last log lines of DaemonSet/my-cache" in text
    assert "LMCache" in text.split("last log lines", 1)[1]


@pytest.mark.parametrize("runtime_scenario", [BROKEN])
def test_an_http_frontend_on_loopback_is_caught(runtime_scenario, runtime_reports):
    report = runtime_reports[runtime_scenario]
    text = _failure(report, "Service/my-cacheblend-metrics", "Connection refused")
    assert "last log lines of DaemonSet/my-cacheblend" in text
    assert "Uvicorn running on http://127.0.0.1:8080" in text
    _failure(report, "DaemonSet/my-cacheblend: GET :8080/status")


@pytest.mark.parametrize("runtime_scenario", [BROKEN])
def test_a_coordinator_url_with_the_wrong_port_is_caught(runtime_scenario, runtime_reports):
    report = runtime_reports[runtime_scenario]
    text = _failure(report, "DaemonSet/my-cache: not registered with Deployment/fleet")
    assert "Coordinator registration/heartbeat failed" in text
