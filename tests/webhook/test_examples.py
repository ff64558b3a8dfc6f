"""The plain-engine injection example of docs/webhook-install.md, end to end without a cluster.

The chart renders `examples/lmcache-inject-values.yaml` (the real Helm 3), the webhook reads
the engine's rendered `kv-connection` ConfigMap the way it reads it from the API, and
decides on the pod template of `examples/vllm-lmcache-inject.yaml` in the LMCache mode:
the example must be injected, and the injected pod must be a valid Pod. The real vLLM
parser checks its command line in tests/test_real_cli.py.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from lmcache_k8s.names import CONNECTION_SUFFIX
from tests.support import K8S_VERSIONS, NAMESPACE, ROOT, rendered
from webhook.connection import parse_connection_data
from webhook.inject import Injected, decide
from webhook.modes import KEYS, Mode

VALUES = ROOT / "examples" / "lmcache-inject-values.yaml"
DEPLOYMENT = ROOT / "examples" / "vllm-lmcache-inject.yaml"


def example_pod() -> dict[str, Any]:
    """The Pod the example Deployment's ReplicaSet asks the API server to create."""
    deployment = yaml.safe_load(DEPLOYMENT.read_text())
    template = deployment["spec"]["template"]
    metadata = {
        **template["metadata"],
        "generateName": "vllm-6c9d7f-",
        "namespace": deployment["metadata"]["namespace"],
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]}


def example_outcome() -> Injected:
    render = rendered(values_files=(VALUES,))
    annotation = example_pod()["metadata"]["annotations"][KEYS[Mode.LMCACHE].engine_annotation]
    namespace, _, name = annotation.partition("/")
    assert namespace == NAMESPACE, "the example names the engine in the release namespace"
    configmap = render.get("ConfigMap", f"{name}{CONNECTION_SUFFIX}")
    engine = parse_connection_data(namespace, name, configmap["data"])
    outcome = decide(example_pod(), engine, Mode.LMCACHE, None)
    assert isinstance(outcome, Injected), outcome
    return outcome


def example_injected_args() -> list[str]:
    outcome = example_outcome()
    (container,) = (c for c in outcome.pod["spec"]["containers"] if c["name"] == outcome.container)
    return [str(a) for a in container["args"]]


def test_the_example_values_render_the_webhook_with_both_entries():
    render = rendered(values_files=(VALUES,))
    (configuration,) = render.kinds("MutatingWebhookConfiguration")
    paths = {w["clientConfig"]["service"]["path"] for w in configuration["webhooks"]}
    assert paths == {"/mutate", "/mutate-lmcache"}


def test_the_example_pod_is_injected_in_the_lmcache_mode():
    outcome = example_outcome()
    pod = outcome.pod
    assert pod["spec"]["hostIPC"] is True
    assert pod["metadata"]["annotations"][KEYS[Mode.LMCACHE].injected_annotation] == "true"
    args = example_injected_args()
    assert args.count("--kv-transfer-config") == 1
    (container,) = pod["spec"]["containers"]
    assert {"name": "PYTHONHASHSEED", "value": "0"} in container["env"]


@pytest.mark.parametrize("kubernetes", K8S_VERSIONS)
def test_the_injected_example_is_a_valid_pod(kubernetes: str):
    kubernetes_validate.validate(example_outcome().pod, kubernetes, strict=True)
