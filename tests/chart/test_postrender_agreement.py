"""The chart and the post-renderer refuse a flag repeated in extraArgs with the same words.

Argo CD and Flux install the chart without the post-renderer, so the chart must refuse
what the post-renderer would refuse. The flag tables in postrender/lmcache_cli.py drive this
test: the chart's copies in templates/_validate.tpl must name the same values paths.
"""

from __future__ import annotations

import pytest
import yaml

from lmcache_k8s import lmcache_cli
from postrender.pipeline import process
from tests.support import render

SAMPLE = {"int": "4242", "number": "0.5", "str": "sha256_cbor"}
NO_FIELD = {
    "--engine-type": "default",
    "--l1-align-bytes": "4096",
    "--coordinator-url": "http://x:1",
}
SPECIAL = {"--host", "--http-host", "--l2-adapter"}  # bind address rules; repeatable adapters


def engine(kind: str, extra: list[str]) -> dict:
    spec = {
        "l1": {"sizeGB": 1},
        "coordinator": {"url": "http://fleet:9300"},
        "extraArgs": extra,
    }
    if kind == "cacheBlendEngines":
        spec["injection"] = {"payloadImage": {"repository": "r"}}
    return {kind: {"e": spec}}


def cases():
    for flag, ref in lmcache_cli.ENGINE_FLAGS.items():
        if flag in SPECIAL:
            continue
        value = NO_FIELD[flag] if ref is None else SAMPLE[ref[1]]
        kind = "cacheBlendEngines" if flag in ("--engine-type", "--l1-align-bytes") else "engines"
        yield pytest.param(kind, [flag, value], id=flag)
    for flag, ref in lmcache_cli.COORDINATOR_FLAGS.items():
        value = "10.0.0.1" if flag == "--host" else SAMPLE[ref[1]]
        yield pytest.param("coordinators", [flag, value], id=f"coordinator{flag}")


def values_for(kind: str, extra: list[str]) -> dict:
    if kind == "coordinators":
        return {"coordinators": {"e": {"extraArgs": extra}}}
    return engine(kind, extra)


def chart_errors(values: dict) -> set[str]:
    out = render(values)
    assert out.returncode != 0, "the chart accepted a repeated managed flag"
    return {
        line
        for line in out.stderr.splitlines()
        if ": " in line and line.startswith(("engines.", "cacheBlendEngines.", "coordinators."))
    }


def patched_stream(kind: str, extra: list[str]) -> str:
    """The chart's output without the repeat, with `extra` added to the workload's args (as a
    kustomize patch or a hand edit would)."""
    docs = render(values_for(kind, [])).docs
    for doc in docs:
        if doc["kind"] in ("DaemonSet", "Deployment"):
            doc["spec"]["template"]["spec"]["containers"][0]["args"] += extra
    return yaml.safe_dump_all(docs, sort_keys=False)


def postrender_errors(kind: str, extra: list[str]) -> set[str]:
    outcome = process(patched_stream(kind, extra))
    assert not outcome.ok, "the post-renderer accepted a repeated managed flag"
    return {line.split(": ", 1)[1] for line in outcome.errors}


@pytest.mark.parametrize("kind,extra", list(cases()))
def test_a_repeated_managed_flag_is_refused_alike(kind, extra):
    from_chart = chart_errors(values_for(kind, extra))
    repeated = {line for line in postrender_errors(kind, extra) if "is given twice" in line}
    assert repeated, "the post-renderer must call the flag repeated"
    assert repeated <= from_chart


def test_the_same_value_repeated_passes_both():
    out = render(engine("engines", ["--max-workers", "1"]))
    assert out.returncode == 0, out.stderr
    assert process(out.stdout).ok


def test_a_redundant_bind_address_is_refused_by_the_chart_and_dropped_by_the_post_renderer():
    out = render(engine("engines", ["--host", "0.0.0.0"]))
    assert (
        "engines.e.extraArgs: --host 0.0.0.0 is always passed by the chart; remove it" in out.stderr
    )
    # The post-renderer removes the repeat from a hand-written or patched workload instead.
    outcome = process(patched_stream("engines", ["--host", "0.0.0.0"]))
    assert outcome.ok and outcome.changed
    fixed = yaml.safe_load_all(outcome.output)
    args = next(d for d in fixed if d["kind"] == "DaemonSet")["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    assert args.count("--host") == 1


def test_disabling_metrics_through_extra_args_is_refused_by_both():
    out = render(engine("engines", ["--disable-metrics"]))
    assert (
        "engines.e.extraArgs: --disable-metrics would leave the e-metrics Service scraping nothing"
        in out.stderr
    )
    assert not process(patched_stream("engines", ["--disable-metrics"])).ok
