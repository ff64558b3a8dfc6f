"""What Kubernetes, Prometheus and the LMCache fleet will check, checked on the running pods.

`check(cluster, scenario)` runs on a node thread (inside the node namespace) and returns a
`Report`: one line per thing started and per thing that answered, and one failure per
thing that did not, each carrying the last log lines of the process behind it.

Checks, in order: every pod's startup probe within its budget (initialDelaySeconds +
periodSeconds x failureThreshold), then its readiness and liveness probes; every Service
port (through its cluster IP, or at each endpoint for a headless Service); every
ServiceMonitor endpoint (port -> Service -> targetPort -> pod, path); every connection
ConfigMap's address, as vLLM would dial it; each engine's /status against its values; each
engine's registration with the coordinator its values name; each `resp` L2 adapter's
connection to its Redis; finally, that every process still runs and logged no warning
outside `ALLOWED`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from lmcache_k8s.names import COMPONENTS, COORDINATOR_LABEL, ENGINE_LABEL, KV_TRANSFER_CONFIG_KEY
from lmcache_k8s.values import Values
from tests.runtime import kubelet, node
from tests.runtime.cluster import Cluster, Pod, Release, Scenario, selects

POLL = 0.25  # seconds between attempts; the kubelet's period only bounds the budget
# Seconds after a pod's startup probe succeeded that its other ports get to answer: the
# probes watch the ZMQ port, which lmcache opens before its HTTP frontend.
SETTLE = 20.0
REGISTRATION_GRACE = 10.0  # seconds past both pods' start-up for the first heartbeat to land
SERIES_PREFIX = "lmcache_mp_"
_MAP_OF_COMPONENT = {component: kind for kind, component in COMPONENTS.items()}
_SEVERE = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback|Error\]|\b\w+Warning: ")
_STAMP = re.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")


@dataclass(frozen=True)
class Allowed:
    """A log line that may appear at start-up, and why it says nothing about our objects."""

    pattern: str
    reason: str
    # Optional extra condition on (pod, line, scenario, cluster): the line is allowed only
    # when it returns True.
    when: Callable[[Pod, str, Scenario], bool] | None = None


def _before_coordinator_was_up(pod: Pod, line: str, scenario: Scenario) -> bool:
    coordinators = [p for label, p in scenario.pods.items() if label.startswith("Deployment/")]
    match = _STAMP.search(line)
    if not match or not coordinators:
        return False
    logged = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
    ready = [p.ready_wall for p in coordinators if p.ready_wall is not None]
    return bool(ready) and logged <= max(ready) + 1.0


# The documented allow-list (docs/development.md, "Runtime tier"). Anything else a process
# logs at WARNING or above fails its scenario.
ALLOWED = (
    Allowed(
        r"LazyMemoryAllocator requires memory pinning which is not supported",
        "CPU only: lazy L1 allocation needs pinned memory, which needs a GPU; lmcache then"
        " allocates L1 up front, as this tier expects",
    ),
    Allowed(
        r"Coordinator registration/heartbeat failed",
        "start-up order: an engine that starts before its coordinator retries on the next"
        " heartbeat (allowed only while the coordinator was not ready yet)",
        _before_coordinator_was_up,
    ),
)


@dataclass
class Report:
    scenario: str
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0  # from the processes' start to the last check
    started: list[str] = field(default_factory=list)
    answered: dict[str, int] = field(default_factory=dict)  # what answered -> how many
    tier: str = ""  # the whole tier's figures, set by the fixture

    def ok(self, line: str, what: str = "") -> None:
        self.lines.append(line)
        if what:
            self.answered[what] = self.answered.get(what, 0) + 1

    def summary(self) -> str:
        """One line: what this scenario started and what answered."""
        started = ", ".join(self.started) or "nothing of its own (same pods as another scenario)"
        answered = ", ".join(f"{n} {what}" for what, n in self.answered.items())
        failed = f"; {len(self.failures)} FAILED" if self.failures else ""
        return f"{self.scenario} ({self.seconds:.0f} s): started {started}; answered: {answered}{failed}"

    def fail(self, pod: Pod | None, message: str) -> None:
        text = message
        if pod is not None:
            code = pod.exited()
            state = f"exited with code {code}" if code is not None else f"pid {pod.proc.pid}"
            tail = "\n".join(f"      | {line}" for line in pod.tail()) or "      | (no output)"
            text += f"\n    last log lines of {pod.label} ({state}, pod IP {pod.ip}):\n{tail}"
        self.failures.append(text)
        self.lines.append(f"FAILED: {message}")


def check(cluster: Cluster, scenario: Scenario) -> Report:
    report = Report(scenario.name)
    for note in scenario.notes:
        report.ok(f"note: {note}")
    for label, why in sorted(scenario.skipped.items()):
        report.ok(f"{label}: {why}")
    own = _distinct(p for p in scenario.pods.values())
    for pod in own:
        if pod.owner == scenario.name:
            report.ok(f"started {pod.label}: pod {pod.ip}, {_short(pod.argv)}")
            report.started.append(pod.label)
    for redis in scenario.redis:
        report.ok(f"started redis-server for {redis.host}:{redis.port}: pod {redis.pod.ip}")
        report.started.append("redis-server")

    up = _startup(own, report)
    for pod in up:
        if pod.owner == scenario.name:
            _other_ports(pod, report)
        _other_probes(pod, report)
    _services(cluster, scenario, up, report)
    _monitors(cluster, scenario, up, report)
    _connections(scenario, up, report)
    expected = _expectations(scenario)
    for label, pod in scenario.pods.items():
        if pod not in up or label not in expected:
            continue
        kind, spec = expected[label]
        if kind != "coordinators":
            _status(pod, kind, spec, report)
            _registration(scenario, pod, spec, report)
            _l2(scenario, pod, spec, report)
    for pod in own:
        if pod.owner == scenario.name:
            _logs(pod, scenario, report)
    started = min((p.started for p in own if p.started), default=time.monotonic())
    report.seconds = time.monotonic() - started
    return report


def _distinct(pods) -> list[Pod]:
    return list({id(p): p for p in pods}.values())


def _short(argv: list[str]) -> str:
    text = " ".join(["lmcache", *argv[1:]]) if argv else ""
    return text if len(text) <= 160 else text[:157] + "..."


# -- probes -------------------------------------------------------------------------------------


def _probe_once(pod: Pod, probe: kubelet.Probe) -> str:
    """ "" on success, else why (a kubelet's view: pod IP, the probe's own timeout)."""
    if probe.action == "tcpSocket":
        return node.tcp_open(pod.ip, probe.port, probe.timeout)
    answer = node.http_get(pod.ip, probe.port, probe.path, probe.timeout)
    if isinstance(answer, str):
        return answer
    return "" if answer.ok else f"HTTP {answer.status}"


def _startup(pods: list[Pod], report: Report) -> list[Pod]:
    """Wait for each pod's startup probe (its readiness probe if it has none) in its budget."""
    gates = {}
    for pod in pods:
        found = {p.kind: p for p in kubelet.probes(pod.container)}
        gate = found.get("startupProbe") or found.get("readinessProbe")
        if gate is None:
            report.fail(pod, f"{pod.label}: has neither a startup nor a readiness probe")
            continue
        gates[id(pod)] = (pod, gate)
    up, last_error = [], {}
    while gates:
        for key, (pod, gate) in list(gates.items()):
            elapsed = time.monotonic() - pod.started
            if pod.ready_after is not None:
                error = ""
            elif pod.exited() is not None:
                report.fail(pod, f"{pod.label}: exited before its {gate.describe()} succeeded")
                del gates[key]
                continue
            elif elapsed > gate.budget:
                report.fail(
                    pod,
                    f"{pod.label}: {gate.describe()} did not succeed within its budget of"
                    f" {gate.budget} s (last: {last_error.get(key, '?')})",
                )
                del gates[key]
                continue
            else:
                error = _probe_once(pod, gate)
            if error:
                last_error[key] = error
                continue
            if pod.ready_after is None:
                pod.ready_after, pod.ready_wall = elapsed, time.time()
            report.ok(
                f"{pod.label}: {gate.describe()} answered after {pod.ready_after:.1f} s"
                f" (budget {gate.budget} s)",
                "probes",
            )
            up.append(pod)
            del gates[key]
        if gates:
            time.sleep(POLL)
    return up


