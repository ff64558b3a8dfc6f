"""The post-renderer behind the real Helm 3 and Helm 4 binaries.

- On the chart's own output (every ci/ scenario) it is a fixed point, in both input dialects.
- Wired into `helm template`, it renders the same objects as plain Helm.
- It fixes hand-written templates, and when it fails, the user can find out why: Helm 3 shows
  its stderr; Helm 4 does not, so the report is in the log file.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.postrender import chartlike
from tests.support import (
    API_VERSIONS,
    CHART,
    CI_VALUES,
    NAMESPACE,
    PLUGINS,
    RELEASE,
    ROOT,
    helm_binary,
    helm_env,
    ref,
    rendered,
    run_postrender,
)

FILENAME_ANNOTATION = "postrenderer.helm.sh/postrender-filename"
scenarios = pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)


def _strip_random(docs):
    """The webhook's `helm` TLS mode makes a fresh CA on every render."""
    for doc in docs:
        if doc.get("kind") in ("Secret", "MutatingWebhookConfiguration"):
            doc.pop("data", None)
            doc.pop("webhooks", None)
    return docs


def plain(values: Path, helm: str):
    proc = rendered(values_files=(values,), helm=helm)
    assert proc.returncode == 0, proc.stderr
    return proc


def capture_plugin(tmp_path: Path) -> Path:
    """A Helm 4 post-renderer plugin that records its stdin: what `lmcache` receives."""
    plugins = tmp_path / "plugins"
    folder = plugins / "capture"
    folder.mkdir(parents=True)
    (folder / "plugin.yaml").write_text(
        "apiVersion: v1\ntype: postrenderer/v1\nname: capture\nversion: 0.1.0\n"
        "runtime: subprocess\nruntimeConfig:\n  platformCommand:\n"
        "    - command: ${HELM_PLUGIN_DIR}/run.sh\n"
    )
    run = folder / "run.sh"
    run.write_text(f'#!/bin/sh\ntee "{tmp_path}/stdin.yaml"\n')
    run.chmod(0o755)
    return plugins


