"""Rendered objects -> pods in network namespaces running the real processes.

A `Scenario` is what one `helm template` (plus, where its values point outside the release,
the external releases the tier adds) would create in a cluster: workloads, Services,
ServiceMonitors, ConfigMaps. `Cluster.start` gives every LMCache workload one pod (one
network namespace, one process started as a kubelet would), gives every Service with a
cluster IP an address and a kube-proxy forwarder on the node, and writes each pod's DNS.

A pod whose container is identical to one already started (same command, args, env,
ports, probes and security context) and which reaches no other Service is not started
twice: the later scenario's Services select it by the later scenario's own pod labels and
namespace (`Workload`), its checks run against the first process, and the report says so.
Only the Service-link variables of its environment differ, which lmcache does not read.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.runtime import kubelet, netns
from tests.runtime.node import Node
from tests.support import ROOT, ref

IMAGE_LMCACHE = "/opt/venv/bin/lmcache"  # the command the chart renders (the image's venv)
LMCACHE = ROOT / ".tools" / "lmcache-cli" / "bin" / "lmcache"  # scripts/install-real-cli.sh
CLUSTER_DOMAIN = "cluster.local"
# What the image's ENV and the kubelet give every container before its own env.
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
WORKLOAD_KINDS = ("DaemonSet", "Deployment", "StatefulSet")
STOP_GRACE = 15.0  # seconds between SIGTERM and SIGKILL (a pod's default grace is 30 s)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Release:
    """One rendered manifest stream, as one namespace of a cluster would hold it."""

    name: str
    namespace: str
    docs: list[dict[str, Any]]
    external: bool = False  # added by the tier, not the scenario under test


@dataclass
class RedisServer:
    """A real Redis the tier starts for an engine's `resp` L2 adapter."""

    host: str  # the DNS name the values give; resolves to this server's pod
    port: int
    password: str
    pod: Pod | None = None


