"""The chart works as a subchart: a parent passes `global` values and its own block."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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


TESTDATA = Path(__file__).parent / "testdata"


@pytest.fixture(scope="module")
def toggled_parent(tmp_path_factory):
    """The reported umbrella chart: lmcache as a dependency with `condition: lmcache.enabled`."""
    root = tmp_path_factory.mktemp("toggled")
    shutil.copy(TESTDATA / "subchart-enabled-parent-Chart.yaml", root / "Chart.yaml")
    shutil.copytree(CHART, root / "charts" / "lmcache", ignore=shutil.ignore_patterns("ci"))
    return root


def template(helm: str, chart: Path, *values: Path) -> subprocess.CompletedProcess:
    args = [helm_binary(helm), "template", "demo", str(chart), "--namespace", "llm"]
    for path in values:
        args += ["-f", str(path)]
    return subprocess.run(args, capture_output=True, text=True, env=helm_env(helm), timeout=120)


@pytest.mark.parametrize("helm", HELMS)
def test_the_condition_key_of_a_parent_chart_is_accepted(toggled_parent, helm):
    proc = template(helm, toggled_parent, TESTDATA / "subchart-enabled-values.yaml")
    assert proc.returncode == 0, proc.stderr
    kinds = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(proc.stdout) if d}
    assert ("DaemonSet", "my-cache") in kinds


@pytest.mark.parametrize("helm", HELMS)
def test_the_condition_turns_the_chart_off(toggled_parent, helm, tmp_path):
    off = tmp_path / "off.yaml"
    values = yaml.safe_load((TESTDATA / "subchart-enabled-values.yaml").read_text())
    values["lmcache"]["enabled"] = False
    off.write_text(yaml.safe_dump(values))
    proc = template(helm, toggled_parent, off)
    assert proc.returncode == 0, proc.stderr
    assert not [d for d in yaml.safe_load_all(proc.stdout) if d]


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("typo", ["enable", "enabeld", "Enabled"])
def test_a_misspelt_condition_key_is_still_rejected(toggled_parent, helm, typo, tmp_path):
    bad = tmp_path / "bad.yaml"
    values = yaml.safe_load((TESTDATA / "subchart-enabled-values.yaml").read_text())
    values["lmcache"][typo] = values["lmcache"].pop("enabled")
    bad.write_text(yaml.safe_dump(values))
    proc = template(helm, toggled_parent, bad)
    assert proc.returncode != 0
    assert typo in proc.stderr


@pytest.mark.parametrize("helm", HELMS)
def test_enabled_must_be_a_boolean(helm, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("enabled: 'yes'\n")
    proc = template(helm, CHART, bad)
    assert proc.returncode != 0
    assert "enabled" in proc.stderr
