"""A release with nothing to render installs and upgrades under Helm 3 and Helm 4.

Helm 4 fails a release whose post-renderer writes nothing ("produced empty output"); the
chart's defaults have no engines, and an upgrade can remove the last one. An empty stream
is answered with one comment line, which both Helm versions read as no objects. Errors
still write nothing at all.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from postrender.cli import EMPTY_STREAM
from tests.support import CHART, helm_binary, helm_env, postrender_executable, run_postrender

EMPTY_INPUTS = {
    "nothing": "",
    "blank lines": "\n\n  \n",
    "markers only": "---\n---\n",
    "Helm 3 source comments of empty templates": "---\n# Source: lmcache/templates/x.yaml\n",
    "an empty List": "apiVersion: v1\nkind: List\nitems: []\n",
}


@pytest.mark.parametrize("name", EMPTY_INPUTS)
def test_an_empty_stream_is_answered_with_a_non_empty_stream_of_no_objects(name):
    proc = run_postrender(EMPTY_INPUTS[name])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert [d for d in yaml.safe_load_all(proc.stdout) if d and d.get("items") != []] == []


def test_an_error_still_writes_nothing():
    broken = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec: [\n"
    proc = run_postrender(broken)
    assert proc.returncode != 0
    assert proc.stdout == ""


def helm(version: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [helm_binary(version), *args],
        capture_output=True,
        text=True,
        env={**helm_env(version), "KUBECONFIG": "/nonexistent"},
        timeout=120,
    )


def test_helm3_renders_the_default_release_through_the_post_renderer():
    proc = helm("helm3", "template", "r", str(CHART), "--post-renderer", postrender_executable())
    assert proc.returncode == 0, proc.stderr
    assert EMPTY_STREAM.strip() in proc.stdout


@pytest.mark.parametrize("command", ["template", "install", "last engine removed"])
def test_helm4_installs_and_upgrades_a_release_without_engines(command, tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text("engines: {}\ncacheBlendEngines: {}\ncoordinators: {}\n")
    args = {
        "template": ["template", "r", str(CHART)],
        # a client-side dry run goes through the post-renderer without a cluster
        "install": ["install", "r", str(CHART), "--dry-run=client"],
        # what an upgrade renders once the last entry is deleted from the values file (an
        # upgrade itself needs a cluster to read the previous release from)
        "last engine removed": ["template", "r", str(CHART), "-f", str(values)],
    }[command]
    proc = helm("helm4", *args, "--post-renderer", "lmcache")
    assert "produced empty output" not in proc.stderr
    assert proc.returncode == 0, proc.stderr
