"""Rules that relate two fields or two entries of the values, each declared with its prose.

Field rules (types, ranges, defaults) live on the models in `lmcache_k8s.values`. Every rule
that JSON Schema cannot say about one field is declared here once, with `@rule`:

- `docs`: where docs/values.md lists it (a values map, a path inside an entry, "" for the
  entry's key) and the words it prints there;
- `chart`: how the chart enforces it (`Chart` below);
- the function itself: the check on a values dict, yielding `Issue`s, when Python can judge
  it (a rule about the cluster's APIs cannot be judged without a cluster).

The chart's `templates/_validate.tpl` runs each `Chart.TEMPLATE` rule as a flat check with the
same path and sentence; tests/chart/test_validation.py drives the same bad values through Helm
3, Helm 4 and `check_values` and requires the same path. The checks run on the raw values dict
(missing keys read as their model defaults), so they still report when an unrelated field is
invalid: every problem is reported at once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lmcache_k8s.errors import Issue, join_path
from lmcache_k8s.lmcache_cli import rendered_flags
from lmcache_k8s.names import ENGINE_MAPS, METRICS_SUFFIX
from lmcache_k8s.pod_refs import SHM, mount_path, shadowed_shm_message
from lmcache_k8s.values import (
    KINDS,
    BlendCoordinatorRef,
    CoordinatorRef,
    CoordinatorSpec,
    ServerSpec,
)

_SERVER = ServerSpec()
_COORD = CoordinatorSpec()
_REF = CoordinatorRef()
ALL_MAPS = tuple(KINDS)
_BLEND_REF = BlendCoordinatorRef()
BLEND_WITHOUT_EVENTS = (
    "false: lmcache then disables fleet CacheBlend matching (the coordinator builds its blend"
    " index from cache events) and this engine matches locally only"
)
# Below this multiple of an engine's heartbeat interval, one late heartbeat evicts it.
TIMEOUT_HEARTBEAT_FACTOR = 3


class Chart(enum.Enum):
    """How the chart enforces a rule."""

    TEMPLATE = "`fail` in `templates/_validate.tpl`, same path and words"
    SCHEMA = "`values.schema.json` (the model attaches it)"
    CLUSTER = "`fail` in `templates/_validate.tpl`, which asks the cluster"
    WARNING = "a warning under WARNINGS in NOTES.txt"


@dataclass(frozen=True)
class Doc:
    """Where docs/values.md lists a rule: `path` inside each entry of `maps`, and its words."""

    maps: tuple[str, ...]
    path: str  # "" is the entry's key (its name)
    text: str


Check = Callable[[dict[str, Any]], Iterator[Issue]]


@dataclass(frozen=True)
class Rule:
    name: str
    docs: tuple[Doc, ...]
    chart: Chart
    check: Check | None  # None: only the chart can judge it


RULES: list[Rule] = []


def rule(*docs: Doc, chart: Chart) -> Callable[[Check], Check]:
    """Declare the decorated check as a rule, with its documentation and its chart twin."""

    def register(check: Check) -> Check:
        RULES.append(Rule(check.__name__, docs, chart, check))
        return check

    return register


def chart_only(name: str, *docs: Doc) -> None:
    """Declare a rule only the chart can judge (it asks the cluster)."""
    RULES.append(Rule(name, docs, Chart.CLUSTER, None))


def _get(node: Any, *keys: str, default: Any = None) -> Any:
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def _entries(
    values: dict[str, Any], maps: tuple[str, ...] = ALL_MAPS
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(values map, name, entry) of every entry that is a map, maps in order, names sorted."""
    for kind in maps:
        entries = values.get(kind)
        if isinstance(entries, dict):
            for name in sorted(entries):
                if isinstance(entries[name], dict):
                    yield kind, name, entries[name]


def _owners(values: dict[str, Any]) -> dict[str, str]:
    """name -> the values map of its first entry (engines, then blend engines, coordinators)."""
    owners: dict[str, str] = {}
    for kind, name, _ in _entries(values):
        owners.setdefault(name, kind)
    return owners


def _coordinators(values: dict[str, Any]) -> dict[str, Any]:
    found = values.get("coordinators")
    return found if isinstance(found, dict) else {}


# --- names ---------------------------------------------------------------------------------


@rule(
    Doc(ALL_MAPS, "", "unique across `engines`, `cacheBlendEngines` and `coordinators`"),
    chart=Chart.TEMPLATE,
)
def unique_names(values: dict[str, Any]) -> Iterator[Issue]:
    owners: dict[str, str] = {}
    for kind, name, _ in _entries(values):
        if name in owners:
            yield Issue(
                join_path(kind, name),
                f"name already used by {owners[name]}.{name} (their Services would collide)",
            )
        owners.setdefault(name, kind)


