"""The webhook's own names: skip reasons, and what it adds to a pod.

The names it shares with the chart and the post-renderer (the opt-in label, the
annotations, the ConfigMap keys) are imported from `lmcache_k8s.names`, their one home;
the cudagraph modes and every injection default from `lmcache_k8s.values.InjectionSpec`.
"""

from __future__ import annotations

from enum import StrEnum


class SkipReason(StrEnum):
    """Why a pod that asked for injection was admitted without it."""

    ENGINE_NOT_FOUND = "engine-not-found"
    TARGET_CONTAINER_NOT_FOUND = "target-container-not-found"
    COMMAND_OVERRIDE = "command-override"
    PAYLOAD_IMAGE_UNSET = "payload-image-unset"
    KV_TRANSFER_CONFIG_PRESENT = "kv-transfer-config-present"
    # The target mounts an emptyDir at /dev/shm, which would hide the host's shared memory
    # that hostIPC brings (CUDA IPC handles live there). Fix: drop that mount. Host-IPC
    # engines only: for an isolated-IPC engine the pod's own /dev/shm is fine.
    DEV_SHM_EMPTYDIR = "dev-shm-emptydir"
    # The pod's namespace enforces a Pod Security level that forbids what the injection
    # adds (hostIPC for a host-IPC engine; under restricted, CacheBlend's staging init
    # container): injecting would turn an admissible pod into a rejected one.
    POD_SECURITY_BASELINE = "pod-security-baseline"
    POD_SECURITY_RESTRICTED = "pod-security-restricted"


SKIP_REASONS: tuple[str, ...] = tuple(reason.value for reason in SkipReason)

# Pod Security levels (the values of pod-security.kubernetes.io/enforce) that forbid
# host namespaces, hence hostIPC, with the skip reason naming each.
POD_SECURITY_SKIPS: dict[str, SkipReason] = {
    "baseline": SkipReason.POD_SECURITY_BASELINE,
    "restricted": SkipReason.POD_SECURITY_RESTRICTED,
}
PRIVILEGED_LEVEL = "privileged"
DEV_SHM = "/dev/shm"
# vLLM and LMCache must hash token chunks alike (lmcache_k8s.names.HASH_SEED_ENV).
HASH_SEED_VALUE = "0"

# What the webhook adds to the pod.
PLUGIN_VOLUME = "cb-plugin"
# Isolated IPC: the memory-backed emptyDir at /dev/shm (the post-renderer's name too,
# postrender.invariants.SHM_VOLUME; tests/webhook/test_isolated_ipc.py ties them).
SHM_VOLUME = "lmcache-shm"
PLUGIN_DIR = "/cb-plugin"
STAGE_INIT_CONTAINER = "cb-plugin-stage"
SHARED_DIR_ENV = "SHARED_DIR"
PYTHONPATH_ENV = "PYTHONPATH"
# When the pod's PYTHONPATH comes from `valueFrom`, it is renamed to this and referenced
# as `$(...)` from the new PYTHONPATH, because a value cannot be prepended to a reference.
ORIGINAL_PYTHONPATH_ENV = "CB_ORIGINAL_PYTHONPATH"
