"""The post-renderer as a pure function: manifest text in, manifest text or problems out.

    read the stream -> find managed workloads -> read their values back -> validate them
    -> enforce the invariants -> fix up vLLM consumers -> write the stream (or nothing)

Every problem is collected before anything is written, so a failing run reports all of them
and produces no output at all: never a partial stream.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lmcache_k8s.errors import Issue
from lmcache_k8s.names import CONNECTION_SUFFIX, KV_TRANSFER_CONFIG_KEY
from postrender.derive import Derived, Neighbours, derive
from postrender.invariants import enforce
from postrender.stream import Stream, StreamError, read_stream
from postrender.vllm import fix_consumer
from postrender.workloads import Obj, Workload, as_dict, as_list, classify, objects

L1_REQUIRED = "is required (lmcache server refuses to start without --l1-size-gb)"


@dataclass
class Outcome:
    output: str | None  # the post-rendered stream; None when there are errors
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changed: bool = False  # the output differs from the input
    objects: int = 0
    workloads: int = 0
    dialect: str = "plain"

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Namespace:
    neighbours: Neighbours = field(default_factory=Neighbours)
    derived: list[Derived] = field(default_factory=list)


class _Run:
    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.objects = list(objects(stream.documents))
        self.order = {id(o.body): i for i, o in enumerate(self.objects)}
        self.position: dict[str, int] = {}  # where -> first stream position
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []  # rules that only warn
        self.changes: list[Issue] = []  # fixes made to the objects
        self.spaces: dict[str, _Namespace] = defaultdict(_Namespace)
        self.workloads: list[Workload] = []

    def note(self, obj: Obj) -> None:
        self.position.setdefault(obj.ref, self.order.get(id(obj.body), 0))

    # -- collect ----------------------------------------------------------------------------
    def collect(self) -> None:
        for obj in self.objects:
            self.spaces[obj.namespace or ""].neighbours.add(obj)
        for obj in self.objects:
            workload = classify(obj)
            if workload is not None:
                self.note(obj)
                self.workloads.append(workload)

    def neighbours(self, namespace: str) -> Neighbours:
        """Side objects of a namespace; objects without a namespace count as in every one."""
        own = self.spaces[namespace].neighbours
        if not namespace or namespace not in self.spaces or "" not in self.spaces:
            return own
        unset = self.spaces[""].neighbours
        merged = Neighbours()
        for table in ("configmaps", "services", "monitors"):
            getattr(merged, table).update(getattr(unset, table))
            getattr(merged, table).update(getattr(own, table))
        return merged

    # -- derive and validate ----------------------------------------------------------------
    def validate(self) -> None:
        from lmcache_k8s.validate import check_values, warn_values  # pydantic: lazy

        for workload in self.workloads:
            namespace = workload.obj.namespace or ""
            for problem in workload.problems:
                self.errors.append(Issue(workload.base, problem, workload.obj.ref))
            self.spaces[namespace].derived.append(derive(workload, self.neighbours(namespace)))

        for space in self.spaces.values():
            if not space.derived:
                continue
            values: dict[str, Any] = {"engines": {}, "cacheBlendEngines": {}, "coordinators": {}}
            owners: dict[str, str] = {}
            unobservable: set[str] = set()
            for d in space.derived:
                w = d.workload
                self.errors.extend(d.issues)
                self.warnings.extend(d.notes)
                unobservable |= d.unobservable
                if w.entry in values[w.values_map]:
                    self.errors.append(
                        Issue(w.base, f"also defined by {owners[w.base]}", w.obj.ref)
                    )
                    continue
                values[w.values_map][w.entry] = d.entry
                owners[w.base] = w.obj.ref
            for issue in check_values(values):
                if issue.message == "is required" and issue.path in unobservable:
                    continue
                if issue.message == "is required" and issue.path.endswith(".l1.sizeGB"):
                    issue = Issue(issue.path, L1_REQUIRED, issue.where)
                self.errors.append(self._locate(issue, owners))
            for issue in warn_values(values):
                self.warnings.append(self._locate(issue, owners))
            self.errors.extend(_consistency(space, values))

    @staticmethod
    def _locate(issue: Issue, owners: dict[str, str]) -> Issue:
        """Prefix a values-path issue with the object it was read from."""
        if issue.where:
            return issue
        best = ""
        for base in owners:
            if (issue.path == base or issue.path.startswith(base + ".")) and len(base) > len(best):
                best = base
        return Issue(issue.path, issue.message, owners.get(best, ""))

    # -- enforce ----------------------------------------------------------------------------
    def enforce(self) -> None:
        connections: dict[str, set[str]] = defaultdict(set)
        managed = set()
        for namespace, space in self.spaces.items():
            for d in space.derived:
                managed.add(id(d.workload.obj.body))
                if d.workload.is_engine:
                    connections[namespace].add(d.workload.entry + CONNECTION_SUFFIX)
                    errors, changes = enforce(d)
                    self.errors.extend(errors)
                    self.changes.extend(changes)
        everywhere = set().union(*connections.values()) if connections else set()
        for obj in self.objects:
            if id(obj.body) in managed:
                continue
            namespace = obj.namespace or ""
            wanted = everywhere if not namespace else connections[namespace] | connections[""]
            if wanted:
                changes = fix_consumer(obj, wanted)
                if changes:
                    self.note(obj)
                    self.changes.extend(changes)

    # -- report -----------------------------------------------------------------------------
    def lines(self, issues: list[Issue]) -> list[str]:
        spaces = {w.obj.namespace or "" for w in self.workloads}
        namespaces = {w.obj.ref: w.obj.namespace for w in self.workloads}
        out = []
        unique = list(dict.fromkeys(issues))  # first report wins, order kept
        for issue in sorted(unique, key=lambda i: self.position.get(i.where, 1 << 30)):
            text = str(issue)
            ns = namespaces.get(issue.where)
            if len(spaces) > 1 and ns:
                text = f"{ns}/{text}"
            out.append(text)
        return out


def _consistency(space: _Namespace, values: dict[str, Any]) -> list[Issue]:
    """Rules between a workload and the objects beside it, which values alone cannot break."""
    issues: list[Issue] = []
    coordinators = values["coordinators"]
    for d in space.derived:
        w = d.workload
        if not w.is_engine:
            _metrics_service(d, d.entry.get("port", 9300), issues)
            continue
        server = d.entry.get("server", {})
        _metrics_service(d, server.get("httpPort", 8080), issues)
        port = server.get("port", 5555)
        if d.connection is not None:
            kv = _kv(d.connection)
            mp_port = (kv.get("kv_connector_extra_config") or {}).get("lmcache.mp.port")
            if mp_port is not None and str(mp_port) != str(port):
                issues.append(
                    Issue(
                        f"{w.base}.server.port",
                        f"{d.connection.ref} sends vLLM to port {mp_port}, but the engine listens"
                        f" on --port {port}",
                        w.obj.ref,
                    )
                )
        target = (d.entry.get("coordinator") or {}).get("ref", {}).get("name")
        if d.coordinator_url and target in coordinators:
            coordinator = coordinators[target]
            expected_port = coordinator.get("port", 9300)
            try:
                parts = urlsplit(d.coordinator_url)
                host, url_port = parts.hostname or "", parts.port
            except ValueError:
                host, url_port = "", None
            if host.split(".")[0] != target or url_port != expected_port:
                issues.append(
                    Issue(
                        f"{w.base}.coordinator.ref.name",
                        f"--coordinator-url {d.coordinator_url} does not reach coordinator"
                        f" {target} (expected http://{target}.<namespace>.svc:{expected_port})",
                        w.obj.ref,
                    )
                )
    return issues


def _kv(cm: Obj) -> dict[str, Any]:
    import json

    try:
        kv = json.loads(str(as_dict(cm.body.get("data")).get(KV_TRANSFER_CONFIG_KEY, "{}")))
    except ValueError:
        return {}  # reported while deriving
    return kv if isinstance(kv, dict) else {}


def _metrics_service(d: Derived, http_port: Any, issues: list[Issue]) -> None:
    w = d.workload
    prometheus = d.entry.get("prometheus", {})
    if d.metrics is None:
        return
    service = d.metrics
    if prometheus.get("enabled", True) is False:
        issues.append(
            Issue(
                f"{w.base}.prometheus.enabled",
                f"metrics are disabled (--disable-metrics), but {service.ref} is rendered:"
                " Prometheus would scrape a port that serves no /metrics",
                w.obj.ref,
            )
        )
        return
    for port in as_list(as_dict(service.body.get("spec")).get("ports")):
        if not isinstance(port, dict) or port.get("name") != "metrics":
            continue
        target = port.get("targetPort", port.get("port"))
        if target not in ("http", http_port):
            issues.append(
                Issue(
                    f"{w.base}.prometheus.port",
                    f"{service.ref} sends scrapes to targetPort {target}, but /metrics is served"
                    f" on the http port ({http_port})",
                    w.obj.ref,
                )
            )


def process(text: str, *, warnings_as_errors: bool = False) -> Outcome:
    """Post-render one stream. Pure: no I/O, so tests and the CLI share it."""
    try:
        stream = read_stream(text)
    except StreamError as exc:
        return Outcome(None, errors=[f"stdin: {exc}"])
    run = _Run(stream)
    run.collect()
    outcome = Outcome(None, objects=len(run.objects), workloads=len(run.workloads))
    outcome.dialect = stream.dialect
    if run.workloads:
        run.validate()
        run.enforce()
    errors = run.lines(run.errors)
    warnings = run.lines(run.warnings + run.changes)
    if warnings_as_errors:
        errors, warnings = errors + warnings, []
    elif errors:
        # nothing is written, so the fixes were not made: only the rules' warnings matter
        warnings = run.lines(run.warnings)
    outcome.errors, outcome.warnings = errors, warnings
    outcome.changed = any(doc.changed for doc in stream.documents)
    if not errors:
        outcome.output = stream.render()
    return outcome