@rule(
    Doc(ALL_MAPS, "", f"never `<another entry>{METRICS_SUFFIX}` (that entry's metrics Service)"),
    chart=Chart.TEMPLATE,
)
def metrics_service_names(values: dict[str, Any]) -> Iterator[Issue]:
    owners = _owners(values)
    for kind, name, _ in _entries(values):
        owner = name.removesuffix(METRICS_SUFFIX)
        if owner != name and owner in owners:
            yield Issue(
                join_path(kind, name),
                f"name collides with the metrics Service of {owners[owner]}.{owner}"
                f" (both are named {name})",
            )


# --- metrics -------------------------------------------------------------------------------


@rule(
    Doc(ALL_MAPS, "prometheus.serviceMonitor.enabled", "needs `prometheus.enabled: true`"),
    chart=Chart.SCHEMA,
)
def service_monitor_needs_metrics(values: dict[str, Any]) -> Iterator[Issue]:
    for kind, name, spec in _entries(values):
        if (
            _get(spec, "prometheus", "serviceMonitor", "enabled") is True
            and _get(spec, "prometheus", "enabled", default=True) is False
        ):
            yield Issue(
                f"{join_path(kind, name)}.prometheus.serviceMonitor.enabled",
                "needs prometheus.enabled: true",
            )


chart_only(
    "service_monitor_api",
    Doc(
        ALL_MAPS,
        "prometheus.serviceMonitor.enabled",
        "the cluster must serve `monitoring.coreos.com/v1` unless `trustCRDsExist`",
    ),
)
chart_only(
    "prometheus_rule_api",
    Doc(
        ("monitoring",),
        "alerts.enabled",
        "the cluster must serve `monitoring.coreos.com/v1` (PrometheusRule) unless"
        " `alerts.trustCRDsExist`",
    ),
)
chart_only(
    "cert_manager_api",
    Doc(
        ("webhook",),
        "tls.mode",
        "`certManager` needs the cluster to serve `cert-manager.io/v1` unless"
        " `tls.certManager.trustCRDsExist`",
    ),
)
chart_only(
    "engine_namespaces_exist",
    Doc(
        ("webhook",),
        "engineNamespaces",
        "each namespace must exist when Helm can see the cluster (checked with `lookup`"
        " before anything is created; `helm template` cannot check it)",
    ),
)

# The install preflight (docs/webhook-install.md, "Preflight"): _validate.tpl asks the cluster
# through the one seam `lmcache.lookup` (templates/_lookup.tpl) and only when Helm sees one.
chart_only(
    "runtime_class_exists",
    Doc(
        ALL_MAPS,
        "runtimeClassName",
        "when Helm can see the cluster, the RuntimeClass (node.k8s.io/v1) must exist: the API"
        " server rejects every pod that names a missing one",
    ),
)
chart_only(
    "pod_security_admits",
    Doc(
        ENGINE_MAPS,
        "ipc",
        "when Helm can see the cluster and the release namespace enforces Pod Security"
        " `baseline`, `host` (hostIPC), `privileged: true` and `gpuVendor: amd` (hostPath"
        " devices) are refused; `restricted` refuses every engine",
    ),
    Doc(
        ("coordinators",),
        "",
        "when Helm can see the cluster, a release namespace enforcing Pod Security `restricted`"
        " is refused (the lmcache image runs as root); `baseline` admits coordinators",
    ),
)


# --- the engine's command line and pod ----------------------------------------------------


@rule(
    Doc(ENGINE_MAPS, "server.httpPort", "must differ from `server.port`"),
    chart=Chart.TEMPLATE,
)
def ports_differ(values: dict[str, Any]) -> Iterator[Issue]:
    for kind, name, spec in _entries(values, ENGINE_MAPS):
        port = _get(spec, "server", "port", default=_SERVER.port)
        if _get(spec, "server", "httpPort", default=_SERVER.httpPort) == port:
            yield Issue(
                f"{join_path(kind, name)}.server.httpPort",
                f"must differ from server.port (both {port})",
            )


def _flag_list(values_map: str) -> str:
    return ", ".join(f"`{flag}`" for flag in rendered_flags(values_map))


@rule(
    *(
        Doc(
            (kind,),
            "extraArgs",
            "may not contain a flag the chart renders (set its field instead): " + _flag_list(kind),
        )
        for kind in ALL_MAPS
    ),
    chart=Chart.TEMPLATE,
)
def rendered_flags_not_in_extra_args(values: dict[str, Any]) -> Iterator[Issue]:
    """A flag the chart renders, given again in extraArgs (`--flag` or `--flag=value`).

    argparse would silently take the last value, or the chart's would be lost; the list is
    `lmcache_cli.rendered_flags`, which the chart reads from the generated `_contract.tpl`.
    The post-renderer keeps finer rules for manifests the chart did not write.
    """
    for kind, name, spec in _entries(values):
        args = _get(spec, "extraArgs")
        if not isinstance(args, list):
            continue
        given = {str(token).split("=", 1)[0] for token in args}
        for flag in rendered_flags(kind):
            if flag in given:
                yield Issue(
                    f"{join_path(kind, name)}.extraArgs",
                    f"{flag} is rendered by the chart: remove it from extraArgs (to change its"
                    " value, set the field it is rendered from)",
                )


