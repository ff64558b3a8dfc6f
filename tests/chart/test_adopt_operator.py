"""adoptOperatorObjects: an entry's workload selects pods by the reference operator's labels,
so `helm install --take-ownership` can adopt the operator's DaemonSet/Deployment (whose
spec.selector is immutable) instead of replacing it (docs/migrate.md)."""

from __future__ import annotations

import pytest

from lmcache_k8s.names import (
    COMPONENT_LABEL,
    COORDINATOR_LABEL,
    ENGINE_LABEL,
    INSTANCE_LABEL,
    METRICS_LABEL,
    operator_selector_labels,
)
from tests.support import RELEASE, render

VALUES = {
    "coordinators": {"coord": {"adoptOperatorObjects": True}},
    "engines": {
        "adopted": {
            "adoptOperatorObjects": True,
            "l1": {"sizeGB": 1},
            "podLabels": {"app.kubernetes.io/instance": "not-this", "team": "a"},
            "prometheus": {"serviceMonitor": {"enabled": True}},
        },
        "plain": {"l1": {"sizeGB": 1}},
    },
    "cacheBlendEngines": {
        "blend": {
            "adoptOperatorObjects": True,
            "l1": {"sizeGB": 1},
            "injection": {"payloadImage": {"repository": "r/p"}},
        }
    },
}


@pytest.mark.parametrize("helm", ["helm3", "helm4"])
def test_adopted_workloads_select_by_the_operators_labels(helm: str) -> None:
    out = render(VALUES, helm=helm, postrender=True)
    for kind, name, entry_label in (
        ("DaemonSet", "adopted", ENGINE_LABEL),
        ("DaemonSet", "blend", ENGINE_LABEL),
        ("Deployment", "coord", COORDINATOR_LABEL),
    ):
        workload = out.get(kind, name)
        selector = workload["spec"]["selector"]["matchLabels"]
        assert selector == operator_selector_labels(name)
        pod_labels = workload["spec"]["template"]["metadata"]["labels"]
        # The pods match the operator's selector (podLabels cannot override it) and keep
        # the chart's component and entry labels, which kubectl lmcache reads.
        assert operator_selector_labels(name).items() <= pod_labels.items()
        assert pod_labels[entry_label] == name and COMPONENT_LABEL in pod_labels
        # The object itself carries the release's labels.
        assert workload["metadata"]["labels"][INSTANCE_LABEL] == RELEASE
        service = out.get("Service", name)
        assert service["spec"]["selector"] == operator_selector_labels(name)
    assert out.get("DaemonSet", "adopted")["spec"]["template"]["metadata"]["labels"]["team"] == "a"
    # The ServiceMonitor selects the N-metrics Service by the Service's own labels.
    monitor = out.get("ServiceMonitor", "adopted")["spec"]["selector"]["matchLabels"]
    metrics = out.get("Service", "adopted-metrics")["metadata"]["labels"]
    assert monitor.items() <= metrics.items() and monitor[METRICS_LABEL] == "true"


def test_entries_without_the_opt_in_keep_the_chart_selector() -> None:
    out = render(VALUES)
    selector = out.get("DaemonSet", "plain")["spec"]["selector"]["matchLabels"]
    assert selector[INSTANCE_LABEL] == RELEASE and selector[ENGINE_LABEL] == "plain"
    assert "app.kubernetes.io/managed-by" not in selector
