"""Convert the reference operator's custom resources into the chart's values.

The chart's maps take the same fields as the resources' `spec` (SPEC 0), so the conversion
walks each spec against the values model of its map (lmcache_k8s.values.MODELS) and:

- keeps every field the model has, verbatim (free-form maps and lists included);
- renames the few fields whose names differ (RENAMES);
- leaves out a value equal to the chart's default, so the values file shows only choices;
- reports, with its path and what to do, every field it cannot carry over (a field the
  chart does not have, `status`, metadata labels/annotations, a default that differs);
- refuses malformed input (not YAML, not a resource, no name, values the chart's schema
  rejects) with an error naming the path.

Input shapes: single resources, `kind: List` (what `kubectl get -o yaml` prints) and
multi-document YAML streams, in any mix. Output: one values dict per namespace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from lmcache_k8s.validate import check_values, warn_values
from lmcache_k8s.values import GPU_VENDORS, MODELS

from .kube import Kind

VENDOR_KEYS = ("runtimeClassName", "nodeSelector")  # defaults by gpuVendor (values.py)

# The reference operator's API (its CRDs: group lmcache.lmcache.ai, served version v1alpha1).
OPERATOR_GROUP = "lmcache.lmcache.ai"
OPERATOR_VERSION = "v1alpha1"

# resource kind -> the values map its entries go to
VALUES_MAP: dict[str, str] = {
    "LMCacheEngine": "engines",
    "CacheBlendEngine": "cacheBlendEngines",
    "LMCacheCoordinator": "coordinators",
}
OPERATOR_KINDS: tuple[Kind, ...] = (
    Kind("LMCacheEngine", "lmcacheengines", OPERATOR_GROUP, OPERATOR_VERSION),
    Kind("CacheBlendEngine", "cacheblendengines", OPERATOR_GROUP, OPERATOR_VERSION),
    Kind("LMCacheCoordinator", "lmcachecoordinators", OPERATOR_GROUP, OPERATOR_VERSION),
)

# values map -> {operator's spec field: the chart's name}, where the two differ. The
# operator calls the coordinator's resources `resourceOverrides` (engines compute theirs,
# coordinators do not); the chart's CoordinatorSpec calls them `resources` (SPEC 1.4).
RENAMES: dict[str, dict[str, str]] = {"coordinators": {"resourceOverrides": "resources"}}

# Metadata the API server writes: never configuration, so ignored without a note.
SERVER_METADATA = {
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
}
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Keys of a values file the chart's maps hold entries under, in the order they are written.
MAP_ORDER = ("engines", "cacheBlendEngines", "coordinators")


class MigrateError(Exception):
    """Input that cannot be converted; the message names the resource and field path."""


@dataclass(frozen=True)
class Note:
    """A field not carried over as written: `source` is `Kind namespace/name`, `path` the
    field's path in the resource (`spec.server.foo`), `message` why and what to do."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.path}: {self.message}"


@dataclass
class Migration:
    """values: namespace -> a values dict for a release in that namespace."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


def load_documents(text: str, origin: str) -> list[dict[str, Any]]:
    """The resources in a YAML/JSON stream, `kind: List` expanded. Raises MigrateError."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise MigrateError(f"{origin}: not valid YAML: {exc}") from None
    resources: list[dict[str, Any]] = []
    for index, doc in enumerate(documents):
        if doc is None:
            continue
        where = f"{origin} document {index + 1}"
        if not isinstance(doc, dict):
            raise MigrateError(f"{where}: expected a Kubernetes object, got {type(doc).__name__}")
        if doc.get("kind") == "List" or (doc.get("kind", "").endswith("List") and "items" in doc):
            items = doc.get("items") or []
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise MigrateError(f"{where}: items: expected a list of objects")
            resources.extend(items)
        else:
            resources.append(doc)
    return resources


