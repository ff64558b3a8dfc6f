"""Find the objects of a stream the post-renderer manages, and the pod specs inside them.

An object is an LMCache workload when the chart's labels say so (`app.kubernetes.io/name:
lmcache` plus a component of SPEC 2.1), or when one of its containers runs `lmcache server`
(or `lmcache coordinator`) whatever produced it: a hand-written DaemonSet is held to the
same invariants as the chart's.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lmcache_k8s.lmcache_cli import BLEND_ENGINE_TYPE
from lmcache_k8s.names import (
    COMPONENT_LABEL,
    COMPONENTS,
    COORDINATOR_LABEL,
    ENGINE_LABEL,
    ENGINE_MAPS,
    NAME_LABEL,
    NAME_LABEL_VALUE,
)
from postrender.flags import parse_flags
from postrender.stream import Document

# component label -> values map
VALUES_MAPS = {component: values_map for values_map, component in COMPONENTS.items()}


def as_dict(node: Any) -> dict[str, Any]:
    """`node` when it is a map, else an empty one: malformed input is the schemas' business."""
    return node if isinstance(node, dict) else {}


def as_list(node: Any) -> list[Any]:
    return node if isinstance(node, list) else []


@dataclass
class Obj:
    """One Kubernetes object of the stream and where it lives."""

    doc: Document
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def meta(self) -> dict[str, Any]:
        meta = self.body.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.meta.get("name", ""))

    @property
    def namespace(self) -> str | None:
        ns = self.meta.get("namespace")
        return str(ns) if ns else None

    @property
    def labels(self) -> dict[str, Any]:
        labels = self.meta.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict[str, Any]:
        annotations = self.meta.get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    def touch(self) -> None:
        self.doc.changed = True


@dataclass
class Program:
    """Where a container runs `lmcache <subcommand>` and the tokens of its flags."""

    container: dict[str, Any]
    index: int  # position of the container in spec.containers
    subcommand: str  # "server" or "coordinator"
    # The list ("command" or "args") holding the subcommand token, and its position there;
    # the flags are everything after it in that list, then all of args when it was command.
    field: str
    position: int

    @property
    def name(self) -> str:
        return str(self.container.get("name", f"#{self.index}"))

    def flags(self) -> list[Any]:
        tokens = list(as_list(self.container.get(self.field)))[self.position + 1 :]
        if self.field == "command":
            tokens += as_list(self.container.get("args"))
        return tokens

    def flag_lists(self) -> list[tuple[list[Any], int]]:
        """The lists holding the flags with the index of their first flag (for editing)."""
        out = [(self.container[self.field], self.position + 1)]
        if self.field == "command" and isinstance(self.container.get("args"), list):
            out.append((self.container["args"], 0))
        return out


@dataclass
class Workload:
    """A managed workload: the values map and entry name it stands for."""

    obj: Obj
    pod: dict[str, Any]  # the pod spec (edited in place)
    values_map: str  # engines | cacheBlendEngines | coordinators
    entry: str  # the values key (object name)
    program: Program | None
    problems: list[str] = field(default_factory=list)  # why it cannot be checked

    @property
    def is_engine(self) -> bool:
        return self.values_map in ENGINE_MAPS

    @property
    def base(self) -> str:
        return f"{self.values_map}.{self.entry}"


def objects(documents: list[Document]) -> Iterator[Obj]:
    """Every object of the stream, items of a `List` included, in stream order."""
    for doc in documents:
        for body in doc.objects:
            if not isinstance(body, dict):
                continue
            items = body.get("items")
            if str(body.get("kind", "")).endswith("List") and isinstance(items, list):
                for item in items:
                    if isinstance(item, dict):
                        yield Obj(doc, item)
            else:
                yield Obj(doc, body)


