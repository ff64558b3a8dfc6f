"""Draw docs/images/dashboard-{engines,coordinators,webhook}.png from a short real run.

    .venv/bin/python scripts/render_dashboard_pictures.py              # about 6 minutes
    .venv/bin/python scripts/render_dashboard_pictures.py --keep DIR   # keep logs and data
    .venv/bin/python scripts/render_dashboard_pictures.py --redraw DIR/results.json

What runs, all on loopback and stopped by this script:

- the real lmcache 0.5.6 coordinator, cache engine (filesystem L2 adapter) and CacheBlend
  engine (scripts/observability/processes.py), driven by lmcache's own MP client acting as
  CPU vLLM workers;
- the real injection webhook (`python -m webhook`, over TLS), answering AdmissionReviews
  sent by this script: opted-in pods it injects, pods it must skip, pods that did not opt
  in, a few malformed reviews. Its Kubernetes API is the stand-in the webhook tests use
  (tests/webhook/fake_kube.py), serving the connection ConfigMap the chart renders for the
  CacheBlend engine of charts/lmcache/ci/monitoring-values.yaml; for 30 s it answers 500,
  so the error panels have something to show;
- Debian's Prometheus, scraping all four every 5 s with the labels the Prometheus Operator
  gives ServiceMonitor targets (job = Service name, namespace, pod), and loading the
  PrometheusRule the chart renders for that scenario.

Then every panel query of the committed dashboards is evaluated through Prometheus' HTTP API
(Grafana variables replaced as Grafana would: all engines selected) and drawn in its grid
position. kube-state-metrics does not run here, so its panels show "No data".
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from observability.draw import draw  # noqa: E402
from observability.processes import (  # noqa: E402
    ROOT,
    LMCacheFleet,
    Process,
    free_port,
    get,
    wait_for,
)

from lmcache_k8s.monitoring.dashboards import DASHBOARD_DIR  # noqa: E402
from tests.webhook.builders import pod, review  # noqa: E402
from tests.webhook.fake_kube import FakeKube, FakeKubeState  # noqa: E402
from tests.webhook.pki import CertificateAuthority  # noqa: E402

IMAGES = ROOT / "docs" / "images"
SCENARIO = ROOT / "charts" / "lmcache" / "ci" / "monitoring-values.yaml"
NAMESPACE = "llm"
WEBHOOK_JOB = "rel-lmcache-webhook"
RUN_SECONDS = 300
SCRAPE = "5s"
# Grafana's variables for the run: every engine selected, a rate window of 4 scrapes.
VARIABLES = {
    "__rate_interval": "20s",
    "__range": f"{RUN_SECONDS}s",
    "namespace": NAMESPACE,
    "engine": "(my-cache|my-cacheblend)",
    "coordinator": "fleet",
    "pod": ".+",
    "job": WEBHOOK_JOB,
}


def helm_template() -> list[dict]:
    out = subprocess.run(
        [
            str(ROOT / ".tools" / "bin" / "helm3"),
            "template",
            "rel",
            str(ROOT / "charts" / "lmcache"),
            "-n",
            NAMESPACE,
            "-f",
            str(SCENARIO),
            "--api-versions",
            "monitoring.coreos.com/v1",
            "--api-versions",
            "cert-manager.io/v1",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def start_webhook(workdir: Path, docs: list[dict]) -> tuple[Process, FakeKube, Path, int]:
    ca = CertificateAuthority("lmcache-pictures-ca")
    ca_file = ca.write(workdir / "ca.crt")
    for name in ("webhook", "kube"):
        issued = ca.issue(name)
        (workdir / f"{name}.crt").write_bytes(issued.cert_pem)
        (workdir / f"{name}.key").write_bytes(issued.key_pem)
    (workdir / "token").write_text("pictures-token")
    state = FakeKubeState(token="pictures-token")
    for doc in docs:
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].endswith("-connection"):
            state.put_configmap(NAMESPACE, doc["metadata"]["name"], doc["data"])
    kube = FakeKube(state, workdir / "kube.crt", workdir / "kube.key").__enter__()
    port = free_port()
    webhook = Process(
        "webhook",
        [
            str(ROOT / ".venv" / "bin" / "python"),
            "-m",
            "webhook",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--tls-cert",
            str(workdir / "webhook.crt"),
            "--tls-key",
            str(workdir / "webhook.key"),
            "--engine-namespace",
            NAMESPACE,
            "--kube-api-url",
            kube.url,
            "--kube-token-file",
            str(workdir / "token"),
            "--kube-ca-file",
            str(ca_file),
            "--cache-ttl",
            "10",
            "--shutdown-delay",
            "0",
        ],
        workdir / "webhook.log",
    ).start()
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"https://127.0.0.1:{port}/healthz", verify=str(ca_file), timeout=2)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or not webhook.alive():
                raise RuntimeError(f"webhook did not start; see {webhook.log}") from None
            time.sleep(0.5)
    return webhook, kube, ca_file, port


def webhook_traffic(
    port: int, ca_file: Path, kube: FakeKube, seconds: float, stop: threading.Event, counts: dict
) -> None:
    """Admission reviews until stop is set: mostly injections, some skips, and a 30 s API
    outage that starts at 45% of `seconds`."""
    rng = random.Random(14)
    url = f"https://127.0.0.1:{port}/mutate"
    started = time.monotonic()
    with httpx.Client(verify=str(ca_file), timeout=5) as client:
        while not stop.is_set():
            elapsed = time.monotonic() - started
            kube.state.fail_status = 500 if seconds * 0.45 < elapsed < seconds * 0.45 + 30 else None
            roll = rng.random()
            if roll < 0.62:
                kind, obj = "injected", pod(engine_ref=f"{NAMESPACE}/my-cacheblend")
            elif roll < 0.72:
                kind, obj = (
                    "engine-not-found",
                    pod(engine_ref=f"{NAMESPACE}/x-{uuid.uuid4().hex[:6]}"),
                )
            elif roll < 0.77:
                kind = "command-override"
                obj = pod(engine_ref=f"{NAMESPACE}/my-cacheblend")
                obj["spec"]["containers"][0]["command"] = ["sh", "-c", "vllm serve"]
            elif roll < 0.80:
                kind, obj = (
                    "kv-transfer-config-present",
                    pod(["--kv-transfer-config", "{}"], engine_ref=f"{NAMESPACE}/my-cacheblend"),
                )
            elif roll < 0.985:
                kind, obj = "ignored", pod(engine_ref=None)
            else:
                kind, obj = "malformed", None
            body = b"{not json" if obj is None else json.dumps(review(obj)).encode()
            client.post(url, content=body, headers={"Content-Type": "application/json"})
            counts[kind] = counts.get(kind, 0) + 1
            time.sleep(rng.uniform(0.1, 0.5))
    kube.state.fail_status = None


def start_prometheus(
    workdir: Path, fleet: LMCacheFleet, webhook_port: int, ca_file: Path, rules: Path
) -> tuple[Process, str]:
    def target(job: str, port: int, pod_name: str, **extra) -> dict:
        return {
            "job_name": job,
            "static_configs": [
                {
                    "targets": [f"127.0.0.1:{port}"],
                    "labels": {"namespace": NAMESPACE, "pod": pod_name, "service": job},
                }
            ],
            **extra,
        }

    config = {
        "global": {"scrape_interval": SCRAPE, "evaluation_interval": SCRAPE},
        "rule_files": [str(rules)],
        "scrape_configs": [
            target("my-cache-metrics", fleet.ports["engine.http"], "my-cache-x7k2p"),
            target("my-cacheblend-metrics", fleet.ports["blend.http"], "my-cacheblend-q9m4d"),
            target("fleet-metrics", fleet.ports["coordinator.http"], "fleet-6d8f9-wr5tn"),
            target(
                WEBHOOK_JOB,
                webhook_port,
                "rel-lmcache-webhook-7c9b5-h2x4z",
                scheme="https",
                tls_config={"ca_file": str(ca_file), "server_name": "localhost"},
            ),
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    prometheus = Process(
        "prometheus",
        [
            shutil.which("prometheus") or "/usr/bin/prometheus",
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        workdir / "prometheus.log",
    ).start()
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/-/ready", prometheus, timeout=60)
    return prometheus, url


def substitute(expr: str) -> str:
    for name in sorted(VARIABLES, key=len, reverse=True):
        expr = expr.replace(f"${{{name}}}", VARIABLES[name]).replace(f"${name}", VARIABLES[name])
    return expr


def query_dashboards(url: str, start: float, end: float) -> dict:
    out: dict = {"start": start, "end": end, "boards": {}}
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        board = json.loads(path.read_text())
        results = {}
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                expr = substitute(target["expr"])
                if panel["type"] == "stat":
                    params = {"query": expr, "time": end}
                    api = "query"
                else:
                    params = {"query": expr, "start": start, "end": end, "step": 5}
                    api = "query_range"
                answer = json.loads(get(f"{url}/api/v1/{api}?{urllib.parse.urlencode(params)}"))
                if answer["status"] != "success":
                    raise RuntimeError(f"{path.name} {panel['title']}: {answer}")
                results[f"{panel['id']}/{target['refId']}"] = answer["data"]["result"]
        out["boards"][path.stem] = results
    alerts = json.loads(get(f"{url}/api/v1/alerts"))["data"]["alerts"]
    out["alerts"] = sorted({a["labels"]["alertname"] + ":" + a["state"] for a in alerts})
    rules = json.loads(get(f"{url}/api/v1/rules"))["data"]["groups"]
    out["rules_loaded"] = sum(len(g["rules"]) for g in rules)
    return out


def redraw(data: dict) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, results in data["boards"].items():
        board = json.loads((DASHBOARD_DIR / f"{name}.json").read_text())
        target = IMAGES / f"dashboard-{name}.png"
        draw(board, results, data["start"], data["end"], str(target))
        print(f"{target.relative_to(ROOT)}: {target.stat().st_size // 1024} KiB")


def run(workdir: Path) -> dict:
    docs = helm_template()
    rules = workdir / "rules.yaml"
    (rule,) = [d for d in docs if d["kind"] == "PrometheusRule"]
    rules.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    fleet = LMCacheFleet(workdir)
    webhook = kube = prometheus = None
    try:
        fleet.start()
        webhook, kube, ca_file, webhook_port = start_webhook(workdir, docs)
        prometheus, url = start_prometheus(workdir, fleet, webhook_port, ca_file, rules)
        time.sleep(15)
        start = time.time()
        summaries: dict = {}

        def drive(name: str, *args: str) -> None:
            summaries[name] = fleet.drive(name, *args)

        threads = [
            threading.Thread(
                target=drive,
                args=(
                    "engine",
                    "--requests",
                    "200",
                    "--seconds",
                    str(RUN_SECONDS),
                    "--reuse",
                    "0.6",
                ),
            ),
            threading.Thread(
                target=drive,
                args=(
                    "blend",
                    "--requests",
                    "100",
                    "--seconds",
                    str(RUN_SECONDS),
                    "--reuse",
                    "0.5",
                    "--blend",
                ),
            ),
        ]
        stop = threading.Event()
        summaries["webhook"] = {}
        threads.append(
            threading.Thread(
                target=webhook_traffic,
                args=(webhook_port, ca_file, kube, RUN_SECONDS, stop, summaries["webhook"]),
            )
        )
        for thread in threads:
            thread.start()
        for thread in threads[:2]:
            thread.join()
        # The drivers ran until now and the webhook still gets traffic: the stat panels show
        # the last scrapes of real traffic, and the time series end where the traffic ends.
        time.sleep(8)
        stop.set()
        threads[2].join()
        data = query_dashboards(url, start, time.time())
        data["traffic"] = summaries
        return data
    finally:
        for process in (prometheus, webhook):
            if process is not None:
                process.stop()
        if kube is not None:
            kube.__exit__(None, None, None)
        fleet.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work directory to keep (logs, TSDB, data)")
    parser.add_argument("--redraw", type=Path, help="draw again from a kept results.json")
    args = parser.parse_args(argv)
    if args.redraw:
        redraw(json.loads(args.redraw.read_text()))
        return 0
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="lmcache-pictures-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        data = run(workdir)
        (workdir / "results.json").write_text(json.dumps(data))
        print(json.dumps({k: data[k] for k in ("traffic", "alerts", "rules_loaded")}, indent=1))
        redraw(data)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
