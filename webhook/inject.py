"""The injection decision: a pure function from (pod, engine) to a new pod.

Nothing here performs I/O, so the golden tests exercise exactly the code the server runs.
The input pod is never modified: containers and lists that change are copied on the way
(copy-on-write), which keeps the diff against the original cheap and correct.

The pod is decoded JSON, so every object in it is a `dict`: that is what the checks test
for (a plain type check, cheaper than the `Mapping` ABC on a path run for every pod).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lmcache_k8s.names import (
    CACHEBLEND_CONTAINER_ANNOTATION,
    CACHEBLEND_ENGINE_ANNOTATION,
    CACHEBLEND_INJECTED_ANNOTATION,
    CACHEBLEND_SKIP_REASON_ANNOTATION,
    CLIENT_OF_LABEL,
    TRUE,
)
from lmcache_k8s.values import InjectionSpec, PayloadImage
from webhook.args import KV_TRANSFER_CONFIG, cacheblend_args, has_flag
from webhook.connection import EngineConfig
from webhook.constants import (
    ORIGINAL_PYTHONPATH_ENV,
    PLUGIN_DIR,
    PLUGIN_VOLUME,
    PYTHONPATH_ENV,
    SHARED_DIR_ENV,
    STAGE_INIT_CONTAINER,
    SkipReason,
)

Pod = dict[str, Any]


@dataclass(frozen=True)
class Injected:
    pod: Pod
    container: str


@dataclass(frozen=True)
class Skipped:
    reason: SkipReason
    pod: Pod  # the input pod plus the skip-reason annotation, nothing else


Outcome = Injected | Skipped


def annotations_of(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = pod.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    return annotations if isinstance(annotations, dict) else {}


def requested_engine(pod: Mapping[str, Any]) -> str | None:
    """The engine reference of a pod that still needs a decision, else None.

    A stamped pod was injected before (by this webhook or copied from a pod that was),
    so processing it again could only duplicate work; a pod without the annotation did
    not ask.
    """
    annotations = annotations_of(pod)
    if annotations.get(CACHEBLEND_INJECTED_ANNOTATION) == TRUE:
        return None
    engine = annotations.get(CACHEBLEND_ENGINE_ANNOTATION)
    if not isinstance(engine, str) or not engine.strip():
        return None
    return engine.strip()


def decide(pod: Pod, engine: EngineConfig | None) -> Outcome:
    """Inject `engine` into `pod`, or say why not. Every check runs before any change."""
    if engine is None:
        return _skip(pod, SkipReason.ENGINE_NOT_FOUND)

    containers = _spec(pod).get("containers")
    if not isinstance(containers, list):
        containers = []
    wanted = annotations_of(pod).get(CACHEBLEND_CONTAINER_ANNOTATION) or engine.target_container
    index = _find_container(containers, wanted)
    if index is None:
        return _skip(pod, SkipReason.TARGET_CONTAINER_NOT_FOUND)
    target = containers[index]
    if target.get("command"):
        # An entrypoint override (typically `sh -c "vllm serve ..."`) would receive our
        # flags as arguments to the shell, not to vLLM.
        return _skip(pod, SkipReason.COMMAND_OVERRIDE)
    injection = engine.injection
    if injection is None:
        # A plain LMCache engine's ConfigMap: there is deliberately no fallback image (the
        # engine's or vLLM's does not carry the plugin), while a CacheBlend engine's
        # settings cannot lack one (InjectionSpec requires payloadImage.repository).
        return _skip(pod, SkipReason.PAYLOAD_IMAGE_UNSET)
    if has_flag(_str_list(target.get("args")), KV_TRANSFER_CONFIG):
        return _skip(pod, SkipReason.KV_TRANSFER_CONFIG_PRESENT)

    return Injected(
        pod=_inject(pod, index, engine, injection), container=str(target.get("name", ""))
    )


def image_reference(image: PayloadImage) -> str:
    """`repository:tag`, or `repository@sha256:...` when the tag is a digest.

    The chart's `lmcache.image` helper spells engine images the same way;
    tests/webhook/test_chart_agreement.py renders both from the same values.
    """
    if image.tag.startswith("sha256:"):
        return f"{image.repository}@{image.tag}"
    return f"{image.repository}:{image.tag}"


def _spec(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = pod.get("spec")
    return spec if isinstance(spec, dict) else {}


def _str_list(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _find_container(containers: list[Any], wanted: str | None) -> int | None:
    if not wanted:
        return 0 if containers and isinstance(containers[0], dict) else None
    for index, container in enumerate(containers):
        if isinstance(container, dict) and container.get("name") == wanted:
            return index
    return None


def _with_annotations(pod: Pod, changes: Mapping[str, str], drop: tuple[str, ...] = ()) -> Pod:
    new_pod = dict(pod)
    metadata = dict(pod.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    for key in drop:
        annotations.pop(key, None)
    annotations.update(changes)
    metadata["annotations"] = annotations
    new_pod["metadata"] = metadata
    return new_pod


def _skip(pod: Pod, reason: SkipReason) -> Skipped:
    return Skipped(
        reason=reason, pod=_with_annotations(pod, {CACHEBLEND_SKIP_REASON_ANNOTATION: reason.value})
    )


def _upsert_named(items: list[Any], item: dict[str, Any]) -> list[Any]:
    """Replace the entry with the same name, or append: duplicates make the pod invalid."""
    result = list(items)
    for index, existing in enumerate(result):
        if isinstance(existing, dict) and existing.get("name") == item["name"]:
            result[index] = item
            return result
    result.append(item)
    return result


def _inject(pod: Pod, index: int, engine: EngineConfig, injection: InjectionSpec) -> Pod:
    new_pod = _with_annotations(
        pod, {CACHEBLEND_INJECTED_ANNOTATION: TRUE}, drop=(CACHEBLEND_SKIP_REASON_ANNOTATION,)
    )
    # The engine's NetworkPolicy admits its ZMQ port to pods carrying this label from any
    # namespace (docs/security.md): an injected pod elsewhere needs no extra step.
    metadata = new_pod["metadata"]
    metadata["labels"] = {**(metadata.get("labels") or {}), CLIENT_OF_LABEL: engine.name}
    spec = dict(pod["spec"])
    new_pod["spec"] = spec

    # CUDA IPC between vLLM and the LMCache server needs the host IPC namespace.
    spec["hostIPC"] = True
    spec["volumes"] = _upsert_named(
        spec.get("volumes") or [], {"name": PLUGIN_VOLUME, "emptyDir": {}}
    )
    spec["initContainers"] = _upsert_named(
        spec.get("initContainers") or [],
        {
            "name": STAGE_INIT_CONTAINER,
            "image": image_reference(injection.payloadImage),
            "imagePullPolicy": injection.payloadImage.pullPolicy,
            # No command: the payload image's entrypoint copies the plugin to SHARED_DIR.
            "env": [{"name": SHARED_DIR_ENV, "value": PLUGIN_DIR}],
            "volumeMounts": [{"name": PLUGIN_VOLUME, "mountPath": PLUGIN_DIR}],
        },
    )
    if engine.image_pull_secrets:
        secrets = list(spec.get("imagePullSecrets") or [])
        present = {entry.get("name") for entry in secrets if isinstance(entry, dict)}
        secrets += [{"name": name} for name in engine.image_pull_secrets if name not in present]
        spec["imagePullSecrets"] = secrets

    containers = list(spec["containers"])
    containers[index] = _inject_container(containers[index], engine, injection.cudagraph)
    spec["containers"] = containers
    return new_pod


def _inject_container(
    container: Mapping[str, Any], engine: EngineConfig, cudagraph: str
) -> dict[str, Any]:
    new = dict(container)
    mounts = [
        mount
        for mount in new.get("volumeMounts") or []
        if not (
            isinstance(mount, dict)
            and (mount.get("name") == PLUGIN_VOLUME or mount.get("mountPath") == PLUGIN_DIR)
        )
    ]
    mounts.append({"name": PLUGIN_VOLUME, "mountPath": PLUGIN_DIR, "readOnly": True})
    new["volumeMounts"] = mounts
    new["env"] = _with_pythonpath(new.get("env") or [])
    new["args"] = cacheblend_args(_str_list(new.get("args")), engine.kv_transfer_config, cudagraph)
    return new


def _with_pythonpath(env: list[Any]) -> list[Any]:
    """Put the plugin first on PYTHONPATH while keeping whatever the pod had."""
    result = list(env)
    for index, entry in enumerate(result):
        if not (isinstance(entry, dict) and entry.get("name") == PYTHONPATH_ENV):
            continue
        if "valueFrom" in entry:
            # A reference cannot be prepended to; move it aside under another name and
            # let Kubernetes expand it (a $(VAR) may use variables defined before it).
            result[index] = {**entry, "name": ORIGINAL_PYTHONPATH_ENV}
            result.insert(
                index + 1,
                {"name": PYTHONPATH_ENV, "value": f"{PLUGIN_DIR}:$({ORIGINAL_PYTHONPATH_ENV})"},
            )
            return result
        old = str(entry.get("value") or "")
        if old == PLUGIN_DIR or old.startswith(PLUGIN_DIR + ":"):
            return result
        value = f"{PLUGIN_DIR}:{old}" if old else PLUGIN_DIR
        result[index] = {"name": PYTHONPATH_ENV, "value": value}
        return result
    result.append({"name": PYTHONPATH_ENV, "value": PLUGIN_DIR})
    return result
