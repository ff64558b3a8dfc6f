"""The committed metric inventory (scripts/metric_inventory.py) and the name extraction."""

from __future__ import annotations

import pytest

from lmcache_k8s.monitoring import inventory
from lmcache_k8s.monitoring.inventory import metric_names, series_names
from lmcache_k8s.monitoring.kube_state_metrics import DOCUMENTED

LMCACHE_SOURCES = ("engine", "cacheblend-engine", "coordinator")


def test_inventory_covers_every_process_and_names_its_versions():
    data = inventory.load()
    assert set(data["sources"]) == {*LMCACHE_SOURCES, "webhook", "documented"}
    assert data["versions"]["lmcache"] == "0.5.6"
    assert data["versions"]["opentelemetry-exporter-prometheus"]


@pytest.mark.parametrize("source", LMCACHE_SOURCES)
def test_every_lmcache_name_is_observed_or_derived_from_an_instrument(source):
    metrics = inventory.load()["sources"][source]["metrics"]
    for family, metric in metrics.items():
        assert metric["obtained"] in {"observed", "derived"}, family
        if family.startswith("lmcache_"):
            assert metric["instrument"].startswith(
                ("lmcache_mp.", "lmcache_blend.", "lmcache_coordinator.")
            ), family
        if metric["obtained"] == "derived":
            assert "instrument" in metric, family


def test_the_run_saw_real_traffic():
    sources = inventory.load()["sources"]
    engine = sources["engine"]["metrics"]
    assert engine["lmcache_mp_lookup_hit_tokens"]["obtained"] == "observed"
    assert engine["lmcache_mp_lookup_hit_tokens"]["instrument"] == "lmcache_mp.lookup_hit"
    assert engine["lmcache_mp_lookup_hit_tokens"]["unit"] == "tokens"
    assert engine["lmcache_mp_l1_evicted_chunks"]["obtained"] == "observed"
    assert sources["engine"]["traffic"]["hits"] > 0
    blend = sources["cacheblend-engine"]["metrics"]
    assert blend["lmcache_blend_lookup_requests"]["obtained"] == "observed"
    coordinator = sources["coordinator"]["metrics"]
    assert coordinator["lmcache_coordinator_key_directory_placements"]["labels"] == ["tier"]


def test_exported_names_follow_the_exporters_suffix_rules():
    for source in LMCACHE_SOURCES:
        for family, metric in inventory.load()["sources"][source]["metrics"].items():
            if metric["type"] == "counter":
                assert metric["samples"] == [family + "_total"], family
            elif metric["type"] == "histogram":
                assert set(metric["samples"]) >= {family + s for s in ("_bucket", "_count", "_sum")}


def test_webhook_names_are_what_its_metrics_endpoint_serves_now():
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from webhook.metrics import Metrics

    live = {
        s.name
        for f in text_string_to_metric_families(generate_latest(Metrics().registry).decode())
        for s in f.samples
    }
    committed = {
        s for m in inventory.load()["sources"]["webhook"]["metrics"].values() for s in m["samples"]
    }
    assert committed == live, "webhook metrics changed: run scripts/metric_inventory.py"


def test_documented_names_are_the_listed_ones():
    assert set(inventory.load()["sources"]["documented"]["metrics"]) == set(DOCUMENTED)
    assert series_names()["kube_pod_info"] == ("documented", "documented")


def test_metric_names_finds_every_selector():
    expr = (
        'sum by (pod) (rate(a_total{x="1"}[5m])) / on () group_left () max(b) or vector(0)'
        " unless absent(c) + histogram_quantile(0.9, sum by (le) (rate(d_bucket[1m])))"
        ' + {__name__="e"} + label_replace(f, "x", "$1", "y", "(.*)") + max_over_time(g[5m:1m])'
    )
    assert metric_names(expr) == {"a_total", "b", "c", "d_bucket", "e", "f", "g"}


def test_metric_names_rejects_what_does_not_parse():
    with pytest.raises(ValueError, match="does not parse"):
        metric_names("sum(rate(x[5m])")
