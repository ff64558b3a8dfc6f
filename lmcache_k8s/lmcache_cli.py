"""Facts about the real `lmcache server` and `lmcache coordinator` 0.5.6 command lines.

Which flag the chart renders from which values field, which flags the real CLI rejects
(the pod would crash-loop) and which it accepts but that mislead. The post-renderer reads
rendered command lines back through these tables; the chart refuses, in `extraArgs`, every
flag listed in `rendered_flags` (generated into `templates/_contract.tpl`); and
`tests/test_real_cli.py` proves each table against the real parsers.
"""

from __future__ import annotations

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
REJECTED_PREFIX = {
    "--coordinator-l2-event-": "use --coordinator-event-reporting (coordinator.l2EventReporting)"
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


def rendered_flags(values_map: str) -> list[str]:
    """Every flag the chart itself renders for an entry of `values_map`, sorted.

    The chart refuses these in `extraArgs` (set the field instead); switches included.
    """
    if values_map == "coordinators":
        names = set(COORDINATOR_FLAGS) | set(COORDINATOR_SWITCHES)
    else:
        names = set(ENGINE_FLAGS) | set(ENGINE_SWITCHES)
    return sorted(names)