@rule(
    Doc(
        ENGINE_MAPS,
        "volumeMounts",
        f"with `ipc: host`, an `emptyDir` mounted at `{SHM}` is refused (it hides the host's,"
        " which CUDA IPC needs); with `ipc: isolated` the pod may have its own",
    ),
    chart=Chart.TEMPLATE,
)
def no_empty_dir_over_shm(values: dict[str, Any]) -> Iterator[Issue]:
    for kind, name, spec in _entries(values, ENGINE_MAPS):
        if _get(spec, "ipc") == "isolated":
            continue  # no host /dev/shm to hide
        volumes, mounts = _get(spec, "volumes"), _get(spec, "volumeMounts")
        if not isinstance(volumes, list) or not isinstance(mounts, list):
            continue
        empty = [str(v.get("name")) for v in volumes if isinstance(v, dict) and "emptyDir" in v]
        for mount in mounts:
            if not isinstance(mount, dict):
                continue
            at = mount_path(mount)
            if at == SHM and str(mount.get("name")) in empty:
                yield Issue(
                    f"{join_path(kind, name)}.volumeMounts",
                    shadowed_shm_message("lmcache", mount.get("name")),
                )


AMD_NEEDS_PRIVILEGED = (
    "gpuVendor amd mounts the host's /dev/kfd and /dev/dri, which only a privileged container"
    " may open: set privileged: true (the default)"
)


@rule(
    Doc(ENGINE_MAPS, "privileged", "must stay `true` with `gpuVendor: amd` (host device nodes)"),
    chart=Chart.TEMPLATE,
)
def amd_needs_privileged(values: dict[str, Any]) -> Iterator[Issue]:
    for kind, name, spec in _entries(values, ENGINE_MAPS):
        if _get(spec, "gpuVendor") == "amd" and _get(spec, "privileged") is False:
            yield Issue(f"{join_path(kind, name)}.privileged", AMD_NEEDS_PRIVILEGED)


# --- coordinator references ---------------------------------------------------------------


@rule(Doc(ENGINE_MAPS, "coordinator", "exactly one of `ref` and `url`"), chart=Chart.SCHEMA)
def ref_xor_url(values: dict[str, Any]) -> Iterator[Issue]:
    for kind, name, spec in _entries(values, ENGINE_MAPS):
        ref = _get(spec, "coordinator")
        if isinstance(ref, dict) and ("ref" in ref) == ("url" in ref):
            yield Issue(f"{join_path(kind, name)}.coordinator", "set exactly one of ref and url")


@rule(
    Doc(ENGINE_MAPS, "coordinator.ref.name", "a key of `coordinators` in this release"),
    chart=Chart.TEMPLATE,
)
def coordinator_ref_exists(values: dict[str, Any]) -> Iterator[Issue]:
    coordinators = _coordinators(values)
    for kind, name, spec in _entries(values, ENGINE_MAPS):
        target = _get(spec, "coordinator", "ref", "name")
        if isinstance(target, str) and target not in coordinators:
            yield Issue(
                f"{join_path(kind, name)}.coordinator.ref.name",
                f'no coordinator named "{target}" in coordinators',
            )


@rule(
    Doc(
        ENGINE_MAPS,
        "coordinator.ref.name",
        "that coordinator's `blendChunkSize` must equal this entry's `server.chunkSize`",
    ),
    Doc(
        ("coordinators",),
        "blendChunkSize",
        "must equal `server.chunkSize` of every engine that references it",
    ),
    chart=Chart.TEMPLATE,
)
def chunk_sizes_match(values: dict[str, Any]) -> Iterator[Issue]:
    coordinators = _coordinators(values)
    for kind, name, spec in _entries(values, ENGINE_MAPS):
        target = _get(spec, "coordinator", "ref", "name")
        if not isinstance(target, str) or not isinstance(coordinators.get(target), dict):
            continue
        chunk = _get(spec, "server", "chunkSize", default=_SERVER.chunkSize)
        blend = _get(coordinators[target], "blendChunkSize", default=_COORD.blendChunkSize)
        if chunk != blend:
            yield Issue(
                f"coordinators.{target}.blendChunkSize",
                f"must equal the chunkSize of {join_path(kind, name)} ({chunk}), which uses this"
                f" coordinator (got {blend})",
            )


