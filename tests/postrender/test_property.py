"""Properties over generated engine workloads: idempotent, and the result holds the invariants."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postrender.flags import parse_flags
from postrender.invariants import probes, resources_for
from postrender.pipeline import process
from tests.postrender import chartlike
from tests.postrender.helpers import docs, stream_of, vllm

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sizes = st.sampled_from([0.04, 0.5, 1, 8, 60, 60.5, 120])
ports = st.integers(min_value=1024, max_value=65535)
levels = st.sampled_from(["DEBUG", "INFO", "WARNING", "ERROR"])


@st.composite
def chart_engines(draw):
    """Engines exactly as the chart renders them, with random valid values."""
    port = draw(ports)
    http_port = draw(ports.filter(lambda p: p != port))
    return chartlike.daemonset(
        draw(st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)),
        size_gb=draw(sizes),
        port=port,
        http_port=http_port,
        log_level=draw(levels),
        max_workers=draw(st.integers(1, 16)),
        hash_algorithm=draw(st.sampled_from(["builtin", "sha256_cbor", "blake3"])),
        watermark=draw(st.sampled_from([0.1, 0.5, 0.8, 1])),
        ratio=draw(st.sampled_from([0.05, 0.2, 1.0])),
        metrics=draw(st.booleans()),
        coordinator_url=draw(st.sampled_from([None, "http://c.llm.svc:9300"])),
        extra=draw(st.sampled_from([[], ["--verbose"], ["--some-flag", "x"]])),
    )


@st.composite
def damaged_engines(draw):
    """A chart-like engine with random invariants broken the ways hand edits break them."""
    ds = draw(chart_engines())
    pod = ds["spec"]["template"]["spec"]
    c = pod["containers"][0]
    if draw(st.booleans()):
        ds["metadata"]["labels"] = {"app": "x"}  # only `lmcache server` identifies it
    if draw(st.booleans()):
        pod.pop("hostIPC")
    elif draw(st.booleans()):
        pod["hostIPC"] = False
    args = c["args"]
    for flag in ("--host", "--http-host", "--eviction-policy"):
        if draw(st.booleans()):
            i = args.index(flag)
            del args[i : i + 2]
    if draw(st.booleans()):
        args += ["--host", "0.0.0.0"]
    if draw(st.booleans()):
        c["command"] = ["lmcache"]
        c["args"] = ["server", *args]
    for key in ("startupProbe", "livenessProbe", "readinessProbe", "resources", "ports"):
        choice = draw(st.sampled_from(["keep", "drop", "odd"]))
        if choice == "drop":
            c.pop(key)
        elif choice == "odd":
            c[key] = (
                {"httpGet": {"path": "/", "port": 1}}
                if "Probe" in key
                else (
                    {"limits": {"memory": "1Gi"}}
                    if key == "resources"
                    else [{"name": "server", "containerPort": 1}]
                )
            )
    env = c["env"]
    for item in list(env):
        if item["name"].startswith("NVIDIA") or item["name"].startswith("LMCACHE_COORD"):
            choice = draw(st.sampled_from(["keep", "drop", "odd"]))
            if choice == "drop":
                env.remove(item)
            elif choice == "odd":
                item.pop("valueFrom", None)
                item["value"] = "none"
    if draw(st.booleans()):
        env.append({"name": "EXTRA", "value": "1"})
    return ds


def flags(container):
    tokens = [*container["command"], *container.get("args", [])]
    return parse_flags(tokens[tokens.index("server") + 1 :], set())


def assert_invariants(ds):
    pod = ds["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert pod["hostIPC"] is True
    parsed = flags(c)
    assert [f.value for f in parsed if f.name == "--host"] == ["0.0.0.0"]
    assert [f.value for f in parsed if f.name == "--http-host"] == ["0.0.0.0"]
    assert [f.value for f in parsed if f.name == "--eviction-policy"] == ["LRU"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["NVIDIA_VISIBLE_DEVICES"] == env["NVIDIA_DRIVER_CAPABILITIES"] == "all"
    for key, probe in probes().items():
        assert c[key] == probe
    size = float(next(f.value for f in parsed if f.name == "--l1-size-gb"))
    assert c["resources"] == resources_for(size)
    named = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert named["server"] == int(next(f.value for f in parsed if f.name == "--port"))


@SETTINGS
@given(st.lists(chart_engines(), min_size=1, max_size=3, unique_by=lambda d: d["metadata"]["name"]))
def test_the_charts_engines_are_a_fixed_point(engines):
    text = stream_of(*engines)
    outcome = process(text)
    assert outcome.ok, outcome.errors
    assert outcome.output == text
    assert outcome.warnings == []


@SETTINGS
@given(damaged_engines(), st.sampled_from(["helm3", "helm4"]))
def test_running_twice_equals_running_once(ds, dialect):
    text = stream_of(ds, dialect=dialect)
    (original,) = docs(text)
    first = process(text)
    assert first.ok, first.errors
    second = process(first.output)
    assert second.ok, second.errors
    assert second.output == first.output
    assert not second.changed and second.warnings == []
    (fixed,) = docs(first.output)
    assert_invariants(fixed)
    if fixed != original:
        assert first.warnings, "every change is reported"
    if dialect == "helm4":
        assert fixed["metadata"]["annotations"][chartlike.FILENAME_ANNOTATION]


JUNK = st.sampled_from(
    [None, "x", 0, -1, 1.5, True, [], {}, [None], {"a": None}, ["--host"], [1, 2]]
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_malformed_objects_never_crash_it(data):
    """Any field replaced by junk gives output or errors, never an exception."""
    objects = [o for _, o in chartlike.engine_set("a", blend=True)]
    objects += [chartlike.coordinator("c"), vllm(configmap="a-connection")]
    for _ in range(data.draw(st.integers(1, 3))):
        obj = data.draw(st.sampled_from(objects))
        path = data.draw(st.sampled_from([p for p in _paths(obj) if p]))
        node = obj
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = copy.deepcopy(data.draw(JUNK))
    outcome = process(stream_of(*objects))
    assert outcome.ok == (outcome.output is not None)
    if outcome.ok:
        again = process(outcome.output)
        assert again.ok and again.output == outcome.output