def convert(
    resources: Iterable[dict[str, Any]],
    *,
    default_namespace: str = "default",
    adopt: bool = False,
) -> Migration:
    """Values for `resources` (operator-shaped objects), one dict per namespace.

    Objects of other kinds are skipped with a note. `adopt` sets `adoptOperatorObjects` on
    every entry (the handover of docs/migrate.md). Raises MigrateError listing every
    problem: a resource without a name, a name given twice, a spec the chart rejects.
    """
    migration = Migration()
    errors: list[str] = []
    for resource in resources:
        kind = str(resource.get("kind", ""))
        metadata = resource.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        namespace = (metadata or {}).get("namespace") or default_namespace
        source = f"{kind or '<no kind>'} {namespace}/{name or '<no name>'}"
        if kind not in VALUES_MAP:
            migration.notes.append(
                Note(source, "kind", "not an LMCache operator resource; skipped")
            )
            continue
        if not isinstance(name, str) or not name:
            errors.append(f"{source}: metadata.name: required")
            continue
        _check_api_version(resource, source, migration.notes)
        _metadata_notes(metadata, source, migration.notes)
        if resource.get("status") is not None:
            migration.notes.append(
                Note(
                    source,
                    "status",
                    "runtime state, not configuration: not carried over (`kubectl lmcache get`"
                    " computes it from the live objects)",
                )
            )
        spec = resource.get("spec")
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            errors.append(f"{source}: spec: expected a mapping, got {type(spec).__name__}")
            continue
        values_map = VALUES_MAP[kind]
        entry = _carry(spec, MODELS[values_map], "spec", source, migration.notes, values_map)
        _default_differences(values_map, spec, source, migration.notes)
        if adopt:
            entry["adoptOperatorObjects"] = True
        values = migration.values.setdefault(namespace, {})
        entries = values.setdefault(values_map, {})
        if name in entries:
            errors.append(f"{source}: {kind} {name!r} given twice")
            continue
        entries[name] = entry
    for namespace, values in sorted(migration.values.items()):
        ordered = {key: dict(sorted(values[key].items())) for key in MAP_ORDER if key in values}
        migration.values[namespace] = ordered
        errors.extend(_resource_error(namespace, issue) for issue in check_values(ordered))
        migration.notes.extend(
            Note(f"namespace {namespace}", issue.path, issue.message)
            for issue in warn_values(ordered)
        )
    if errors:
        raise MigrateError("\n".join(errors))
    return migration


