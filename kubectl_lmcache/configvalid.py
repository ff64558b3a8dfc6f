"""ConfigValid: the post-renderer's own checks, run on the live objects instead of a render.

The live workloads and their side objects (connection ConfigMaps, Services) of one
namespace go through `postrender.pipeline.process()`, exactly as `helm install` would have
sent them. An object is valid when the post-renderer reports no error for it and would
change nothing in it that the API server would keep; the messages are the post-renderer's
own lines (`DaemonSet/my-cache: spec.template.spec.hostIPC: set to true: ...`).

Two things differ between a render and a live object, and both are undone here:
- fields only the server writes (status, uid, managedFields, ...) are dropped;
- fields the API server fills in with defaults (probe `timeoutSeconds: 1`, port
  `protocol: TCP`, ...) make the post-renderer's exact comparisons see a difference that is
  not one. So a "change" counts only when the object still differs after the same defaults
  are applied to both the live object and the post-renderer's output.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from postrender.invariants import quantities

# metadata the API server owns; the post-renderer never sees these in a render
SERVER_METADATA = (
    "managedFields",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "selfLink",
    "ownerReferences",
)
SERVER_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "deprecated.daemonset.template.generation",
    "deployment.kubernetes.io/revision",
)
# Kubernetes API defaults for the parts of a container the post-renderer writes
# (k8s.io/api core/v1 defaults: probes, ports, downward-API env).
PROBE_DEFAULTS = {
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
# Defaults the chart never writes, dropped before the check (see _drop_defaults).
PROBE_UNWRITTEN_DEFAULTS = {"timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}
CONTAINER_DEFAULTS = {
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
}
POD_DEFAULTS = {
    "restartPolicy": "Always",
    "dnsPolicy": "ClusterFirst",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
}
WORKLOAD_DEFAULTS = {"revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}
SERVICE_DEFAULTS = {"sessionAffinity": "None", "ipFamilyPolicy": "SingleStack"}
SERVER_SERVICE_FIELDS = ("clusterIPs", "ipFamilies")  # assigned by the API server

# a document marker, as the post-renderer cuts its stream (postrender/stream.py)
_MARKER = re.compile(r"^---(?=[ \t\r]|$)\n?", re.MULTILINE)

try:  # libyaml, when PyYAML was built with it
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@dataclass
class Verdict:
    valid: bool = True
    messages: list[str] = field(default_factory=list)  # why not valid: the post-renderer's lines
    notes: list[str] = field(default_factory=list)  # its warnings that do not fail the check


def strip_server_fields(obj: dict[str, Any], kind: str, api_version: str) -> dict[str, Any]:
    """The object as a manifest: kind and apiVersion back on, server-owned fields off."""
    out = {k: v for k, v in obj.items() if k not in ("status", "kind", "apiVersion")}
    # API objects are plain JSON: a JSON round trip copies them ~5x faster than deepcopy
    out = {"apiVersion": api_version, "kind": kind, **json.loads(json.dumps(out))}
    meta = out.setdefault("metadata", {})
    for key in SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        for key in SERVER_ANNOTATIONS:
            annotations.pop(key, None)
    _drop_defaults(out)
    return out


def _drop(node: Any, defaults: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for key, value in defaults.items():
            if key in node and node[key] == value:
                del node[key]


def _drop_defaults(manifest: dict[str, Any]) -> None:
    """Remove values the API server filled in with its defaults (in place).

    Only a speed-up: the post-renderer then has less to read and, for the probe fields,
    nothing to "fix" on a clean install. Correctness does not depend on this list:
    check() compares with the defaults applied to both sides anyway.
    """
    spec = manifest.get("spec")
    if not isinstance(spec, dict):
        return
    if manifest.get("kind") == "Service":
        for key in SERVER_SERVICE_FIELDS:
            spec.pop(key, None)
        _drop(spec, SERVICE_DEFAULTS)
        return
    _drop(spec, WORKLOAD_DEFAULTS)
    pod = (
        (spec.get("template") or {}).get("spec") if isinstance(spec.get("template"), dict) else None
    )
    if not isinstance(pod, dict):
        return
    _drop(pod, POD_DEFAULTS)
    for group in ("containers", "initContainers"):
        for container in pod.get(group) or []:
            if not isinstance(container, dict):
                continue
            _drop(container, CONTAINER_DEFAULTS)
            for key in PROBES:
                _drop(container.get(key), PROBE_UNWRITTEN_DEFAULTS)


def with_api_defaults(obj: Any) -> Any:
    """A copy with the API server's defaults filled into every container's probes, ports, env.

    Only the pod template is copied deeply; the rest of the object is shared with `obj`.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("spec"), dict):
        return obj
    template = obj["spec"].get("template")
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        return obj
    pod = copy.deepcopy(template["spec"])
    for group in ("containers", "initContainers"):
        for container in pod.get(group) or []:
            if isinstance(container, dict):
                _default_container(container)
    return {**obj, "spec": {**obj["spec"], "template": {**template, "spec": pod}}}


