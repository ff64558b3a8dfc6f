"""The chart refuses in extraArgs every flag it renders; the post-renderer refuses it in manifests.

Argo CD and Flux install the chart without the post-renderer, so the chart must refuse in the
values what the post-renderer refuses in a manifest. The chart's rule is one coarse rule: a
flag it renders (the list `lmcache_cli.rendered_flags`, generated into `_contract.tpl`) may not
appear in extraArgs, with `check_values`' words. The post-renderer keeps finer rules for
manifests the chart did not write: a repeat with another value, a second bind address.
These tests tie the list to what the chart really renders and to what the post-renderer reads.
"""

from __future__ import annotations

import pytest
import yaml

from lmcache_k8s.lmcache_cli import rendered_flags
from lmcache_k8s.validate import check_values
from postrender.pipeline import process
from tests.chart.helpers import PAYLOAD, args, ok, rendered
from tests.support import HELMS

# Values under which the chart renders every flag it can, for each values map.
EVERYTHING = {
    "engines": {
        "e": {
            "l1": {"sizeGB": 1},
            "prometheus": {"enabled": False},
            "l2Backends": [{"type": "resp", "host": "redis", "port": 6379}],
            "coordinator": {"url": "http://fleet:9300", "l2EventReporting": True},
        }
    },
    "cacheBlendEngines": {"b": {"l1": {"sizeGB": 1}, "injection": PAYLOAD}},
    "coordinators": {"c": {"prometheus": {"enabled": False}}},
}
WORKLOAD = {"engines": "DaemonSet", "cacheBlendEngines": "DaemonSet", "coordinators": "Deployment"}


def entry(kind: str) -> tuple[str, dict]:
    ((name, spec),) = EVERYTHING[kind].items()
    return name, spec


def flags_in(argv: list[str]) -> list[str]:
    return [token.split("=", 1)[0] for token in argv if token.startswith("--")]


def chart_errors(stderr: str) -> set[str]:
    text = stderr.split("invalid values:\n", 1)[1]
    return {line for line in text.splitlines() if line and not line.startswith("Use --debug")}


def with_extra(kind: str, extra: list[str]) -> dict:
    name, spec = entry(kind)
    return {kind: {name: {**spec, "extraArgs": extra}}}


@pytest.mark.parametrize("kind", list(WORKLOAD))
def test_the_generated_list_holds_every_flag_the_chart_renders(kind):
    name, _ = entry(kind)
    out = ok(EVERYTHING)
    rendered_here = set(flags_in(args(out.get(WORKLOAD[kind], name))))
    assert rendered_here <= set(rendered_flags(kind)), rendered_here - set(rendered_flags(kind))


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("kind", list(WORKLOAD))
def test_every_rendered_flag_in_extra_args_is_refused_with_check_values_words(kind, helm):
    # Both spellings: `--flag value` for one half, `--flag=value` for the other.
    extra: list[str] = []
    for i, flag in enumerate(rendered_flags(kind)):
        extra += [flag, "7"] if i % 2 else [f"{flag}=7"]
    values = with_extra(kind, extra)
    out = rendered(values, helm)
    assert not out.ok
    expected = {str(issue) for issue in check_values(values)}
    assert chart_errors(out.stderr) == expected
    assert len(expected) == len(rendered_flags(kind))
    name, _ = entry(kind)
    for flag in rendered_flags(kind):
        assert f"{kind}.{name}.extraArgs: {flag} is rendered by the chart" in out.stderr


def patched(kind: str, extra: list[str]) -> str:
    """The chart's output with `extra` added to the workload's args, as a kustomize patch or a
    hand edit would add them."""
    name, _ = entry(kind)
    docs = [yaml.safe_load(yaml.safe_dump(d)) for d in ok(EVERYTHING).docs]
    for doc in docs:
        if doc["kind"] == WORKLOAD[kind] and doc["metadata"]["name"] == name:
            doc["spec"]["template"]["spec"]["containers"][0]["args"] += extra
    return yaml.safe_dump_all(docs, sort_keys=False)


def valued_flags(kind: str) -> list[tuple[str, str]]:
    """(flag, its value) of every flag the chart renders with a value, `--l2-adapter` aside
    (an engine may have many)."""
    name, _ = entry(kind)
    argv = args(ok(EVERYTHING).get(WORKLOAD[kind], name))
    return [
        (flag, value)
        for flag, value in zip(argv, argv[1:], strict=False)
        if flag.startswith("--") and not value.startswith("--") and flag != "--l2-adapter"
    ]


@pytest.mark.parametrize("kind", list(WORKLOAD))
def test_a_rendered_flag_repeated_with_another_value_is_refused_by_the_post_renderer(kind):
    name, _ = entry(kind)
    flags = valued_flags(kind)
    assert len(flags) >= 9
    for flag, value in flags:
        other = "4242" if value != "4242" else "4343"
        outcome = process(patched(kind, [flag, other]))
        assert not outcome.ok, f"the post-renderer accepted {flag} {value} then {flag} {other}"
        assert any(f"{kind}.{name}." in line and flag in line for line in outcome.errors), (
            outcome.errors
        )
        # The same mistake made in the values is refused by the chart's rule.
        issues = check_values(with_extra(kind, [flag, other]))
        assert [i.path for i in issues] == [f"{kind}.{name}.extraArgs"], issues


def test_the_post_renderer_accepts_what_the_chart_renders_unchanged():
    outcome = process(ok(EVERYTHING).stdout)
    assert outcome.ok, outcome.errors
    assert not outcome.changed


def test_the_same_value_repeated_is_refused_by_the_chart_but_passes_the_post_renderer():
    values = with_extra("engines", ["--max-workers", "1"])
    out = rendered(values)
    assert not out.ok
    assert "engines.e.extraArgs: --max-workers is rendered by the chart" in out.stderr
    # A hand-written or patched workload may say it twice: argparse takes the same value.
    assert process(patched("engines", ["--max-workers", "1"])).ok


def test_a_redundant_bind_address_is_refused_by_the_chart_and_dropped_by_the_post_renderer():
    out = rendered(with_extra("engines", ["--host", "0.0.0.0"]))
    assert "engines.e.extraArgs: --host is rendered by the chart" in out.stderr
    # The post-renderer removes the repeat from a hand-written or patched workload instead.
    outcome = process(patched("engines", ["--host", "0.0.0.0"]))
    assert outcome.ok and outcome.changed
    fixed = yaml.safe_load_all(outcome.output)
    daemonset = next(d for d in fixed if d["kind"] == "DaemonSet" and d["metadata"]["name"] == "e")
    assert args(daemonset).count("--host") == 1


def test_disabling_metrics_through_extra_args_is_refused_by_both():
    values = {"engines": {"e": {"l1": {"sizeGB": 1}, "extraArgs": ["--disable-metrics"]}}}
    out = rendered(values)
    assert "engines.e.extraArgs: --disable-metrics is rendered by the chart" in out.stderr
    clean = ok({"engines": {"e": {"l1": {"sizeGB": 1}}}}).docs
    docs = [yaml.safe_load(yaml.safe_dump(d)) for d in clean]
    next(d for d in docs if d["kind"] == "DaemonSet")["spec"]["template"]["spec"]["containers"][0][
        "args"
    ].append("--disable-metrics")
    assert not process(yaml.safe_dump_all(docs)).ok
