"""Small helpers shared by the post-renderer tests: run the pipeline in-process on objects."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from postrender.pipeline import Outcome, process
from tests.postrender import chartlike


def stream_of(*objects: dict[str, Any], dialect: str = "helm3") -> str:
    return chartlike.to_stream([("hand.yaml", o) for o in objects], dialect)


def run(*objects: dict[str, Any], **kw: Any) -> Outcome:
    return process(stream_of(*objects), **kw)


def docs(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def output_docs(outcome: Outcome) -> list[Any]:
    assert outcome.ok, outcome.errors
    assert outcome.output is not None
    return docs(outcome.output)


def container(workload: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]["containers"][index]


def pod(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def hand_written(name: str = "my-cache", args: list[str] | None = None) -> dict[str, Any]:
    """A bare DaemonSet running `lmcache server`, as a user would write it without the chart."""
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "lmcache",
                            "image": "lmcache/vllm-openai:latest",
                            "command": ["lmcache"],
                            "args": ["server", *(args or ["--l1-size-gb", "60"])],
                        }
                    ]
                },
            },
        },
    }


def vllm(name: str = "vllm", configmap: str = "my-cache-connection") -> dict[str, Any]:
    """The seed's hand-written vLLM Deployment, minus what the post-renderer must add."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "vllm",
                            "image": "lmcache/vllm-openai:latest",
                            "args": ["--model", "m"],
                            "volumeMounts": [
                                {"name": "kv", "mountPath": "/etc/lmcache", "readOnly": True}
                            ],
                        },
                        {"name": "sidecar", "image": "busybox"},
                    ],
                    "volumes": [{"name": "kv", "configMap": {"name": configmap}}],
                },
            },
        },
    }


def modified(obj: dict[str, Any], edit) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    edit(out)
    return out
