"""The injection decision, behaviour by behaviour (the golden files show whole pods)."""

from __future__ import annotations

import copy

import pytest

from lmcache_k8s.names import (
    CACHEBLEND_CONTAINER_ANNOTATION,
    CACHEBLEND_INJECTED_ANNOTATION,
    CACHEBLEND_SKIP_REASON_ANNOTATION,
)
from lmcache_k8s.values import PayloadImage
from webhook.constants import SkipReason
from webhook.inject import Injected, Skipped, decide, image_reference, requested_engine

from .builders import engine, plain_engine, pod


def injected(outcome: Injected | Skipped) -> dict:
    assert isinstance(outcome, Injected), outcome
    return outcome.pod


def test_pod_without_engine_annotation_needs_no_decision() -> None:
    assert requested_engine(pod(engine_ref=None)) is None


def test_stamped_pod_needs_no_decision() -> None:
    assert requested_engine(pod(annotations={CACHEBLEND_INJECTED_ANNOTATION: "true"})) is None


def test_blank_engine_annotation_needs_no_decision() -> None:
    assert requested_engine(pod(engine_ref="  ")) is None


def test_engine_annotation_is_returned_trimmed() -> None:
    assert requested_engine(pod(engine_ref=" llm/blend ")) == "llm/blend"


def test_checks_run_in_spec_order() -> None:
    # Both the command and the unset payload are problems: command-override is reported.
    with_command = pod(
        containers=[{"name": "vllm", "image": "v", "command": ["sh", "-c", "vllm serve m"]}]
    )
    outcome = decide(with_command, plain_engine())
    assert isinstance(outcome, Skipped)
    assert outcome.reason == SkipReason.COMMAND_OVERRIDE


def test_empty_command_list_is_not_an_override() -> None:
    outcome = decide(pod(containers=[{"name": "vllm", "image": "v", "command": []}]), engine())
    assert isinstance(outcome, Injected)


def test_engine_without_injection_settings_has_its_payload_unset() -> None:
    # Such a ConfigMap is a plain LMCache engine's; a CacheBlend engine's cannot lack the
    # payload image (test_connection.py: an empty repository is an error).
    outcome = decide(pod(), plain_engine())
    assert isinstance(outcome, Skipped)
    assert outcome.reason == SkipReason.PAYLOAD_IMAGE_UNSET


@pytest.mark.parametrize(
    ("tag", "reference"),
    [("1.2", "repo/x:1.2"), ("sha256:" + "a" * 64, "repo/x@sha256:" + "a" * 64)],
)
def test_image_reference(tag: str, reference: str) -> None:
    assert image_reference(PayloadImage(repository="repo/x", tag=tag)) == reference


def test_pod_without_containers_has_no_target() -> None:
    outcome = decide(pod(containers=[]), engine())
    assert isinstance(outcome, Skipped)
    assert outcome.reason == SkipReason.TARGET_CONTAINER_NOT_FOUND


def test_engine_target_that_does_not_exist_is_not_found() -> None:
    outcome = decide(pod(), engine(targetContainer="server"))
    assert isinstance(outcome, Skipped)
    assert outcome.reason == SkipReason.TARGET_CONTAINER_NOT_FOUND


def test_annotation_wins_over_engine_target() -> None:
    containers = [
        {"name": "server", "image": "v", "args": []},
        {"name": "vllm", "image": "v", "args": []},
    ]
    result = decide(
        pod(containers=containers, annotations={CACHEBLEND_CONTAINER_ANNOTATION: "vllm"}),
        engine(targetContainer="server"),
    )
    assert isinstance(result, Injected)
    assert result.container == "vllm"


def test_existing_plugin_volume_and_stage_container_are_replaced_not_duplicated() -> None:
    source = pod(
        volumes=[{"name": "cb-plugin", "hostPath": {"path": "/old"}}],
        initContainers=[{"name": "cb-plugin-stage", "image": "old:1"}],
    )
    spec = injected(decide(source, engine()))["spec"]
    assert spec["volumes"] == [{"name": "cb-plugin", "emptyDir": {}}]
    assert [c["name"] for c in spec["initContainers"]] == ["cb-plugin-stage"]
    assert spec["initContainers"][0]["image"] == "registry.example.com/cb:1.0"


def test_existing_mount_at_plugin_dir_is_replaced() -> None:
    containers = [
        {
            "name": "vllm",
            "image": "v",
            "volumeMounts": [{"name": "other", "mountPath": "/cb-plugin"}],
        }
    ]
    container = injected(decide(pod(containers=containers), engine()))["spec"]["containers"][0]
    assert container["volumeMounts"] == [
        {"name": "cb-plugin", "mountPath": "/cb-plugin", "readOnly": True}
    ]


def test_pythonpath_already_led_by_plugin_is_kept() -> None:
    containers = [
        {"name": "vllm", "image": "v", "env": [{"name": "PYTHONPATH", "value": "/cb-plugin:/x"}]}
    ]
    container = injected(decide(pod(containers=containers), engine()))["spec"]["containers"][0]
    assert container["env"] == [
        {"name": "PYTHONPATH", "value": "/cb-plugin:/x"},
        {"name": "PYTHONHASHSEED", "value": "0"},
    ]


def test_empty_pythonpath_becomes_plugin_dir() -> None:
    containers = [{"name": "vllm", "image": "v", "env": [{"name": "PYTHONPATH", "value": ""}]}]
    container = injected(decide(pod(containers=containers), engine()))["spec"]["containers"][0]
    assert container["env"] == [
        {"name": "PYTHONPATH", "value": "/cb-plugin"},
        {"name": "PYTHONHASHSEED", "value": "0"},
    ]


def test_pull_secrets_are_appended_once() -> None:
    source = pod(imagePullSecrets=[{"name": "b"}])
    spec = injected(decide(source, engine(imagePullSecrets=[{"name": "a"}, {"name": "b"}])))["spec"]
    assert spec["imagePullSecrets"] == [{"name": "b"}, {"name": "a"}]


def test_no_pull_secrets_field_when_engine_has_none() -> None:
    assert "imagePullSecrets" not in injected(decide(pod(), engine()))["spec"]


def test_injection_removes_a_stale_skip_reason() -> None:
    source = pod(annotations={CACHEBLEND_SKIP_REASON_ANNOTATION: "engine-not-found"})
    annotations = injected(decide(source, engine()))["metadata"]["annotations"]
    assert CACHEBLEND_SKIP_REASON_ANNOTATION not in annotations
    assert annotations[CACHEBLEND_INJECTED_ANNOTATION] == "true"


def test_pod_without_annotations_map_gets_one_on_skip() -> None:
    source = pod(engine_ref=None)
    del source["metadata"]["annotations"]
    outcome = decide(source, None)
    assert outcome.pod["metadata"]["annotations"] == {
        CACHEBLEND_SKIP_REASON_ANNOTATION: "engine-not-found"
    }


@pytest.mark.parametrize("mode", ["eager", "piecewise", "full_decode_only"])
def test_input_pod_is_never_modified(mode: str) -> None:
    source = pod(
        ["--model", "m", "--enforce-eager", "--compilation-config", '{"mode": 3}'],
        volumes=[{"name": "x", "emptyDir": {}}],
        imagePullSecrets=[{"name": "s"}],
    )
    snapshot = copy.deepcopy(source)
    decide(source, engine(cudagraph=mode, imagePullSecrets=[{"name": "t"}]))
    assert source == snapshot
