"""What a kubelet makes of a rendered container before it starts the process.

Pure functions, no processes: the environment (Service links, `env` with `$(VAR)` references,
the downward API, Secrets), the expanded command line, named ports, and the probe budget.
The rules follow the Kubernetes documentation of `EnvVar`, `Container.args`, "Expose Pod
Information to Containers Through Environment Variables" and "Configure Liveness, Readiness
and Startup Probes"; where this module does not know a source it raises `Unsupported`
instead of guessing, so the runtime tier never starts a process Kubernetes would not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Kubernetes' defaults for a probe's unset fields (core/v1 Probe).
PROBE_DEFAULTS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "failureThreshold": 3,
    "successThreshold": 1,
}
PROBE_KINDS = ("startupProbe", "readinessProbe", "livenessProbe")


class Unsupported(Exception):
    """The container needs something this emulation does not provide."""


@dataclass
class PodFacts:
    """What the API server and the kubelet know about one pod when its containers start."""

    name: str
    namespace: str
    pod_ip: str
    node_name: str = "runtime-node"
    host_ip: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    service_account: str = "default"
    uid: str = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class ServiceLink:
    """A Service of the pod's namespace as Service-link environment variables see it."""

    name: str
    cluster_ip: str
    ports: tuple[tuple[str, int, str], ...]  # (port name, port, protocol)


_REF = re.compile(r"\$(\$|\(([^)]*)\))")


def expand(text: str, env: dict[str, str]) -> str:
    """Expand `$(VAR)` as Kubernetes does in env values, command and args.

    `$$` is an escaped `$`; `$(VAR)` becomes VAR's value when VAR is defined and stays as
    written when it is not; any other `$` is kept. Expansion is not recursive.
    """

    def one(match: re.Match[str]) -> str:
        if match.group(1) == "$":
            return "$"
        name = match.group(2)
        return env[name] if name in env else match.group(0)

    return _REF.sub(one, text)


def service_link_env(services: list[ServiceLink]) -> dict[str, str]:
    """The docker-link style variables a kubelet sets for every Service with a cluster IP.

    Headless Services (no cluster IP) get none; names are upper-cased with `-` as `_`.
    """
    env: dict[str, str] = {}
    for svc in services:
        if not svc.cluster_ip or svc.cluster_ip == "None" or not svc.ports:
            continue
        prefix = svc.name.upper().replace("-", "_")
        first_name, first_port, first_proto = svc.ports[0]
        env[f"{prefix}_SERVICE_HOST"] = svc.cluster_ip
        env[f"{prefix}_SERVICE_PORT"] = str(first_port)
        env[f"{prefix}_PORT"] = f"{first_proto.lower()}://{svc.cluster_ip}:{first_port}"
        for port_name, port, proto in svc.ports:
            if port_name:
                env[f"{prefix}_SERVICE_PORT_{port_name.upper().replace('-', '_')}"] = str(port)
            base = f"{prefix}_PORT_{port}_{proto.upper()}"
            env[base] = f"{proto.lower()}://{svc.cluster_ip}:{port}"
            env[f"{base}_PROTO"] = proto.lower()
            env[f"{base}_PORT"] = str(port)
            env[f"{base}_ADDR"] = svc.cluster_ip
    return env


def _field_ref(path: str, pod: PodFacts) -> str:
    simple = {
        "metadata.name": pod.name,
        "metadata.namespace": pod.namespace,
        "metadata.uid": pod.uid,
        "spec.nodeName": pod.node_name,
        "spec.serviceAccountName": pod.service_account,
        "status.hostIP": pod.host_ip,
        "status.hostIPs": pod.host_ip,
        "status.podIP": pod.pod_ip,
        "status.podIPs": pod.pod_ip,
    }
    if path in simple:
        return simple[path]
    match = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if match:
        source = pod.labels if match.group(1) == "labels" else pod.annotations
        return source.get(match.group(2), "")
    raise Unsupported(f"fieldRef {path!r} is not a downward API field this emulation knows")


