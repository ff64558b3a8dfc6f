"""Helpers for the monitoring tests: promtool, and the PromQL of the dashboards and rules."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from lmcache_k8s.monitoring.dashboards import DASHBOARD_DIR
from tests.support import CHART, render

MONITORING_VALUES = CHART / "ci" / "monitoring-values.yaml"
TESTDATA = Path(__file__).resolve().parent / "testdata"
# What Grafana substitutes into a query before sending it, with values for the monitoring
# scenario's release (rel in llm). An unknown variable fails the test.
GRAFANA_VARIABLES = {
    "__rate_interval": "1m",
    "__range": "1h",
    "namespace": "llm",
    "engine": "my-cache",
    "coordinator": "fleet",
    "pod": ".+",
    "job": "rel-lmcache-webhook",
}


def promtool() -> str:
    """Path of promtool (Debian's prometheus package; scripts/setup.sh installs it)."""
    found = shutil.which("promtool")
    if not found:
        pytest.fail("promtool is not installed: run scripts/setup.sh (apt-get install prometheus)")
    return found


def run_promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARD_DIR.glob("*.json"))}


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in board["panels"] if p.get("type") != "row"]


def substitute(expr: str) -> str:
    """A dashboard query as Grafana sends it, with the variables of GRAFANA_VARIABLES."""

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in GRAFANA_VARIABLES:
            raise AssertionError(f"unknown Grafana variable ${name} in {expr!r}")
        return GRAFANA_VARIABLES[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, expression as sent) for every query of every committed dashboard."""
    out = []
    for name, board in dashboards().items():
        for panel in panels(board):
            for target in panel.get("targets", []):
                out.append(
                    (f"{name}: {panel['title']} [{target['refId']}]", substitute(target["expr"]))
                )
    return out


@functools.cache
def _rule_groups(values: Path) -> str:
    out = render(values_files=(values,), postrender=True)
    rules = out.kinds("PrometheusRule")
    assert len(rules) == 1, [d["kind"] for d in out.docs]
    return json.dumps(rules[0]["spec"]["groups"])


def rendered_rule_groups(values: Path = MONITORING_VALUES) -> list[dict[str, Any]]:
    """The rule groups the chart renders (through the post-renderer) for values; a fresh copy."""
    return json.loads(_rule_groups(values))


def write_rules(groups: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path
