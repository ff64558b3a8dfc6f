"""Static checks run with the suite, so CI enforces what scripts/lint.sh checks by hand."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import CHART, CI_VALUES, ROOT, render

PYTHON_TREES = ["lmcache_k8s", "postrender", "webhook", "kubectl_lmcache", "tests", "scripts"]
# Rendered manifests hold base64 certificates and JSON args on one line, and user values
# passed through toYaml write their lists unindented while the templates indent theirs.
RENDERED_RULES = (
    "{extends: default, rules: {line-length: disable, document-start: disable,"
    " indentation: {indent-sequences: whatever}}}"
)


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ruff_finds_nothing():
    proc = run("ruff", "check", *PYTHON_TREES)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_python_is_formatted():
    proc = run("ruff", "format", "--check", *PYTHON_TREES)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_values_files_pass_yamllint():
    files = [CHART / "values.yaml", CHART / "ci", ROOT / "ct.yaml", ROOT / "examples"]
    proc = run("yamllint", "-c", str(ROOT / ".yamllint"), *map(str, files))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_rendered_output_passes_yamllint(values):
    out = render(values_files=(values,), postrender=True)
    assert out.returncode == 0, out.stderr
    proc = run("yamllint", "-d", RENDERED_RULES, "-", stdin=out.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