@scenarios
def test_the_charts_output_is_a_fixed_point_of_the_filter(values, tmp_path):
    text = plain(values, "helm3").stdout
    proc = run_postrender(text, "--log", str(tmp_path / "log"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout == text


@pytest.mark.parametrize(
    "values",
    [v for v in CI_VALUES if "cacheblend" in v.name or "ref" in v.name],
    ids=lambda p: p.name,
)
def test_the_helm4_dialect_of_the_charts_output_is_a_fixed_point(values, tmp_path):
    args = [
        helm_binary("helm4"),
        "template",
        RELEASE,
        str(CHART),
        "-n",
        NAMESPACE,
        "-f",
        str(values),
    ]
    for api in API_VERSIONS:
        args += ["--api-versions", api]
    env = {**helm_env("helm4"), "HELM_PLUGINS": str(capture_plugin(tmp_path))}
    proc = subprocess.run(
        [*args, "--post-renderer", "capture"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    stdin = (tmp_path / "stdin.yaml").read_text()
    assert FILENAME_ANNOTATION in stdin and "# Source:" not in stdin
    out = run_postrender(stdin, "--log", str(tmp_path / "log"))
    assert out.returncode == 0, out.stderr
    assert out.stdout == stdin


def test_the_generator_used_by_tests_matches_the_chart():
    engine = next(v for v in CI_VALUES if v.name == "engine-minimal-values.yaml")
    coordinator = next(v for v in CI_VALUES if v.name == "coordinator-minimal-values.yaml")
    rendered = plain(engine, "helm3").docs
    made = [o for _, o in chartlike.engine_set("my-cache")]
    assert sorted(rendered, key=ref) == sorted(made, key=ref)
    rendered = plain(coordinator, "helm3").get("Deployment", "my-coordinator")
    assert rendered == chartlike.coordinator("my-coordinator")


# -- hand-written templates behind real Helm -------------------------------------------------


def make_chart(tmp_path: Path, template: str) -> Path:
    chart = tmp_path / "handmade"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: handmade\nversion: 0.1.0\n")
    (chart / "templates" / "engine.yaml").write_text(textwrap.dedent(template))
    (chart / "templates" / "hook.yaml").write_text(
        textwrap.dedent(
            """\
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: hooked
              annotations:
                helm.sh/hook: pre-install
            data:
              a: "1"
            """
        )
    )
    return chart


ENGINE = """\
    apiVersion: apps/v1
    kind: DaemonSet
    metadata:
      name: my-cache
    spec:
      selector:
        matchLabels: {app: my-cache}
      template:
        metadata:
          labels: {app: my-cache}
        spec:
          containers:
            - name: lmcache
              image: lmcache/vllm-openai:latest
              command: [lmcache, server]
              args: [--l1-size-gb, "60", --port, "5555"]
    """
BROKEN = ENGINE.replace('--port, "5555"]', '--port, "80", --host, 127.0.0.1]')


def helm_template(helm: str, chart: Path, log: Path, postrender: bool = True):
    args = [helm_binary(helm), "template", "r", str(chart)]
    if postrender:
        target = (
            str(ROOT / ".venv" / "bin" / "lmcache-postrender") if helm == "helm3" else "lmcache"
        )
        args += ["--post-renderer", target]
    env = {**helm_env(helm), "LMCACHE_POSTRENDER_LOG": str(log)}
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("helm", ["helm3", "helm4"])
def test_a_hand_written_engine_template_is_fixed(helm, tmp_path):
    log = tmp_path / "log"
    proc = helm_template(helm, make_chart(tmp_path, ENGINE), log)
    assert proc.returncode == 0, proc.stderr
    docs = {ref(d): d for d in yaml.safe_load_all(proc.stdout) if d}
    ds = docs["DaemonSet/my-cache"]
    assert ds["spec"]["template"]["spec"]["hostIPC"] is True
    assert "# Source: handmade/templates/engine.yaml" in proc.stdout
    assert FILENAME_ANNOTATION not in proc.stdout  # Helm 4 turns it back into comments
    assert "spec.template.spec.hostIPC: set to true" in log.read_text()
    if helm == "helm4":
        assert docs["ConfigMap/hooked"]["metadata"]["annotations"] == {
            "helm.sh/hook": "pre-install"
        }


def test_helm3_shows_the_post_renderers_errors(tmp_path):
    log = tmp_path / "log"
    proc = helm_template("helm3", make_chart(tmp_path, BROKEN), log)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "engines.my-cache.server.port: must be at least 1024 (got 80)" in proc.stderr
    assert "--host 127.0.0.1 conflicts with --host 0.0.0.0" in proc.stderr
    assert f"(report: {log})" in proc.stderr


def test_helm4_hides_stderr_so_the_errors_are_in_the_log(tmp_path):
    log = tmp_path / "log"
    proc = helm_template("helm4", make_chart(tmp_path, BROKEN), log)
    assert proc.returncode != 0
    assert proc.stdout == ""
    # all Helm 4.1 tells the user:
    assert (
        'failed to invoke post-renderer plugin "lmcache": plugin "lmcache" exited with error'
        in (proc.stderr)
    )
    assert "must be at least 1024" not in proc.stderr
    report = log.read_text()
    assert (
        "DaemonSet/my-cache: engines.my-cache.server.port: must be at least 1024 (got 80)" in report
    )
    assert "--host 127.0.0.1 conflicts with --host 0.0.0.0" in report


def test_post_renderer_args_reach_the_program(tmp_path):
    log = tmp_path / "log"
    chart = make_chart(tmp_path, ENGINE)
    for helm in ("helm3", "helm4"):
        args = [
            helm_binary(helm),
            "template",
            "r",
            str(chart),
            "--post-renderer-args",
            "--warnings-as-errors",
        ]
        target = (
            str(ROOT / ".venv" / "bin" / "lmcache-postrender") if helm == "helm3" else "lmcache"
        )
        env = {**helm_env(helm), "LMCACHE_POSTRENDER_LOG": str(log)}
        proc = subprocess.run(
            [*args, "--post-renderer", target], capture_output=True, text=True, env=env
        )
        assert proc.returncode != 0, helm
        assert (
            "error: DaemonSet/my-cache: spec.template.spec.hostIPC: set to true" in log.read_text()
        )


# -- the Helm 4 plugin folder ----------------------------------------------------------------


def test_the_plugin_manifest_is_a_helm4_postrenderer():
    manifest = yaml.safe_load((PLUGINS / "lmcache" / "plugin.yaml").read_text())
    assert manifest["apiVersion"] == "v1"
    assert manifest["type"] == "postrenderer/v1"
    assert manifest["name"] == "lmcache"
    assert manifest["runtime"] == "subprocess"
    assert (
        manifest["runtimeConfig"]["platformCommand"][0]["command"]
        == "${HELM_PLUGIN_DIR}/postrender.sh"
    )
    assert os.access(PLUGINS / "lmcache" / "postrender.sh", os.X_OK)


def launcher(env: dict[str, str]):
    return subprocess.run(
        ["/bin/sh", str(PLUGINS / "lmcache" / "postrender.sh"), "--check"],
        input=chartlike.engines_stream(1),
        capture_output=True,
        text=True,
        env=env,
    )


def test_the_launcher_falls_back_to_python3_dash_m(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(ROOT / ".venv" / "bin" / "python")
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "LMCACHE_POSTRENDER_LOG": str(tmp_path / "log")}
    proc = launcher(env)
    assert proc.returncode == 0, proc.stderr
    assert "ok: 5 objects" in (tmp_path / "log").read_text()


def test_the_launcher_prefers_an_explicit_binary(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "LMCACHE_POSTRENDER_BIN": str(ROOT / ".venv" / "bin" / "lmcache-postrender"),
        "LMCACHE_POSTRENDER_LOG": str(tmp_path / "log"),
    }
    proc = launcher(env)
    assert proc.returncode == 0, proc.stderr
    assert "ok: 5 objects" in (tmp_path / "log").read_text()


def test_the_launcher_says_when_the_program_is_missing(tmp_path):
    env = {"PATH": str(tmp_path), "LMCACHE_POSTRENDER_LOG": str(tmp_path / "log")}
    proc = subprocess.run(
        ["/bin/sh", str(PLUGINS / "lmcache" / "postrender.sh")],
        input="",
        capture_output=True,
        text=True,
        env={**env, "PATH": "/nonexistent"},
    )
    assert proc.returncode == 127
    assert "lmcache-postrender: not found" in (tmp_path / "log").read_text()


def test_helm4_installs_the_plugin_from_the_repository(tmp_path):
    env = helm_env("helm4")
    env.pop("HELM_PLUGINS")
    env["HELM_DATA_HOME"] = str(tmp_path / "data")
    env["LMCACHE_POSTRENDER_LOG"] = str(tmp_path / "log")
    helm = helm_binary("helm4")
    proc = subprocess.run(
        [helm, "plugin", "install", str(PLUGINS / "lmcache")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    listed = subprocess.run([helm, "plugin", "list"], capture_output=True, text=True, env=env)
    assert "lmcache" in listed.stdout and "postrenderer/v1" in listed.stdout
    chart = make_chart(tmp_path, ENGINE)
    proc = subprocess.run(
        [helm, "template", "r", str(chart), "--post-renderer", "lmcache"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "hostIPC: true" in proc.stdout
