"""Names shared between the webhook, the chart and the post-renderer.

Every label, annotation, skip reason and ConfigMap key the webhook understands is defined
here once, so other parts of the product can import them instead of retyping strings.
"""

from __future__ import annotations

from enum import StrEnum

# Pods carrying this label are sent to the webhook (MutatingWebhookConfiguration
# objectSelector). The server itself never reads it.
INJECT_LABEL = "lmcache.ai/cacheblend-inject"
INJECT_LABEL_VALUE = "true"

# `<name>` or `<namespace>/<name>` of the CacheBlend engine the pod binds to.
ENGINE_ANNOTATION = "lmcache.ai/cacheblend-engine"
# Overrides which container receives the plugin and the vLLM flags.
CONTAINER_ANNOTATION = "lmcache.ai/cacheblend-container"
# Written on a successful injection; a stamped pod is never processed again.
INJECTED_ANNOTATION = "lmcache.ai/cacheblend-injected"
INJECTED_VALUE = "true"
# Written, alone, when the webhook decides not to inject.
SKIP_REASON_ANNOTATION = "lmcache.ai/cacheblend-skip-reason"


class SkipReason(StrEnum):
    """Why a pod that asked for injection was admitted without it."""

    ENGINE_NOT_FOUND = "engine-not-found"
    TARGET_CONTAINER_NOT_FOUND = "target-container-not-found"
    COMMAND_OVERRIDE = "command-override"
    PAYLOAD_IMAGE_UNSET = "payload-image-unset"
    KV_TRANSFER_CONFIG_PRESENT = "kv-transfer-config-present"


SKIP_REASONS: tuple[str, ...] = tuple(reason.value for reason in SkipReason)

# The engine's connection ConfigMap is `<engine>-connection`; these are its data keys.
CONNECTION_CONFIGMAP_SUFFIX = "-connection"
KV_TRANSFER_CONFIG_KEY = "kv-transfer-config.json"
INJECTION_CONFIG_KEY = "cacheblend-injection.json"

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