def _deadline(pod: Pod) -> float:
    return pod.started + (pod.ready_after or 0.0) + SETTLE


def _until(deadline: float, attempt: Callable[..., tuple[str, str]], *args: Any) -> tuple[str, str]:
    """Retry attempt(*args) -> (error, what answered) until it succeeds or time is up."""
    while True:
        error, what = attempt(*args)
        if not error or time.monotonic() >= deadline:
            return error, what
        time.sleep(0.5)


def _other_ports(pod: Pod, report: Report) -> None:
    """Every declared container port listens; how long after the startup probe it did."""
    gate = next(iter(kubelet.probes(pod.container)), None)
    for port in pod.container.get("ports") or []:
        number = int(port["containerPort"])
        if gate is not None and number == gate.port:
            continue
        error, _ = _until(_deadline(pod), _tcp, pod.ip, number)
        lag = time.monotonic() - pod.started - (pod.ready_after or 0.0)
        if error:
            report.fail(pod, f"{pod.label}: container port {port.get('name')} {number}: {error}")
        else:
            report.ok(
                f"{pod.label}: container port {port.get('name')} {number} listening"
                f" {max(lag, 0.0):.1f} s after the startup probe succeeded",
                "container ports",
            )


def _other_probes(pod: Pod, report: Report) -> None:
    for probe in kubelet.probes(pod.container):
        if probe.kind == "startupProbe":
            continue
        errors = []
        for _ in range(probe.failure_threshold):
            error = _probe_once(pod, probe)
            if not error:
                break
            errors.append(error)
            time.sleep(0.5)
        else:
            report.fail(
                pod,
                f"{pod.label}: {probe.describe()} failed {probe.failure_threshold} times in a"
                f" row ({errors[-1]}): the kubelet would "
                + ("restart the container" if probe.kind == "livenessProbe" else "not route to it"),
            )
            continue
        report.ok(f"{pod.label}: {probe.describe()} answered", "probes")


