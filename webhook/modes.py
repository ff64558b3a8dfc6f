"""The two injection modes and the pod keys each one reads and writes.

`cacheblend`: the CacheBlend plugin, its flags and the engine's kv-transfer-config
(SPEC 4). `lmcache`: only the engine's kv-transfer-config, `hostIPC` and the hash seed,
with exactly the keys of the reference operator's second webhook, so pods labelled by
NVIDIA Dynamo's or KServe's LMCache guides work unchanged. One process serves both, each
on its own path; the chart's MutatingWebhookConfiguration routes each opt-in label there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lmcache_k8s import names


class Mode(StrEnum):
    CACHEBLEND = "cacheblend"
    LMCACHE = "lmcache"


@dataclass(frozen=True)
class ModeKeys:
    """The label and annotations of one mode, and the HTTPS path that serves it."""

    inject_label: str
    engine_annotation: str
    container_annotation: str
    injected_annotation: str
    skip_reason_annotation: str
    path: str


KEYS: dict[Mode, ModeKeys] = {
    Mode.CACHEBLEND: ModeKeys(
        inject_label=names.CACHEBLEND_INJECT_LABEL,
        engine_annotation=names.CACHEBLEND_ENGINE_ANNOTATION,
        container_annotation=names.CACHEBLEND_CONTAINER_ANNOTATION,
        injected_annotation=names.CACHEBLEND_INJECTED_ANNOTATION,
        skip_reason_annotation=names.CACHEBLEND_SKIP_REASON_ANNOTATION,
        path=names.CACHEBLEND_WEBHOOK_PATH,
    ),
    Mode.LMCACHE: ModeKeys(
        inject_label=names.LMCACHE_INJECT_LABEL,
        engine_annotation=names.LMCACHE_ENGINE_ANNOTATION,
        container_annotation=names.LMCACHE_CONTAINER_ANNOTATION,
        injected_annotation=names.LMCACHE_INJECTED_ANNOTATION,
        skip_reason_annotation=names.LMCACHE_SKIP_REASON_ANNOTATION,
        path=names.LMCACHE_WEBHOOK_PATH,
    ),
}

MODES: tuple[str, ...] = tuple(mode.value for mode in Mode)