def pod_spec(body: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of any workload kind (Pod, PodTemplate, CronJob, anything with a template)."""
    kind = body.get("kind")
    spec = body.get("spec")
    if kind == "Pod":
        node: Any = spec
    elif kind == "PodTemplate":
        node = as_dict(body.get("template")).get("spec")
    elif kind == "CronJob" and isinstance(spec, dict):
        job = as_dict(as_dict(spec.get("jobTemplate")).get("spec"))
        node = as_dict(job.get("template")).get("spec")
    elif isinstance(spec, dict) and isinstance(spec.get("template"), dict):
        node = spec["template"].get("spec")
    else:
        return None
    if isinstance(node, dict) and isinstance(node.get("containers"), list):
        return node
    return None


def pod_spec_path(kind: str) -> str:
    """Where the pod spec sits in an object of this kind, for messages."""
    if kind == "Pod":
        return "spec"
    if kind == "PodTemplate":
        return "template.spec"
    if kind == "CronJob":
        return "spec.jobTemplate.spec.template.spec"
    return "spec.template.spec"


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in as_list(pod.get("containers")) if isinstance(c, dict)]


def find_program(container: dict[str, Any], index: int) -> Program | None:
    """Locate `lmcache server|coordinator` as separate tokens in command + args."""
    fields = [f for f in ("command", "args") if isinstance(container.get(f), list)]
    tokens: list[tuple[str, int, Any]] = [
        (f, i, tok) for f in fields for i, tok in enumerate(container[f])
    ]
    for n, (_field, _index, tok) in enumerate(tokens[:-1]):
        if not isinstance(tok, str) or posixpath.basename(tok) != "lmcache":
            continue
        nxt_field, nxt_index, nxt = tokens[n + 1]
        if nxt in ("server", "coordinator"):
            return Program(container, index, nxt, nxt_field, nxt_index)
    return None


def shell_subcommand(container: dict[str, Any]) -> str | None:
    """`sh -c "lmcache server ..."`: the flags hide in one string and cannot be checked.

    Returns the subcommand found that way ("server" or "coordinator"), else None. A token
    that merely contains the words is never a correct invocation: the program and its
    subcommand must be separate tokens.
    """
    for f in ("command", "args"):
        for tok in as_list(container.get(f)):
            if isinstance(tok, str):
                for sub in ("server", "coordinator"):
                    if f"lmcache {sub}" in tok:
                        return sub
    return None


def classify(obj: Obj) -> Workload | None:
    """The Workload this object is, or None when the post-renderer does not manage it."""
    pod = pod_spec(obj.body)
    labels = obj.labels
    component = labels.get(COMPONENT_LABEL)
    labelled = (
        labels.get(NAME_LABEL) == NAME_LABEL_VALUE
        and isinstance(component, str)
        and component in VALUES_MAPS
    )
    if pod is None:
        return None
    programs = [p for i, c in enumerate(containers(pod)) if (p := find_program(c, i)) is not None]
    shell = [(c, sub) for c in containers(pod) if (sub := shell_subcommand(c)) is not None]
    if not labelled and not programs and not shell:
        return None

    if labelled:
        values_map = VALUES_MAPS[component]
    else:
        first = programs[0].subcommand if programs else shell[0][1]
        values_map = "coordinators" if first == "coordinator" else "engines"
    wanted = "coordinator" if values_map == "coordinators" else "server"
    label_key = COORDINATOR_LABEL if values_map == "coordinators" else ENGINE_LABEL
    entry = str(labels.get(label_key) or obj.name) if labelled else obj.name

    matching = [p for p in programs if p.subcommand == wanted]
    problems: list[str] = []
    program = matching[0] if matching else None
    if len(matching) > 1:
        names = ", ".join(p.name for p in matching)
        problems.append(f"runs `lmcache {wanted}` in more than one container ({names}); use one")
    elif program is None:
        if shell:
            names = ", ".join(str(c.get("name")) for c, _ in shell)
            problems.append(
                f"container {names} runs lmcache through a shell string: write the command and"
                " its flags as separate command/args tokens so they can be checked"
            )
        else:
            problems.append(f"no container runs `lmcache {wanted}`")
    if program is not None and values_map in ENGINE_MAPS and labelled is False:
        if _engine_type(program) == BLEND_ENGINE_TYPE:
            values_map = "cacheBlendEngines"
    return Workload(obj, pod, values_map, entry, program, problems)


def _engine_type(program: Program) -> str | None:
    """The value of the program's first `--engine-type`, if any."""
    for flag in parse_flags([str(t) for t in program.flags()], set()):
        if flag.name == "--engine-type":
            return flag.value
    return None