# -- Services, ServiceMonitors, connection ConfigMaps ------------------------------------------


def _tcp(host: str, port: int) -> tuple[str, str]:
    return node.tcp_open(host, port, 2.0), "TCP open"


def _zmtp(host: str, port: int) -> tuple[str, str]:
    return node.zmtp_greeting(host, port), "ZMQ (ZMTP greeting)"


def _answers(host: str, port: int, purpose: str, path: str = "") -> tuple[str, str]:
    """(error, what answered) for one address, judged by what the port is for."""
    if purpose == "metrics":
        return scrape(host, port, path or "/metrics")
    if purpose == "zmq":
        error = node.zmtp_greeting(host, port)
        return error, "ZMQ (ZMTP greeting)"
    if purpose.startswith("/"):
        answer = node.http_get(host, port, purpose, 2.0)
        if isinstance(answer, str):
            return answer, ""
        return ("" if answer.ok else f"HTTP {answer.status}"), f"GET {purpose} {answer.status}"
    error = node.tcp_open(host, port, 2.0)
    return error, "TCP open"


def scrape(host: str, port: int, path: str) -> tuple[str, str]:
    """Fetch path as Prometheus would; it must be exposition text with lmcache_mp_* series."""
    answer = node.http_get(host, port, path, 5.0)
    if isinstance(answer, str):
        return f"GET {path}: {answer}", ""
    if answer.status != 200:
        return f"GET {path}: HTTP {answer.status}", ""
    if not answer.content_type.startswith("text/plain"):
        return f"GET {path}: Content-Type {answer.content_type!r} is not Prometheus text", ""
    try:
        families = list(text_string_to_metric_families(answer.body))
    except ValueError as exc:
        return f"GET {path}: not Prometheus text ({exc})", ""
    ours = [f for f in families if f.name.startswith(SERIES_PREFIX)]
    if not ours:
        return f"GET {path}: Prometheus text without any {SERIES_PREFIX}* series", ""
    return "", f"GET {path}: Prometheus text, {len(ours)} {SERIES_PREFIX}* metric families"


def _purpose(pod: Pod, port_name: str, container_port: int) -> str:
    if port_name == "metrics":
        return "metrics"
    if port_name == "server":
        return "zmq"
    for probe in kubelet.probes(pod.container):
        if probe.action == "httpGet" and probe.port == container_port:
            return probe.path
    return "tcp"


