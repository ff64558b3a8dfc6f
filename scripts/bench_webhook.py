#!/usr/bin/env python3
"""Benchmark the injection webhook over TLS on loopback.

Starts the real server (uvicorn, reloading TLS context, the webhook's FastAPI app) in a
child process with the engine already in its cache, then drives it with keep-alive HTTPS
clients at 1, 16 and 64 concurrent connections. Two endpoints are measured with the same
AdmissionReview of a typical vLLM pod:

  POST /mutate       the real handler: decode, resolve engine (cache), inject, diff, encode
  POST /bench/allow  a do-nothing baseline mounted by this script on the same app: read
                     the body, parse the JSON, answer "allowed"

The client is a minimal HTTP/1.1 client on asyncio streams (pre-encoded requests), so the
load generator costs far less than the server and the numbers describe the server. The
server's CPU time per request is read from /proc, which is what bounds throughput once
a real API server sends the load.

Usage: .venv/bin/python scripts/bench_webhook.py [--requests 2000] [--levels 1,16,64]
This is not a test; it prints a table. Runtime is bounded (about 15 s by default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Module level: FastAPI resolves the handler's annotations in this module's namespace.
from fastapi import FastAPI, Request, Response

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUN_TIMEOUT = 60.0  # seconds, per measured run
START_TIMEOUT = 20.0

KV_TRANSFER_CONFIG = {
    "kv_connector": "CBKVConnector",
    "kv_connector_extra_config": {
        "cb.check_layer": 1,
        "cb.recomp_ratio": 0.15,
        "lmcache.mp.host": "tcp://blend.llm.svc.cluster.local",
        "lmcache.mp.port": "5555",
    },
    "kv_connector_module_path": "lmcache_cacheblend.connector",
    "kv_role": "kv_both",
}
INJECTION = {
    "cudagraph": "eager",
    "imagePullSecrets": [{"name": "plugin-registry"}],
    "payloadImage": {
        "pullPolicy": "IfNotPresent",
        "repository": "registry.example.com/cacheblend-plugin",
        "tag": "0.3.1",
    },
}


def typical_pod() -> dict:
    """A vLLM pod as the API server sends it on CREATE (after defaulting)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "vllm-6c9d7f5b8-",
            "namespace": "llm",
            "labels": {
                "app": "vllm",
                "lmcache.ai/cacheblend-inject": "true",
                "pod-template-hash": "6c9d7f5b8",
            },
            "annotations": {"lmcache.ai/cacheblend-engine": "blend"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "vllm-6c9d7f5b8",
                    "uid": "6f1d1f3e-2b7a-4c55-9c1e-0d6f2a9b8c11",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "vllm",
                    "image": "vllm/vllm-openai:v0.33.0",
                    "args": [
                        "--model",
                        "Qwen/Qwen3-8B",
                        "--gpu-memory-utilization",
                        "0.9",
                        "--max-model-len",
                        "32768",
                        "--port",
                        "8000",
                    ],
                    "env": [
                        {
                            "name": "HF_TOKEN",
                            "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}},
                        },
                        {"name": "PYTHONHASHSEED", "value": "0"},
                    ],
                    "ports": [{"name": "http", "containerPort": 8000, "protocol": "TCP"}],
                    "resources": {
                        "limits": {"nvidia.com/gpu": "1"},
                        "requests": {"cpu": "8", "memory": "64Gi"},
                    },
                    "readinessProbe": {
                        "httpGet": {"path": "/health", "port": 8000, "scheme": "HTTP"},
                        "periodSeconds": 10,
                        "timeoutSeconds": 1,
                        "successThreshold": 1,
                        "failureThreshold": 3,
                    },
                    "volumeMounts": [
                        {"name": "shm", "mountPath": "/dev/shm"},
                        {
                            "name": "kube-api-access-7xk2p",
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                            "readOnly": True,
                        },
                    ],
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                }
            ],
            "volumes": [
                {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}},
                {
                    "name": "kube-api-access-7xk2p",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "name": "kube-root-ca.crt",
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "path": "namespace",
                                            "fieldRef": {
                                                "apiVersion": "v1",
                                                "fieldPath": "metadata.namespace",
                                            },
                                        }
                                    ]
                                }
                            },
                        ],
                    },
                },
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "schedulerName": "default-scheduler",
            "runtimeClassName": "nvidia",
            "tolerations": [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            ],
            "priority": 0,
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
        },
    }