def _default_container(container: dict[str, Any]) -> None:
    for key in PROBES:
        probe = container.get(key)
        if isinstance(probe, dict):
            for name, value in PROBE_DEFAULTS.items():
                probe.setdefault(name, value)
            if isinstance(probe.get("httpGet"), dict):
                probe["httpGet"].setdefault("scheme", "HTTP")
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        source = env.get("valueFrom") if isinstance(env, dict) else None
        ref = source.get("fieldRef") if isinstance(source, dict) else None
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")
    resources = container.get("resources")
    if isinstance(resources, dict):
        container["resources"] = quantities(resources)


def diff_paths(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Paths where two trees differ, spelled as the post-renderer spells them (`x.y[0].z`)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                out.append(path)
            else:
                out.extend(diff_paths(a[key], b[key], path))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out.extend(diff_paths(x, y, f"{prefix}[{i}]"))
        return out
    return [] if a == b else [prefix]


def _overlaps(path: str, others: Iterable[str]) -> bool:
    for other in others:
        short, long = sorted((path, other), key=len)
        if long == short or long.startswith(short + ".") or long.startswith(short + "["):
            return True
    return False


_LINE = re.compile(r"^(?P<where>[A-Za-z]+/[^:\s]+): (?P<path>[^:\s]+): (?P<message>.*)$", re.DOTALL)


def _split(line: str) -> tuple[str, str]:
    """(Kind/name, path) of a post-renderer line; ("", "") when it names no object."""
    m = _LINE.match(line)
    return (m["where"], m["path"]) if m else ("", "")


def _owners(where: str, verdicts: dict[str, Verdict]) -> list[str]:
    """The workloads a line is about: itself, the entry a side object belongs to, else all."""
    if where in verdicts:
        return [where]
    name = where.partition("/")[2]
    owners = [ref for ref in verdicts if name.startswith(ref.partition("/")[2] + "-")]
    return owners or list(verdicts)


def check(objects: list[dict[str, Any]]) -> dict[str, Verdict]:
    """Run the post-renderer on one namespace's manifests; a verdict per `Kind/name`.

    `objects` are manifests (strip_server_fields). Every workload in them gets a verdict;
    an error line that names no object fails every workload (the stream itself is bad).
    """
    from postrender.pipeline import process  # loads pydantic: only when there is work

    refs = [f"{o['kind']}/{o['metadata']['name']}" for o in objects]
    workloads = [
        r for r, o in zip(refs, objects, strict=True) if o["kind"] in ("DaemonSet", "Deployment")
    ]
    verdicts = {ref: Verdict() for ref in workloads}
    if not workloads:
        return verdicts
    # JSON documents are YAML, and dumping them is ~20x faster than a YAML emitter
    pieces = [json.dumps(o, ensure_ascii=False) + "\n" for o in objects]
    outcome = process("".join("---" + "\n" + piece for piece in pieces))
    for line in outcome.errors:
        where, _ = _split(line)
        for ref in _owners(where, verdicts):
            verdicts[ref].valid = False
            verdicts[ref].messages.append(line)
    changed_paths: dict[str, list[str]] = {}  # ref -> paths the API server would keep changed
    raw_paths: dict[str, list[str]] = {}
    if outcome.output is not None and outcome.changed:
        # Documents nobody changed come back byte for byte: parse only the others.
        after = _MARKER.split(outcome.output)[1:]
        for ref, before, piece, now_text in zip(refs, objects, pieces, after, strict=False):
            if ref not in verdicts or now_text == piece:
                continue
            now = yaml.load(now_text, Loader=_Loader)
            raw_paths[ref] = diff_paths(before, now)
            changed_paths[ref] = diff_paths(with_api_defaults(before), with_api_defaults(now))
    for line in outcome.warnings:
        where, path = _split(line)
        if where not in verdicts:
            continue
        if _overlaps(path, changed_paths.get(where, ())):
            verdicts[where].valid = False
            verdicts[where].messages.append(line)
        elif not _overlaps(path, raw_paths.get(where, ())):
            verdicts[where].notes.append(line)  # a rule's warning, not a fix-up
    for ref, paths in changed_paths.items():
        if paths and verdicts[ref].valid:
            # a change no line explains (should not happen): still report it, by path
            verdicts[ref].valid = False
            verdicts[ref].messages.append(
                f"{ref}: the post-renderer would change {', '.join(paths)}"
            )
    return verdicts
