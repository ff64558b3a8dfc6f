"""Names from outside the LMCache processes that the dashboards and alerts use.

kube-state-metrics: STABLE metrics of its docs/metrics/workload/{daemonset,deployment,pod}
-metrics.md (kube-state-metrics v2), with the labels those pages list. Prometheus: `up`,
which it records for every scrape target (docs: "Jobs and instances", automatically
generated labels and time series).
"""

from __future__ import annotations

KSM_DOCS = "https://github.com/kubernetes/kube-state-metrics/tree/main/docs/metrics/workload"

DOCUMENTED: dict[str, dict[str, object]] = {
    "kube_daemonset_status_desired_number_scheduled": {
        "type": "gauge",
        "labels": ["daemonset", "namespace"],
        "help": "Nodes that should be running the daemon pod.",
        "source": f"{KSM_DOCS}/daemonset-metrics.md",
    },
    "kube_daemonset_status_number_ready": {
        "type": "gauge",
        "labels": ["daemonset", "namespace"],
        "help": "Nodes that should run the daemon pod and have one ready.",
        "source": f"{KSM_DOCS}/daemonset-metrics.md",
    },
    "kube_deployment_spec_replicas": {
        "type": "gauge",
        "labels": ["deployment", "namespace"],
        "help": "Desired pods of a Deployment.",
        "source": f"{KSM_DOCS}/deployment-metrics.md",
    },
    "kube_deployment_status_replicas_available": {
        "type": "gauge",
        "labels": ["deployment", "namespace"],
        "help": "Available replicas of a Deployment.",
        "source": f"{KSM_DOCS}/deployment-metrics.md",
    },
    "kube_pod_info": {
        "type": "gauge",
        "labels": ["created_by_kind", "created_by_name", "namespace", "node", "pod"],
        "help": "Information about a pod, including its node.",
        "source": f"{KSM_DOCS}/pod-metrics.md",
    },
    "kube_pod_status_ready": {
        "type": "gauge",
        "labels": ["condition", "namespace", "pod"],
        "help": "Whether the pod is ready to serve requests (condition true|false|unknown).",
        "source": f"{KSM_DOCS}/pod-metrics.md",
    },
    "up": {
        "type": "gauge",
        "labels": ["instance", "job"],
        "help": "1 when Prometheus' last scrape of the target succeeded, else 0.",
        "source": "https://prometheus.io/docs/concepts/jobs_instances/",
    },
}
