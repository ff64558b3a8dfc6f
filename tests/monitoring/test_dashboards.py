"""The committed dashboards: current, well-formed, every query parsed by promtool and every
series name exported by a real process (lmcache_k8s/monitoring/inventory.json)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lmcache_k8s.monitoring import dashboards as generator
from lmcache_k8s.monitoring.inventory import metric_names, series_names
from tests.monitoring.promql import (
    dashboard_queries,
    dashboards,
    panels,
    run_promtool,
    write_rules,
)
from tests.support import ROOT


def test_committed_dashboards_are_current():
    proc = subprocess.run(
        [sys.executable, "-m", "lmcache_k8s.monitoring.dashboards", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_check_mode_reports_a_stale_dashboard(tmp_path, monkeypatch):
    monkeypatch.setattr(generator, "DASHBOARD_DIR", tmp_path)
    (tmp_path / "engines.json").write_text("{}\n")
    assert generator.main(["--check"]) == 1
    assert generator.main(["--write"]) == 0
    assert generator.main(["--check"]) == 0
    (tmp_path / "left-over.json").write_text("{}\n")
    assert generator.main(["--check"]) == 1


def test_there_is_a_dashboard_for_engines_coordinators_and_the_webhook():
    boards = dashboards()
    assert set(boards) == {"engines", "coordinators", "webhook"}
    assert len({b["uid"] for b in boards.values()}) == 3


@pytest.mark.parametrize("name", ["engines", "coordinators", "webhook"])
def test_every_panel_has_queries_and_a_place_on_the_grid(name):
    board = dashboards()[name]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(board):
        assert panel["targets"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["expr"].strip(), f"{panel['title']}: empty query"
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


def test_engine_dashboard_covers_what_the_issue_asks_for():
    titles = {p["title"] for p in panels(dashboards()["engines"])}
    for wanted in (
        "L1 usage ratio",
        "L1 bytes",
        "Token hit ratio",
        "Lookups and hits",
        "Chunks stored and retrieved",
        "Transfer throughput",
        "Eviction",
        "L2 adapters",
        "Event bus queue",
        "Event bus drain lag and drops",
        "Nodes with a ready engine",
    ):
        assert wanted in titles


def test_every_dashboard_query_parses_with_promtool(tmp_path):
    queries = dashboard_queries()
    rules = [
        {"record": f"dashboard:query_{i}:check", "expr": expr}
        for i, (_, expr) in enumerate(queries)
    ]
    write_rules([{"name": "dashboards", "rules": rules}], tmp_path / "queries.yaml")
    proc = run_promtool("check", "rules", "queries.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout


def test_a_broken_query_fails_the_promtool_check(tmp_path):
    write_rules(
        [{"name": "d", "rules": [{"record": "x:y:z", "expr": "sum(rate(foo[5m])"}]}],
        tmp_path / "queries.yaml",
    )
    assert run_promtool("check", "rules", "queries.yaml", cwd=tmp_path).returncode != 0


def test_every_series_a_dashboard_uses_is_exported():
    known = series_names()
    unknown = sorted(
        f"{where}: {name}"
        for where, expr in dashboard_queries()
        for name in metric_names(expr)
        if name not in known
    )
    assert not unknown, "not in lmcache_k8s/monitoring/inventory.json:\n" + "\n".join(unknown)
