"""The engine's side of the contract: what the webhook reads from `<engine>-connection`.

The chart writes everything the webhook needs into that ConfigMap, so the webhook never
needs the chart's values. Parsing lives here, apart from any I/O, so a malformed
ConfigMap is reported the same way in tests and in the cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webhook.constants import (
    CUDAGRAPH_EAGER,
    CUDAGRAPH_MODES,
    INJECTION_CONFIG_KEY,
    KV_TRANSFER_CONFIG_KEY,
)

PULL_POLICIES = ("Always", "IfNotPresent", "Never")


class EngineConfigError(ValueError):
    """The ConfigMap exists but cannot be used; the message names the key and the problem."""


@dataclass(frozen=True)
class PayloadImage:
    """The init-container image that carries the plugin."""

    repository: str
    tag: str = "latest"
    pull_policy: str = "IfNotPresent"

    @property
    def reference(self) -> str:
        # A digest pins content, so it is joined with `@`, never `:`.
        if self.tag.startswith("sha256:"):
            return f"{self.repository}@{self.tag}"
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class EngineConfig:
    """One CacheBlend engine as the webhook sees it."""

    namespace: str
    name: str
    # Compact JSON (sorted keys, no spaces): the single argv token vLLM receives.
    kv_transfer_config: str
    cudagraph: str = CUDAGRAPH_EAGER
    image_pull_secrets: tuple[str, ...] = ()
    payload_image: PayloadImage | None = None
    target_container: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def parse_connection_data(namespace: str, name: str, data: Mapping[str, Any]) -> EngineConfig:
    """Build an EngineConfig from the `data` of `<name>-connection`.

    A ConfigMap without the injection key (for instance a plain LMCache engine's) is
    accepted with defaults, which leaves the payload image unset: the pod is then skipped
    with `payload-image-unset`, a reason the user can act on.
    """
    where = f"configmap {namespace}/{name}-connection"
    raw_kv = data.get(KV_TRANSFER_CONFIG_KEY)
    if not isinstance(raw_kv, str) or not raw_kv.strip():
        raise EngineConfigError(f"{where}: key {KV_TRANSFER_CONFIG_KEY} is missing or empty")
    kv = _load_object(raw_kv, f"{where}: key {KV_TRANSFER_CONFIG_KEY}")

    raw_injection = data.get(INJECTION_CONFIG_KEY)
    if raw_injection is None or (isinstance(raw_injection, str) and not raw_injection.strip()):
        injection: dict[str, Any] = {}
    elif isinstance(raw_injection, str):
        injection = _load_object(raw_injection, f"{where}: key {INJECTION_CONFIG_KEY}")
    else:
        raise EngineConfigError(f"{where}: key {INJECTION_CONFIG_KEY} must be a JSON string")
    return _from_injection(namespace, name, compact_json(kv), injection, where)


def _load_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise EngineConfigError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise EngineConfigError(f"{where}: must be a JSON object")
    return value


def _from_injection(
    namespace: str, name: str, kv: str, injection: dict[str, Any], where: str
) -> EngineConfig:
    prefix = f"{where}: {INJECTION_CONFIG_KEY}"

    cudagraph = injection.get("cudagraph") or CUDAGRAPH_EAGER
    if cudagraph not in CUDAGRAPH_MODES:
        raise EngineConfigError(
            f"{prefix}.cudagraph: must be one of {', '.join(CUDAGRAPH_MODES)} (got {cudagraph!r})"
        )

    secrets_raw = injection.get("imagePullSecrets") or []
    if not isinstance(secrets_raw, list):
        raise EngineConfigError(f"{prefix}.imagePullSecrets: must be a list")
    secrets: list[str] = []
    for index, entry in enumerate(secrets_raw):
        secret = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(secret, str) or not secret:
            raise EngineConfigError(f"{prefix}.imagePullSecrets[{index}]: needs a non-empty name")
        if secret not in secrets:
            secrets.append(secret)

    target = injection.get("targetContainer")
    if target is not None and not isinstance(target, str):
        raise EngineConfigError(f"{prefix}.targetContainer: must be a string")

    return EngineConfig(
        namespace=namespace,
        name=name,
        kv_transfer_config=kv,
        cudagraph=cudagraph,
        image_pull_secrets=tuple(secrets),
        payload_image=_payload_image(injection.get("payloadImage"), f"{prefix}.payloadImage"),
        target_container=target or None,
    )


def _payload_image(raw: Any, where: str) -> PayloadImage | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise EngineConfigError(f"{where}: must be an object")
    repository = raw.get("repository")
    if repository is not None and not isinstance(repository, str):
        raise EngineConfigError(f"{where}.repository: must be a string")
    if not repository:
        # Deliberately no fallback to the engine or vLLM image: that image does not
        # carry the plugin, and staging from it would fail inside the pod.
        return None
    tag = raw.get("tag") or "latest"
    if not isinstance(tag, str):
        raise EngineConfigError(f"{where}.tag: must be a string")
    pull_policy = raw.get("pullPolicy") or "IfNotPresent"
    if pull_policy not in PULL_POLICIES:
        raise EngineConfigError(
            f"{where}.pullPolicy: must be one of {', '.join(PULL_POLICIES)} (got {pull_policy!r})"
        )
    return PayloadImage(repository=repository, tag=tag, pull_policy=pull_policy)
