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

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticUndefined

from lmcache_k8s.validate import check_values, warn_values
from lmcache_k8s.values import GPU_VENDORS, MODELS
from lmcache_k8s.webhook_values import Namespace

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
# The namespace names a values file (DIR/<namespace>.yaml): a DNS-1123 label, never a path.
_NAMESPACE = TypeAdapter(Namespace)
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
        raise MigrateError(f"{origin}: not valid YAML: {_yaml_problem(exc)}") from None
    if all(doc is None for doc in documents):
        # As `kubectl apply -f` does: an empty input is a mistake (a failed `kubectl get`
        # upstream of the pipe), not "nothing to convert". An empty List is the latter.
        raise MigrateError(f"{origin}: no objects in the input (empty, or only comments)")
    resources: list[dict[str, Any]] = []
    for index, doc in enumerate(documents):
        if doc is None:
            continue
        where = f"{origin} document {index + 1}"
        if not isinstance(doc, dict):
            raise MigrateError(f"{where}: expected a Kubernetes object, got {type(doc).__name__}")
        kind = str(doc.get("kind", ""))
        if kind == "List" or (kind.endswith("List") and "items" in doc):
            items = doc.get("items") or []
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise MigrateError(f"{where}: items: expected a list of objects")
            resources.extend(items)
        else:
            resources.append(doc)
    return resources


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error on one line: where (1-based line and column) and what, without PyYAML's
    multi-line excerpt of the input."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        context = f" ({exc.context})" if exc.context else ""
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}{context}"
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character
        shown = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        return f"position {exc.position}: {exc.reason} (character {shown})"
    return str(exc).splitlines()[0]


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
        if metadata is None:
            metadata = {}
        name = metadata.get("name") if isinstance(metadata, dict) else None
        namespace = (metadata.get("namespace") if isinstance(metadata, dict) else None) or (
            default_namespace
        )
        source = f"{kind or '<no kind>'} {namespace}/{name or '<no name>'}"
        if kind not in VALUES_MAP:
            migration.notes.append(
                Note(source, "kind", "not an LMCache operator resource; skipped")
            )
            continue
        if not isinstance(metadata, dict):
            errors.append(f"{source}: metadata: expected a mapping, got {type(metadata).__name__}")
            continue
        if not isinstance(name, str) or not name:
            errors.append(f"{source}: metadata.name: required")
            continue
        try:
            _NAMESPACE.validate_python(namespace)
        except ValidationError:
            errors.append(
                f"{source}: metadata.namespace: must be a Kubernetes namespace name, a DNS-1123"
                f" label (got {namespace!r})"
            )
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
        _credential_notes(spec, source, migration.notes)
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
        errors.extend(_resource_error(namespace, ordered, issue) for issue in check_values(ordered))
        migration.notes.extend(
            Note(f"namespace {namespace}", issue.path, issue.message)
            for issue in warn_values(ordered)
        )
        if "cacheBlendEngines" in ordered:
            # The operator's injection webhook goes with the operator; the values carry no
            # webhook section because one webhook serves the cluster (docs/webhook-install.md).
            migration.notes.append(
                Note(
                    f"namespace {namespace}",
                    "webhook.enabled",
                    "CacheBlend engines need an injection webhook, and the operator's stops"
                    " with it: the chart's renders by default in its place (cert-manager TLS;"
                    " see webhook.tls.mode), or set webhook.enabled: false here if another"
                    " release runs it (docs/migrate.md 2.2)",
                )
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
        default = _default(model, ours)
        if _same_value(value, default) or _same_value(
            value, _vendor_default(spec, ours, values_map)
        ):
            continue
        if default is None and (value == {} or value == []):
            # An empty list or map where the chart has no default renders as unset does:
            # `kubectl get -o yaml` shows what a client wrote, not a choice.
            continue
        out[ours] = value
    return out


def _same_value(value: Any, default: Any) -> bool:
    """`value == default` without Python's `True == 1` and `False == 0`: a wrong-typed value
    (`enabled: 1`, `checkLayer: true`) must reach the schema check, not vanish as a default."""
    if isinstance(value, dict) and isinstance(default, dict):
        return value.keys() == default.keys() and all(
            _same_value(value[k], default[k]) for k in value
        )
    if isinstance(value, list) and isinstance(default, list):
        return len(value) == len(default) and all(map(_same_value, value, default))
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    return bool(value == default)


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
        if key == "annotations" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != LAST_APPLIED}
            if not value:
                continue
        what = {
            "labels": "the resource's labels do not reach the objects the chart renders:"
            " not carried over (use podLabels for the pods)",
            "annotations": f"the resource's annotations ({', '.join(sorted(map(str, value)))})"
            " are not"
            " carried over (use podAnnotations for the pods)",
            "finalizers": "finalizers of the operator: remove them before deleting the"
            " resource (docs/migrate.md), else the delete hangs",
        }.get(key, "not carried over")
        notes.append(Note(source, f"metadata.{key}", what))


