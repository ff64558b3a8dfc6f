"""Read the values back from rendered workloads, so they are checked by the values' own rules.

Each managed workload becomes one entry of a values dict (`engines.<name>`, ...), built from
its `lmcache` flags, its env, and the objects the chart renders beside it (`<name>-connection`,
`<name>-metrics`, the ServiceMonitor). `lmcache_k8s.validate` then judges that dict exactly as
Helm judges values files, so an error reads the same whichever way the mistake came in:
`engines.my-cache.l1.sizeGB: must be greater than 0 (got 0)`.

Only what is observable is filled in: a field the stream does not show keeps its default.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lmcache_k8s.errors import Issue
from lmcache_k8s.lmcache_cli import (
    COORDINATOR_FLAGS,
    COORDINATOR_SWITCHES,
    ENGINE_FLAGS,
    ENGINE_SWITCHES,
    ENGINE_TYPES_REJECTED,
    REJECTED,
    REJECTED_PREFIX,
    SERVER_DEPRECATED_PREFIX,
    SERVER_MISLEADING,
    FieldRef,
)
from lmcache_k8s.names import (
    CONNECTION_SUFFIX,
    COORDINATOR_REF_ANNOTATION,
    INJECTION_CONFIG_KEY,
    KV_TRANSFER_CONFIG_KEY,
    LOG_LEVEL_ENV,
    METRICS_SUFFIX,
)
from postrender.workloads import Obj, Workload, as_dict, as_list

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")


@dataclass
class Flag:
    """One `--flag [value]` occurrence among a program's tokens."""

    name: str
    value: str | None
    index: int  # position of the flag token among the program's flags
    inline: bool  # written as --flag=value


def parse_flags(tokens: list[str], switches: set[str]) -> list[Flag]:
    """Split tokens into flags. A flag that is not a known switch takes the next token as
    its value unless that token is itself a flag; `--flag=value` is one token."""
    flags: list[Flag] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("-") or tok == "-":
            flags.append(Flag("", tok, i, False))  # a positional token
            i += 1
        elif tok.startswith("--") and "=" in tok:
            name, value = tok.split("=", 1)
            flags.append(Flag(name, value, i, True))
            i += 1
        elif tok not in switches and i + 1 < len(tokens) and not _looks_like_flag(tokens[i + 1]):
            flags.append(Flag(tok, tokens[i + 1], i, False))
            i += 2
        else:
            flags.append(Flag(tok, None, i, False))
            i += 1
    return flags


def _looks_like_flag(tok: str) -> bool:
    return tok.startswith("-") and not _FLOAT.fullmatch(tok)


def number(text: str, kind: str) -> Any:
    """A flag value as the values would hold it: ints and floats parsed, anything else kept."""
    if kind == "str":
        return text
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def _put(entry: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = entry
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


@dataclass
class Derived:
    """One values entry read back from a workload, plus what reading it revealed."""

    workload: Workload
    entry: dict[str, Any]
    flags: list[Flag]
    issues: list[Issue] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)  # warnings: accepted, but misleading
    # values paths whose "is required" errors cannot be judged from the stream
    unobservable: set[str] = field(default_factory=set)
    connection: Obj | None = None
    metrics: Obj | None = None
    coordinator_url: str | None = None  # the URL behind a coordinator.ref


@dataclass
class Neighbours:
    """The chart's per-entry side objects in one namespace, by name."""

    configmaps: dict[str, Obj] = field(default_factory=dict)
    services: dict[str, Obj] = field(default_factory=dict)
    monitors: dict[str, Obj] = field(default_factory=dict)

    def add(self, obj: Obj) -> None:
        table = {"ConfigMap": self.configmaps, "Service": self.services}.get(obj.kind)
        if obj.kind == "ServiceMonitor":
            table = self.monitors
        if table is not None:
            table.setdefault(obj.name, obj)