def review_body() -> bytes:
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "b5f3c2a4-8d6e-4f1a-9b7c-2e0d1c3a4b5f",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": "CREATE",
            "namespace": "llm",
            "userInfo": {
                "username": "system:serviceaccount:kube-system:replicaset-controller",
                "groups": ["system:serviceaccounts", "system:authenticated"],
            },
            "object": typical_pod(),
            "oldObject": None,
            "dryRun": False,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
        },
    }
    return json.dumps(review).encode()


# --- server side (child process) ------------------------------------------------------


class OneConfigMap:
    """The benchmark's Kubernetes API: it answers the warm-up read, then fails.

    A measured request that missed the engine cache would fail here and be counted as an
    API error, which `check_response` looks for before and after the measured runs.
    """

    def __init__(self, data: dict[str, str]) -> None:
        self.data: dict[str, str] | None = data

    async def __call__(self, namespace: str, name: str) -> dict:
        from webhook.kube import KubeApiError

        data, self.data = self.data, None
        if data is None:
            raise KubeApiError(f"the benchmark must not reach the API ({namespace}/{name})")
        return {"data": data}


def mount_bench_allow(app: FastAPI) -> None:
    """POST /bench/allow: the least an admission endpoint must do.

    It uses the same body reader and JSON codec as /mutate: read the body, find the uid,
    answer "allowed". The difference between the two is the handler's own cost.
    """
    from webhook import codec
    from webhook.review import review_response
    from webhook.server import BODY_TIMEOUT, MAX_BODY_BYTES, json_response, read_body

    @app.post("/bench/allow")
    async def bench_allow(request: Request) -> Response:
        review = codec.decode(await read_body(request, MAX_BODY_BYTES, BODY_TIMEOUT))
        return json_response(200, review_response(review["request"]["uid"]))


def serve(cert: str, key: str) -> None:
    import logging
    import socket

    from webhook.__main__ import build_server
    from webhook.metrics import Metrics
    from webhook.resolver import EngineResolver, parse_engine_ref
    from webhook.server import create_app
    from webhook.tls import ReloadingTLS

    logging.basicConfig(level=logging.INFO, stream=open(os.devnull, "w"))  # noqa: SIM115

    metrics = Metrics()
    configmaps = OneConfigMap(
        {
            "kv-transfer-config.json": json.dumps(KV_TRANSFER_CONFIG, indent=2),
            "cacheblend-injection.json": json.dumps(INJECTION),
        }
    )
    resolver = EngineResolver(configmaps, engine_namespace="llm", ttl=3600, metrics=metrics)
    # Warm the cache the way the first pod would (one read, TTL of an hour).
    engine_ref = parse_engine_ref("blend")
    assert engine_ref is not None and asyncio.run(resolver.resolve(engine_ref, "llm"))
    app = create_app(resolver, metrics=metrics)
    mount_bench_allow(app)
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    # listener says TCP explicitly, and without it every answer waits ~40 ms for an ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = build_server(
        app, ReloadingTLS(cert, key), host="127.0.0.1", port=0, log_level="WARNING"
    )
    print(sock.getsockname()[1], flush=True)
    server.run(sockets=[sock])


# --- client side ----------------------------------------------------------------------


