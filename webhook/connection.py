"""The engine's side of the contract: what the webhook reads from `<engine>-connection`.

The chart writes everything the webhook needs into that ConfigMap, so the webhook never
needs the chart's values. The injection settings under `cacheblend-injection.json` are
read with the very model that validates `cacheBlendEngines.<name>.injection` in the
chart's values (`lmcache_k8s.values.InjectionSpec`): its defaults and rules have one home,
and `tests/webhook/test_chart_agreement.py` renders the chart to prove both sides agree.
Parsing lives here, apart from any I/O, so a malformed ConfigMap is reported the same way
in tests and in the cluster.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import ValidationError

from lmcache_k8s.errors import from_validation_error
from lmcache_k8s.lmcache_cli import resolved_mirrored
from lmcache_k8s.names import (
    CONNECTION_SUFFIX,
    CONSUMER_SHM_SIZE_KEY,
    INJECTION_CONFIG_KEY,
    KV_TRANSFER_CONFIG_KEY,
)
from lmcache_k8s.values import QUANTITY_PATTERN, EngineSpec, InjectionSpec

# The values default, for a ConfigMap of an isolated engine that lacks the key (hand-written).
DEFAULT_SHM_SIZE_LIMIT = str(EngineSpec.model_fields["consumerShmSizeLimit"].default)


class EngineConfigError(ValueError):
    """The ConfigMap exists but cannot be used.

    The message names the ConfigMap, the key and (for the injection settings) the field
    path and the rule, e.g. `configmap llm/blend-connection: key cacheblend-injection.json:
    payloadImage.pullPolicy: must be one of Always, Never or IfNotPresent (got 'Sometimes')`.
    """


@dataclass(frozen=True)
class EngineConfig:
    """One CacheBlend engine as the webhook sees it.

    `injection` is None when the ConfigMap has no injection settings (a plain LMCache
    engine's): such an engine has no payload image, and a pod asking for it is skipped
    with `payload-image-unset`, a reason the user can act on. The properties below are
    settings as `decide` uses them, computed once per cached engine (`cached_property`
    stores into the instance `__dict__`, which a frozen dataclass does not forbid).
    """

    namespace: str
    name: str
    # Compact JSON (sorted keys, no spaces): the single argv token vLLM receives.
    kv_transfer_config: str
    injection: InjectionSpec | None
    # The engine runs with --isolated-ipc ("lmcache.mp.isolated_ipc" resolves to true, read
    # as the vLLM connector reads it): inject no hostIPC but a memory-backed /dev/shm of
    # `shm_size_limit` (the ConfigMap's consumer-shm-size-limit, a Kubernetes quantity).
    isolated: bool = False
    shm_size_limit: str = DEFAULT_SHM_SIZE_LIMIT

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @cached_property
    def target_container(self) -> str | None:
        """The container to inject when the pod does not name one; None: the first one.

        An empty name means the same as none: the chart writes no key for it.
        """
        return (self.injection.targetContainer or None) if self.injection is not None else None

    @cached_property
    def image_pull_secrets(self) -> tuple[str, ...]:
        """Secret names in the order given, each once (SPEC 4: no duplicates in the pod)."""
        secrets = self.injection.imagePullSecrets if self.injection is not None else None
        return tuple(dict.fromkeys(secret.name for secret in secrets or ()))


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def parse_connection_data(namespace: str, name: str, data: Mapping[str, Any]) -> EngineConfig:
    """Build an EngineConfig from the `data` of the ConfigMap `<name>-connection`.

    `data` maps keys to strings, as the API returns a ConfigMap. `kv-transfer-config.json`
    must hold a JSON object; `cacheblend-injection.json` is optional (absent or blank: a
    plain engine, see EngineConfig) and otherwise must satisfy InjectionSpec;
    `consumer-shm-size-limit` is optional (isolated engines) and otherwise a quantity such as
    `16Gi`. Raises EngineConfigError naming the ConfigMap, the key and every problem found.
    """
    where = f"configmap {namespace}/{name}{CONNECTION_SUFFIX}: key"
    raw_kv = data.get(KV_TRANSFER_CONFIG_KEY)
    if not isinstance(raw_kv, str) or not raw_kv.strip():
        raise EngineConfigError(f"{where} {KV_TRANSFER_CONFIG_KEY} is missing or empty")
    kv = _load_object(raw_kv, f"{where} {KV_TRANSFER_CONFIG_KEY}")

    raw_injection = data.get(INJECTION_CONFIG_KEY)
    injection = None
    if isinstance(raw_injection, str) and raw_injection.strip():
        injection = _injection(raw_injection, f"{where} {INJECTION_CONFIG_KEY}")
    elif raw_injection is not None and not isinstance(raw_injection, str):
        raise EngineConfigError(f"{where} {INJECTION_CONFIG_KEY}: must be a JSON string")
    extra = kv.get("kv_connector_extra_config")
    isolated = bool(
        resolved_mirrored(extra if isinstance(extra, dict) else {})["lmcache.mp.isolated_ipc"]
    )
    size = data.get(CONSUMER_SHM_SIZE_KEY)
    if size is None:
        size = DEFAULT_SHM_SIZE_LIMIT
    elif not isinstance(size, str) or not re.fullmatch(QUANTITY_PATTERN, size):
        raise EngineConfigError(
            f"{where} {CONSUMER_SHM_SIZE_KEY}: must be a positive quantity with a unit,"
            f" such as 16Gi (got {size!r})"
        )
    return EngineConfig(namespace, name, compact_json(kv), injection, isolated, size)


def _load_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise EngineConfigError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise EngineConfigError(f"{where}: must be a JSON object")
    return value


def _injection(text: str, where: str) -> InjectionSpec:
    """The validated settings; every problem is reported at once, on one log line."""
    try:
        return InjectionSpec.model_validate(_load_object(text, where))
    except ValidationError as exc:
        problems = "; ".join(f"{i.path}: {i.message}" for i in from_validation_error(exc))
        raise EngineConfigError(f"{where}: {problems}") from None