def derive(workload: Workload, around: Neighbours) -> Derived:
    engine = workload.is_engine
    program = workload.program
    base = workload.base
    where = workload.obj.ref
    entry: dict[str, Any] = {}
    out = Derived(workload, entry, [])
    if program is None:  # reported by classify: nothing else can be read
        out.unobservable |= {f"{base}.l1", f"{base}.injection"}
        return out
    if engine:
        entry["l1"] = {}  # the CLI requires --l1-size-gb: its absence must be reported

    table = ENGINE_FLAGS if engine else COORDINATOR_FLAGS
    switches = ENGINE_SWITCHES if engine else COORDINATOR_SWITCHES
    tokens = program.flags()
    for tok in tokens:
        if not isinstance(tok, str):
            out.issues.append(
                Issue(
                    f"{base}.extraArgs",
                    f"argument {tok!r} of container {program.name} must be a string: quote it",
                    where,
                )
            )
    flags = parse_flags([str(t) for t in tokens], set(switches))
    out.flags = flags
    extra: list[str] = []
    seen: dict[str, Flag] = {}
    adapters: list[Any] = []

    for flag in flags:
        name = flag.name
        if not name:
            extra.append(str(flag.value))
            continue
        note = _misleading(name) if engine else None
        if note:
            out.notes.append(Issue(f"{base}.extraArgs", f"{name} {note}", where))
        rejected = None if note else _rejected(name, flag.value, engine)
        if rejected:
            out.issues.append(Issue(f"{base}.extraArgs", rejected, where))
            continue
        if name in switches:
            path, value = switches[name]
            if flag.value is not None:
                out.issues.append(
                    Issue(f"{base}.extraArgs", f"{name} takes no value (got {flag.value!r})", where)
                )
            _put(entry, path, value)
            continue
        if name not in table:
            if flag.value is None:
                extra.append(name)
            elif flag.inline:
                extra.append(f"{name}={flag.value}")
            else:
                extra += [name, flag.value]
            continue
        if flag.value is None:
            out.issues.append(Issue(f"{base}.extraArgs", f"{name} needs a value", where))
            continue
        if name == "--l2-adapter":
            adapters.append(_adapter(flag.value, base, len(adapters), where, out.issues))
            continue
        # An engine's bind addresses are the invariants' business (postrender/invariants.py).
        if name in seen and not (engine and name in ("--host", "--http-host")):
            if seen[name].value != flag.value:
                out.issues.append(_repeated(base, name, seen[name].value, flag.value, table, where))
            continue
        seen.setdefault(name, flag)
        target = table[name]
        if target is not None:
            _put(entry, target[0], number(flag.value, target[1]))
        elif name == "--coordinator-url":
            _put(entry, ("coordinator", "url"), flag.value)
        elif name == "--engine-type":
            _engine_type(workload, flag.value, extra, out.issues)

    if workload.values_map == "cacheBlendEngines" and "--engine-type" not in seen:
        out.issues.append(
            Issue(
                base,
                "a CacheBlend engine must run with --engine-type blend --l1-align-bytes 16777216;"
                " without it the server is a plain LMCache engine the blend connector cannot use",
                where,
            )
        )
    if workload.values_map == "cacheBlendEngines" and isinstance(entry.get("coordinator"), dict):
        # An absent switch is off, not the blend default (on): relations.warnings says so.
        entry["coordinator"].setdefault("l2EventReporting", False)
    if adapters:
        entry["l2Backends"] = adapters
    if extra:
        entry["extraArgs"] = extra
    if engine:
        out.coordinator_url = _coordinator_ref(workload, entry, out.issues)
    log_level = _env_value(program.container, LOG_LEVEL_ENV)
    if log_level is not None:
        entry["logLevel"] = log_level
    if workload.values_map == "coordinators":
        replicas = as_dict(workload.obj.body.get("spec")).get("replicas")
        if replicas is not None and workload.obj.kind in ("Deployment", "StatefulSet"):
            entry["replicas"] = replicas
    _from_metrics(out, around)
    if engine:
        _from_connection(out, around)
    return out


def _repeated(
    base: str, name: str, first: Any, second: Any, table: dict[str, FieldRef], where: str
) -> Issue:
    """A managed flag twice with two values: the last wins in argparse, silently."""
    target = table[name]
    if target is None:
        return Issue(f"{base}.extraArgs", f"{name} is given twice ({first} and {second})", where)
    path = ".".join(target[0])
    return Issue(
        f"{base}.{path}",
        f"{name} is given twice ({first} and {second}): it is rendered from {path}; do not"
        " repeat it in extraArgs",
        where,
    )


def _misleading(name: str) -> str | None:
    """The warning for a server flag lmcache 0.5.6 accepts but that misleads, or None."""
    if name in SERVER_MISLEADING:
        return SERVER_MISLEADING[name]
    for prefix, advice in SERVER_DEPRECATED_PREFIX.items():
        if name.startswith(prefix):
            return advice
    return None


def _rejected(name: str, value: str | None, engine: bool) -> str | None:
    """The message for a flag lmcache 0.5.6 rejects, or None."""
    cli = "lmcache server" if engine else "lmcache coordinator"
    if name in REJECTED:
        return f"{name} is not a flag of {cli} 0.5.6: {REJECTED[name]}"
    for prefix, advice in REJECTED_PREFIX.items():
        if name.startswith(prefix):
            return f"{name} is not a flag of {cli} 0.5.6: {advice}"
    if name == "--prometheus-port":  # the server parses it (a warning); the coordinator does not
        return (
            f"--prometheus-port is not a flag of {cli} 0.5.6: metrics are served at /metrics on"
            " the coordinator port (--port)"
        )
    if name == "--engine-type" and value in ENGINE_TYPES_REJECTED:
        return (
            f"--engine-type {value} is not accepted by {cli} 0.5.6: {ENGINE_TYPES_REJECTED[value]}"
        )
    return None


