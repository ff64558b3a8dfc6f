"""Names shared between the webhook, the chart and the post-renderer.

The webhook's own names (skip reasons, what it adds to a pod) are defined here; the names
it shares with the chart and the post-renderer come from lmcache_k8s.names.
"""

from __future__ import annotations

from enum import StrEnum

from lmcache_k8s import names

# The opt-in label, the annotations and the ConfigMap keys are shared with the chart and
# the post-renderer: their one home is lmcache_k8s.names.
INJECT_LABEL = names.CACHEBLEND_INJECT_LABEL
INJECT_LABEL_VALUE = names.TRUE
ENGINE_ANNOTATION = names.CACHEBLEND_ENGINE_ANNOTATION
CONTAINER_ANNOTATION = names.CACHEBLEND_CONTAINER_ANNOTATION
INJECTED_ANNOTATION = names.CACHEBLEND_INJECTED_ANNOTATION
INJECTED_VALUE = names.TRUE
SKIP_REASON_ANNOTATION = names.CACHEBLEND_SKIP_REASON_ANNOTATION


class SkipReason(StrEnum):
    """Why a pod that asked for injection was admitted without it."""

    ENGINE_NOT_FOUND = "engine-not-found"
    TARGET_CONTAINER_NOT_FOUND = "target-container-not-found"
    COMMAND_OVERRIDE = "command-override"
    PAYLOAD_IMAGE_UNSET = "payload-image-unset"
    KV_TRANSFER_CONFIG_PRESENT = "kv-transfer-config-present"


SKIP_REASONS: tuple[str, ...] = tuple(reason.value for reason in SkipReason)

CONNECTION_CONFIGMAP_SUFFIX = names.CONNECTION_SUFFIX
KV_TRANSFER_CONFIG_KEY = names.KV_TRANSFER_CONFIG_KEY
INJECTION_CONFIG_KEY = names.INJECTION_CONFIG_KEY

# cudagraph modes an engine may ask for (SPEC 1.3).
CUDAGRAPH_EAGER = "eager"
CUDAGRAPH_PIECEWISE = "piecewise"
CUDAGRAPH_FULL_DECODE_ONLY = "full_decode_only"
CUDAGRAPH_MODES: tuple[str, ...] = (
    CUDAGRAPH_EAGER,
    CUDAGRAPH_PIECEWISE,
    CUDAGRAPH_FULL_DECODE_ONLY,
)

# What the webhook adds to the pod.
PLUGIN_VOLUME = "cb-plugin"
PLUGIN_DIR = "/cb-plugin"
STAGE_INIT_CONTAINER = "cb-plugin-stage"
SHARED_DIR_ENV = "SHARED_DIR"
PYTHONPATH_ENV = "PYTHONPATH"
# When the pod's PYTHONPATH comes from `valueFrom`, it is renamed to this and referenced
# as `$(...)` from the new PYTHONPATH, because a value cannot be prepended to a reference.
ORIGINAL_PYTHONPATH_ENV = "CB_ORIGINAL_PYTHONPATH"
