"""Read the values back from a rendered workload, so the values' own rules can judge them.

Each managed workload becomes one entry of a values dict (`engines.<name>`, ...), built from
its `lmcache` flags, its env and its replica count; `postrender.side_objects` adds what the
objects rendered beside it show. `postrender.values_check` then judges the dict exactly as
Helm judges values files, so an error reads the same whichever way the mistake came in:
`engines.my-cache.l1.sizeGB: must be greater than 0 (got 0)`.

Only what is observable is filled in: a field the stream does not show keeps its default.
Which flag fills which field, and which flags the real CLI refuses, are facts of
`lmcache_k8s.lmcache_cli`; this module only applies them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lmcache_k8s.errors import Issue
from lmcache_k8s.lmcache_cli import (
    COORDINATOR_FLAGS,
    COORDINATOR_SWITCHES,
    ENGINE_FLAGS,
    ENGINE_SWITCHES,
    FieldRef,
    engine_type_problem,
    misleading,
    rejected,
)
from lmcache_k8s.names import COORDINATOR_REF_ANNOTATION, LOG_LEVEL_ENV
from lmcache_k8s.values import GPU_VENDORS
from postrender.flags import Flag, number, parse_flags
from postrender.workloads import Obj, Program, Workload, as_dict, as_list

# Bind addresses may repeat on an engine: postrender/invariants.py keeps exactly one.
_INVARIANT_FLAGS = ("--host", "--http-host")


@dataclass
class ReadBack:
    """One values entry read back from a workload, plus what reading it revealed."""

    workload: Workload
    entry: dict[str, Any]  # the values entry, e.g. {"l1": {"sizeGB": 60}, "server": {...}}
    issues: list[Issue] = field(default_factory=list)  # errors
    notes: list[Issue] = field(default_factory=list)  # warnings: accepted, but misleading
    # values paths whose "is required" errors cannot be judged from the stream
    unobservable: set[str] = field(default_factory=set)
    connection: Obj | None = None  # the N-connection ConfigMap, when the stream has it
    metrics: Obj | None = None  # the N-metrics Service, when the stream has it
    coordinator_url: str | None = None  # the URL behind a coordinator.ref

    def error(self, path: str, message: str) -> None:
        """Record an error found on this workload; `path` is a values path."""
        self.issues.append(Issue(path, message, self.workload.obj.ref))


def read_back(workload: Workload) -> ReadBack:
    """The values entry `workload` stands for, read from its own spec.

    Never raises: what cannot be read is an error on the result (`issues`), or, when the
    workload runs no `lmcache` program at all, an entry marked unobservable.
    """
    out = ReadBack(workload, {})
    program = workload.program
    if program is None:  # reported by classify: nothing else can be read
        out.unobservable |= {f"{workload.base}.l1", f"{workload.base}.injection"}
        return out
    if workload.is_engine:
        out.entry["l1"] = {}  # the CLI requires --l1-size-gb: its absence must be reported
    tokens = program.flags()
    _check_strings(out, program, tokens)
    _FlagReader(out, program).read([str(t) for t in tokens])
    if workload.is_engine:
        out.coordinator_url = _coordinator_ref(out)
    coordinator = out.entry.get("coordinator")
    if workload.values_map == "cacheBlendEngines" and isinstance(coordinator, dict):
        # A switch that is absent is off here, whatever the blend default (on) says: the
        # values rules then warn that fleet CacheBlend matching is disabled.
        coordinator.setdefault("l2EventReporting", False)
    _read_env(out, program)
    _read_replicas(out)
    if workload.values_map == "coordinators":
        _read_coordinator_resources(out, program)
    if workload.is_engine:
        _read_gpu_vendor(out)
    return out


def _check_strings(out: ReadBack, program: Program, tokens: list[Any]) -> None:
    """Kubernetes rejects a non-string argument (`- 5555` unquoted)."""
    for tok in tokens:
        if not isinstance(tok, str):
            out.error(
                f"{out.workload.base}.extraArgs",
                f"argument {tok!r} of container {program.name} must be a string: quote it",
            )


def _put(entry: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = entry
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


class _FlagReader:
    """Maps one program's flags onto its values entry through the lmcache_cli tables.

    A flag the chart renders fills its field; a switch sets its field; a flag the real CLI
    refuses is an error; a misleading one a warning; any other flag is kept, in order, as
    `extraArgs`.
    """

    def __init__(self, out: ReadBack, program: Program) -> None:
        self.out = out
        self.base = out.workload.base
        self.subcommand = program.subcommand
        self.engine = out.workload.is_engine
        self.blend = out.workload.values_map == "cacheBlendEngines"
        self.table = ENGINE_FLAGS if self.engine else COORDINATOR_FLAGS
        self.switches = ENGINE_SWITCHES if self.engine else COORDINATOR_SWITCHES
        self.extra: list[str] = []
        self.seen: dict[str, Flag] = {}  # first occurrence of each flag with a field
        self.adapters: list[Any] = []

    def read(self, tokens: list[str]) -> None:
        """Read the program's flag tokens (everything after `lmcache <subcommand>`)."""
        for flag in parse_flags(tokens, set(self.switches)):
            self.flag(flag)
        if "--engine-type" not in self.seen:
            problem = engine_type_problem(None, self.blend)
            if problem:
                self.out.error(self.base, problem)
        if self.adapters:
            self.out.entry["l2Backends"] = self.adapters
        if self.extra:
            self.out.entry["extraArgs"] = self.extra

    def flag(self, flag: Flag) -> None:
        name = flag.name
        if not name:
            self.extra.append(str(flag.value))  # a positional token
            return
        if self._refused(flag):
            return
        if name in self.switches:
            self._switch(flag)
        elif name not in self.table:
            self._keep(flag)
        elif flag.value is None:
            self.out.error(f"{self.base}.extraArgs", f"{name} needs a value")
        elif name == "--l2-adapter":
            self.adapters.append(self._adapter(flag.value))
        elif name in self.seen and not (self.engine and name in _INVARIANT_FLAGS):
            first = self.seen[name].value
            if first != flag.value:
                self.out.issues.append(self._repeated(name, first, flag.value))
        else:
            self.seen.setdefault(name, flag)
            self._field(name, flag.value)

    def _refused(self, flag: Flag) -> bool:
        """Warn about a misleading flag; report a rejected one and return True."""
        note = misleading(flag.name, self.subcommand)
        if note:
            self.out.notes.append(
                Issue(f"{self.base}.extraArgs", f"{flag.name} {note}", self.out.workload.obj.ref)
            )
        problem = rejected(flag.name, flag.value, self.subcommand)
        if problem:
            self.out.error(f"{self.base}.extraArgs", problem)
        return problem is not None

    def _switch(self, flag: Flag) -> None:
        path, value = self.switches[flag.name]
        if flag.value is not None:
            self.out.error(
                f"{self.base}.extraArgs", f"{flag.name} takes no value (got {flag.value!r})"
            )
        _put(self.out.entry, path, value)

    def _keep(self, flag: Flag) -> None:
        """An unmanaged flag goes to extraArgs as it was written."""
        if flag.value is None:
            self.extra.append(flag.name)
        elif flag.inline:
            self.extra.append(f"{flag.name}={flag.value}")
        else:
            self.extra += [flag.name, flag.value]

    def _field(self, name: str, value: str) -> None:
        target = self.table[name]
        if target is not None:
            _put(self.out.entry, target[0], number(value, target[1]))
        elif name == "--coordinator-url":
            _put(self.out.entry, ("coordinator", "url"), value)
        elif name == "--engine-type":
            problem = engine_type_problem(value, self.blend)
            if problem:
                self.out.error(f"{self.base}.extraArgs", problem)
            # blend is the entry's kind; another accepted type is the server's own business.
            # It is not read back into extraArgs: the values rule that refuses rendered flags
            # there speaks for the chart, which never writes a hand-written engine.

    def _repeated(self, name: str, first: Any, second: Any) -> Issue:
        """A managed flag twice with two values: the last wins in argparse, silently."""
        where = self.out.workload.obj.ref
        target: FieldRef = self.table[name]
        if target is None:
            return Issue(
                f"{self.base}.extraArgs", f"{name} is given twice ({first} and {second})", where
            )
        path = ".".join(target[0])
        return Issue(
            f"{self.base}.{path}",
            f"{name} is given twice ({first} and {second}): it is rendered from {path}; do not"
            " repeat it in extraArgs",
            where,
        )

    def _adapter(self, text: str) -> Any:
        """One `--l2-adapter <JSON>` as its l2Backends entry."""
        try:
            return json.loads(text)
        except ValueError as exc:
            index = len(self.adapters)
            self.out.error(
                f"{self.base}.l2Backends.{index}", f"--l2-adapter is not valid JSON ({exc})"
            )
            return {"type": "?"}


