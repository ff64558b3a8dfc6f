"""The post-renderer as a pure function: manifest text in, manifest text or problems out.

    read the stream -> find the managed workloads -> read their values back -> validate them
    -> enforce the invariants -> fix up their consumers -> write the stream (or nothing)

Every problem is collected before anything is written, so a failing run reports all of them
and produces no output at all: never a partial stream. Each step lives in its own module;
this one only runs them in order and reports.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from lmcache_k8s.errors import Issue
from postrender.consumers import Connections, fix_consumer
from postrender.invariants import enforce
from postrender.readback import ReadBack, read_back
from postrender.side_objects import SideObjects, read_side_objects
from postrender.stream import Stream, StreamError, read_stream
from postrender.values_check import check_namespace
from postrender.workloads import Obj, Workload, classify, objects


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
    side: SideObjects = field(default_factory=SideObjects)
    readbacks: list[ReadBack] = field(default_factory=list)


class _Run:
    def __init__(self, stream: Stream) -> None:
        self.objects = list(objects(stream.documents))
        self.order = {id(o.body): i for i, o in enumerate(self.objects)}
        self.position: dict[str, int] = {}  # where -> first stream position
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []  # rules that only warn
        self.changes: list[Issue] = []  # fixes made to the objects
        # by namespace ("" for none), in the order the stream first shows each
        self.spaces: dict[str, _Namespace] = defaultdict(_Namespace)
        self.workloads: list[Workload] = []

    def note(self, obj: Obj) -> None:
        self.position.setdefault(obj.ref, self.order.get(id(obj.body), 0))

    def readbacks(self) -> list[ReadBack]:
        return [rb for space in self.spaces.values() for rb in space.readbacks]

    def classify(self) -> None:
        for obj in self.objects:
            self.spaces[obj.namespace or ""].side.add(obj)
        for obj in self.objects:
            workload = classify(obj)
            if workload is not None:
                self.note(obj)
                self.workloads.append(workload)

    def side_objects(self, namespace: str) -> SideObjects:
        own = self.spaces[namespace].side
        if not namespace or "" not in self.spaces:
            return own
        return own.seen_with(self.spaces[""].side)

    def read_back(self) -> None:
        for workload in self.workloads:
            namespace = workload.obj.namespace or ""
            for problem in workload.problems:
                self.errors.append(Issue(workload.base, problem, workload.obj.ref))
            readback = read_back(workload)
            read_side_objects(readback, self.side_objects(namespace))
            self.spaces[namespace].readbacks.append(readback)

    def validate(self) -> None:
        for space in self.spaces.values():
            if space.readbacks:
                errors, warnings = check_namespace(space.readbacks)
                self.errors += errors
                self.warnings += warnings

    def enforce(self) -> None:
        for readback in self.readbacks():
            errors, changes = enforce(readback)
            self.errors += errors
            self.changes += changes

    def fix_consumers(self) -> None:
        connections = Connections()
        managed = set()
        for namespace, space in self.spaces.items():
            for readback in space.readbacks:
                managed.add(id(readback.workload.obj.body))
                if readback.workload.is_engine:
                    connections.add(namespace, readback.workload.entry, readback.connection)
        for obj in self.objects:
            if id(obj.body) in managed:
                continue
            wanted = connections.visible_from(obj.namespace or "")
            if wanted:
                errors, changes, warnings = fix_consumer(obj, wanted)
                if errors or changes or warnings:
                    self.note(obj)
                self.errors += errors
                self.changes += changes
                self.warnings += warnings

    def lines(self, issues: list[Issue]) -> list[str]:
        """The report: in stream order, each problem once; namespaced when there are several."""
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


def process(text: str, *, warnings_as_errors: bool = False) -> Outcome:
    """Post-render one stream. Pure: no I/O, so tests, the CLI and the kubectl plugin share it.

    Returns the outcome; the stream is in `output` unless there are errors. Never raises
    on bad input (a stream that is not YAML is an error of the outcome). pydantic is only
    loaded when the stream holds an LMCache workload.
    """
    try:
        stream = read_stream(text)
    except StreamError as exc:
        return Outcome(None, errors=[f"stdin: {exc}"])
    run = _Run(stream)
    run.classify()
    outcome = Outcome(None, objects=len(run.objects), workloads=len(run.workloads))
    outcome.dialect = stream.dialect
    if run.workloads:
        run.read_back()
        run.validate()
        run.enforce()
        run.fix_consumers()
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