def _services(cluster: Cluster, scenario: Scenario, up: list[Pod], report: Report) -> None:
    for release, svc in scenario.objects("Service"):
        name = f"Service/{svc['metadata']['name']}"
        spec = svc.get("spec") or {}
        pods = cluster.endpoints(scenario, release, svc)
        if not pods:
            selector = spec.get("selector") or {}
            skipped = [scenario.workloads[label] for label in scenario.skipped]
            if any(
                w.namespace == release.namespace and selects(selector, w.labels) for w in skipped
            ):
                report.ok(f"{name}: selects a workload this tier does not run: not checked")
            else:
                report.fail(None, f"{name}: selects no pod (selector {selector})")
            continue
        headless = spec.get("clusterIP") == "None"
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port["port"])
            for pod in pods:
                if pod not in up:
                    continue
                try:
                    number = kubelet.container_port(pod.container, target)
                except LookupError as exc:
                    report.fail(pod, f"{name} port {port.get('name')}: targetPort: {exc}")
                    continue
                purpose = _purpose(pod, port.get("name", ""), number)
                host, at = (pod.ip, number)
                if not headless:
                    host, at = scenario.dns[_fqdn(svc, release)], port["port"]
                error, what = _until(_deadline(pod), _answers, host, at, purpose)
                where = (
                    f"{name} port {port.get('name')} {port['port']} -> targetPort {target}"
                    f" ({pod.label} :{number})"
                )
                if error:
                    report.fail(pod, f"{where}: {error}")
                else:
                    report.ok(f"{where}: {what}", "Service ports")
                if not headless:
                    break  # through the cluster IP: one endpoint answered for all


def _fqdn(svc: dict[str, Any], release: Release) -> str:
    return f"{svc['metadata']['name']}.{release.namespace}.svc.cluster.local"


def _monitors(cluster: Cluster, scenario: Scenario, up: list[Pod], report: Report) -> None:
    for release, monitor in scenario.objects("ServiceMonitor"):
        name = f"ServiceMonitor/{monitor['metadata']['name']}"
        spec = monitor.get("spec") or {}
        if spec.get("namespaceSelector"):
            report.fail(None, f"{name}: namespaceSelector is not modelled by the runtime tier")
            continue
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        services = [
            (r, s)
            for r, s in scenario.objects("Service")
            if r.namespace == release.namespace
            and all(((s["metadata"].get("labels") or {}).get(k) == v) for k, v in selector.items())
        ]
        if not services:
            report.fail(None, f"{name}: its selector {selector} matches no Service")
            continue
        for endpoint in spec.get("endpoints") or []:
            path = endpoint.get("path", "/metrics")
            scraped = 0
            for r, svc in services:
                port = next(
                    (
                        p
                        for p in svc["spec"].get("ports", [])
                        if p.get("name") == endpoint.get("port")
                    ),
                    None,
                )
                if port is None:
                    continue
                for pod in cluster.endpoints(scenario, r, svc):
                    if pod not in up:
                        continue
                    try:
                        number = kubelet.container_port(
                            pod.container, port.get("targetPort", port["port"])
                        )
                    except LookupError as exc:
                        report.fail(pod, f"{name} -> Service/{svc['metadata']['name']}: {exc}")
                        continue
                    error, what = _until(_deadline(pod), scrape, pod.ip, number, path)
                    where = (
                        f"{name} endpoint port {endpoint.get('port')} -> Service/"
                        f"{svc['metadata']['name']} -> {pod.label} :{number}"
                    )
                    scraped += 1
                    if error:
                        report.fail(pod, f"{where}: {error}")
                    else:
                        report.ok(f"{where}: {what}", "ServiceMonitor endpoints")
            skipped = [scenario.workloads[label] for label in scenario.skipped]
            not_run = any(
                w.namespace == r.namespace and selects(svc["spec"].get("selector") or {}, w.labels)
                for r, svc in services
                for w in skipped
            )
            if not scraped and not_run:
                report.ok(f"{name}: scrapes a workload this tier does not run: not checked")
            elif not scraped:
                report.fail(
                    None,
                    f"{name}: endpoint port {endpoint.get('port')!r} leads to no running pod"
                    f" through Services {[s['metadata']['name'] for _, s in services]}",
                )


def _connections(scenario: Scenario, up: list[Pod], report: Report) -> None:
    """Dial each connection ConfigMap's lmcache.mp.host:port as vLLM's connector would."""
    deadline = max([_deadline(p) for p in up], default=time.monotonic())
    for _, cm in scenario.objects("ConfigMap"):
        text = (cm.get("data") or {}).get(KV_TRANSFER_CONFIG_KEY)
        if not text:
            continue
        extra = json.loads(text).get("kv_connector_extra_config") or {}
        host = str(extra.get("lmcache.mp.host", "")).removeprefix("tcp://")
        port = int(extra.get("lmcache.mp.port", 0))
        name = f"ConfigMap/{cm['metadata']['name']}"
        address = scenario.dns.get(host)
        if address is None:
            report.fail(None, f"{name}: {host} is not a Service name of this release")
            continue
        error, _ = _until(deadline, _zmtp, address, port)
        if error:
            report.fail(None, f"{name}: tcp://{host}:{port}: {error}")
        else:
            report.ok(f"{name}: tcp://{host}:{port} answers ZMQ", "connection ConfigMaps")


