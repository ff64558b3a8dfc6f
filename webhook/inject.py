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

from lmcache_k8s.connection import connection_hash
from lmcache_k8s.names import (
    CACHEBLEND_INJECT_LABEL,
    CACHEBLEND_INJECTED_ANNOTATION,
    CLIENT_OF_LABEL,
    CONNECTION_HASH_ANNOTATION,
    HASH_SEED_ENV,
    LMCACHE_IMAGE_PULL_SECRETS_ANNOTATION,
    TRUE,
)
from lmcache_k8s.values import InjectionSpec, PayloadImage
from webhook.args import KV_TRANSFER_CONFIG, cacheblend_args, has_flag, lmcache_args
from webhook.connection import EngineConfig
from webhook.constants import (
    DEV_SHM,
    HASH_SEED_VALUE,
    ORIGINAL_PYTHONPATH_ENV,
    PLUGIN_DIR,
    PLUGIN_VOLUME,
    POD_SECURITY_SKIPS,
    PRIVILEGED_LEVEL,
    PYTHONPATH_ENV,
    SHARED_DIR_ENV,
    SHM_VOLUME,
    STAGE_INIT_CONTAINER,
    SkipReason,
)
from webhook.modes import KEYS, Mode

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


def labels_of(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = pod.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return labels if isinstance(labels, dict) else {}


def requested_engine(pod: Mapping[str, Any], mode: Mode = Mode.CACHEBLEND) -> str | None:
    """The engine reference of a pod that still needs a decision in `mode`, else None.

    A stamped pod was injected before (by this webhook or copied from a pod that was),
    so processing it again could only duplicate work; a pod without the annotation did
    not ask. A pod carrying both opt-in labels belongs to the CacheBlend mode alone
    (CacheBlend's injection already includes the connection): the `lmcache` mode ignores
    it, whichever webhook the API server calls first.
    """
    keys = KEYS[mode]
    annotations = annotations_of(pod)
    if annotations.get(keys.injected_annotation) == TRUE:
        return None
    if mode is Mode.LMCACHE and (
        labels_of(pod).get(CACHEBLEND_INJECT_LABEL) == TRUE
        or annotations.get(CACHEBLEND_INJECTED_ANNOTATION) == TRUE
    ):
        return None
    engine = annotations.get(keys.engine_annotation)
    if not isinstance(engine, str) or not engine.strip():
        return None
    return engine.strip()


def pod_security_skip(
    level: str | None, isolated: bool = False, mode: Mode = Mode.CACHEBLEND
) -> SkipReason | None:
    """The skip a namespace's `pod-security.kubernetes.io/enforce` value calls for.

    For a host-IPC engine: None (unlabelled) and `privileged` allow hostIPC; `baseline` and
    `restricted` forbid host namespaces. For an isolated-IPC engine (`isolated`) nothing
    the injection adds is forbidden by `baseline` (env, args, a memory-backed emptyDir);
    `restricted` allows those too, so the LMCache mode injects there as well, but the
    CacheBlend mode adds a staging init container whose image's user the webhook cannot
    know (restricted demands runAsNonRoot, no privilege escalation, capabilities dropped
    and a seccomp profile on every container), so it still skips. A value Pod Security
    Admission cannot parse is enforced by it as `restricted` (its documented fallback).
    """
    if level is None or level == PRIVILEGED_LEVEL:
        return None
    skip = POD_SECURITY_SKIPS.get(level, POD_SECURITY_SKIPS["restricted"])
    if not isolated:
        return skip
    if skip is POD_SECURITY_SKIPS["restricted"] and mode is Mode.CACHEBLEND:
        return skip
    return None


def decide(
    pod: Pod,
    engine: EngineConfig | None,
    mode: Mode = Mode.CACHEBLEND,
    enforce_level: str | None = None,
) -> Outcome:
    """Inject `engine` into `pod` in `mode`, or say why not.

    `enforce_level` is the value of the pod's namespace label
    `pod-security.kubernetes.io/enforce` (None: the label is absent). Every check runs
    before any change: a skip writes the mode's skip-reason annotation and nothing else.
    """
    keys = KEYS[mode]
    if engine is None:
        return _skip(pod, SkipReason.ENGINE_NOT_FOUND, mode)

    containers = _spec(pod).get("containers")
    if not isinstance(containers, list):
        containers = []
    wanted = annotations_of(pod).get(keys.container_annotation) or (
        engine.target_container if mode is Mode.CACHEBLEND else None
    )
    index = _find_container(containers, wanted)
    if index is None:
        return _skip(pod, SkipReason.TARGET_CONTAINER_NOT_FOUND, mode)
    target = containers[index]
    if target.get("command"):
        # An entrypoint override (typically `sh -c "vllm serve ..."`) would receive our
        # flags as arguments to the shell, not to vLLM.
        return _skip(pod, SkipReason.COMMAND_OVERRIDE, mode)
    injection = engine.injection
    if mode is Mode.CACHEBLEND and injection is None:
        # A plain LMCache engine's ConfigMap: there is deliberately no fallback image (the
        # engine's or vLLM's does not carry the plugin), while a CacheBlend engine's
        # settings cannot lack one (InjectionSpec requires payloadImage.repository).
        return _skip(pod, SkipReason.PAYLOAD_IMAGE_UNSET, mode)
    if has_flag(_str_list(target.get("args")), KV_TRANSFER_CONFIG):
        return _skip(pod, SkipReason.KV_TRANSFER_CONFIG_PRESENT, mode)
    # With host IPC an emptyDir at /dev/shm hides the host's; with isolated IPC there is
    # none to hide, and the pod's own /dev/shm serves vLLM (the injection adds none then).
    if not engine.isolated and _mounts_emptydir_at_dev_shm(pod, target):
        return _skip(pod, SkipReason.DEV_SHM_EMPTYDIR, mode)
    forbidden = pod_security_skip(enforce_level, engine.isolated, mode)
    if forbidden is not None:
        return _skip(pod, forbidden, mode)

    if mode is Mode.CACHEBLEND:
        assert injection is not None  # checked above
        new_pod = _inject_cacheblend(pod, index, engine, injection)
    else:
        new_pod = _inject_lmcache(pod, index, engine)
    return Injected(pod=new_pod, container=str(target.get("name", "")))


def _with_ipc(spec: dict[str, Any], index: int, engine: EngineConfig) -> None:
    """What the engine's IPC mode needs on the pod; `spec` and its containers list are
    already copies (the target container at `index` is copied here when it changes).

    Host IPC: `hostIPC: true` (CUDA IPC with the server needs the host IPC namespace).
    Isolated IPC: no hostIPC is added, and the target container gets a memory-backed
    emptyDir `lmcache-shm` at /dev/shm sized by the engine's consumer-shm-size-limit (the
    runtime's own /dev/shm is 64Mi), unless the pod already has `hostIPC: true` (the host's
    /dev/shm serves; the webhook does not remove a namespace the pod asked for) or the
    target already mounts something at /dev/shm (its own choice, kept as it is).
    """
    if not engine.isolated:
        spec["hostIPC"] = True
        return
    if spec.get("hostIPC") is True:
        return
    containers = spec["containers"]
    container = dict(containers[index])
    mounts = list(container.get("volumeMounts") or [])
    if any(
        isinstance(m, dict) and str(m.get("mountPath") or "").rstrip("/") == DEV_SHM for m in mounts
    ):
        return
    mounts.append({"name": SHM_VOLUME, "mountPath": DEV_SHM})
    container["volumeMounts"] = mounts
    containers[index] = container
    spec["volumes"] = _upsert_named(
        spec.get("volumes") or [],
        {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": engine.shm_size_limit}},
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


def _skip(pod: Pod, reason: SkipReason, mode: Mode) -> Skipped:
    return Skipped(
        reason=reason,
        pod=_with_annotations(pod, {KEYS[mode].skip_reason_annotation: reason.value}),
    )


def _mounts_emptydir_at_dev_shm(pod: Mapping[str, Any], container: Mapping[str, Any]) -> bool:
    """Whether `container` mounts an emptyDir volume at /dev/shm (or a path under it)."""
    mounted = {
        mount.get("name")
        for mount in container.get("volumeMounts") or []
        if isinstance(mount, dict)
        and (path := str(mount.get("mountPath") or "").rstrip("/")) != ""
        and (path == DEV_SHM or path.startswith(DEV_SHM + "/"))
    }
    if not mounted:
        return False
    return any(
        isinstance(volume, dict) and volume.get("name") in mounted and "emptyDir" in volume
        for volume in _spec(pod).get("volumes") or []
    )


def _stamped(pod: Pod, engine: EngineConfig, mode: Mode) -> Pod:
    """The pod with the mode's stamp, the connection hash and the client-of label."""
    keys = KEYS[mode]
    new_pod = _with_annotations(
        pod,
        {
            keys.injected_annotation: TRUE,
            CONNECTION_HASH_ANNOTATION: connection_hash(engine.kv_transfer_config),
        },
        drop=(keys.skip_reason_annotation,),
    )
    metadata = new_pod["metadata"]
    # The engine's NetworkPolicy admits pods carrying this label to its ZMQ port.
    metadata["labels"] = {**(metadata.get("labels") or {}), CLIENT_OF_LABEL: engine.name}
    return new_pod


def _with_hash_seed(env: list[Any]) -> list[Any]:
    """Add PYTHONHASHSEED=0 unless the container already sets it (value or valueFrom)."""
    if any(isinstance(entry, dict) and entry.get("name") == HASH_SEED_ENV for entry in env):
        return list(env)
    return [*env, {"name": HASH_SEED_ENV, "value": HASH_SEED_VALUE}]


def _with_pull_secrets(spec: dict[str, Any], wanted: tuple[str, ...]) -> None:
    if not wanted:
        return
    secrets = list(spec.get("imagePullSecrets") or [])
    present = {entry.get("name") for entry in secrets if isinstance(entry, dict)}
    secrets += [{"name": name} for name in wanted if name not in present]
    spec["imagePullSecrets"] = secrets


def annotated_pull_secrets(pod: Mapping[str, Any]) -> tuple[str, ...]:
    """Names from `lmcache.ai/lmcache-image-pull-secrets` (comma-separated), each once."""
    value = annotations_of(pod).get(LMCACHE_IMAGE_PULL_SECRETS_ANNOTATION)
    if not isinstance(value, str):
        return ()
    return tuple(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))


def _inject_lmcache(pod: Pod, index: int, engine: EngineConfig) -> Pod:
    new_pod = _stamped(pod, engine, Mode.LMCACHE)
    spec = dict(pod["spec"])
    new_pod["spec"] = spec
    _with_pull_secrets(spec, annotated_pull_secrets(pod))
    containers = list(spec["containers"])
    container = dict(containers[index])
    container["env"] = _with_hash_seed(container.get("env") or [])
    container["args"] = lmcache_args(_str_list(container.get("args")), engine.kv_transfer_config)
    containers[index] = container
    spec["containers"] = containers
    _with_ipc(spec, index, engine)
    return new_pod


def _upsert_named(items: list[Any], item: dict[str, Any]) -> list[Any]:
    """Replace the entry with the same name, or append: duplicates make the pod invalid."""
    result = list(items)
    for index, existing in enumerate(result):
        if isinstance(existing, dict) and existing.get("name") == item["name"]:
            result[index] = item
            return result
    result.append(item)
    return result


def _inject_cacheblend(pod: Pod, index: int, engine: EngineConfig, injection: InjectionSpec) -> Pod:
    new_pod = _stamped(pod, engine, Mode.CACHEBLEND)
    spec = dict(pod["spec"])
    new_pod["spec"] = spec

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
    _with_pull_secrets(spec, engine.image_pull_secrets)

    containers = list(spec["containers"])
    containers[index] = _inject_container(containers[index], engine, injection.cudagraph)
    spec["containers"] = containers
    _with_ipc(spec, index, engine)
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
    new["env"] = _with_hash_seed(_with_pythonpath(new.get("env") or []))
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
