"""Every name the chart, the post-renderer and the webhook must spell the same way.

Object-name suffixes, ConfigMap keys, labels, annotations and environment variables are
defined here once. Python code imports them; the chart reads them from the generated
`templates/_contract.tpl` (`python -m lmcache_k8s.generate --write`), so a rename here
reaches every part, and `tests/chart/test_generated.py` fails when the chart is stale.
"""

from __future__ import annotations

# --- objects every entry N owns (SPEC 2.1): N, N-metrics, N-connection --------------------
CONNECTION_SUFFIX = "-connection"
METRICS_SUFFIX = "-metrics"

# --- the connection ConfigMap's keys (SPEC 2.4, 2.6) --------------------------------------
# The vLLM kv-transfer-config, pretty JSON with sorted keys.
KV_TRANSFER_CONFIG_KEY = "kv-transfer-config.json"
# CacheBlend engines only: what the injection webhook needs (lmcache_k8s.values.InjectionSpec).
INJECTION_CONFIG_KEY = "cacheblend-injection.json"
# Engines with `ipc: isolated` only: the sizeLimit (a quantity) of the memory-backed /dev/shm
# emptyDir each consumer gets (values `consumerShmSizeLimit`). The post-renderer and both
# webhook modes read it here; it stays out of the kv-transfer-config vLLM receives.
CONSUMER_SHM_SIZE_KEY = "consumer-shm-size-limit"

# --- labels (SPEC 2.1) ---------------------------------------------------------------------
NAME_LABEL = "app.kubernetes.io/name"
NAME_LABEL_VALUE = "lmcache"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
ENGINE_LABEL = "lmcache.ai/engine"
COORDINATOR_LABEL = "lmcache.ai/coordinator"
# Tells an entry's N-metrics Service apart from its main Service N.
METRICS_LABEL = "lmcache.ai/metrics"

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"

# --- the reference operator's objects (docs/migrate.md) -----------------------------------
# The operator selects the pods of resource N (its DaemonSet's and Deployment's immutable
# spec.selector) by name=lmcache, instance=N and managed-by=lmcache-operator (from the
# operator's source, quoted in issue 15). An entry with adoptOperatorObjects renders this
# selector so Helm can take the running workload over instead of replacing it.
OPERATOR_MANAGED_BY = "lmcache-operator"


def operator_selector_labels(name: str) -> dict[str, str]:
    """The reference operator's selector labels of the workload of its resource `name`."""
    return {
        NAME_LABEL: NAME_LABEL_VALUE,
        INSTANCE_LABEL: name,
        MANAGED_BY_LABEL: OPERATOR_MANAGED_BY,
    }


# values map -> app.kubernetes.io/component of its objects
COMPONENTS: dict[str, str] = {
    "engines": "cache-engine",
    "cacheBlendEngines": "cacheblend-engine",
    "coordinators": "coordinator",
}
ENGINE_MAPS = ("engines", "cacheBlendEngines")

# --- annotations on the chart's workloads, read back by the post-renderer -----------------
# The coordinator entry an engine's --coordinator-url was resolved from.
COORDINATOR_REF_ANNOTATION = "lmcache.ai/coordinator-ref"
# The engine's resources are the user's own (resourceOverrides): no formula is enforced.
RESOURCE_OVERRIDES_ANNOTATION = "lmcache.ai/resource-overrides"

# --- the vLLM side ---------------------------------------------------------------------------
# On a vLLM pod wired to engine N (by the injection webhook, by the post-renderer for a
# consumer in the stream, or by hand): `lmcache.ai/client-of: N`. The engines'
# NetworkPolicies admit pods carrying it to the ZMQ port from any namespace.
CLIENT_OF_LABEL = "lmcache.ai/client-of"

# --- Helm 4 post-renderer input: the source file of each object ---------------------------
HELM4_FILENAME_ANNOTATION = "postrenderer.helm.sh/postrender-filename"

# --- environment of the pods ---------------------------------------------------------------
LOG_LEVEL_ENV = "LMCACHE_LOG_LEVEL"
# The engine tells the coordinator this address (the pod IP, from the downward API).
ADVERTISE_IP_ENV = "LMCACHE_COORDINATOR_ADVERTISE_IP"
# The server must see every GPU to open CUDA IPC handles from any vLLM process.
NVIDIA_ENV = ("NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES")
# vLLM and LMCache must hash token chunks to the same keys.
HASH_SEED_ENV = "PYTHONHASHSEED"

