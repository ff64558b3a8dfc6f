"""The install-time preflight of templates/_validate.tpl, against a stubbed cluster.

Helm's `lookup` sees a cluster only under `helm install`/`upgrade`; under `helm template` it
returns nothing. The chart asks the cluster only through `lmcache.lookup` (_lookup.tpl, the
seam), so these tests copy the chart, replace that one file with a stub answering from a
table, and render with `helm template`: the checks then run exactly as at install time.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.helpers import blend, engine
from tests.pod_security import violations
from tests.support import (
    API_VERSIONS,
    CHART,
    HELMS,
    NAMESPACE,
    RELEASE,
    Rendered,
    helm_binary,
    helm_env,
)

SEAM = "templates/_lookup.tpl"
ENFORCE = "pod-security.kubernetes.io/enforce"
NVIDIA = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "nvidia"}}
STUB = """{{- define "lmcache.lookup" -}}
{{- $table := `TABLE` | fromJson -}}
{{- with get $table (join "/" .) -}}{{- toJson . -}}{{- end -}}
{{- end -}}
"""


def namespace(name: str, level: str | None = None) -> dict[str, Any]:
    labels = {"kubernetes.io/metadata.name": name} | ({ENFORCE: level} if level else {})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def cluster(*objects: dict[str, Any]) -> str:
    """The stub's table: "apiVersion/kind/namespace/name" -> object, as JSON."""
    table = {}
    for obj in objects:
        meta = obj["metadata"]
        key = "/".join([obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"]])
        table[key] = obj
    return json.dumps(table, sort_keys=True)


@functools.cache
def stubbed_chart(seam: str) -> Path:
    """A copy of the chart whose seam is `seam` (cached per seam)."""
    root = Path(tempfile.mkdtemp(prefix="lmcache-preflight-")) / "lmcache"
    shutil.copytree(CHART, root)
    (root / SEAM).write_text(seam)
    return root


def render(
    values: dict[str, Any] | Path, table: str | None, helm: str = "helm3", seam: str = STUB
) -> Rendered:
    """`helm template` of the chart: the real seam when `table` is None, else `seam` (by
    default the stub answering from `table`)."""
    chart = CHART if table is None else stubbed_chart(seam.replace("TABLE", table))
    args = [helm_binary(helm), "template", RELEASE, str(chart), "--namespace", NAMESPACE]
    for api in API_VERSIONS:
        args += ["--api-versions", api]
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as tmp:
        if isinstance(values, Path):
            args += ["-f", str(values)]
        else:
            yaml.safe_dump(values, tmp)
            tmp.flush()
            args += ["-f", tmp.name]
        proc = subprocess.run(args, capture_output=True, text=True, env=helm_env(helm), timeout=120)
    return Rendered(proc.returncode, proc.stdout, proc.stderr)


def errors(out: Rendered) -> list[str]:
    assert not out.ok and out.stdout == "", "a failed preflight renders nothing"
    text = out.stderr.split("invalid values:\n", 1)[1]
    return [line for line in text.splitlines() if line and not line.startswith("Use --debug")]


HOST_ENGINE = {"engines": {"my-cache": engine()}}
BASELINE_ENGINE = {"engines": {"my-cache": engine(ipc="isolated", privileged=False)}}
FULL = cluster(namespace(NAMESPACE), NVIDIA)


COMMENT = re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.S)


def test_the_seam_is_the_only_lookup_of_the_preflight():
    calls = {
        str(p.relative_to(CHART))
        for p in (CHART / "templates").rglob("*.tpl")
        if re.search(r"\blookup\s+[(\"]", COMMENT.sub("", p.read_text()))
    }
    # The webhook's Secret reuse (helm TLS mode) is not a check: it keeps its own lookup.
    assert calls == {SEAM, "templates/webhook/_helpers.tpl"}
    assert len((CHART / SEAM).read_text().splitlines()) < 20, "keep the seam tiny"


@pytest.mark.parametrize("helm", HELMS)
def test_without_a_cluster_nothing_is_checked(helm):
    # helm template: the real seam finds no namespace; the stub with an empty table agrees.
    values = {**HOST_ENGINE, "webhook": {"enabled": True, "engineNamespaces": ["nowhere"]}}
    real, stub = render(values, None, helm), render(values, cluster(), helm)
    assert real.ok and stub.ok, real.stderr + stub.stderr
    assert real.stdout.count("kind: DaemonSet") == 1


@pytest.mark.parametrize("helm", HELMS)
def test_a_missing_engine_namespace_fails_before_anything_is_created(helm):
    values = {**HOST_ENGINE, "webhook": {"enabled": True, "engineNamespaces": ["team-a"]}}
    assert errors(render(values, FULL, helm)) == [
        "webhook.engineNamespaces: namespace team-a does not exist; create it first or remove"
        " it from the list (the webhook's Role there could not be created, and nothing of this"
        " release has been installed)"
    ]
    assert render(values, cluster(namespace(NAMESPACE), NVIDIA, namespace("team-a")), helm).ok


@pytest.mark.parametrize("helm", HELMS)
def test_a_missing_runtime_class_fails_with_what_to_do(helm):
    values = {**HOST_ENGINE, "cacheBlendEngines": {"cb": blend(runtimeClassName="kata")}}
    found = errors(render(values, cluster(namespace(NAMESPACE)), helm))
    assert [line.split(": ", 1)[0] for line in found] == [
        "cacheBlendEngines.cb.runtimeClassName",
        "engines.my-cache.runtimeClassName",
    ]
    assert found[1].startswith(
        'engines.my-cache.runtimeClassName: RuntimeClass "nvidia" does not exist in this'
        " cluster, so the API server would reject every pod of this entry; install what"
        ' creates it (for "nvidia": the NVIDIA GPU Operator'
    )
    assert 'or set runtimeClassName to "" (the node\'s default runtime' in found[1]
    assert 'RuntimeClass "kata"' in found[0]


def test_an_engine_without_runtime_class_needs_none():
    values = {
        "engines": {
            "cdi": engine(runtimeClassName=""),
            "rocm": engine(gpuVendor="amd", nodeSelector={"gpu": "amd"}),
        }
    }
    assert render(values, cluster(namespace(NAMESPACE))).ok


@pytest.mark.parametrize("helm", HELMS)
def test_baseline_rejects_a_host_mode_engine_with_the_fix(helm):
    found = errors(render(HOST_ENGINE, cluster(namespace(NAMESPACE, "baseline"), NVIDIA), helm))
    assert found == [
        f'engines.my-cache: namespace {NAMESPACE} enforces Pod Security "baseline", which'
        " rejects this entry's pods (hostIPC, a privileged container); set ipc: isolated and"
        " privileged: false, or label the namespace pod-security.kubernetes.io/enforce=privileged"
    ]
    assert render(BASELINE_ENGINE, cluster(namespace(NAMESPACE, "baseline"), NVIDIA), helm).ok
    assert render(HOST_ENGINE, cluster(namespace(NAMESPACE, "privileged"), NVIDIA), helm).ok


def test_restricted_rejects_every_lmcache_pod_and_says_baseline_is_enough():
    values = {**BASELINE_ENGINE, "coordinators": {"fleet": {}}}
    found = errors(render(values, cluster(namespace(NAMESPACE, "restricted"), NVIDIA)))
    assert [line.split(": ", 1)[0] for line in found] == ["coordinators.fleet", "engines.my-cache"]
    assert all('enforces Pod Security "restricted"' in line for line in found)
    assert all("enforce=baseline" in line for line in found)
    assert "runAsNonRoot unset" in found[0]


SCENARIOS = sorted((CHART / "ci").glob("*-values.yaml"))


def entry_of(doc: dict[str, Any]) -> str | None:
    """values path (engines.N, ...) of a workload the chart renders for an entry."""
    labels = doc["spec"]["template"]["metadata"].get("labels", {})
    component = labels.get("app.kubernetes.io/component")
    kinds = {"cache-engine": "engines", "cacheblend-engine": "cacheBlendEngines"}
    if component in kinds:
        return f"{kinds[component]}.{labels['lmcache.ai/engine']}"
    if component == "coordinator":
        return f"coordinators.{labels['lmcache.ai/coordinator']}"
    return None


@pytest.mark.parametrize("level", ["baseline", "restricted"])
@pytest.mark.parametrize("values", SCENARIOS, ids=lambda p: p.name)
def test_the_preflight_agrees_with_the_pod_security_evaluator(values, level):
    # The chart decides from values; the evaluator judges the pods it renders. Per entry of
    # every scenario, both must find the same: rejected or admitted.
    plain = render(values, None)
    assert plain.ok, plain.stderr
    rejected = set()
    for doc in plain.docs:
        template = doc.get("spec", {}).get("template", {})
        entry = entry_of(doc) if "spec" in template else None
        if entry and violations(level, template["spec"], template["metadata"].get("annotations")):
            rejected.add(entry)
    out = render(values, cluster(namespace(NAMESPACE, level), NVIDIA))
    flagged = set()
    if not out.ok:
        flagged = {line.split(": ", 1)[0] for line in errors(out) if "Pod Security" in line}
    assert flagged == rejected


def test_an_enforce_value_pod_security_cannot_parse_counts_as_restricted():
    found = errors(render(BASELINE_ENGINE, cluster(namespace(NAMESPACE, "Baseline"), NVIDIA)))
    # the message quotes the label as written, so the user sees why it is not "baseline"
    assert len(found) == 1
    assert (
        'enforces Pod Security "Baseline" (not a level Pod Security knows, so it applies'
        ' "restricted")' in found[0]
    )


HOST_PATH = {"volumes": [{"name": "x", "hostPath": {"path": "/x"}}]}


@pytest.mark.parametrize(
    ("fields", "broken", "fix"),
    [
        ({"ipc": "isolated"}, "(a privileged container)", "; set privileged: false, or label"),
        ({"privileged": False}, "(hostIPC)", "; set ipc: isolated, or label"),
        (
            {"ipc": "isolated", "privileged": False, **HOST_PATH},
            "(hostPath volumes (/x))",
            "; remove the hostPath volumes from engines.my-cache.volumes, or label",
        ),
        (
            HOST_PATH,
            "(hostIPC, a privileged container, hostPath volumes (/x))",
            "; set ipc: isolated and privileged: false and remove the hostPath volumes from"
            " engines.my-cache.volumes, or label",
        ),
        (
            {"gpuVendor": "amd"},
            "(hostIPC, a privileged container, hostPath volumes (/dev/kfd, /dev/dri))",
            "; gpuVendor amd needs a privileged container and the host's device nodes, which"
            " baseline never admits: label",
        ),
    ],
    ids=["isolated-privileged", "host-unprivileged", "own-host-path", "host-and-own", "amd"],
)
def test_the_baseline_fix_names_only_what_the_entry_breaks(fields, broken, fix):
    values = {"engines": {"my-cache": engine(**fields)}}
    (found,) = errors(render(values, cluster(namespace(NAMESPACE, "baseline"), NVIDIA)))
    assert f"rejects this entry's pods {broken}{fix}" in found
    assert found.endswith("pod-security.kubernetes.io/enforce=privileged")


# Helm's lookup fails the whole render on any error but NotFound (helm/helm
# pkg/engine/lookup_func.go): here, RBAC forbidding the installer to get a RuntimeClass.
FORBIDDEN = """{{- define "lmcache.lookup" -}}
{{- fail "error calling lookup: runtimeclasses.node.k8s.io is forbidden" -}}
{{- end -}}
"""


@pytest.mark.parametrize("helm", HELMS)
def test_preflight_false_asks_the_cluster_nothing(helm):
    values = {**BASELINE_ENGINE, "coordinators": {"fleet": {}}}
    forbidden = render(values, "", helm, seam=FORBIDDEN)
    assert not forbidden.ok and "is forbidden" in forbidden.stderr
    off = render({**values, "preflight": {"enabled": False}}, "", helm, seam=FORBIDDEN)
    assert off.ok, off.stderr
    assert off.stdout == render(values, None, helm).stdout


def test_preflight_false_asks_nothing():
    # A user who may not read Namespaces or RuntimeClasses: Helm's lookup would fail the
    # render on the 403, so preflight.enabled: false skips every question.
    values = {
        **HOST_ENGINE,
        "webhook": {"enabled": True, "engineNamespaces": ["team-a"]},
        "preflight": {"enabled": False},
    }
    assert render(values, cluster(namespace(NAMESPACE, "restricted"))).ok


def test_under_create_namespace_the_default_namespace_shows_the_cluster():
    # `helm install --create-namespace` renders before it creates the release namespace:
    # the checks still run (found through `default`), and never report that namespace.
    values = {
        **HOST_ENGINE,
        "webhook": {"enabled": True, "engineNamespaces": [NAMESPACE, "team-a"]},
    }
    found = errors(render(values, cluster(namespace("default"), NVIDIA)))
    assert [line.split(";", 1)[0] for line in found] == [
        "webhook.engineNamespaces: namespace team-a does not exist"
    ]