@dataclass
class Scenario:
    name: str
    values: dict[str, Any]  # the values rendered (scenario file + the tier's overlay)
    releases: list[Release]
    secrets: dict[tuple[str, str], str] = field(default_factory=dict)
    redis: list[RedisServer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    isolated: bool = False  # shares no pod with another scenario, either way
    # filled by Cluster.start
    pods: dict[str, Pod] = field(default_factory=dict)  # "Kind/name" of the workload -> pod
    workloads: dict[str, Workload] = field(default_factory=dict)  # every workload, run or not
    skipped: dict[str, str] = field(default_factory=dict)  # workload -> why no pod
    dns: dict[str, str] = field(default_factory=dict)  # name -> address, as pods resolve it

    def objects(self, kind: str) -> list[tuple[Release, dict[str, Any]]]:
        return [(r, d) for r in self.releases for d in r.docs if d.get("kind") == kind]


@dataclass(frozen=True)
class Workload:
    """How one scenario sees a pod: its namespace and pod labels (what selectors match)."""

    namespace: str
    labels: dict[str, str]
    component: str  # app.kubernetes.io/component


@dataclass
class Pod:
    """One running process in its own network namespace."""

    label: str  # "Kind/name" of the workload, or "redis-server"
    namespace: str
    template: dict[str, Any]  # the pod template (labels, spec)
    container: dict[str, Any]
    net: netns.PodNet
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    log: Path | None = None
    proc: subprocess.Popen | None = None
    started: float = 0.0  # time.monotonic() at start
    started_wall: float = 0.0  # time.time() at start
    ready_after: float | None = None  # seconds from start to the startup probe's success
    ready_wall: float | None = None
    owner: str = ""  # the scenario that started it
    name: str = ""  # the workload's name

    @property
    def ip(self) -> str:
        return self.net.ip

    @property
    def labels(self) -> dict[str, str]:
        return (self.template.get("metadata") or {}).get("labels") or {}

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def tail(self, lines: int = 15) -> list[str]:
        """The last lines the process wrote, colour codes removed."""
        if self.log is None or not self.log.exists():
            return []
        with self.log.open(errors="replace") as f:
            last = deque(f, maxlen=lines)
        return [_ANSI.sub("", line.rstrip("\n")) for line in last]

    def log_lines(self) -> list[str]:
        if self.log is None or not self.log.exists():
            return []
        return [_ANSI.sub("", line) for line in self.log.read_text(errors="replace").splitlines()]


def lmcache_container(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The container of a workload that runs `lmcache server|coordinator`, if any."""
    spec = (((doc.get("spec") or {}).get("template") or {}).get("spec")) or {}
    for container in spec.get("containers") or []:
        if (container.get("command") or [])[:1] == [IMAGE_LMCACHE]:
            return container
    return None


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def service_names(name: str, namespace: str, pod_namespace: str) -> list[str]:
    """The names cluster DNS answers for a Service, as a pod in pod_namespace may write them."""
    names = [
        f"{name}.{namespace}",
        f"{name}.{namespace}.svc",
        f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}",
    ]
    if namespace == pod_namespace:
        names.append(name)
    return names


def _share_key(container: dict[str, Any]) -> str | None:
    """Equal for two containers that run the same process; None when it must not be shared."""
    args = [str(a) for a in container.get("args") or []]
    if any(flag in args for flag in ("--coordinator-url", "--l2-adapter")):
        return None  # reaches other Services: only its own scenario's DNS is right for it
    fields = ("command", "args", "env", "envFrom", "ports", "securityContext", *kubelet.PROBE_KINDS)
    return json.dumps({k: container.get(k) for k in fields}, sort_keys=True)


def _security_wrapper(container: dict[str, Any]) -> list[str]:
    """setpriv(1) arguments applying the container's capability and privilege settings.

    Applied: capabilities.drop ALL (empty bounding and inheritable sets) and
    allowPrivilegeEscalation false (no_new_privs). Not applied: seccomp profiles, users.
    """
    ctx = container.get("securityContext") or {}
    if ctx.get("privileged"):
        return []
    args = []
    if "ALL" in ((ctx.get("capabilities") or {}).get("drop") or []):
        args += ["--bounding-set=-all", "--inh-caps=-all"]
    if ctx.get("allowPrivilegeEscalation") is False:
        args.append("--no-new-privs")
    return ["setpriv", *args] if args else []


class Cluster:
    """The pod network, the node, and every process started for a set of scenarios."""

    def __init__(self) -> None:
        self.net = netns.PodNetwork.create()
        self.node = Node(self.net.node)
        self.workdir = Path(tempfile.mkdtemp(prefix="lmcache-runtime-"))
        self.pods: list[Pod] = []
        self._shared: dict[str, tuple[Pod, str]] = {}

    # -- building --------------------------------------------------------------------------

    def start(self, scenarios: list[Scenario]) -> None:
        """Give every scenario its pods, Services and DNS, then start every process at once."""
        plans = []
        for scenario in scenarios:
            plans.append(self._plan(scenario))
        for scenario, (services, hosts_for) in zip(scenarios, plans, strict=True):
            for pod in {id(p): p for p in scenario.pods.values()}.values():
                if pod.owner == scenario.name and pod.label != "redis-server":
                    self.net.set_hosts(pod.net, hosts_for(pod.namespace))
            self._resolve_processes(scenario, services)
        for scenario in scenarios:
            for redis in scenario.redis:
                self._launch_redis(redis)
        for pod in self.pods:
            if pod.proc is None and pod.argv:
                self._launch(pod)

    def _plan(self, scenario: Scenario):
        # Pods first: headless Services and the DNS need their addresses.
        for release in scenario.releases:
            for doc in release.docs:
                if doc.get("kind") not in WORKLOAD_KINDS:
                    continue
                label = ref(doc) if not release.external else f"{ref(doc)} in {release.namespace}"
                labels = (doc["spec"]["template"].get("metadata") or {}).get("labels") or {}
                scenario.workloads[label] = Workload(
                    release.namespace, labels, labels.get("app.kubernetes.io/component", "")
                )
                container = lmcache_container(doc)
                if container is None:
                    scenario.skipped[label] = "not an LMCache process (not run by this tier)"
                    continue
                key = None if scenario.isolated else _share_key(container)
                if key is not None and key in self._shared:
                    pod, first = self._shared[key]
                    scenario.pods[label] = pod
                    scenario.notes.append(f"{label}: same container as {first}: not started again")
                    continue
                pod = Pod(
                    label,
                    release.namespace,
                    doc["spec"]["template"],
                    container,
                    self.net.add_pod({}),
                    owner=scenario.name,
                    name=doc["metadata"]["name"],
                )
                self.pods.append(pod)
                scenario.pods[label] = pod
                if key is not None:
                    self._shared[key] = (pod, f"{scenario.name} {label}")
        for redis in scenario.redis:
            redis.pod = Pod("redis-server", "", {}, {}, self.net.add_pod({}), owner=scenario.name)
            self.pods.append(redis.pod)
            scenario.dns[redis.host] = redis.pod.ip

        services = []
        for release, svc in scenario.objects("Service"):
            spec = svc.get("spec") or {}
            headless = spec.get("clusterIP") == "None"
            address = "" if headless else self.net.add_cluster_ip()
            services.append((release, svc, address))
            if address:
                for port in spec.get("ports") or []:
                    self.node.forward(
                        address, int(port["port"]), self._backends(scenario, release, svc, port)
                    )

        def hosts_for(namespace: str) -> dict[str, str]:
            hosts = dict(scenario.dns)
            for release, svc, address in services:
                target = address
                if not address:  # headless: the name resolves to the ready pods themselves
                    pods = self.endpoints(scenario, release, svc)
                    if not pods:
                        continue
                    target = pods[0].ip
                for name in service_names(svc["metadata"]["name"], release.namespace, namespace):
                    hosts[name] = target
            return hosts

        for release, svc, address in services:
            for name in service_names(svc["metadata"]["name"], release.namespace, ""):
                if address:
                    scenario.dns.setdefault(name, address)
        return services, hosts_for

    def endpoints(self, scenario: Scenario, release: Release, svc: dict[str, Any]) -> list[Pod]:
        """The scenario's pods a Service selects (same namespace, labels match)."""
        selector = (svc.get("spec") or {}).get("selector") or {}
        seen: dict[int, Pod] = {}
        for label, pod in scenario.pods.items():
            workload = scenario.workloads[label]
            if workload.namespace == release.namespace and selects(selector, workload.labels):
                seen[id(pod)] = pod
        return list(seen.values())

    def _backends(self, scenario: Scenario, release: Release, svc: dict[str, Any], port: dict):
        def backends() -> list[tuple[str, int]]:
            out = []
            for pod in self.endpoints(scenario, release, svc):
                with contextlib.suppress(LookupError):
                    target = port.get("targetPort", port["port"])
                    out.append((pod.ip, kubelet.container_port(pod.container, target)))
            return out

        return backends

    def _resolve_processes(self, scenario: Scenario, services) -> None:
        for label, pod in scenario.pods.items():
            if pod.owner != scenario.name or pod.label != label or pod.argv:
                continue
            links = [
                kubelet.ServiceLink(
                    s["metadata"]["name"],
                    address,
                    tuple(
                        (p.get("name", ""), int(p["port"]), p.get("protocol", "TCP"))
                        for p in (s.get("spec") or {}).get("ports") or []
                    ),
                )
                for r, s, address in services
                if r.namespace == pod.namespace
            ]
            facts = kubelet.PodFacts(
                name=f"{pod.name}-rt",
                namespace=pod.namespace,
                pod_ip=pod.ip,
                host_ip=self.net.node_ip,
                labels=pod.labels,
                service_account=(pod.template.get("spec") or {}).get("serviceAccountName")
                or "default",
            )
            spec = pod.template.get("spec") or {}
            env = kubelet.container_env(
                pod.container,
                facts,
                secrets=scenario.secrets,
                services=links,
                service_links=spec.get("enableServiceLinks", True),
            )
            pod.env = {**BASE_ENV, "HOSTNAME": facts.name, **env}
            argv = kubelet.command_line(pod.container, pod.env)
            if argv[:1] != [IMAGE_LMCACHE]:
                raise kubelet.Unsupported(f"{label}: cannot run command {argv[:1]}")
            pod.argv = [str(LMCACHE), *argv[1:]]

    # -- processes -------------------------------------------------------------------------

    def _popen(self, pod: Pod, argv: list[str], env: dict[str, str]) -> None:
        home = self.workdir / pod.net.netns
        home.mkdir(exist_ok=True)
        pod.log = home / "log"
        ip = netns.ip_binary() or "ip"
        # setpriv --pdeathsig: the process dies with this test process, even when it is killed.
        wrapped = ["setpriv", "--pdeathsig", "KILL", ip, "netns", "exec", pod.net.netns, *argv]
        with pod.log.open("wb") as log:
            pod.proc = subprocess.Popen(
                wrapped,
                env={**env, "HOME": str(home)},
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pod.started, pod.started_wall = time.monotonic(), time.time()

    def _launch(self, pod: Pod) -> None:
        self._popen(pod, [*_security_wrapper(pod.container), *pod.argv], pod.env)

    def _launch_redis(self, redis: RedisServer) -> None:
        assert redis.pod is not None
        redis.pod.argv = [
            "redis-server",
            "--bind", "0.0.0.0",
            "--port", str(redis.port),
            "--requirepass", redis.password,
            "--protected-mode", "no",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip
        self._popen(redis.pod, redis.pod.argv, dict(BASE_ENV))

    def stop(self) -> str:
        """SIGTERM every process group started here, SIGKILL what is left after STOP_GRACE.

        A group is signalled only while its leader is not reaped yet (poll() is None or
        wait() timed out), so its id cannot have been reused by anyone else's process.
        Returns how the processes ended, for the tier's summary line.
        """
        running = [p for p in self.pods if p.proc is not None and p.proc.poll() is None]
        begin = time.monotonic()
        for pod in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pod.proc.pid, signal.SIGTERM)
        killed = []
        for pod in running:
            try:
                pod.proc.wait(max(0.1, begin + STOP_GRACE - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pod.proc.pid, signal.SIGKILL)
                pod.proc.wait(10)
                killed.append(pod.label)
        if killed:
            return f"SIGKILL after {STOP_GRACE:.0f} s for {', '.join(killed)}"
        return f"all {len(running)} exited on SIGTERM within {time.monotonic() - begin:.1f} s"

    def close(self) -> str:
        try:
            return self.stop()
        finally:
            self.node.close()
            self.net.close()
            subprocess.run(["rm", "-rf", str(self.workdir)], check=False)
