"""Shared test helpers: run the real Helm 3 / Helm 4 binaries and validate what they render.

Every chart test goes through `render()`, so the way the post-renderer is wired into each
Helm version (executable for Helm 3, plugin for Helm 4) is written once.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "lmcache"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
PLUGINS = ROOT / "plugins"
SHARED = ROOT.parent / "shared"
CRDS = SHARED / "crds"
HELMS = ("helm3", "helm4")
K8S_VERSIONS = ("1.29", "1.35")
# The CRD groups a real cluster with Prometheus Operator and cert-manager would advertise.
API_VERSIONS = ("monitoring.coreos.com/v1", "cert-manager.io/v1")
RELEASE = "rel"
NAMESPACE = "llm"


def helm_binary(name: str) -> str:
    """Path of helm3/helm4: .tools/bin first (scripts/install-helm.sh), then PATH."""
    local = ROOT / ".tools" / "bin" / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: run scripts/setup.sh")
    return found


def postrender_executable() -> str:
    exe = ROOT / ".venv" / "bin" / "lmcache-postrender"
    return str(exe) if exe.exists() else (shutil.which("lmcache-postrender") or str(exe))


@functools.cache
def _helm_homes() -> dict[str, str]:
    base = Path(tempfile.mkdtemp(prefix="lmcache-helm-home-"))
    homes = {}
    for var in ("HELM_DATA_HOME", "HELM_CONFIG_HOME", "HELM_CACHE_HOME"):
        (base / var).mkdir()
        homes[var] = str(base / var)
    return homes


def helm_env(helm: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(_helm_homes())
    env["PATH"] = os.pathsep.join(
        [str(ROOT / ".venv" / "bin"), str(ROOT / ".tools" / "bin"), env.get("PATH", "")]
    )
    if helm == "helm4":
        # Helm 4 finds post-renderer plugins by name; Helm 3 would warn about a v4 plugin dir.
        env["HELM_PLUGINS"] = str(PLUGINS)
    else:
        env.pop("HELM_PLUGINS", None)
    return env


@dataclass
class Rendered:
    """What one `helm template` printed. Shared between tests through `rendered()`: read the
    objects, never modify them."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @functools.cached_property
    def docs(self) -> list[dict[str, Any]]:
        assert self.returncode == 0, self.stderr
        return [d for d in yaml.safe_load_all(self.stdout) if d]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for doc in self.docs:
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                return doc
        raise KeyError(f"{kind}/{name} not rendered; have {self.refs()}")

    def has(self, kind: str, name: str) -> bool:
        return any(d["kind"] == kind and d["metadata"]["name"] == name for d in self.docs)

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def refs(self) -> list[str]:
        return [ref(d) for d in self.docs]


def left_by_helm(doc: dict[str, Any], operation: str) -> bool:
    """Whether `helm <operation>` ("install" or "upgrade") leaves this rendered object in
    the cluster: every object that is not a hook, and that operation's own hooks unless they
    are deleted once they succeed. A `pre-delete` hook (the webhook's cleanup Job) exists
    only during `helm uninstall`."""
    annotations = doc["metadata"].get("annotations") or {}
    hooks = annotations.get("helm.sh/hook")
    if not hooks:
        return True
    phases = {h.strip() for h in hooks.split(",")}
    if not phases & {f"pre-{operation}", f"post-{operation}"}:
        return False
    return "hook-succeeded" not in annotations.get("helm.sh/hook-delete-policy", "")


def ref(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def render(
    values: dict[str, Any] | None = None,
    *,
    values_files: list[Path] | tuple[Path, ...] = (),
    helm: str = "helm3",
    postrender: bool = False,
    api_versions: tuple[str, ...] = API_VERSIONS,
    extra: tuple[str, ...] = (),
    namespace: str = NAMESPACE,
    release: str = RELEASE,
) -> Rendered:
    """`helm template` the chart; values given as a dict are passed as a temporary file."""
    args = [helm_binary(helm), "template", release, str(CHART), "--namespace", namespace]
    for api in api_versions:
        args += ["--api-versions", api]
    for f in values_files:
        args += ["-f", str(f)]
    tmp = None
    if values is not None:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        yaml.safe_dump(values, tmp)
        tmp.close()
        args += ["-f", tmp.name]
    if postrender:
        target = postrender_executable() if helm == "helm3" else "lmcache"
        args += ["--post-renderer", target]
    args += list(extra)
    try:
        proc = subprocess.run(args, capture_output=True, text=True, env=helm_env(helm), timeout=120)
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    return Rendered(proc.returncode, proc.stdout, proc.stderr)


@functools.cache
def _rendered(key: str) -> Rendered:
    args = json.loads(key)
    args["values_files"] = tuple(Path(f) for f in args.get("values_files", ()))
    for name in ("api_versions", "extra"):
        if name in args:
            args[name] = tuple(args[name])
    return render(**args)


def rendered(values: dict[str, Any] | None = None, **kwargs: Any) -> Rendered:
    """`render()` with the same arguments, cached for the whole test session (per xdist
    worker): the one render cache.

    Same arguments, same `Rendered` object: most chart tests assert many small things about
    one render, which then costs one `helm template`. Use `render()` for a fresh run.
    """
    key = {"values": values, **kwargs}
    return _rendered(json.dumps(key, sort_keys=True, default=str))


def run_postrender(
    stdin: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the post-renderer as a plain filter."""
    return subprocess.run(
        [postrender_executable(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


# --- schema validation of rendered objects -------------------------------------------------


@functools.cache
def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema of the CRDs kept in ../shared/crds."""
    out = {}
    for path in CRDS.glob("*.yaml"):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = _k8s_to_jsonschema(version["schema"]["openAPIV3Schema"])
                out[(f"{group}/{version['name']}", kind)] = schema
    return out


def _k8s_to_jsonschema(node: Any, top: bool = True) -> Any:
    """Map the Kubernetes OpenAPI extensions to plain JSON Schema, strict on unknown keys."""
    if isinstance(node, list):
        return [_k8s_to_jsonschema(n, False) for n in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _k8s_to_jsonschema(v, False) for k, v in node.items() if k != "x-kubernetes-validations"
    }
    pattern = out.get("pattern")
    if isinstance(pattern, str) and "(?i)" in pattern:
        # Go's RE2 accepts an inline flag anywhere (the PrometheusRule CRD has "^(?i)...");
        # Python's re only at the start, which means the same for a whole-pattern flag.
        out["pattern"] = "(?i)" + pattern.replace("(?i)", "")
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    props = out.get("properties")
    if isinstance(props, dict):
        if "metadata" in props and top:
            props["metadata"] = {"type": "object"}
        if (
            not node.get("x-kubernetes-preserve-unknown-fields")
            and "additionalProperties" not in node
        ):
            out["additionalProperties"] = False
    return out


def validate_object(doc: dict[str, Any], version: str) -> None:
    """Validate one rendered object; raises on failure, and on any kind it has no schema for."""
    try:
        kubernetes_validate.validate(doc, version, strict=True)
        return
    except kubernetes_validate.SchemaNotFoundError:
        pass
    schema = _crd_schemas().get((doc["apiVersion"], doc["kind"]))
    if schema is None:
        raise AssertionError(f"no schema for {doc['apiVersion']} {doc['kind']} ({ref(doc)})")
    jsonschema.validate(doc, schema)
