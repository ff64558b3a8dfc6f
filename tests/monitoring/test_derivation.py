"""The inventory's "derived" names come from the installed OpenTelemetry Prometheus exporter.

scripts/observability/lmcache_side.py `derive` feeds declarations to the exporter in the real
lmcache environment; this checks that path on instruments whose exported names the run also
observed, and that every derived entry of the committed inventory is what the exporter
gives for its instrument now.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from lmcache_k8s.monitoring import inventory
from tests.support import ROOT

PYTHON = ROOT / ".tools" / "lmcache-cli" / "bin" / "python"
SIDE = ROOT / "scripts" / "observability" / "lmcache_side.py"

if os.environ.get("LMCACHE_K8S_SKIP_REAL_CLI") == "1":
    pytest.skip(
        "LMCACHE_K8S_SKIP_REAL_CLI=1: the real lmcache environment is not installed",
        allow_module_level=True,
    )


def derive(declarations: list[dict], tmp_path) -> dict[str, dict]:
    assert PYTHON.exists(), "run scripts/setup.sh (it installs the real lmcache environment)"
    path = tmp_path / "declarations.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in declarations))
    proc = subprocess.run(
        [str(PYTHON), str(SIDE), "derive", str(path)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {d["instrument"]: d for d in json.loads(proc.stdout) if d["family"] != "target"}


def test_the_exporter_renames_as_the_real_processes_export(tmp_path):
    declared = [
        {"kind": "counter", "name": "lmcache_mp.lookup_hit", "unit": "tokens", "description": ""},
        {"kind": "counter", "name": "lmcache_mp.lookups", "unit": "requests", "description": ""},
        {
            "kind": "histogram",
            "name": "lmcache_mp.l2_store_throughput",
            "unit": "GB/s",
            "description": "",
        },
        {
            "kind": "histogram",
            "name": "lmcache_blend.lookup_duration",
            "unit": "ms",
            "description": "",
        },
        {
            "kind": "observable_gauge",
            "name": "lmcache_mp.l1_usage_ratio",
            "unit": "",
            "description": "",
        },
        {
            "kind": "observable_counter",
            "name": "lmcache_mp.event_bus.dropped_events_total",
            "unit": "",
            "description": "",
        },
    ]
    derived = derive(declared, tmp_path)
    assert derived["lmcache_mp.lookup_hit"]["samples"] == ["lmcache_mp_lookup_hit_tokens_total"]
    assert derived["lmcache_mp.lookups"]["samples"] == ["lmcache_mp_lookups_requests_total"]
    assert (
        "lmcache_mp_l2_store_throughput_GB_per_second_bucket"
        in (derived["lmcache_mp.l2_store_throughput"]["samples"])
    )
    assert (
        "lmcache_blend_lookup_duration_milliseconds_bucket"
        in (derived["lmcache_blend.lookup_duration"]["samples"])
    )
    assert derived["lmcache_mp.l1_usage_ratio"]["samples"] == ["lmcache_mp_l1_usage_ratio"]
    assert derived["lmcache_mp.event_bus.dropped_events_total"]["samples"] == [
        "lmcache_mp_event_bus_dropped_events_total"
    ]
    # The same names the real processes were seen exporting.
    seen = inventory.series_names()
    for d in derived.values():
        for sample in d["samples"]:
            assert seen[sample][1] == "observed", sample


def test_every_derived_name_in_the_inventory_is_what_the_exporter_gives(tmp_path):
    entries = {}
    for source in ("engine", "cacheblend-engine", "coordinator"):
        for metric in inventory.load()["sources"][source]["metrics"].values():
            if metric["obtained"] == "derived":
                entries[metric["instrument"]] = metric
    kinds = {"counter": "counter", "histogram": "histogram", "gauge": "observable_gauge"}
    declared = [
        {"kind": kinds[m["type"]], "name": name, "unit": m["unit"], "description": ""}
        for name, m in entries.items()
    ]
    derived = derive(declared, tmp_path)
    for name, metric in entries.items():
        assert derived[name]["samples"] == metric["samples"], name