def _coordinator_ref(out: ReadBack) -> str | None:
    """Turn the URL back into `ref.name` when the chart resolved it from a reference.

    Returns the URL that was replaced (None when there is no reference, or no URL).
    """
    ref = out.workload.obj.annotations.get(COORDINATOR_REF_ANNOTATION)
    if not ref:
        return None
    coordinator = out.entry.setdefault("coordinator", {})
    url = coordinator.pop("url", None)
    coordinator["ref"] = {"name": str(ref)}
    if url is None:
        out.error(
            f"{out.workload.base}.coordinator.ref.name",
            f"the workload is annotated with coordinator {ref} but passes no --coordinator-url",
        )
    return url


def _read_env(out: ReadBack, program: Program) -> None:
    """The log level, from the first LMCACHE_LOG_LEVEL with a literal value."""
    for env in as_list(program.container.get("env")):
        if isinstance(env, dict) and env.get("name") == LOG_LEVEL_ENV and "value" in env:
            if env["value"] is not None:
                out.entry["logLevel"] = env["value"]
            return


def _read_gpu_vendor(out: ReadBack) -> None:
    """`gpuVendor: amd` when the pod mounts the host's AMD compute device (/dev/kfd).

    The device nodes are what an AMD engine has that an NVIDIA one never does (GPU_VENDORS in
    lmcache_k8s/values.py); without them the entry keeps the default vendor, nvidia.
    """
    amd = {d["path"] for d in GPU_VENDORS["amd"]["devices"]}
    for volume in as_list(out.workload.pod.get("volumes")):
        host_path = as_dict(as_dict(volume).get("hostPath")).get("path")
        if isinstance(host_path, str) and host_path.rstrip("/") in amd:
            out.entry["gpuVendor"] = "amd"
            # so the values rule amd_needs_privileged judges it: the devices need privilege
            program = out.workload.program
            context = as_dict(program.container.get("securityContext")) if program else {}
            out.entry["privileged"] = context.get("privileged") is True
            return


def _read_coordinator_resources(out: ReadBack, program: Program) -> None:
    """The coordinator container's resources (absent is `{}`, a BestEffort pod, which the
    rule coordinator_not_best_effort warns about); an engine's are enforced elsewhere."""
    resources = program.container.get("resources")
    out.entry["resources"] = resources if isinstance(resources, dict) else {}


def _read_replicas(out: ReadBack) -> None:
    """A coordinator's replica count, where the kind has one the chart could render."""
    workload = out.workload
    if workload.values_map != "coordinators":
        return
    replicas = as_dict(workload.obj.body.get("spec")).get("replicas")
    if replicas is not None and workload.obj.kind in ("Deployment", "StatefulSet"):
        out.entry["replicas"] = replicas
