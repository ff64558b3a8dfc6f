"""Facts about the real `lmcache server` and `lmcache coordinator` 0.5.6 command lines.

Which flag the chart renders from which values field, which flags the real CLI rejects
(the pod would crash-loop) and which it accepts but that mislead, and the sentences that tell
a user what to write instead (`rejected`, `misleading`, `engine_type_problem`). The
post-renderer reads rendered command lines back through these tables and asks these
functions about every flag; the chart refuses, in `extraArgs`, every flag listed in
`rendered_flags` (generated into `templates/_contract.tpl`); and `tests/test_real_cli.py`
proves each table against the real parsers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# flag -> (values path inside the entry, type); None marks flags handled elsewhere.
FieldRef = tuple[tuple[str, ...], str] | None
ENGINE_FLAGS: dict[str, FieldRef] = {
    "--host": None,
    "--port": (("server", "port"), "int"),
    "--http-host": None,
    "--http-port": (("server", "httpPort"), "int"),
    "--l1-size-gb": (("l1", "sizeGB"), "number"),
    "--chunk-size": (("server", "chunkSize"), "int"),
    "--max-workers": (("server", "maxWorkers"), "int"),
    "--hash-algorithm": (("server", "hashAlgorithm"), "str"),
    "--eviction-policy": (("eviction", "policy"), "str"),
    "--eviction-trigger-watermark": (("eviction", "triggerWatermark"), "number"),
    "--eviction-ratio": (("eviction", "evictionRatio"), "number"),
    "--l2-adapter": None,
    "--coordinator-url": None,
    "--coordinator-heartbeat-interval": (("coordinator", "heartbeatInterval"), "int"),
    "--engine-type": None,
    "--l1-align-bytes": None,
}
ENGINE_SWITCHES = {
    "--disable-metrics": (("prometheus", "enabled"), False),
    "--coordinator-event-reporting": (("coordinator", "l2EventReporting"), True),
    # Present when ipc is "isolated"; absent means the default, "host".
    "--isolated-ipc": (("ipc",), "isolated"),
}
COORDINATOR_FLAGS: dict[str, FieldRef] = {
    "--host": (("host",), "str"),
    "--port": (("port",), "int"),
    "--instance-timeout": (("instanceTimeout",), "int"),
    "--health-check-interval": (("healthCheckInterval",), "int"),
    "--eviction-check-interval": (("evictionCheckInterval",), "int"),
    "--eviction-ratio": (("evictionRatio",), "number"),
    "--trigger-watermark": (("triggerWatermark",), "number"),
    "--chunk-size": (("blendChunkSize",), "int"),
    "--blend-probe-stride": (("blendProbeStride",), "int"),
}
COORDINATOR_SWITCHES = {
    "--enable-blend-lookup": (("blendLookup",), True),
    "--disable-metrics": (("prometheus", "enabled"), False),
}
# Flags the real lmcache 0.5.6 CLI rejects (the pod would crash-loop), with what to use.
# tests/test_real_cli.py proves the real parser rejects each of them.
REJECTED = {
    "--disable-prometheus": "use --disable-metrics (prometheus.enabled: false)",
    "--prometheus-enable": "metrics are on by default; use --disable-metrics to turn them off",
    "--blend-chunk-size": "use --chunk-size (coordinators.<name>.blendChunkSize)",
}
# Rejected by `lmcache coordinator` only: the server still accepts these spellings, with a
# warning (SERVER_DEPRECATED_PREFIX, SERVER_MISLEADING below).
REJECTED_PREFIX = {
    "--coordinator-l2-event-": "use --coordinator-event-reporting (coordinator.l2EventReporting)"
}
COORDINATOR_REJECTED = {
    "--prometheus-port": "metrics are served at /metrics on the coordinator port (--port)",
}
# Flags `lmcache server` 0.5.6 still parses but that do not do what they seem to: warnings.
# tests/test_real_cli.py proves the real server parser accepts each of them.
SERVER_MISLEADING = {
    "--prometheus-port": "opens nothing: lmcache server serves /metrics on its HTTP port"
    " (--http-port); prometheus.port only sets the metrics Service's port",
}
SERVER_DEPRECATED_PREFIX = {
    "--coordinator-l2-event-": "is a deprecated spelling: use --coordinator-event-reporting"
    " (coordinator.l2EventReporting)"
}
ENGINE_TYPES_REJECTED = {"blend_v3": "use --engine-type blend (a cacheBlendEngines entry)"}
# `--engine-type blend` makes `lmcache server` a CacheBlend engine (a cacheBlendEngines
# entry); the chart renders it with the L1 alignment the blend connector needs.
BLEND_ENGINE_TYPE = "blend"
BLEND_FLAGS = ("--engine-type", BLEND_ENGINE_TYPE, "--l1-align-bytes", "16777216")


@dataclass(frozen=True)
class MirroredKey:
    """A kv_connector_extra_config key that must match an `lmcache server` setting.

    `flag` is the server flag; `connector_default` what the vLLM-side connector assumes
    when the key is absent (ExtraConfigDefault in 0.5.6); `field` the values path the chart
    renders both from (`ipc` is "isolated" for the switch --isolated-ipc).
    """

    flag: str
    connector_default: Any
    field: tuple[str, ...]


# The kv_connector_extra_config keys the vLLM-side connector documents as "must match" an
# `lmcache server` setting. Source: the comments and defaults of ExtraConfigDefault in
# lmcache/integration/vllm/vllm_multi_process_adapter.py (0.5.6). The connection ConfigMap
# writes each one from the values the flag is rendered from ("lmcache.connectionKeys",
# which reads the defaults from the generated "lmcache.connectorDefaults"), so every
# injected vLLM gets it too; tests/test_real_cli.py fails when the real connector documents
# a key or a default that differs from this table, and checks every rendered pair of server
# command line and ConfigMap through the real server config and the connector's resolver.
MIRRORED_EXTRA_CONFIG: dict[str, MirroredKey] = {
    "lmcache.mp.hash_algorithm": MirroredKey(
        "--hash-algorithm", "blake3", ("server", "hashAlgorithm")
    ),
    "lmcache.mp.isolated_ipc": MirroredKey("--isolated-ipc", False, ("ipc",)),
}
# The connector reads a string isolated_ipc as a boolean with these spellings.
_TRUE_STRINGS = ("1", "true", "yes", "on")


def mirrored_values(spec: Mapping[str, Any]) -> dict[str, Any]:
    """key -> the value an engine entry's server runs with, for each MIRRORED_EXTRA_CONFIG key.

    `spec` is an engine or CacheBlend engine entry with its defaults filled in (the chart's
    "lmcache.entry", or a model dump); a missing field counts as the connector's default.
    """
    out: dict[str, Any] = {}
    for key, mirrored in MIRRORED_EXTRA_CONFIG.items():
        node: Any = spec
        for part in mirrored.field:
            node = node.get(part) if isinstance(node, Mapping) else None
        if mirrored.field == ("ipc",):
            node = node == "isolated"
        out[key] = mirrored.connector_default if node is None else node
    return out


def mirrored_extra_config(spec: Mapping[str, Any], adopted: bool) -> dict[str, Any]:
    """The mirrored keys the connection ConfigMap of entry `spec` carries.

    All of them, except for an entry with `adoptOperatorObjects: true` (adopted from the
    reference operator, whose ConfigMap lacks them): there a key is written only when its
    value differs from the connector's default, so the handed-over ConfigMap stays byte
    for byte the operator's while meaning the same to vLLM (docs/migrate.md).
    """
    values = mirrored_values(spec)
    return {
        key: value
        for key, value in values.items()
        if not adopted or value != MIRRORED_EXTRA_CONFIG[key].connector_default
    }


def resolved_mirrored(extra: Mapping[str, Any]) -> dict[str, Any]:
    """key -> what the connector resolves from a kv_connector_extra_config, absent keys
    taking its defaults (a string isolated_ipc read as the connector reads it)."""
    out: dict[str, Any] = {}
    for key, mirrored in MIRRORED_EXTRA_CONFIG.items():
        value = extra.get(key, mirrored.connector_default)
        if isinstance(mirrored.connector_default, bool) and not isinstance(value, bool):
            value = str(value).strip().lower() in _TRUE_STRINGS
        out[key] = value
    return out


def connector_defaults() -> dict[str, Any]:
    """key -> connector default, for the chart (generated into "lmcache.connectorDefaults")."""
    return {key: m.connector_default for key, m in MIRRORED_EXTRA_CONFIG.items()}


def rendered_flags(values_map: str) -> list[str]:
    """Every flag the chart itself renders for an entry of `values_map`, sorted.

    The chart refuses these in `extraArgs` (set the field instead); switches included.
    """
    if values_map == "coordinators":
        names = set(COORDINATOR_FLAGS) | set(COORDINATOR_SWITCHES)
    else:
        names = set(ENGINE_FLAGS) | set(ENGINE_SWITCHES)
    return sorted(names)


def misleading(flag: str, subcommand: str) -> str | None:
    """The warning for `flag`, which `lmcache <subcommand>` 0.5.6 accepts but that misleads.

    `subcommand` is "server" or "coordinator". The text completes a sentence that starts
    with the flag ("--prometheus-port opens nothing: ..."); None when nothing misleads.
    Source: the real server parser (tests/test_real_cli.py accepts every such flag).
    """
    if subcommand != "server":
        return None
    if flag in SERVER_MISLEADING:
        return SERVER_MISLEADING[flag]
    for prefix, advice in SERVER_DEPRECATED_PREFIX.items():
        if flag.startswith(prefix):
            return advice
    return None


def rejected(flag: str, value: str | None, subcommand: str) -> str | None:
    """Why `lmcache <subcommand> ... flag [value]` fails to start under 0.5.6, and what to
    write instead, as a whole sentence; None when the real CLI accepts it (a `misleading`
    flag is accepted). `value` is the flag's value (None for none); only `--engine-type`
    looks at it. Source: the real parsers (tests/test_real_cli.py rejects every such flag).
    """
    if misleading(flag, subcommand) is not None:
        return None
    cli = f"lmcache {subcommand}"
    advice = REJECTED.get(flag)
    if advice is None:
        for prefix, text in REJECTED_PREFIX.items():
            if flag.startswith(prefix):
                advice = text
                break
    if advice is None:
        advice = COORDINATOR_REJECTED.get(flag)
    if advice is not None:
        return f"{flag} is not a flag of {cli} 0.5.6: {advice}"
    if flag == "--engine-type" and value in ENGINE_TYPES_REJECTED:
        return (
            f"--engine-type {value} is not accepted by {cli} 0.5.6: {ENGINE_TYPES_REJECTED[value]}"
        )
    return None


def engine_type_problem(engine_type: str | None, blend_entry: bool) -> str | None:
    """What is wrong with an engine's `--engine-type` (None: not passed) for its entry.

    `blend_entry` is true for a cacheBlendEngines entry. Only `blend` decides the entry's
    kind: without it a CacheBlend engine is a plain engine, and with it a plain entry is
    a CacheBlend engine declared in the wrong map. Returns None when they agree.
    """
    if engine_type is None and blend_entry:
        return (
            f"a CacheBlend engine must run with {' '.join(BLEND_FLAGS)}; without it the server"
            " is a plain LMCache engine the blend connector cannot use"
        )
    if engine_type == BLEND_ENGINE_TYPE and not blend_entry:
        return (
            f"--engine-type {BLEND_ENGINE_TYPE} runs a CacheBlend engine: declare it under"
            " cacheBlendEngines (component cacheblend-engine)"
        )
    return None
