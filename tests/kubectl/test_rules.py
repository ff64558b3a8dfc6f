"""The reference operator's status rules, as pure functions: every transition."""

from __future__ import annotations

import pytest

from kubectl_lmcache.configvalid import Verdict
from kubectl_lmcache.status import config_condition, phase, readiness_conditions
from kubectl_lmcache.timefmt import human_duration, parse_duration


@pytest.mark.parametrize(
    ("present", "ready", "desired", "valid", "expected"),
    [
        (False, 0, 0, None, "Pending"),  # workload missing
        (False, 0, 0, True, "Pending"),
        (True, 0, 0, True, "Pending"),  # wants no instances (no GPU node matches)
        (True, 0, 3, True, "Pending"),  # none ready yet
        (True, 1, 3, True, "Degraded"),
        (True, 2, 3, True, "Degraded"),
        (True, 3, 3, True, "Running"),
        (True, 3, 3, None, "Running"),  # ConfigValid unknown does not fail
        (True, 3, 3, False, "Failed"),  # ConfigValid False wins over readiness
        (True, 0, 3, False, "Failed"),
        (False, 0, 0, False, "Failed"),
        (True, 4, 3, True, "Pending"),  # more ready than desired (mid-rollout): neither rule
    ],
)
def test_phase(present, ready, desired, valid, expected):
    assert phase(present, ready, desired, valid) == expected


@pytest.mark.parametrize(
    ("ready", "desired", "available", "all_ready"),
    [
        (0, 0, ("False", "NoReadyInstances"), ("False", "NotAllReady")),
        (0, 3, ("False", "NoReadyInstances"), ("False", "NotAllReady")),
        (2, 3, ("True", "AtLeastOneReady"), ("False", "NotAllReady")),
        (3, 3, ("True", "AtLeastOneReady"), ("True", "AllReady")),
    ],
)
def test_readiness_conditions(ready, desired, available, all_ready):
    got = readiness_conditions(ready, desired)
    assert [(c.type, c.status, c.reason) for c in got] == [
        ("Available", *available),
        ("AllInstancesReady", *all_ready),
    ]
    assert {c.message for c in got} == {f"{ready}/{desired} instances ready"}


def test_config_condition_carries_the_post_renderers_lines():
    line = "DaemonSet/x: spec.template.spec.hostIPC: set to true: ..."
    failed = config_condition(Verdict(valid=False, messages=[line, "second"]))
    assert (failed.status, failed.reason, failed.message) == (
        "False",
        "ValidationFailed",
        f"{line}; second",
    )
    assert config_condition(Verdict()).reason == "Valid"
    unknown = config_condition(None, "cannot list configmaps: forbidden")
    assert (unknown.status, unknown.reason) == ("Unknown", "CannotCheck")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "<invalid>"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (330, "5m30s"),
        (600, "10m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600 + 60 * 12, "3h12m"),
        (5 * 3600, "5h"),
        (30 * 3600, "30h"),
        (3 * 86400 + 5 * 3600, "3d5h"),
        (20 * 86400, "20d"),
        (800 * 86400, "2y70d"),
        (3000 * 86400, "8y"),
    ],
)
def test_age_uses_kubectls_break_points(seconds, shown):
    assert human_duration(seconds) == shown


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), ("45", 45)]
)
def test_durations_read_like_kubectls(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5 minutes", "m5", "", "1x"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)
