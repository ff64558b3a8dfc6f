"""Helpers of the chart tests (tests/chart/): cached renders and object accessors.

Each distinct (values, Helm version, API versions) is rendered once per test process, so
many small assertions on one render cost one `helm template`. Rendered objects are shared
between tests: read them, never modify them.
"""

from __future__ import annotations

import functools
import json
import subprocess
import tempfile
from typing import Any

import yaml

from tests.support import (
    API_VERSIONS,
    CHART,
    NAMESPACE,
    RELEASE,
    Rendered,
    helm_binary,
    helm_env,
)
from tests.support import rendered as support_rendered

PAYLOAD = {"payloadImage": {"repository": "registry.example.com/cacheblend-plugin"}}


def engine(size_gb: float = 60, **fields: Any) -> dict[str, Any]:
    """An EngineSpec with the one required field filled in."""
    return {"l1": {"sizeGB": size_gb}, **fields}


def blend(size_gb: float = 60, **fields: Any) -> dict[str, Any]:
    """A CacheBlendSpec with its required fields filled in."""
    return {"l1": {"sizeGB": size_gb}, "injection": PAYLOAD, **fields}


def rendered(
    values: dict[str, Any],
    helm: str = "helm3",
    *,
    api_versions: tuple[str, ...] = API_VERSIONS,
    namespace: str = NAMESPACE,
    release: str = RELEASE,
) -> Rendered:
    """`helm template` of the chart with `values`, cached; check `.ok` before `.docs`."""
    return support_rendered(
        values, helm=helm, api_versions=api_versions, namespace=namespace, release=release
    )


def ok(values: dict[str, Any], helm: str = "helm3", **kwargs: Any) -> Rendered:
    out = rendered(values, helm, **kwargs)
    assert out.ok, out.stderr
    return out


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["template"]["spec"]


def container(doc: dict[str, Any]) -> dict[str, Any]:
    (only,) = pod_spec(doc)["containers"]
    return only


def args(doc: dict[str, Any]) -> list[str]:
    return container(doc)["args"]


def flag_value(argv: list[str], flag: str) -> str:
    assert argv.count(flag) == 1, f"{flag} appears {argv.count(flag)} times in {argv}"
    return argv[argv.index(flag) + 1]


@functools.cache
def _notes(values_json: str, helm: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as values_file:
        yaml.safe_dump(json.loads(values_json), values_file)
        values_file.flush()
        proc = subprocess.run(
            [helm_binary(helm), "install", RELEASE, str(CHART), "--dry-run=client"]
            + ["--namespace", NAMESPACE, "-f", values_file.name],
            capture_output=True,
            text=True,
            env={**helm_env(helm), "KUBECONFIG": "/nonexistent"},
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("\nNOTES:\n", 1)[1]


def notes(values: dict[str, Any]) -> str:
    """NOTES.txt as `helm install --dry-run=client` prints it (helm template does not).

    Helm 4 only: Helm 3.18's install needs a reachable cluster even for a client dry run.
    """
    return _notes(json.dumps(values, sort_keys=True), "helm4")
