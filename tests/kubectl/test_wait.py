"""`kubectl lmcache wait`: succeeds when the status holds, times out with the last status."""

from __future__ import annotations

import pytest

from .conftest import Api


@pytest.fixture
def installed(api: Api) -> Api:
    api.cluster.install()
    return api


def test_returns_at_once_when_the_phase_already_holds(installed: Api):
    installed.cluster.schedule("my-cache", 3, 3)
    result = installed.run("wait", "my-cache", "--for=phase=Running", "--timeout", "5m")
    assert (result.code, result.out) == (0, "lmcacheengine/my-cache condition met\n")
    assert installed.sleeps == []


def test_waits_while_pods_become_ready(installed: Api):
    installed.cluster.schedule("my-cache", 3, 0)
    steps = iter([1, 2, 3])
    installed.on_sleep.append(lambda: installed.cluster.schedule("my-cache", 3, next(steps)))
    result = installed.run("wait", "my-cache", "--for", "phase=Running", "--timeout", "5m")
    assert result.code == 0, result.err
    assert installed.sleeps == [2.0, 2.0, 2.0]  # the default interval, three polls


def test_times_out_with_the_last_phase(installed: Api):
    installed.cluster.schedule("my-cache", 3, 2)
    result = installed.run(
        "wait", "my-cache", "--for=phase=Running", "--timeout=7s", "--interval=2s"
    )
    assert result.code == 1
    assert result.err == (
        "error: timed out waiting for the condition on lmcacheengine/my-cache:"
        " phase is Degraded (2/3 instances ready)\n"
    )
    assert installed.sleeps == [2.0, 2.0, 2.0, 1.0]  # never past the deadline


def test_waits_for_a_condition_of_a_coordinator(installed: Api):
    installed.cluster.scale("my-coordinator", 2, 1)
    result = installed.run("wait", "lmcc/my-coordinator", "--for=condition=Available")
    assert (result.code, result.out) == (0, "lmcachecoordinator/my-coordinator condition met\n")
    timeout = installed.run(
        "wait", "my-coordinator", "--for=condition=AllInstancesReady", "--timeout=0"
    )
    assert timeout.code == 1
    assert "phase is Degraded (1/2 replicas ready)" in timeout.err


def test_waits_for_failed_too(installed: Api):
    del installed.cluster.obj("DaemonSet", "my-cache")["spec"]["template"]["spec"]["hostIPC"]
    result = installed.run("wait", "my-cache", "--for=condition=ConfigValid=False")
    assert result.code == 0


def test_an_unknown_name_fails_at_once(installed: Api):
    result = installed.run("wait", "nope", "--for=phase=Running")
    assert (result.code, result.err) == (1, "error: nope not found in namespace capture\n")


def test_a_workload_it_may_not_read_fails_at_once(installed: Api):
    installed.state.deny("list", "daemonsets")
    result = installed.run("wait", "my-cache", "--for=phase=Running", "--timeout=5m")
    assert result.code == 1
    assert result.err.startswith("error: cannot wait: forbidden: cannot list daemonsets.apps")
    assert installed.sleeps == []


@pytest.mark.parametrize("wanted", ["phase", "Running", "condition=", "ready=true"])
def test_a_bad_for_is_a_usage_error(installed: Api, wanted: str, capsys):
    assert installed.run("wait", "my-cache", f"--for={wanted}").code == 2
    assert "invalid --for" in capsys.readouterr().err
