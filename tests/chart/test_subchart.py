"""The chart works as a subchart: a parent passes `global` values and its own block."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.support import CHART, HELMS, helm_binary, helm_env


@pytest.fixture(scope="module")
def parent(tmp_path_factory):
    root = tmp_path_factory.mktemp("parent")
    (root / "Chart.yaml").write_text(
        "apiVersion: v2\nname: platform\nversion: 1.0.0\n"
        "dependencies:\n  - name: lmcache\n    version: 0.1.0\n"
    )
    shutil.copytree(CHART, root / "charts" / "lmcache", ignore=shutil.ignore_patterns("ci"))
    (root / "values.yaml").write_text(
        yaml.safe_dump(
            {
                "global": {"imageRegistry": "registry.example.com", "storageClass": "fast"},
                "lmcache": {"engines": {"my-cache": {"l1": {"sizeGB": 60}}}},
            }
        )
    )
    return root


@pytest.mark.parametrize("helm", HELMS)
def test_the_chart_renders_as_a_subchart_with_global_values(parent, helm):
    proc = subprocess.run(
        [helm_binary(helm), "template", "platform", str(parent), "--namespace", "llm"],
        capture_output=True,
        text=True,
        env=helm_env(helm),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    kinds = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(proc.stdout) if d}
    assert ("DaemonSet", "my-cache") in kinds
    assert ("ConfigMap", "my-cache-connection") in kinds


@pytest.mark.parametrize("helm", HELMS)
def test_a_typo_in_the_subchart_block_is_still_rejected(parent, helm, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"lmcache": {"engines": {"my-cache": {"l1": {"sizeGb": 60}}}}}))
    proc = subprocess.run(
        [helm_binary(helm), "template", "platform", str(parent), "-f", str(bad)],
        capture_output=True,
        text=True,
        env=helm_env(helm),
        timeout=120,
    )
    assert proc.returncode != 0
    assert "sizeGb" in proc.stderr