# --- the CacheBlend injection webhook (SPEC 4) --------------------------------------------
# Pods carrying this label are sent to the webhook (the MutatingWebhookConfiguration's
# objectSelector); the server itself never reads it.
CACHEBLEND_INJECT_LABEL = "lmcache.ai/cacheblend-inject"
# `<name>` or `<namespace>/<name>` of the CacheBlend engine the pod binds to.
CACHEBLEND_ENGINE_ANNOTATION = "lmcache.ai/cacheblend-engine"
# Overrides which container receives the plugin and the vLLM flags.
CACHEBLEND_CONTAINER_ANNOTATION = "lmcache.ai/cacheblend-container"
# Written on a successful injection; a stamped pod is never processed again.
CACHEBLEND_INJECTED_ANNOTATION = "lmcache.ai/cacheblend-injected"
# Written, alone, when the webhook decides not to inject.
CACHEBLEND_SKIP_REASON_ANNOTATION = "lmcache.ai/cacheblend-skip-reason"
TRUE = "true"

# --- the plain-LMCache injection webhook (SPEC 6: the reference operator's second webhook) --
# The twins of the CacheBlend names above, for pods wired to a plain LMCache engine.
LMCACHE_INJECT_LABEL = "lmcache.ai/lmcache-inject"
LMCACHE_ENGINE_ANNOTATION = "lmcache.ai/lmcache-engine"
LMCACHE_INJECTED_ANNOTATION = "lmcache.ai/lmcache-injected"
LMCACHE_SKIP_REASON_ANNOTATION = "lmcache.ai/lmcache-skip-reason"
# Overrides which container receives `--kv-transfer-config` (default: the first one).
LMCACHE_CONTAINER_ANNOTATION = "lmcache.ai/lmcache-container"
# Comma-separated Secret names added to the pod's imagePullSecrets (each once).
LMCACHE_IMAGE_PULL_SECRETS_ANNOTATION = "lmcache.ai/lmcache-image-pull-secrets"
# The HTTPS paths of the one webhook process, one per mode; the chart's
# MutatingWebhookConfiguration sends each opt-in label to its path.
CACHEBLEND_WEBHOOK_PATH = "/mutate"
LMCACHE_WEBHOOK_PATH = "/mutate-lmcache"
# Pod Security Admission (kubernetes.io/docs/concepts/security/pod-security-admission):
# the namespace label holding the enforced level (privileged, baseline or restricted).
POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
# Written with either `*-injected` stamp: lmcache_k8s.connection.connection_hash() of the
# kv-transfer-config the pod received, so a later reader can tell whether the pod still
# matches its engine's ConfigMap.
CONNECTION_HASH_ANNOTATION = "lmcache.ai/connection-hash"


def chart_names() -> dict[str, object]:
    """The names the chart's templates use, as `lmcache.names` in the generated
    `templates/_contract.tpl` exposes them (camelCase keys; a JSON object)."""
    return {
        "appName": NAME_LABEL_VALUE,
        "operatorManagedBy": OPERATOR_MANAGED_BY,
        "components": COMPONENTS,
        "entryLabels": {
            kind: COORDINATOR_LABEL if kind == "coordinators" else ENGINE_LABEL
            for kind in COMPONENTS
        },
        "metricsLabel": METRICS_LABEL,
        "connectionSuffix": CONNECTION_SUFFIX,
        "metricsSuffix": METRICS_SUFFIX,
        "kvTransferConfigKey": KV_TRANSFER_CONFIG_KEY,
        "injectionConfigKey": INJECTION_CONFIG_KEY,
        "consumerShmSizeKey": CONSUMER_SHM_SIZE_KEY,
        "coordinatorRefAnnotation": COORDINATOR_REF_ANNOTATION,
        "resourceOverridesAnnotation": RESOURCE_OVERRIDES_ANNOTATION,
        "logLevelEnv": LOG_LEVEL_ENV,
        "advertiseIPEnv": ADVERTISE_IP_ENV,
        "nvidiaEnv": list(NVIDIA_ENV),
        "hashSeedEnv": HASH_SEED_ENV,
        "cacheblendInjectLabel": CACHEBLEND_INJECT_LABEL,
        "cacheblendEngineAnnotation": CACHEBLEND_ENGINE_ANNOTATION,
        "cacheblendContainerAnnotation": CACHEBLEND_CONTAINER_ANNOTATION,
        "clientOfLabel": CLIENT_OF_LABEL,
        "lmcacheInjectLabel": LMCACHE_INJECT_LABEL,
        "cacheblendWebhookPath": CACHEBLEND_WEBHOOK_PATH,
        "lmcacheWebhookPath": LMCACHE_WEBHOOK_PATH,
    }
