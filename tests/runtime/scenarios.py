"""Which scenarios the runtime tier runs, and what it adds so they can run on one machine.

Every `charts/lmcache/ci/*-values.yaml` with an engine, a CacheBlend engine or a
coordinator is rendered by the real Helm 3 with two kinds of additions, both reported:

- an overlay values file that shrinks every `l1.sizeGB` above `L1_CAP_GB` to
  `SHRUNK_L1_GB` (60 GB of L1 does not fit a 24 GiB CI machine; lmcache allocates L1 up
  front on CPU). Everything else renders as the scenario says.
- what the values point at outside the release: a coordinator `url` gets a real
  coordinator, rendered by the chart as another release in the URL's namespace; a `resp`
  L2 adapter gets a real Redis started on the host name and port the values give, with
  the password the values reference (a literal, or `$(VAR)` of an env var from a Secret,
  whose value the tier makes up and gives both to the Secret and to Redis).
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.runtime.cluster import RedisServer, Release, Scenario, lmcache_container
from tests.support import CI_VALUES, NAMESPACE, RELEASE, render

L1_CAP_GB = 0.5
SHRUNK_L1_GB = 0.125  # 128 MiB: a multiple of the blend engine's 16 MiB L1 alignment
ENGINE_MAPS = ("engines", "cacheBlendEngines")
RUNTIME_MAPS = (*ENGINE_MAPS, "coordinators")
L2_SERVERS = ("resp",)  # adapter types the tier can give a real server


def runtime_values_files() -> list[Path]:
    """The ci/ scenarios that run at least one LMCache process."""
    out = []
    for path in CI_VALUES:
        values = yaml.safe_load(path.read_text()) or {}
        if any(values.get(m) for m in RUNTIME_MAPS):
            out.append(path)
    return out


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values files: maps merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def l1_overlay(values: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    overlay: dict[str, Any] = {}
    notes = []
    for kind in ENGINE_MAPS:
        for name, entry in (values.get(kind) or {}).items():
            size = ((entry or {}).get("l1") or {}).get("sizeGB")
            if isinstance(size, int | float) and size > L1_CAP_GB:
                overlay.setdefault(kind, {})[name] = {"l1": {"sizeGB": SHRUNK_L1_GB}}
                notes.append(f"{kind}.{name}.l1.sizeGB {size} -> {SHRUNK_L1_GB} to fit the machine")
    return overlay, notes


@functools.cache
def _rendered(values_file: Path | None, overlay_json: str, namespace: str, release: str) -> str:
    overlay = yaml.safe_load(overlay_json)
    out = render(
        overlay,
        values_files=(values_file,) if values_file else (),
        namespace=namespace,
        release=release,
    )
    if out.returncode != 0:
        raise RuntimeError(f"helm template failed: {out.stderr}")
    return out.stdout


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def build(values_file: Path, name: str | None = None) -> Scenario:
    values = yaml.safe_load(values_file.read_text()) or {}
    overlay, notes = l1_overlay(values)
    text = _rendered(values_file, yaml.safe_dump(overlay or None), NAMESPACE, RELEASE)
    scenario = Scenario(
        name or values_file.name,
        deep_merge(values, overlay),
        [Release(RELEASE, NAMESPACE, _docs(text))],
        notes=notes,
    )
    _add_external_coordinators(scenario)
    _add_secrets(scenario)
    _add_l2_servers(scenario)
    return scenario


def _entries(values: dict[str, Any], maps=ENGINE_MAPS):
    for kind in maps:
        for name, entry in (values.get(kind) or {}).items():
            yield kind, name, entry or {}


_SERVICE_HOST = re.compile(r"^([a-z0-9-]+)\.([a-z0-9-]+)(\.svc(\.cluster\.local)?)?$")


def _add_external_coordinators(scenario: Scenario) -> None:
    """A real coordinator behind every coordinator.url, rendered by the chart elsewhere."""
    seen = set()
    for kind, name, entry in _entries(scenario.values):
        url = (entry.get("coordinator") or {}).get("url")
        if not url or url in seen:
            continue
        seen.add(url)
        parts = urlsplit(url)
        match = _SERVICE_HOST.match(parts.hostname or "")
        if not match:
            raise ValueError(
                f"{kind}.{name}.coordinator.url {url}: the tier can only stand up a coordinator"
                " behind a Service name <name>.<namespace>[.svc[.cluster.local]]"
            )
        svc, namespace = match.group(1), match.group(2)
        port = parts.port or 80
        values = {"coordinators": {svc: {"port": port}}}
        text = _rendered(None, yaml.safe_dump(values), namespace, "external")
        scenario.releases.append(Release("external", namespace, _docs(text), external=True))
        scenario.notes.append(
            f"{kind}.{name}.coordinator.url {url}: the chart's coordinator {svc} rendered in"
            f" namespace {namespace} as release 'external'"
        )


def _add_secrets(scenario: Scenario) -> None:
    """Make up a value for every Secret key an LMCache container references."""
    for release in scenario.releases:
        for doc in release.docs:
            for var in (lmcache_container(doc) or {}).get("env") or []:
                ref = (var.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    key = (ref["name"], ref["key"])
                    scenario.secrets.setdefault(key, f"rt-{ref['name']}-{ref['key']}-7f3a")


_VAR = re.compile(r"^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$")


def _secret_behind(scenario: Scenario, kind: str, name: str, text: str) -> str:
    """The value a password field stands for: itself, or the Secret behind `$(VAR)`."""
    match = _VAR.match(text)
    if not match:
        return text
    env = (scenario.values.get(kind, {}).get(name) or {}).get("env") or []
    for var in env:
        if var.get("name") == match.group(1):
            ref = (var.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                return scenario.secrets[(ref["name"], ref["key"])]
            return str(var.get("value", ""))
    return text  # no such variable: Kubernetes leaves $(VAR) as written


def _add_l2_servers(scenario: Scenario) -> None:
    for kind, name, entry in _entries(scenario.values):
        for index, backend in enumerate(entry.get("l2Backends") or []):
            if backend.get("type") not in L2_SERVERS:
                raise ValueError(
                    f"{kind}.{name}.l2Backends.{index}: the runtime tier has no server for adapter"
                    f" type {backend.get('type')!r} (it has: {', '.join(L2_SERVERS)})"
                )
            password = _secret_behind(scenario, kind, name, str(backend.get("password", "")))
            scenario.redis.append(RedisServer(backend["host"], int(backend["port"]), password))
            scenario.notes.append(
                f"{kind}.{name}.l2Backends.{index}: a real redis-server as"
                f" {backend['host']}:{backend['port']}"
            )


# -- a deliberately broken render ------------------------------------------------------------

BROKEN = "broken: coordinator-ref-values.yaml, edited"


def _workload(scenario: Scenario, kind: str, name: str) -> dict[str, Any]:
    for doc in scenario.releases[0].docs:
        if doc.get("kind") == kind and doc["metadata"]["name"] == name:
            return doc
    raise KeyError(f"{kind}/{name} not rendered")


def _set_arg(doc: dict[str, Any], flag: str, value: str) -> None:
    container = lmcache_container(doc)
    args = container["args"]
    args[args.index(flag) + 1] = value


def broken() -> Scenario:
    """coordinator-ref-values.yaml rendered, then edited the way a bad template or patch would:

    - Service my-cache-metrics sends its metrics port to targetPort `server` (the ZMQ port);
    - DaemonSet my-cacheblend binds its HTTP frontend to 127.0.0.1 (`--http-host`);
    - DaemonSet my-cache reports to the coordinator on a port nothing serves (9401).
    """
    scenario = build(Path(CI_VALUES[0]).parent / "coordinator-ref-values.yaml", BROKEN)
    scenario.isolated = True  # its failures must not reach another scenario's processes
    for port in _workload(scenario, "Service", "my-cache-metrics")["spec"]["ports"]:
        port["targetPort"] = "server"
    _set_arg(_workload(scenario, "DaemonSet", "my-cacheblend"), "--http-host", "127.0.0.1")
    _set_arg(
        _workload(scenario, "DaemonSet", "my-cache"),
        "--coordinator-url",
        "http://fleet.llm.svc:9401",
    )
    scenario.notes.append("edited: Service/my-cache-metrics targetPort server (the ZMQ port)")
    scenario.notes.append("edited: DaemonSet/my-cacheblend --http-host 127.0.0.1")
    scenario.notes.append("edited: DaemonSet/my-cache --coordinator-url http://fleet.llm.svc:9401")
    return scenario