# -- the walk --------------------------------------------------------------------------------


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The strict values model a field holds (unwrapping `X | None`), None for a leaf or a
    free-form model (l2Backends' adapters keep their own keys)."""
    candidates = [annotation, *get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            if candidate.model_config.get("extra") == "forbid":
                return candidate
    return None


def _default(model: type[BaseModel], key: str) -> Any:
    info = model.model_fields[key]
    if info.default is PydanticUndefined and info.default_factory is None:
        return PydanticUndefined
    value = info.get_default(call_default_factory=True)
    return value.model_dump() if isinstance(value, BaseModel) else value


def _carry(
    spec: dict[str, Any],
    model: type[BaseModel],
    path: str,
    source: str,
    notes: list[Note],
    values_map: str | None = None,
) -> dict[str, Any]:
    """The fields of `spec` the model has, minus those equal to their default."""
    out: dict[str, Any] = {}
    renames = RENAMES.get(values_map or "", {})
    for key, value in spec.items():
        here = f"{path}.{key}"
        ours = renames.get(key, key)
        if ours not in model.model_fields:
            notes.append(
                Note(
                    source,
                    here,
                    "not a field of the chart's values (a newer operator field, or a typo):"
                    " dropped. Set it through the entry's extraArgs, env or podAnnotations if"
                    " it must survive, or remove it",
                )
            )
            continue
        if value is None:
            continue  # null is unset, for the operator's API server as for Helm
        if ours != key and ours in spec:
            notes.append(Note(source, here, f"also given as {path}.{ours}: this one dropped"))
            continue
        sub = _model_of(model.model_fields[ours].annotation)
        if sub is not None and isinstance(value, dict):
            carried = _carry(value, sub, here, source, notes)
            if carried:
                out[ours] = carried
            continue
        if (
            ours == "nodeSelector"
            and value == {}
            and values_map in ("engines", "cacheBlendEngines")
        ):
            # The operator treats an empty nodeSelector as unset and applies its GPU default;
            # the chart renders `{}` as "no nodeSelector", so leaving it out keeps the pods
            # where the operator put them.
            notes.append(
                Note(
                    source,
                    here,
                    "{} means the GPU default to the operator but no selector to the chart:"
                    " left out, so the default applies as before",
                )
            )
            continue
        if value == _default(model, ours) or value == _vendor_default(spec, ours, values_map):
            continue
        out[ours] = value
    return out


def _vendor_default(spec: dict[str, Any], key: str, values_map: str | None) -> Any:
    """An engine's runtimeClassName or nodeSelector left unset takes its gpuVendor's."""
    if values_map not in ("engines", "cacheBlendEngines") or key not in VENDOR_KEYS:
        return PydanticUndefined
    vendor = GPU_VENDORS.get(str(spec.get("gpuVendor", "nvidia")), {})
    return vendor.get(key, PydanticUndefined)


def _check_api_version(resource: dict[str, Any], source: str, notes: list[Note]) -> None:
    api_version = str(resource.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    if group != OPERATOR_GROUP:
        notes.append(
            Note(
                source,
                "apiVersion",
                f"{api_version or '<none>'} is not {OPERATOR_GROUP}: converted as"
                f" {OPERATOR_GROUP}/{OPERATOR_VERSION}",
            )
        )
    elif version != OPERATOR_VERSION:
        notes.append(
            Note(
                source,
                "apiVersion",
                f"converted as {OPERATOR_VERSION}; fields of {version} the chart lacks are"
                " reported below",
            )
        )


def _metadata_notes(metadata: dict[str, Any], source: str, notes: list[Note]) -> None:
    for key, value in metadata.items():
        if key in ("name", "namespace") or key in SERVER_METADATA or not value:
            continue
        if key == "annotations":
            value = {k: v for k, v in value.items() if k != LAST_APPLIED}
            if not value:
                continue
        what = {
            "labels": "the resource's labels do not reach the objects the chart renders:"
            " not carried over (use podLabels for the pods)",
            "annotations": f"the resource's annotations ({', '.join(sorted(value))}) are not"
            " carried over (use podAnnotations for the pods)",
            "finalizers": "finalizers of the operator: remove them before deleting the"
            " resource (docs/migrate.md), else the delete hangs",
        }.get(key, "not carried over")
        notes.append(Note(source, f"metadata.{key}", what))


def _default_differences(
    values_map: str, spec: dict[str, Any], source: str, notes: list[Note]
) -> None:
    """Defaults the operator and the chart disagree on, where the resource left them unset."""
    coordinator = spec.get("coordinator")
    if (
        values_map == "cacheBlendEngines"
        and isinstance(coordinator, dict)
        and "l2EventReporting" not in coordinator
    ):
        notes.append(
            Note(
                source,
                "spec.coordinator.l2EventReporting",
                "unset: the operator defaulted it to false, the chart to true (lmcache 0.5.6"
                " disables fleet CacheBlend matching without --coordinator-event-reporting);"
                " left at the chart's default: set false to keep the operator's behaviour",
            )
        )


def _resource_error(namespace: str, issue: Any) -> str:
    """A values error (`engines.c.l1.sizeGB: ...`) worded from the resource's side too."""
    values_map, _, rest = issue.path.partition(".")
    name, _, field_path = rest.partition(".")
    kinds = {m: k for k, m in VALUES_MAP.items()}
    if values_map not in kinds or not name:
        return f"namespace {namespace}: values {issue}"
    head, _, tail = field_path.partition(".")
    theirs = {ours: op for op, ours in RENAMES.get(values_map, {}).items()}.get(head, head)
    spec_path = ".".join(p for p in ("spec", theirs, tail) if p)
    return (
        f"{kinds[values_map]} {namespace}/{name}: {spec_path}: {issue.message}"
        f" (values path {issue.path})"
    )


def dump(values: dict[str, Any], header: str = "") -> str:
    """A values file: `header` as comment lines, then the values as block YAML."""
    comment = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    return comment + yaml.safe_dump(values, sort_keys=False, default_flow_style=False)
