"""The PrometheusRule: parsed by promtool, every alert fired and resolved by promtool's unit
tests, every series name exported by a real process, and gated like the ServiceMonitors."""

from __future__ import annotations

import shutil

import pytest
import yaml

from lmcache_k8s.monitoring.inventory import metric_names, series_names
from tests.chart.helpers import notes
from tests.monitoring.promql import (
    MONITORING_VALUES,
    TESTDATA,
    rendered_rule_groups,
    run_promtool,
    write_rules,
)
from tests.support import HELMS, render

UNIT_TESTS = TESTDATA / "alerts-test.yaml"
ALERTS = {
    "LMCacheEngineNotReady",
    "LMCacheL1NearFull",
    "LMCacheWebhookDown",
    "LMCacheWebhookErrors",
    "LMCacheWebhookSkips",
    "LMCacheCacheBlendWithoutWebhook",
    "LMCacheEnginesWithoutCoordinator",
    "LMCacheCoordinatorDown",
}


def rules(groups):
    return [rule for group in groups for rule in group["rules"]]


def test_the_monitoring_scenario_renders_every_alert():
    alerts = {r["alert"] for r in rules(rendered_rule_groups())}
    assert alerts == ALERTS


def test_every_rule_has_a_summary_a_description_and_a_runbook_section():
    doc = (TESTDATA.parents[2] / "docs" / "observability.md").read_text()
    for rule in rules(rendered_rule_groups()):
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], rule["alert"]
        anchor = annotations["runbook_url"].rsplit("#", 1)[1]
        assert anchor == rule["alert"].lower()
        assert f"### {rule['alert']}" in doc, (
            f"docs/observability.md lacks a runbook for {rule['alert']}"
        )
        assert rule["labels"]["severity"] in {"critical", "warning"}


def test_promtool_accepts_the_rendered_rule_groups(tmp_path):
    write_rules(rendered_rule_groups(), tmp_path / "rules.yaml")
    proc = run_promtool("check", "rules", "rules.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_unit_tests_fire_and_resolve_every_alert(tmp_path):
    write_rules(rendered_rule_groups(), tmp_path / "rendered-rules.yaml")
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    proc = run_promtool("test", "rules", UNIT_TESTS.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fired, resolved = set(), set()
    for case in yaml.safe_load(UNIT_TESTS.read_text())["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else resolved).add(check["alertname"])
    assert fired == ALERTS, ALERTS - fired
    assert resolved == ALERTS, ALERTS - resolved


def test_unit_tests_fail_when_an_alert_would_not_fire(tmp_path):
    groups = rendered_rule_groups()
    for rule in rules(groups):
        if rule["alert"] == "LMCacheL1NearFull":
            rule["expr"] = rule["expr"].replace("> 0.95", "> 0.99")
    write_rules(groups, tmp_path / "rendered-rules.yaml")
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    proc = run_promtool("test", "rules", UNIT_TESTS.name, cwd=tmp_path)
    assert proc.returncode != 0
    assert "LMCacheL1NearFull" in proc.stdout + proc.stderr


def test_every_series_an_alert_uses_is_exported():
    known = series_names()
    used = {name for rule in rules(rendered_rule_groups()) for name in metric_names(rule["expr"])}
    assert used, "no series found"
    assert not sorted(used - set(known)), sorted(used - set(known))


def test_a_misspelled_series_is_caught():
    assert "lmcache_mp_lookup_hit_total" not in series_names()  # the unit suffix is missing
    assert "lmcache_mp_lookup_hit_tokens_total" in series_names()


@pytest.mark.parametrize("helm", HELMS)
def test_alerts_without_the_prometheus_rule_api_fail_loudly(helm):
    out = render(
        {"monitoring": {"alerts": {"enabled": True}}, "engines": {"a": {"l1": {"sizeGB": 1}}}},
        helm=helm,
        api_versions=(),
    )
    assert out.returncode != 0
    assert "monitoring.alerts.enabled: needs the monitoring.coreos.com/v1 API" in out.stderr
    assert "--api-versions monitoring.coreos.com/v1" in out.stderr


@pytest.mark.parametrize("helm", HELMS)
def test_webhook_service_monitor_without_the_api_fails_loudly(helm):
    values = {
        "webhook": {"enabled": True, "tls": {"mode": "helm"}, "serviceMonitor": {"enabled": True}}
    }
    out = render(values, helm=helm, api_versions=())
    assert out.returncode != 0
    assert "webhook.serviceMonitor.enabled: needs the monitoring.coreos.com/v1 API" in out.stderr


def test_thresholds_durations_and_switches_are_values():
    values = {
        "engines": {"a": {"l1": {"sizeGB": 1}}},
        "monitoring": {
            "alerts": {
                "enabled": True,
                "l1NearFull": {"threshold": 0.9, "for": "30m", "severity": "critical"},
                "engineNotReady": {"enabled": False},
                "ruleLabels": {"severity": "ignored", "team": "x"},
            }
        },
    }
    groups = render(values).get("PrometheusRule", "rel-lmcache-alerts")["spec"]["groups"]
    (rule,) = rules(groups)
    assert rule["alert"] == "LMCacheL1NearFull"
    assert rule["expr"].rstrip().endswith("> 0.9")
    assert rule["for"] == "30m"
    assert rule["labels"] == {"severity": "critical", "team": "x"}
    assert "runbook_url" not in rule["annotations"]


def test_alert_groups_follow_what_the_release_deploys():
    # No webhook in this release (explicitly off: a CacheBlend engine turns it on by
    # default): the webhook's own alerts are not rendered, but a CacheBlend engine still
    # gets the alert that no webhook anywhere serves it.
    values = {
        "cacheBlendEngines": {
            "b": {"l1": {"sizeGB": 1}, "injection": {"payloadImage": {"repository": "r"}}}
        },
        "coordinators": {"idle": {"replicas": 0}},
        "monitoring": {"alerts": {"enabled": True}},
        "webhook": {"enabled": False},
    }
    groups = render(values).get("PrometheusRule", "rel-lmcache-alerts")["spec"]["groups"]
    assert {r["alert"] for r in rules(groups)} == {
        "LMCacheEngineNotReady",
        "LMCacheL1NearFull",
        "LMCacheCacheBlendWithoutWebhook",
    }
    nothing = render({"monitoring": {"alerts": {"enabled": True}}})
    assert nothing.kinds("PrometheusRule") == []


def test_alerts_and_dashboards_are_off_by_default():
    out = render({"engines": {"a": {"l1": {"sizeGB": 1}}}, "coordinators": {"c": {}}})
    assert out.kinds("PrometheusRule") == []
    assert [d["metadata"]["name"] for d in out.kinds("ConfigMap")] == ["a-connection"]


def test_notes_name_what_was_rendered_and_warn_about_alerts_nothing_scrapes():
    values = {
        "engines": {"a": {"l1": {"sizeGB": 1}}},
        "webhook": {"enabled": True, "tls": {"mode": "helm"}},
        "monitoring": {
            "alerts": {"enabled": True, "trustCRDsExist": True},
            "dashboards": {"enabled": True},
        },
    }
    text = notes(values)
    assert "PrometheusRule rel-lmcache-alerts" in text
    assert "ConfigMaps rel-lmcache-dashboard-{engines,coordinators,webhook}" in text
    assert "engines.a have no ServiceMonitor" in text
    assert "set webhook.serviceMonitor.enabled: true" in text


def test_the_scenario_is_used():
    assert MONITORING_VALUES.exists()