# -- engines against their values --------------------------------------------------------------


def _expectations(scenario: Scenario) -> dict[str, tuple[str, Any]]:
    """Workload label -> (values map, entry with every default) for the scenario's own release."""
    values = Values.model_validate(scenario.values)
    out = {}
    for label, workload in scenario.workloads.items():
        if " in " in label:
            continue  # an external release: no values of the scenario describe it
        kind = _MAP_OF_COMPONENT.get(workload.component)
        entry = workload.labels.get(COORDINATOR_LABEL if kind == "coordinators" else ENGINE_LABEL)
        spec = getattr(values, kind, {}).get(entry) if kind else None
        if spec is not None:
            out[label] = (kind, spec)
    return out


def _get_json(host: str, port: int, path: str) -> tuple[Any, str]:
    answer = node.http_get(host, port, path, 5.0)
    if isinstance(answer, str):
        return None, answer
    if answer.status != 200:
        return None, f"HTTP {answer.status}"
    try:
        return json.loads(answer.body), ""
    except ValueError as exc:
        return None, f"not JSON ({exc})"


def _status(pod: Pod, kind: str, spec: Any, report: Report) -> None:
    port = spec.server.httpPort
    status, error = None, ""

    def fetch() -> tuple[str, str]:
        nonlocal status
        status, problem = _get_json(pod.ip, port, "/status")
        return problem, ""

    error, _ = _until(_deadline(pod), fetch)
    if error:
        report.fail(pod, f"{pod.label}: GET :{port}/status: {error}")
        return
    l1 = ((status.get("storage_manager") or {}).get("l1_manager") or {}).get("memory_total_bytes")
    want_l1 = spec.l1.sizeGB * 2**30
    got = {
        "chunk_size": status.get("chunk_size"),
        "hash_algorithm": status.get("hash_algorithm"),
        "L1 bytes": l1,
    }
    want = {
        "chunk_size": spec.server.chunkSize,
        "hash_algorithm": spec.server.hashAlgorithm,
        "L1 bytes": int(want_l1) if float(want_l1).is_integer() else want_l1,
    }
    wrong = [f"{k} {got[k]!r} (values ask {want[k]!r})" for k in want if got[k] != want[k]]
    if kind == "cacheBlendEngines" and "active_cb_lookups" not in status:
        wrong.append("no CacheBlend module in /status (active_cb_lookups missing)")
    if wrong:
        report.fail(pod, f"{pod.label}: /status: " + "; ".join(wrong))
        return
    blend = ", CacheBlend module loaded" if kind == "cacheBlendEngines" else ""
    report.ok(
        f"{pod.label}: /status chunk_size {got['chunk_size']}, hash_algorithm"
        f" {got['hash_algorithm']}, L1 {l1} bytes = {spec.l1.sizeGB} x 2^30{blend}",
        "/status",
    )


def _coordinator_pods(scenario: Scenario, spec: Any) -> tuple[str, list[Pod]]:
    ref = spec.coordinator.ref
    if ref is not None:
        target = f"Deployment/{ref.name}"
        return target, [p for label, p in scenario.pods.items() if label == target]
    host = (spec.coordinator.url or "").split("//", 1)[-1].split("/")[0].split(":")[0]
    svc, namespace = host.split(".")[:2]
    target = f"Deployment/{svc} in {namespace}"
    return target, [p for label, p in scenario.pods.items() if label == target]


