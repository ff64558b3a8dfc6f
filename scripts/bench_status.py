#!/usr/bin/env python3
"""Benchmark `kubectl lmcache get -A` against the fake Kubernetes API over TLS on loopback.

For 1, 100 and 1,000 engines with 10 pods each (and one coordinator per 100 engines), a
child process serves the objects from `tests/fake_kube.py`; they are the recorded objects
of a real API server (tests/testdata/k8s-responses: managedFields and all, so the bytes
on the wire are a real cluster's), renamed per engine, plus the chart's two Services per
engine. 100 engines per namespace. The plugin runs as a user runs it: the installed console
script, a fresh interpreter each time, so import time is included.

Measured per size (median of --repeat runs, wall clock):
  get -A            the table: DaemonSets, Deployments, ConfigMaps, Services (no pods),
                    ConfigValid through the post-renderer for every engine
  get -A -o json    the same plus every pod (endpoints[]), paged by 500

Usage: .venv/bin/python scripts/bench_status.py [--sizes 1,100,1000] [--repeat 3]
This is not a test; it prints a table. About a minute at the default sizes on 2 cores.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PODS_PER_ENGINE = 10
ENGINES_PER_NAMESPACE = 100
TOKEN = "bench-token"
RUN_TIMEOUT = 300.0


def _template(name: str) -> str:
    from tests.fake_kube import RECORDED

    return (RECORDED / name).read_text()


def build_state(engines: int):
    """A FakeKubeState holding `engines` engines of 10 pods and their side objects."""
    from tests.fake_kube import FakeKubeState
    from tests.kubectl.cluster import as_stored, rendered

    state = FakeKubeState(token=TOKEN, cache_lists=True)
    ds_list = json.loads(_template("list-daemonsets.json"))
    ds_text = json.dumps({"kind": "DaemonSet", "apiVersion": "apps/v1", **ds_list["items"][0]})
    cm_list = json.loads(_template("list-configmaps.json"))
    cm_text = json.dumps({"kind": "ConfigMap", "apiVersion": "v1", **cm_list["items"][0]})
    pod_list = json.loads(_template("list-pods.json"))
    pod_text = json.dumps({"kind": "Pod", "apiVersion": "v1", **pod_list["items"][0]})
    coordinator_list = json.loads(_template("list-deployments.json"))
    coordinator = {"kind": "Deployment", "apiVersion": "apps/v1", **coordinator_list["items"][0]}
    services = [
        json.dumps(as_stored(doc, "capture"))
        for doc in rendered("capture")
        if doc["kind"] == "Service" and doc["metadata"]["name"].startswith("my-cache")
    ]
    for i in range(engines):
        name, namespace = f"cache-{i:04d}", f"bench-{i // ENGINES_PER_NAMESPACE:02d}"

        def rename(text: str, n=name, ns=namespace) -> dict:
            return json.loads(text.replace("my-cache", n).replace('"capture"', f'"{ns}"'))

        ds = rename(ds_text)
        ds["status"].update(desiredNumberScheduled=PODS_PER_ENGINE, numberReady=PODS_PER_ENGINE)
        state.put(ds)
        state.put(rename(cm_text))
        for service in services:
            state.put(rename(service))
        for p in range(PODS_PER_ENGINE):
            pod = rename(pod_text)
            pod["metadata"]["name"] = f"{name}-{p:05x}"
            pod["spec"]["nodeName"] = f"gpu-node-{p}"
            state.put(pod)
        if i % ENGINES_PER_NAMESPACE == 0:
            deployment = json.loads(json.dumps(coordinator).replace('"capture"', f'"{namespace}"'))
            deployment["status"]["readyReplicas"] = 1
            state.put(deployment)
    return state


def serve(engines: int) -> None:
    """Child mode: serve the objects until stdin closes; print URL and CA file first."""
    from tests.fake_kube import FakeKube
    from tests.webhook.pki import CertificateAuthority, write_pair

    state = build_state(engines)
    directory = Path(tempfile.mkdtemp(prefix="bench-status-"))
    ca = CertificateAuthority("bench-ca")
    write_pair(ca.issue("bench-apiserver"), directory / "tls.crt", directory / "tls.key")
    ca.write(directory / "ca.crt")
    with FakeKube(state, directory / "tls.crt", directory / "tls.key") as api:
        print(json.dumps({"url": api.url, "ca": str(directory / "ca.crt")}), flush=True)
        sys.stdin.read()
        calls = len(state.calls)
    sys.stderr.write(f"{calls} calls\n")


def kubeconfig(path: Path, url: str, ca_file: str) -> Path:
    ca = base64.b64encode(Path(ca_file).read_bytes()).decode()
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: bench\n"
        f"clusters:\n- name: bench\n  cluster: {{server: '{url}', certificate-authority-data: {ca}}}\n"
        f"users:\n- name: bench\n  user: {{token: {TOKEN}}}\n"
        "contexts:\n- name: bench\n  context: {cluster: bench, user: bench}\n"
    )
    return path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(exe: str, config: Path, args: list[str], repeat: int) -> tuple[float, float, int]:
    """(median wall seconds, median CPU seconds of the plugin's process, output lines)."""
    times, cpu, size = [], [], 0
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _children_cpu()
        proc = subprocess.run(
            [exe, "--kubeconfig", str(config), *args],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
        times.append(time.perf_counter() - start)
        cpu.append(_children_cpu() - start_cpu)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {proc.stderr}")
        size = len(proc.stdout.splitlines())
    return statistics.median(times), statistics.median(cpu), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,100,1000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    exe = str(ROOT / ".venv" / "bin" / "kubectl-lmcache")
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores;"
        " wall = elapsed, cpu = the plugin process's user+sys"
    )
    print(f"{'engines':>8} {'pods':>7}   {'get -A':>17}   {'get -A -o json':>17}")
    for engines in (int(s) for s in args.sizes.split(",")):
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(engines)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            info = json.loads(child.stdout.readline())
            with tempfile.TemporaryDirectory() as tmp:
                config = kubeconfig(Path(tmp) / "kubeconfig", info["url"], info["ca"])
                table = measure(exe, config, ["get", "-A"], args.repeat)
                as_json = measure(exe, config, ["get", "-A", "-o", "json"], args.repeat)
        finally:
            child.stdin.close()
            child.wait(timeout=30)
        if table[2] - 1 != engines + (engines + ENGINES_PER_NAMESPACE - 1) // ENGINES_PER_NAMESPACE:
            raise SystemExit(f"expected a row per engine and coordinator, got {table[2] - 1}")
        pods = engines * PODS_PER_ENGINE
        print(
            f"{engines:>8} {pods:>7}   {table[0]:>6.2f}s wall {table[1]:>5.2f}s cpu"
            f"   {as_json[0]:>6.2f}s wall {as_json[1]:>5.2f}s cpu",
            flush=True,
        )


if __name__ == "__main__":
    main()
