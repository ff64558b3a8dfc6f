"""The parts of the metric inventory that run inside the real lmcache 0.5.6 environment.

Run by `.tools/lmcache-cli/bin/python` (scripts/install-real-cli.sh), never by the project's
own interpreter: it imports lmcache, torch and OpenTelemetry from there.

    lmcache_side.py run DECLARATIONS.jsonl -- server|coordinator ARGS...
        runs the real `lmcache` CLI, recording every OpenTelemetry instrument the process
        declares (kind, name, unit, description) as one JSON line each
    lmcache_side.py drive tcp://HOST:PORT --requests N [--seconds S] [--reuse R] [--blend]
        acts as one vLLM worker on CPU through lmcache's own MP client and transfer
        context (engine-driven, pickle transport): lookup, store on a miss, retrieve on a
        hit, end the session; with --blend each request first makes the CacheBlend
        plugin's single-RPC blend lookup; prints one JSON summary line
    lmcache_side.py derive DECLARATIONS.jsonl
        feeds each recorded declaration to the installed OpenTelemetry Prometheus exporter
        and prints, as JSON, the metric family and sample names it exports for it
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid

# Instrument factories of the OpenTelemetry SDK's Meter, and the kind each one declares.
FACTORIES = {
    "create_counter": "counter",
    "create_up_down_counter": "up_down_counter",
    "create_histogram": "histogram",
    "create_gauge": "gauge",
    "create_observable_counter": "observable_counter",
    "create_observable_gauge": "observable_gauge",
    "create_observable_up_down_counter": "observable_up_down_counter",
}


def record_declarations(path: str) -> None:
    """Wrap the SDK Meter's instrument factories so each call appends a JSON line to path.

    lmcache declares instruments through the OpenTelemetry API; once the SDK
    MeterProvider is set (lmcache's otel_init does that at start-up), every declaration
    reaches these SDK methods, including those made earlier on the API's proxy meter.
    """
    from opentelemetry.sdk.metrics._internal import Meter

    def wrap(method_name: str, kind: str):
        original = getattr(Meter, method_name)

        def declare(self, name, *args, **kwargs):
            unit = kwargs.get("unit", "")
            if not unit:
                # Positional forms: (name, unit, description) or (name, callbacks, unit, ...).
                positional = [a for a in args if isinstance(a, str)]
                unit = positional[0] if positional else ""
            line = {
                "kind": kind,
                "name": name,
                "unit": unit or "",
                "description": kwargs.get("description", "") or "",
                "meter": getattr(self, "_instrumentation_scope", None)
                and self._instrumentation_scope.name,
            }
            with open(path, "a", encoding="utf-8") as out:
                out.write(json.dumps(line, sort_keys=True) + "\n")
            return original(self, name, *args, **kwargs)

        setattr(Meter, method_name, declare)

    for method_name, kind in FACTORIES.items():
        wrap(method_name, kind)


def run(declarations: str, argv: list[str]) -> int:
    record_declarations(declarations)
    from lmcache.cli.main import main

    sys.argv = ["lmcache", *argv]
    return main() or 0


def drive(url: str, requests: int, seconds: float, reuse: float, seed: int, blend: bool) -> int:
    """One CPU "vLLM worker": the same calls lmcache's own MP adapters make, in order."""
    import torch
    from lmcache.v1.multiprocess.custom_types import IPCCacheServerKey
    from lmcache.v1.multiprocess.transfer_context.worker_transfer import (
        create_transfer_context,
    )
    from lmcache.v1.multiprocess.transport.factory import RequestClientFactory

    rng = random.Random(seed)
    client = RequestClientFactory.create(url)
    chunk = client.get_chunk_size().result(timeout=30)
    # vLLM's paged layout per layer: [2, blocks, block_size, kv_heads, head_size]. Heads equal
    # to the block size keep lmcache's layout detection unambiguous; 4 layers x 16 heads x 128
    # in float16 make one 256-token chunk 8 MiB, so a 0.5 GB L1 fills (and evicts) quickly.
    layers, blocks, block_size, heads, head_size = 4, 256, 16, 16, 128
    kv = {
        f"model.layers.{i}.self_attn": torch.randn(
            2, blocks, block_size, heads, head_size, dtype=torch.float16
        )
        for i in range(layers)
    }
    ctx = create_transfer_context(kv, instance_id=os.getpid(), req_client=client)
    ctx.register(kv, "inventory-model", 1, chunk // block_size, 30.0)
    prompts: list[list[int]] = []
    counts = {"lookups": 0, "hits": 0, "stores": 0, "retrieves": 0, "blend_lookups": 0}
    interval = seconds / requests if seconds > 0 else 0.0
    for _ in range(requests):
        started = time.monotonic()
        if prompts and rng.random() < reuse:
            tokens = rng.choice(prompts)
        else:
            tokens = [rng.randrange(32000) for _ in range(chunk * rng.randint(1, 4))]
            prompts.append(tokens)
        request_id = uuid.uuid4().hex
        key = IPCCacheServerKey(
            model_name="inventory-model",
            world_size=1,
            worker_id=0,
            token_ids=tuple(tokens),
            start=0,
            end=len(tokens),
            request_id=request_id,
            num_kv_readers=1,
        )
        if blend:
            # The blend lookup answers None while its legs load; the plugin polls it.
            deadline = time.monotonic() + 10
            while (
                client.cb_unified_lookup(key.no_worker_id_version(), 1).result(timeout=30) is None
            ):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            counts["blend_lookups"] += 1
        client.lookup(key.no_worker_id_version(), 1).result(timeout=30)
        hit_chunks = client.query_prefetch_status(request_id).result(timeout=30) or 0
        counts["lookups"] += 1
        block_ids = [list(range(len(tokens) // block_size))]
        if hit_chunks:
            counts["hits"] += 1
            counts["retrieves"] += 1
            ctx.submit_retrieve(request_id, key, kv, block_ids, None, chunk // block_size).result(
                timeout=30
            )
        else:
            counts["stores"] += 1
            ctx.submit_store(request_id, key, kv, block_ids, None, chunk // block_size).result(
                timeout=30
            )
        client.end_session(request_id).result(timeout=30)
        spare = interval - (time.monotonic() - started)
        if spare > 0:
            time.sleep(spare)
    print(json.dumps(counts, sort_keys=True))
    return 0


def derive(declarations: str) -> int:
    """Export one observation of each declared instrument with the installed exporter."""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.metrics import Observation
    from opentelemetry.sdk.metrics import MeterProvider

    seen: dict[tuple[str, str, str], dict] = {}
    with open(declarations, encoding="utf-8") as lines:
        for line in lines:
            d = json.loads(line)
            seen.setdefault((d["kind"], d["name"], d["unit"]), d)
    out = []
    for (kind, name, unit), d in sorted(seen.items(), key=lambda kv: kv[0][1]):
        reader = PrometheusMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        meter = provider.get_meter("inventory")
        callbacks = [lambda _options: [Observation(1)]]
        if kind.startswith("observable_"):
            getattr(meter, f"create_{kind}")(name, callbacks=callbacks, unit=unit)
        elif kind == "histogram":
            meter.create_histogram(name, unit=unit).record(1.0)
        elif kind == "gauge":
            meter.create_gauge(name, unit=unit).set(1)
        else:
            getattr(meter, f"create_{kind}")(name, unit=unit).add(1)
        families = list(reader._collector.collect())
        provider.shutdown()  # also unregisters the reader's collector from REGISTRY
        for family in families:
            out.append(
                {
                    "instrument": name,
                    "kind": kind,
                    "unit": unit,
                    "description": d["description"],
                    "family": family.name,
                    "type": family.type,
                    "samples": sorted({s.name for s in family.samples}),
                }
            )
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run")
    p_run.add_argument("declarations")
    p_drive = sub.add_parser("drive")
    p_drive.add_argument("url")
    p_drive.add_argument("--requests", type=int, default=60)
    p_drive.add_argument("--seconds", type=float, default=0.0)
    p_drive.add_argument("--reuse", type=float, default=0.5)
    p_drive.add_argument("--seed", type=int, default=14)
    p_drive.add_argument("--blend", action="store_true")
    p_derive = sub.add_parser("derive")
    p_derive.add_argument("declarations")
    if argv and argv[0] == "run":
        split = argv.index("--")
        args = parser.parse_args(argv[:split])
        return run(args.declarations, argv[split + 1 :])
    args = parser.parse_args(argv)
    if args.command == "drive":
        return drive(args.url, args.requests, args.seconds, args.reuse, args.seed, args.blend)
    return derive(args.declarations)


if __name__ == "__main__":
    sys.exit(main())
