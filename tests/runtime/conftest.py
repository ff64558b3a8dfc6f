"""The runtime tier's one expensive fixture: every selected scenario, started at once.

`runtime_reports` builds the scenarios the selected tests ask for (their
`runtime_scenario` parameter), starts all their processes together in one pod network, runs
every scenario's checks in parallel on node threads, stops exactly the processes it started
and removes the namespaces, and hands back one `checks.Report` per scenario.

Prerequisites: root, `ip`, `setpriv`, `redis-server` and the real lmcache in
.tools/lmcache-cli (scripts/setup.sh installs them). Missing ones skip the tier on a
developer machine and fail it in CI (CI=true).
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import time

import pytest

from tests.runtime import checks, netns, scenarios
from tests.runtime.cluster import LMCACHE, Cluster

PARAM = "runtime_scenario"


def _missing() -> list[str]:
    missing = netns.missing_prerequisites()
    for tool, package in (("setpriv", "util-linux"), ("redis-server", "redis-server")):
        if shutil.which(tool) is None:
            missing.append(f"`{tool}` ({package})")
    if not LMCACHE.exists():
        missing.append(f"the real lmcache CLI at {LMCACHE} (scripts/install-real-cli.sh)")
    return missing


def _wanted(session: pytest.Session) -> list[str]:
    names = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get(PARAM) if callspec else None
        if name and name not in names:
            names.append(name)
    return names


@pytest.fixture(scope="session")
def runtime_reports(request: pytest.FixtureRequest) -> dict[str, checks.Report]:
    if os.environ.get("LMCACHE_K8S_SKIP_REAL_CLI") == "1":
        pytest.skip("LMCACHE_K8S_SKIP_REAL_CLI=1: the real lmcache is not installed")
    missing = _missing()
    if missing:
        message = "runtime tier needs " + ", ".join(missing) + ": run scripts/setup.sh as root"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    by_name = {p.name: p for p in scenarios.runtime_values_files()}

    def build(name: str):
        return scenarios.broken() if name == scenarios.BROKEN else scenarios.build(by_name[name])

    with concurrent.futures.ThreadPoolExecutor(4) as pool:  # helm runs in subprocesses
        built = list(pool.map(build, _wanted(request.session)))
    begin = time.monotonic()
    cluster = Cluster()
    stopped = "not stopped"
    try:
        cluster.start(built)
        futures = {s.name: cluster.node.submit(checks.check, cluster, s) for s in built}
        reports = {name: future.result() for name, future in futures.items()}
    finally:
        stopped = cluster.close()
    processes = sum(1 for p in cluster.pods if p.proc is not None)
    tier = (
        f"{len(built)} scenarios, {processes} processes started at once,"
        f" {time.monotonic() - begin:.0f} s from the first start to the last stop; {stopped}"
    )
    for report in reports.values():
        report.tier = tier
    return reports
