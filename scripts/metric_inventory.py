"""Write lmcache_k8s/monitoring/inventory.json: every metric name the chart's dashboards and
alerts may use, by the process that exports it, and how the name was obtained.

    .venv/bin/python scripts/metric_inventory.py            # about 3 minutes on two cores
    .venv/bin/python scripts/metric_inventory.py --keep DIR # keep logs and declarations

How each name is obtained:

- lmcache engine, CacheBlend engine, coordinator (lmcache 0.5.6 from .tools/lmcache-cli):
  the real `lmcache server` (twice: default and `--engine-type blend`) and `lmcache
  coordinator` run on loopback, wrapped so that every OpenTelemetry instrument they declare
  is recorded. A CPU stand-in for a vLLM worker, built from lmcache's own MP client and
  transfer context, sends real lookups, stores, retrieves and (blend) CacheBlend lookups;
  then each /metrics is scraped. A name seen there is "observed". Instruments that saw no
  event in the run (OpenTelemetry exports an instrument only after its first event) are
  fed to the installed OpenTelemetry Prometheus exporter, whose own naming rules give the
  exported name: "derived". The script fails if a derived name disagrees with an observed
  one, so the derivation is checked against every series that does appear.
- webhook: the samples of webhook.metrics.Metrics' registry, which is what the webhook's
  /metrics serves ("observed").
- kube-state-metrics and Prometheus' own `up`: names from their documentation
  ("documented"), listed in lmcache_k8s/monitoring/kube_state_metrics.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from observability.processes import LMCACHE_PYTHON, ROOT, SIDE, LMCacheFleet, get  # noqa: E402

from lmcache_k8s.monitoring import inventory  # noqa: E402
from lmcache_k8s.monitoring.kube_state_metrics import DOCUMENTED  # noqa: E402

SOURCES = {"engine": "engine", "blend": "cacheblend-engine", "coordinator": "coordinator"}


def scrape(url: str) -> dict[str, dict]:
    """family name -> {type, samples, labels} from one /metrics page."""
    out: dict[str, dict] = {}
    for family in text_string_to_metric_families(get(url)):
        entry = out.setdefault(
            family.name, {"type": family.type, "samples": set(), "labels": set()}
        )
        for sample in family.samples:
            entry["samples"].add(sample.name)
            entry["labels"].update(sample.labels)
    return out


def derive(declarations: Path) -> list[dict]:
    proc = subprocess.run(
        [str(LMCACHE_PYTHON), str(SIDE), "derive", str(declarations)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    # target_info (OpenTelemetry resource attributes) comes with every instrument: it is
    # recorded once, as observed.
    return [d for d in json.loads(proc.stdout) if d["family"] not in ("target", "target_info")]


def lmcache_sources(workdir: Path) -> dict[str, dict]:
    fleet = LMCacheFleet(workdir)
    try:
        fleet.start()
        # Enough traffic to fill the 0.5 GB L1 past its 0.8 watermark, so eviction runs.
        traffic = {
            "engine": fleet.drive("engine", "--requests", "120", "--reuse", "0.5"),
            "blend": fleet.drive("blend", "--requests", "60", "--reuse", "0.5", "--blend"),
        }
        time.sleep(6)  # the event bus drains asynchronously; let the last events land
        scraped = {name: scrape(fleet.metrics_url(name)) for name in ("engine", "blend")}
        scraped["coordinator"] = scrape(
            f"http://127.0.0.1:{fleet.ports['coordinator.http']}/metrics"
        )
    finally:
        fleet.stop()
    sources = {}
    for name, source in SOURCES.items():
        observed = scraped[name]
        derived = derive(fleet.declarations(name))
        metrics: dict[str, dict] = {}
        for d in derived:
            seen = observed.get(d["family"])
            if seen is not None and not seen["samples"] <= set(d["samples"]):
                raise SystemExit(
                    f"{source}: {d['instrument']} is exported as {sorted(seen['samples'])}, but"
                    f" the exporter's rules give {d['samples']}: the derivation is wrong"
                )
            metrics[d["family"]] = {
                "type": d["type"],
                "samples": d["samples"],
                "instrument": d["instrument"],
                "unit": d["unit"],
                "obtained": "observed" if seen is not None else "derived",
                "labels": sorted(seen["labels"]) if seen is not None else [],
                "help": d["description"],
            }
        for family, seen in observed.items():
            if family in metrics:
                continue
            if family.startswith(("lmcache_", "lmcache:")):
                raise SystemExit(
                    f"{source}: {family} is exported but no declared instrument derives it"
                )
            metrics[family] = {
                "type": seen["type"],
                "samples": sorted(seen["samples"]),
                "obtained": "observed",
                "labels": sorted(seen["labels"]),
                "help": "prometheus_client default collector"
                if family.startswith(("process_", "python_"))
                else "",
            }
        sources[source] = {
            "how": "lmcache 0.5.6 `lmcache "
            + ("coordinator" if name == "coordinator" else "server")
            + "` on loopback; observed = scraped from its /metrics after real traffic,"
            " derived = its declared OpenTelemetry instrument through the installed"
            " Prometheus exporter",
            "traffic": traffic.get(name, {}),
            "metrics": dict(sorted(metrics.items())),
        }
    return sources


def webhook_source() -> dict:
    from prometheus_client import generate_latest

    from webhook.metrics import Metrics

    page = generate_latest(Metrics().registry).decode()
    metrics = {}
    for family in text_string_to_metric_families(page):
        metrics[family.name] = {
            "type": family.type,
            "samples": sorted({s.name for s in family.samples}),
            "obtained": "observed",
            "labels": sorted({label for s in family.samples for label in s.labels}),
            "help": family.documentation,
        }
    return {
        "how": "the registry webhook.metrics.Metrics builds, which the webhook's /metrics"
        " serves (prometheus_client; every label value is exported from the start)",
        "metrics": dict(sorted(metrics.items())),
    }


def documented_source() -> dict:
    return {
        "how": "documented names: kube-state-metrics docs/metrics/workload/*.md (STABLE"
        " metrics) and Prometheus' own per-target series",
        "metrics": {
            name: {"type": meta["type"], "samples": [name], "obtained": "documented", **meta}
            for name, meta in sorted(DOCUMENTED.items())
        },
    }


def versions() -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({p: m.version(p) for p in"
        " ('lmcache', 'opentelemetry-sdk', 'opentelemetry-exporter-prometheus')}))"
    )
    out = subprocess.run([str(LMCACHE_PYTHON), "-c", code], capture_output=True, text=True)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work directory to keep (logs, declarations)")
    parser.add_argument("--output", type=Path, default=inventory.INVENTORY_FILE)
    args = parser.parse_args(argv)
    if not LMCACHE_PYTHON.exists():
        print(f"{LMCACHE_PYTHON} is missing: run scripts/install-real-cli.sh", file=sys.stderr)
        return 2
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="lmcache-inventory-"))
    try:
        sources = lmcache_sources(workdir)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    sources["webhook"] = webhook_source()
    sources["documented"] = documented_source()
    document = {
        "generated_by": "scripts/metric_inventory.py (do not edit by hand)",
        "versions": versions(),
        "sources": sources,
    }
    args.output.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    counts = {
        source: {
            how: sum(1 for m in data["metrics"].values() if m["obtained"] == how)
            for how in ("observed", "derived", "documented")
        }
        for source, data in sources.items()
    }
    print(json.dumps(counts, indent=1))
    print(f"wrote {args.output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