def _engine_type(workload: Workload, value: str, extra: list[str], issues: list[Issue]) -> None:
    if value == "blend":
        if workload.values_map != "cacheBlendEngines":
            issues.append(
                Issue(
                    f"{workload.base}.extraArgs",
                    "--engine-type blend runs a CacheBlend engine: declare it under"
                    " cacheBlendEngines (component cacheblend-engine)",
                    workload.obj.ref,
                )
            )
        return
    extra += ["--engine-type", value]


def _adapter(text: str, base: str, index: int, where: str, issues: list[Issue]) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        issues.append(
            Issue(f"{base}.l2Backends.{index}", f"--l2-adapter is not valid JSON ({exc})", where)
        )
        return {"type": "?"}


def _coordinator_ref(workload: Workload, entry: dict[str, Any], issues: list[Issue]) -> str | None:
    """Turn the URL back into `ref.name` when the chart resolved it from a reference."""
    ref = workload.obj.annotations.get(COORDINATOR_REF_ANNOTATION)
    if not ref:
        return None
    coordinator = entry.setdefault("coordinator", {})
    url = coordinator.pop("url", None)
    coordinator["ref"] = {"name": str(ref)}
    if url is None:
        issues.append(
            Issue(
                f"{workload.base}.coordinator.ref.name",
                f"the workload is annotated with coordinator {ref} but passes no --coordinator-url",
                workload.obj.ref,
            )
        )
    return url


def _env_value(container: dict[str, Any], name: str) -> Any:
    for env in as_list(container.get("env")):
        if isinstance(env, dict) and env.get("name") == name and "value" in env:
            return env["value"]
    return None


def _from_metrics(out: Derived, around: Neighbours) -> None:
    name = out.workload.entry
    entry = out.entry
    service = around.services.get(name + METRICS_SUFFIX)
    if service is not None:
        out.metrics = service
        for port in as_list(as_dict(service.body.get("spec")).get("ports")):
            if isinstance(port, dict) and port.get("name") == "metrics":
                entry.setdefault("prometheus", {})["port"] = port.get("port")
                break
    monitor = around.monitors.get(name)
    if monitor is not None:
        sm = entry.setdefault("prometheus", {}).setdefault("serviceMonitor", {})
        sm["enabled"] = True
        endpoints = as_list(as_dict(monitor.body.get("spec")).get("endpoints"))
        if endpoints and isinstance(endpoints[0], dict) and "interval" in endpoints[0]:
            sm["interval"] = endpoints[0]["interval"]


def _from_connection(out: Derived, around: Neighbours) -> None:
    workload = out.workload
    base, where = workload.base, workload.obj.ref
    blend = workload.values_map == "cacheBlendEngines"
    if blend:
        out.unobservable.add(f"{base}.injection")
    cm = around.configmaps.get(workload.entry + CONNECTION_SUFFIX)
    if cm is None:
        return
    out.connection = cm
    data = as_dict(cm.body.get("data"))
    kv = _json_key(data, KV_TRANSFER_CONFIG_KEY, cm, base, out.issues)
    if blend and isinstance(kv, dict):
        extra = kv.get("kv_connector_extra_config") or {}
        if isinstance(extra, dict):
            if "cb.check_layer" in extra:
                out.entry.setdefault("blend", {})["checkLayer"] = extra["cb.check_layer"]
            if "cb.recomp_ratio" in extra:
                out.entry.setdefault("blend", {})["recompRatio"] = extra["cb.recomp_ratio"]
    if blend and INJECTION_CONFIG_KEY in data:
        injection = _json_key(data, INJECTION_CONFIG_KEY, cm, base, out.issues)
        if isinstance(injection, dict):
            out.entry["injection"] = injection
            out.unobservable.discard(f"{base}.injection")
        elif injection is not None:
            out.issues.append(
                Issue(
                    f"{base}.injection",
                    f"{cm.ref} key {INJECTION_CONFIG_KEY} must be a JSON object",
                    where,
                )
            )


def _json_key(data: Any, key: str, cm: Obj, base: str, issues: list[Issue]) -> Any:
    text = data.get(key) if isinstance(data, dict) else None
    if text is None:
        return None
    try:
        return json.loads(str(text))
    except ValueError as exc:
        issues.append(Issue(base, f"key {key} is not valid JSON ({exc})", cm.ref))
        return None