def _registration(scenario: Scenario, pod: Pod, spec: Any, report: Report) -> None:
    if spec.coordinator is None:
        return
    target, coordinators = _coordinator_pods(scenario, spec)
    if not coordinators:
        report.fail(pod, f"{pod.label}: its coordinator {target} is not running")
        return
    coordinator = coordinators[0]
    port = kubelet.container_port(coordinator.container, "http")
    starts = [pod.ready_after, coordinator.ready_after]
    if None in starts:
        report.fail(pod, f"{pod.label}: cannot check registration: {target} did not start")
        return
    deadline = (
        max(pod.started + pod.ready_after, coordinator.started + coordinator.ready_after)
        + 2 * spec.coordinator.heartbeatInterval
        + REGISTRATION_GRACE
    )
    seen: list[str] = []
    while True:
        body, error = _get_json(coordinator.ip, port, "/instances")
        instances = (body or {}).get("instances") or []
        seen = [f"{i.get('ip')}:{i.get('http_port')}" for i in instances]
        mine = [i for i in instances if i.get("ip") == pod.ip]
        if mine:
            http_port = mine[0].get("http_port")
            if http_port != spec.server.httpPort:
                report.fail(
                    pod,
                    f"{pod.label}: registered with {target} with http_port {http_port},"
                    f" not {spec.server.httpPort}",
                )
            else:
                report.ok(
                    f"{pod.label}: registered with {target} as {pod.ip}:{http_port}"
                    f" (advertised pod IP)",
                    "registrations",
                )
            return
        if time.monotonic() > deadline:
            report.fail(
                pod,
                f"{pod.label}: not registered with {target} under its pod IP {pod.ip}"
                f" (/instances: {seen or error or 'empty'})",
            )
            return
        time.sleep(0.5)


def _l2(scenario: Scenario, pod: Pod, spec: Any, report: Report) -> None:
    backends = spec.l2Backends or []
    if not backends:
        return
    deadline = _deadline(pod)
    while True:
        error, active = _active_adapters(pod, spec.server.httpPort)
        if not error and active == len(backends):
            break
        if time.monotonic() > deadline:
            report.fail(
                pod,
                f"{pod.label}: /metrics shows {active} active L2 store adapters, values list"
                f" {len(backends)} ({error or 'lmcache_mp_l2_store_adapters{state=active}'})",
            )
            return
        time.sleep(0.5)
    for backend in backends:
        redis = next(r for r in scenario.redis if r.host == backend.model_extra["host"])
        clients = ""
        while True:
            listing = node.redis_command(redis.pod.ip, redis.port, redis.password, "CLIENT", "LIST")
            clients = [c for c in listing.splitlines() if f" addr={pod.ip}:" in f" {c}"]
            if clients:
                break
            if time.monotonic() > deadline:
                report.fail(
                    pod,
                    f"{pod.label}: no authenticated connection from {pod.ip} at redis-server"
                    f" {redis.host}:{redis.port} ({listing[:200] if listing.startswith('error') else 'CLIENT LIST has none'})",
                )
                return
            time.sleep(0.5)
        report.ok(
            f"{pod.label}: L2 resp adapter active in /metrics; redis-server {redis.host} sees"
            f" {len(clients)} authenticated connections from {pod.ip}",
            "L2 adapters",
        )


def _active_adapters(pod: Pod, port: int) -> tuple[str, int]:
    answer = node.http_get(pod.ip, port, "/metrics", 5.0)
    if isinstance(answer, str):
        return answer, 0
    active = 0
    for family in text_string_to_metric_families(answer.body):
        for sample in family.samples:
            if (
                sample.name == "lmcache_mp_l2_store_adapters"
                and sample.labels.get("state") == "active"
            ):
                active += int(sample.value)
    return "", active


# -- logs ----------------------------------------------------------------------------------------


def _logs(pod: Pod, scenario: Scenario, report: Report) -> None:
    if pod.exited() is not None:
        report.fail(pod, f"{pod.label}: the process is no longer running")
        return
    allowed: dict[str, int] = {}
    bad = []
    for line in pod.log_lines():
        if not _SEVERE.search(line):
            continue
        rule = next(
            (
                a
                for a in ALLOWED
                if re.search(a.pattern, line) and (a.when is None or a.when(pod, line, scenario))
            ),
            None,
        )
        if rule is None:
            bad.append(line.strip())
        else:
            allowed[rule.pattern] = allowed.get(rule.pattern, 0) + 1
    if bad:
        shown = "\n".join(f"      ! {line[:300]}" for line in bad[:10])
        report.fail(
            pod,
            f"{pod.label}: logged {len(bad)} warning/error line(s) outside the allow-list:\n{shown}",
        )
        return
    extra = f" (allowed: {', '.join(f'{n}x {p!r}' for p, n in allowed.items())})" if allowed else ""
    report.ok(f"{pod.label}: still running, no warnings in its log{extra}", "clean logs")
