"""The chart objects of monitoring: the dashboard ConfigMaps and the webhook's ServiceMonitor."""

from __future__ import annotations

import json

from lmcache_k8s.monitoring.dashboards import DASHBOARD_DIR
from tests.support import render

WEBHOOK_HELM_TLS = {"enabled": True, "tls": {"mode": "helm"}}


def test_dashboards_are_config_maps_the_grafana_sidecar_loads():
    out = render({"monitoring": {"dashboards": {"enabled": True}}})
    maps = {d["metadata"]["name"]: d for d in out.kinds("ConfigMap")}
    assert set(maps) == {
        "rel-lmcache-dashboard-engines",
        "rel-lmcache-dashboard-coordinators",
        "rel-lmcache-dashboard-webhook",
    }
    for name, cm in maps.items():
        short = name.rsplit("-", 1)[1]
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["labels"]["app.kubernetes.io/component"] == "monitoring"
        assert cm["metadata"]["annotations"] == {"grafana_folder": "LMCache"}
        (key,) = cm["data"]
        assert key == f"lmcache-{short}.json"
        # Embedded verbatim: Grafana's own {{...}} legends are not templated by Helm.
        committed = (DASHBOARD_DIR / f"{short}.json").read_text().rstrip("\n")
        assert cm["data"][key] == committed
        assert json.loads(cm["data"][key])["uid"] == f"lmcache-{short}"


def test_the_sidecar_label_folder_and_extras_are_values():
    dashboards = {
        "enabled": True,
        "label": "grafana.io/dashboard",
        "labelValue": "lmcache",
        "folder": "",
        "labels": {"team": "ml"},
        "annotations": {"note": "x"},
    }
    out = render({"monitoring": {"dashboards": dashboards}})
    for cm in out.kinds("ConfigMap"):
        assert cm["metadata"]["labels"]["grafana.io/dashboard"] == "lmcache"
        assert cm["metadata"]["labels"]["team"] == "ml"
        assert "grafana_dashboard" not in cm["metadata"]["labels"]
        assert cm["metadata"]["annotations"] == {"note": "x"}


def test_webhook_service_monitor_scrapes_https_and_verifies_the_certificate():
    values = {"webhook": {**WEBHOOK_HELM_TLS, "serviceMonitor": {"enabled": True}}}
    sm = render(values).get("ServiceMonitor", "rel-lmcache-webhook")
    service = render(values).get("Service", "rel-lmcache-webhook")
    assert sm["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    (endpoint,) = sm["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"] == "https"
    assert endpoint["scheme"] == "https"
    assert endpoint["path"] == "/metrics"
    assert endpoint["interval"] == "30s"
    assert endpoint["tlsConfig"] == {
        "ca": {"secret": {"name": "rel-lmcache-webhook-tls", "key": "ca.crt"}},
        "serverName": "rel-lmcache-webhook.llm.svc",
    }


def test_webhook_service_monitor_tls_config_and_labels_are_values():
    tls = {"insecureSkipVerify": True}
    values = {
        "webhook": {
            **WEBHOOK_HELM_TLS,
            "serviceMonitor": {"enabled": True, "tlsConfig": tls, "labels": {"release": "kps"}},
        }
    }
    sm = render(values).get("ServiceMonitor", "rel-lmcache-webhook")
    assert sm["spec"]["endpoints"][0]["tlsConfig"] == tls
    assert sm["metadata"]["labels"]["release"] == "kps"
    assert sm["metadata"]["labels"]["app.kubernetes.io/component"] == "webhook"


def test_no_webhook_service_monitor_without_the_webhook_or_the_switch():
    assert render({"webhook": WEBHOOK_HELM_TLS}).kinds("ServiceMonitor") == []
    off = render({"webhook": {"serviceMonitor": {"enabled": True}}})
    assert off.returncode == 0
    assert off.kinds("ServiceMonitor") == []