# l2Backends adapter keys that hold a credential (lmcache's Redis/S3/... adapter configs),
# matched as substrings of the lower-cased key.
_CREDENTIAL_WORDS = ("password", "passwd", "secret", "token", "credential", "access_key")
# `$(VAR)`: Kubernetes substitutes the container's env var VAR into args.
_ENV_REFERENCE = re.compile(r"^\$\([A-Za-z_][A-Za-z0-9_]*\)$")


def _credential_notes(spec: dict[str, Any], source: str, notes: list[Note]) -> None:
    """Literal credentials in l2Backends: carried over as the operator had them, but each
    backend becomes an `--l2-adapter` JSON argument, readable by anyone who can read the
    DaemonSet or the pod; say how to move them to a Secret."""
    backends = spec.get("l2Backends")
    if not isinstance(backends, list):
        return
    for index, backend in enumerate(backends):
        if not isinstance(backend, dict):
            continue
        for key, value in backend.items():
            secret = any(word in str(key).lower() for word in _CREDENTIAL_WORDS)
            if secret and isinstance(value, str) and value and not _ENV_REFERENCE.match(value):
                notes.append(
                    Note(
                        source,
                        f"spec.l2Backends[{index}].{key}",
                        "a credential written literally: carried over, and it appears in the"
                        " engine's arguments to anyone who can read the DaemonSet or its pods;"
                        " put it in a Secret, add an env entry VAR with valueFrom.secretKeyRef"
                        ' and write "$(VAR)" here instead',
                    )
                )


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


def _resource_error(namespace: str, values: dict[str, Any], issue: Any) -> str:
    """A values error (`engines.c.l1.sizeGB: ...`) worded from the resource's side too.

    The entry is found among `values`' names rather than by splitting the path on dots,
    since a resource name may hold dots; an error on the entry itself is its metadata.name.
    """
    values_map, _, rest = issue.path.partition(".")
    kinds = {m: k for k, m in VALUES_MAP.items()}
    names = [n for n in values.get(values_map) or {} if rest == n or rest.startswith(f"{n}.")]
    if values_map not in kinds or not names:
        return f"namespace {namespace}: values {issue}"
    name = max(names, key=len)
    field_path = rest[len(name) + 1 :]
    head, _, tail = field_path.partition(".")
    theirs = {ours: op for op, ours in RENAMES.get(values_map, {}).items()}.get(head, head)
    spec_path = ".".join(p for p in ("spec", theirs, tail) if p) if head else "metadata.name"
    hint = ""
    if spec_path == "spec.coordinator.ref.name":
        # The operator, like the chart, resolves ref in the resource's own namespace.
        hint = (
            f"; give migrate that LMCacheCoordinator of namespace {namespace} too, or point"
            " the engine at a coordinator elsewhere with spec.coordinator.url"
        )
    return (
        f"{kinds[values_map]} {namespace}/{name}: {spec_path}: {issue.message}{hint}"
        f" (values path {issue.path})"
    )


class _PlainDumper(yaml.SafeDumper):
    """Writes every value where it belongs: no `&id001` anchors and `*id001` aliases, which
    an input's own aliases (or a List sharing one node between items) would otherwise
    carry into the values file, where editing one entry would silently edit another."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(values: dict[str, Any], header: str = "") -> str:
    """A values file: `header` as comment lines, then the values as block YAML."""
    comment = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    body = yaml.dump(values, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False)
    return comment + body