# --- warnings ------------------------------------------------------------------------------


@rule(
    Doc(
        ("coordinators",),
        "replicas",
        "a warning when > 1: the registry is in memory, replicas do not share it",
    ),
    chart=Chart.WARNING,
)
def single_coordinator_replica(values: dict[str, Any]) -> Iterator[Issue]:
    for _, name, spec in _entries(values, ("coordinators",)):
        replicas = _get(spec, "replicas", default=_COORD.replicas)
        if isinstance(replicas, int) and replicas > 1:
            yield Issue(
                f"coordinators.{name}.replicas",
                f"{replicas} replicas do not share the in-memory registry; engines will see"
                " different fleets",
            )


# A pod whose containers set neither requests nor limits is BestEffort: the kubelet evicts it
# first under node pressure, and a coordinator loses its in-memory fleet registry with it.
BEST_EFFORT_COORDINATOR = (
    "sets no requests or limits, so the pod is BestEffort: evicted first under node pressure,"
    " losing the in-memory fleet registry; keep the default or set requests"
)


@rule(
    Doc(
        ("coordinators",),
        "resources",
        "a warning when it sets neither `requests` nor `limits` (`{}`): the pod would be"
        " BestEffort",
    ),
    chart=Chart.WARNING,
)
def coordinator_not_best_effort(values: dict[str, Any]) -> Iterator[Issue]:
    for _, name, spec in _entries(values, ("coordinators",)):
        resources = _get(spec, "resources")
        if isinstance(resources, dict) and not (
            resources.get("requests") or resources.get("limits")
        ):
            yield Issue(f"coordinators.{name}.resources", BEST_EFFORT_COORDINATOR)


@rule(
    Doc(
        ("cacheBlendEngines",),
        "coordinator.l2EventReporting",
        "defaults to `true` for CacheBlend engines: the coordinator builds its fleet blend index"
        " from cache events; a warning when set to `false`",
    ),
    chart=Chart.WARNING,
)
def blend_engines_report_events(values: dict[str, Any]) -> Iterator[Issue]:
    for kind, name, spec in _entries(values, ("cacheBlendEngines",)):
        ref = _get(spec, "coordinator")
        if not isinstance(ref, dict):
            continue
        if _get(ref, "l2EventReporting", default=_BLEND_REF.l2EventReporting) is False:
            yield Issue(f"{kind}.{name}.coordinator.l2EventReporting", BLEND_WITHOUT_EVENTS)


@rule(
    Doc(
        ("coordinators",),
        "instanceTimeout",
        f"a warning when below {TIMEOUT_HEARTBEAT_FACTOR} × the `heartbeatInterval` of an engine"
        " that references it",
    ),
    chart=Chart.WARNING,
)
def instance_timeout_outlasts_heartbeats(values: dict[str, Any]) -> Iterator[Issue]:
    coordinators = {n: s for _, n, s in _entries(values, ("coordinators",))}
    for kind, name, spec in _entries(values, ENGINE_MAPS):
        target = _get(spec, "coordinator", "ref", "name")
        if target not in coordinators:
            continue
        heartbeat = _get(spec, "coordinator", "heartbeatInterval", default=_REF.heartbeatInterval)
        timeout = _get(coordinators[target], "instanceTimeout", default=_COORD.instanceTimeout)
        if isinstance(heartbeat, int | float) and isinstance(timeout, int | float):
            if timeout < heartbeat * TIMEOUT_HEARTBEAT_FACTOR:
                yield Issue(
                    f"coordinators.{target}.instanceTimeout",
                    f"{timeout}s is less than {TIMEOUT_HEARTBEAT_FACTOR}x the heartbeat interval"
                    f" of {kind}.{name} ({heartbeat}s): a late heartbeat evicts the engine",
                )


def _run(values: dict[str, Any], warning: bool) -> list[Issue]:
    return [
        issue
        for r in RULES
        if r.check is not None and (r.chart is Chart.WARNING) == warning
        for issue in r.check(values)
    ]


def errors(values: dict[str, Any]) -> list[Issue]:
    """Every relational error in `values` (a values dict), in the order the rules are declared."""
    return _run(values, warning=False)


def warnings(values: dict[str, Any]) -> list[Issue]:
    """Problems that do not stop an install (NOTES.txt prints the chart's twins)."""
    return _run(values, warning=True)


def docs_for(values_map: str) -> dict[str, list[str]]:
    """path inside an entry of `values_map` -> the words of every rule listed there, in order."""
    out: dict[str, list[str]] = {}
    for r in RULES:
        for doc in r.docs:
            if values_map in doc.maps:
                out.setdefault(doc.path, []).append(doc.text)
    return out
