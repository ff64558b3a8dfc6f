"""YAML anchors, aliases and merge keys: an edit touches only the place it means.

The loader makes every use of an anchor one shared object, so without care a fix made on
the engine (NVIDIA env, eviction flag, ports, probes, resources) would also appear in a
sidecar or a selector that shares the node. Documents the post-renderer does not change
come out as their original text, anchors included.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from postrender.pipeline import process
from tests.postrender.helpers import docs
from tests.support import CHART, HELMS, helm_binary, helm_env, postrender_executable

TESTDATA = Path(__file__).parent / "testdata"
ENGINE_ARGS = (
    "[--host, 0.0.0.0, --port, '5555', --http-host, 0.0.0.0, --http-port, '8080',"
    " --l1-size-gb, '10', --eviction-policy, LRU]"
)


def containers(obj):
    return {c["name"]: c for c in obj["spec"]["template"]["spec"]["containers"]}


def test_the_reported_daemonset_keeps_its_sidecar_as_written():
    outcome = process((TESTDATA / "engine-yaml-aliases.yaml").read_text())
    assert outcome.ok, outcome.errors
    (ds,) = docs(outcome.output)
    engine, sidecar = containers(ds)["lmcache"], containers(ds)["log-shipper"]
    assert {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"} in engine["env"]
    assert sidecar["env"] == [{"name": "LMCACHE_LOG_LEVEL", "value": "INFO"}]
    assert engine["resources"]["requests"] == {"cpu": "4", "memory": "15Gi"}
    assert sidecar["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}}
    assert "startupProbe" not in sidecar and "ports" not in sidecar
    assert ds["spec"]["selector"]["matchLabels"] == {"app": "cache"}


def engine_document(shared: str, engine_field: str, sidecar_field: str) -> str:
    """A hand-written engine whose `engine_field` is anchored and reused by a sidecar."""
    return f"""\
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: cache, namespace: llm, labels: &labels {{app: cache}}}}
spec:
  selector: {{matchLabels: *labels}}
  template:
    metadata: {{labels: *labels}}
    spec:
      hostIPC: true
      containers:
        - name: lmcache
          image: lmcache/vllm-openai:latest
          command: [/opt/venv/bin/lmcache, server]
          args: {ENGINE_ARGS}
          {engine_field}: &shared {shared}
        - name: sidecar
          image: example.org/sidecar:1.0
          {sidecar_field}
"""


# (the shared node, the engine's field, how the sidecar uses it, the sidecar field to check)
CASES = {
    "env list by alias": (
        "[{name: A, value: '1'}]",
        "env",
        "env: *shared",
        "env",
        [{"name": "A", "value": "1"}],
    ),
    "resources map by alias": (
        "{requests: {cpu: '1'}}",
        "resources",
        "resources: *shared",
        "resources",
        {"requests": {"cpu": "1"}},
    ),
    "ports list by alias": (
        "[{name: debug, containerPort: 7000}]",
        "ports",
        "ports: *shared",
        "ports",
        [{"name": "debug", "containerPort": 7000}],
    ),
    "resources merged into the sidecar's own map": (
        "{requests: {cpu: '1'}}",
        "resources",
        "resources: {<<: *shared, limits: {cpu: '2'}}",
        "resources",
        {"requests": {"cpu": "1"}, "limits": {"cpu": "2"}},
    ),
    "env list inside a merged container": (
        "[{name: A, value: '1'}]",
        "env",
        "env: [{name: B, value: '2'}]\n          volumeMounts: []",
        "env",
        [{"name": "B", "value": "2"}],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_fix_on_the_engine_never_reaches_a_node_shared_with_a_sidecar(case):
    shared, engine_field, sidecar_field, checked, expected = CASES[case]
    outcome = process(engine_document(shared, engine_field, sidecar_field))
    assert outcome.ok, outcome.errors
    assert outcome.changed  # the engine was fixed (NVIDIA env, probes, resources...)
    (ds,) = docs(outcome.output)
    assert containers(ds)["sidecar"][checked] == expected
    assert ds["metadata"]["labels"] == {"app": "cache"}
    assert ds["spec"]["template"]["metadata"]["labels"] == {"app": "cache"}


def test_an_args_list_shared_by_a_sidecar_is_not_extended():
    text = engine_document("[]", "volumeMounts", "args: *args").replace(
        f"args: {ENGINE_ARGS}", "args: &args [--l1-size-gb, '10']"
    )
    outcome = process(text)
    assert outcome.ok, outcome.errors
    (ds,) = docs(outcome.output)
    assert "--eviction-policy" in containers(ds)["lmcache"]["args"]
    assert containers(ds)["sidecar"]["args"] == ["--l1-size-gb", "10"]


def test_an_unchanged_document_with_anchors_is_written_back_byte_for_byte():
    cm = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, labels: &l {a: b}, annotations: *l}\n"
    )
    engine = engine_document("[]", "volumeMounts", "volumeMounts: *shared")
    text = f"---\n{cm}---\n{engine}"
    outcome = process(text)
    assert outcome.ok, outcome.errors
    assert outcome.output.startswith(f"---\n{cm}---\n")


@pytest.mark.parametrize("helm", HELMS)
def test_helm_passes_the_anchors_through_and_only_the_engine_is_fixed(helm, tmp_path):
    chart = tmp_path / "lmcache"
    shutil.copytree(CHART, chart, ignore=shutil.ignore_patterns("ci"))
    shutil.copy(TESTDATA / "engine-yaml-aliases.yaml", chart / "templates" / "hand.yaml")
    target = postrender_executable() if helm == "helm3" else "lmcache"
    proc = subprocess.run(
        [helm_binary(helm), "template", "r", str(chart), "-n", "llm", "--post-renderer", target],
        capture_output=True,
        text=True,
        env={**helm_env(helm), "LMCACHE_POSTRENDER_TTY": "0"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (ds,) = [d for d in docs(proc.stdout) if d.get("kind") == "DaemonSet"]
    engine, sidecar = containers(ds)["lmcache"], containers(ds)["log-shipper"]
    assert {"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"} in engine["env"]
    assert sidecar["env"] == [{"name": "LMCACHE_LOG_LEVEL", "value": "INFO"}]