def container_env(
    container: dict[str, Any],
    pod: PodFacts,
    *,
    secrets: dict[tuple[str, str], str],
    config_maps: dict[tuple[str, str], str] | None = None,
    services: list[ServiceLink] = (),
    service_links: bool = True,
) -> dict[str, str]:
    """The container's environment, in the kubelet's order: Service links, then `env`.

    `secrets` and `config_maps` map (object name, key) to the value a cluster would hold.
    A value may reference any variable defined before it (Service links included).
    Raises Unsupported for `envFrom` and sources not modelled here, KeyError-like
    Unsupported for a missing non-optional Secret or ConfigMap key (the pod would not start).
    """
    config_maps = config_maps or {}
    env: dict[str, str] = service_link_env(list(services)) if service_links else {}
    if container.get("envFrom"):
        raise Unsupported("envFrom is not modelled by the runtime tier")
    for var in container.get("env") or []:
        name = var["name"]
        if "valueFrom" not in var:
            env[name] = expand(str(var.get("value", "")), env)
            continue
        source = var["valueFrom"]
        if "fieldRef" in source:
            env[name] = _field_ref(source["fieldRef"]["fieldPath"], pod)
        elif "secretKeyRef" in source or "configMapKeyRef" in source:
            kind = "secretKeyRef" if "secretKeyRef" in source else "configMapKeyRef"
            ref = source[kind]
            table = secrets if kind == "secretKeyRef" else config_maps
            key = (ref["name"], ref["key"])
            if key in table:
                env[name] = table[key]
            elif not ref.get("optional"):
                raise Unsupported(f"{kind} {ref['name']}/{ref['key']} has no value in the test")
        else:
            raise Unsupported(f"env {name}: valueFrom {sorted(source)} is not modelled")
    return env


def command_line(container: dict[str, Any], env: dict[str, str]) -> list[str]:
    """command + args with `$(VAR)` expanded against the container's environment."""
    return [
        expand(str(a), env) for a in [*(container.get("command") or []), *container.get("args", [])]
    ]


def container_port(container: dict[str, Any], port: int | str) -> int:
    """A probe's or a Service targetPort's port: a number, or the name of a container port."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise LookupError(f"container {container.get('name')} has no port named {port!r}")


@dataclass(frozen=True)
class Probe:
    """One probe with Kubernetes' defaults filled in."""

    kind: str  # startupProbe | readinessProbe | livenessProbe
    action: str  # tcpSocket | httpGet
    port: int
    path: str  # "" for tcpSocket
    initial_delay: int
    period: int
    timeout: int
    failure_threshold: int

    @property
    def budget(self) -> int:
        """Seconds after the container starts by which the probe must have succeeded."""
        return self.initial_delay + self.period * self.failure_threshold

    def describe(self) -> str:
        where = f":{self.port}{self.path}"
        return f"{self.kind.removesuffix('Probe')} {'http ' if self.path else 'tcp '}{where}"


def probes(container: dict[str, Any]) -> list[Probe]:
    """The container's probes; raises Unsupported for exec/grpc probes."""
    out = []
    for kind in PROBE_KINDS:
        spec = container.get(kind)
        if not spec:
            continue
        values = {k: int(spec.get(k, d)) for k, d in PROBE_DEFAULTS.items()}
        if "tcpSocket" in spec:
            action, path = "tcpSocket", ""
            port = container_port(container, spec["tcpSocket"]["port"])
        elif "httpGet" in spec:
            action, path = "httpGet", spec["httpGet"].get("path", "/")
            if spec["httpGet"].get("scheme", "HTTP") != "HTTP":
                raise Unsupported(f"{kind}: only HTTP httpGet probes are modelled")
            port = container_port(container, spec["httpGet"]["port"])
        else:
            raise Unsupported(f"{kind}: only tcpSocket and httpGet probes are modelled")
        out.append(
            Probe(
                kind,
                action,
                port,
                path,
                values["initialDelaySeconds"],
                values["periodSeconds"],
                values["timeoutSeconds"],
                values["failureThreshold"],
            )
        )
    return out