class Connection:
    """One keep-alive HTTPS connection sending a pre-encoded request."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, context: ssl.SSLContext) -> Connection:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="localhost"
        )
        return cls(reader, writer)

    async def call(self, request: bytes) -> bytes:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = head[9:12]
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length)
        if status != b"200":
            raise RuntimeError(f"HTTP {status.decode()}: {body[:200]!r}")
        return body

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


def encode_request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


@dataclass
class Result:
    endpoint: str
    concurrency: int
    requests: int
    p50_ms: float
    p99_ms: float
    rps: float
    server_cpu_us: float | None


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_level(
    port: int,
    context: ssl.SSLContext,
    path: str,
    body: bytes,
    concurrency: int,
    total: int,
    pid: int,
) -> Result:
    request = encode_request(path, body)
    connections = [await Connection.open(port, context) for _ in range(concurrency)]
    try:
        for connection in connections:  # warm-up: handshakes done, code paths hot
            for _ in range(max(5, 200 // concurrency)):
                await connection.call(request)
        latencies: list[float] = []
        remaining = total

        async def worker(connection: Connection) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                await connection.call(request)
                latencies.append(time.perf_counter() - started)

        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(worker(c) for c in connections)), timeout=RUN_TIMEOUT
        )
        elapsed = time.perf_counter() - started
        cpu_after = cpu_seconds(pid)
    finally:
        for connection in connections:
            await connection.close()
    latencies.sort()
    cpu = None
    if cpu_before is not None and cpu_after is not None:
        cpu = (cpu_after - cpu_before) / len(latencies) * 1e6
    return Result(
        endpoint=path,
        concurrency=concurrency,
        requests=len(latencies),
        p50_ms=statistics.median(latencies) * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        rps=len(latencies) / elapsed,
        server_cpu_us=cpu,
    )


async def check_response(port: int, context: ssl.SSLContext, body: bytes) -> None:
    connection = await Connection.open(port, context)
    try:
        answer = json.loads(await connection.call(encode_request("/mutate", body)))
        assert answer["response"]["patchType"] == "JSONPatch", answer
        metrics = await connection.call(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        for line in metrics.decode().splitlines():
            if line.startswith("lmcache_webhook_kube_api_requests_total"):
                # One read: the warm-up. Any other would mean the cache was missed.
                expected = " 1.0" if 'result="found"' in line else " 0.0"
                assert line.endswith(expected), f"unexpected API reads: {line}"
    finally:
        await connection.close()


async def drive(port: int, ca_file: str, levels: list[int], total: int, pid: int) -> list[Result]:
    context = ssl.create_default_context(cafile=ca_file)
    body = review_body()
    await check_response(port, context, body)
    results = []
    for concurrency in levels:
        for path in ("/bench/allow", "/mutate"):
            results.append(await run_level(port, context, path, body, concurrency, total, pid))
    await check_response(port, context, body)
    return results


def make_certificates(directory: Path) -> tuple[str, str, str]:
    sys.path.insert(0, str(ROOT / "tests" / "webhook"))
    from pki import CertificateAuthority, write_pair  # type: ignore[import-not-found]

    ca = CertificateAuthority("bench-ca")
    cert, key = directory / "tls.crt", directory / "tls.key"
    write_pair(ca.issue("bench"), cert, key)
    return str(ca.write(directory / "ca.crt")), str(cert), str(key)


def print_table(results: list[Result], body_size: int) -> None:
    print(f"AdmissionReview body: {body_size} bytes; {results[0].requests} requests per row")
    print(
        f"{'clients':>7}  {'endpoint':<13} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} "
        f"{'srv CPU us/req':>14}"
    )
    by_level: dict[int, dict[str, Result]] = {}
    for r in results:
        by_level.setdefault(r.concurrency, {})[r.endpoint] = r
        cpu = f"{r.server_cpu_us:14.0f}" if r.server_cpu_us is not None else f"{'n/a':>14}"
        print(
            f"{r.concurrency:>7}  {r.endpoint:<13} {r.p50_ms:7.3f} {r.p99_ms:7.3f} "
            f"{r.rps:7.0f} {cpu}"
        )
    print()
    print(f"{'clients':>7}  {'p50 added ms':>12} {'throughput mutate/allow':>24}")
    for level, pair in by_level.items():
        allow, mutate = pair["/bench/allow"], pair["/mutate"]
        print(f"{level:>7}  {mutate.p50_ms - allow.p50_ms:12.3f} {mutate.rps / allow.rps:24.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per row")
    parser.add_argument("--levels", default="1,16,64", help="concurrent clients, comma-separated")
    parser.add_argument("--serve", nargs=2, metavar=("CERT", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(*args.serve)
        return 0

    levels = [int(level) for level in args.levels.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        ca_file, cert, key = make_certificates(Path(tmp))
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", cert, key],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            assert child.stdout is not None
            deadline = time.monotonic() + START_TIMEOUT
            line = child.stdout.readline()
            if not line.strip().isdigit() or time.monotonic() > deadline:
                raise RuntimeError("benchmark server did not start")
            port = int(line)
            time.sleep(0.3)  # uvicorn starts listening right after printing the port
            results = asyncio.run(drive(port, ca_file, levels, args.requests, child.pid))
        finally:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
    print_table(results, len(review_body()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
