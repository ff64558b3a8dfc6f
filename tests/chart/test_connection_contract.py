"""The mirrored connector keys: the chart, lmcache_k8s and the post-renderer agree.

Every connection ConfigMap carries each key of `lmcache_cli.MIRRORED_EXTRA_CONFIG`, except
an adopted entry's (`adoptOperatorObjects: true`), which carries a key only when it differs
from the vLLM connector's default, so the handed-over ConfigMap stays the reference
operator's while meaning the same to vLLM. The chart's template ("lmcache.connectionKeys")
and `lmcache_cli.mirrored_extra_config` are two spellings of that rule; the post-renderer
reads a ConfigMap back with `resolved_mirrored` and refuses one that disagrees with its server.
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from lmcache_k8s.lmcache_cli import MIRRORED_EXTRA_CONFIG, mirrored_extra_config
from lmcache_k8s.values import Values
from postrender.pipeline import process
from tests.chart.helpers import blend, engine, ok

NON_DEFAULT = {"server": {"hashAlgorithm": "sha256_cbor"}, "ipc": "isolated"}
CASES = {
    "defaults": ({}, {}),
    "non-default": (NON_DEFAULT, NON_DEFAULT),
    "mixed": ({"server": {"hashAlgorithm": "sha256_cbor"}}, {"ipc": "isolated"}),
}


def values_for(case: str, adopted: bool) -> dict:
    plain, blended = CASES[case]
    return {
        "engines": {"e": engine(**copy.deepcopy(plain), adoptOperatorObjects=adopted)},
        "cacheBlendEngines": {"b": blend(**copy.deepcopy(blended), adoptOperatorObjects=adopted)},
    }


def extra_config(out, name: str) -> dict:
    text = out.get("ConfigMap", f"{name}-connection")["data"]["kv-transfer-config.json"]
    return json.loads(text)["kv_connector_extra_config"]


@pytest.mark.parametrize("adopted", [False, True], ids=["own", "adopted"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_chart_writes_the_mirrored_keys_lmcache_k8s_computes(case, adopted):
    values = values_for(case, adopted)
    out = ok(values)
    model = Values.model_validate(values)
    for kind, name in (("engines", "e"), ("cacheBlendEngines", "b")):
        spec = getattr(model, kind)[name].model_dump(mode="json", by_alias=True)
        extra = extra_config(out, name)
        written = {k: v for k, v in extra.items() if k in MIRRORED_EXTRA_CONFIG}
        assert written == mirrored_extra_config(spec, adopted), (kind, case)
        if not adopted:
            assert set(written) == set(MIRRORED_EXTRA_CONFIG)


def test_an_adopted_entry_with_defaults_writes_no_mirrored_key():
    out = ok(values_for("defaults", True))
    assert not set(extra_config(out, "e")) & set(MIRRORED_EXTRA_CONFIG)
    extra = extra_config(ok(values_for("non-default", True)), "e")
    assert extra["lmcache.mp.hash_algorithm"] == "sha256_cbor"
    assert extra["lmcache.mp.isolated_ipc"] is True


@pytest.mark.parametrize("adopted", [False, True], ids=["own", "adopted"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_post_renderer_accepts_what_the_chart_writes(case, adopted):
    outcome = process(ok(values_for(case, adopted)).stdout)
    assert outcome.errors == []


@pytest.mark.parametrize("key", list(MIRRORED_EXTRA_CONFIG))
def test_the_post_renderer_refuses_a_connection_that_drops_a_non_default_key(key):
    docs = ok(values_for("non-default", False)).docs
    for doc in docs:
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "e-connection":
            kv = json.loads(doc["data"]["kv-transfer-config.json"])
            del kv["kv_connector_extra_config"][key]
            doc = copy.deepcopy(doc)
            doc["data"]["kv-transfer-config.json"] = json.dumps(kv, indent=2, sort_keys=True)
            docs = [doc if d["metadata"]["name"] == "e-connection" else d for d in docs]
            break
    outcome = process(yaml.safe_dump_all(docs))
    assert any(key in e and MIRRORED_EXTRA_CONFIG[key].flag in e for e in outcome.errors), (
        outcome.errors
    )


@pytest.mark.parametrize(
    ("key", "words"),
    [
        (
            "lmcache.mp.hash_algorithm",
            'lmcache.mp.hash_algorithm absent, so the connector\'s default "blake3", but the'
            " server runs with --hash-algorithm sha256_cbor;",
        ),
        (
            "lmcache.mp.isolated_ipc",
            "lmcache.mp.isolated_ipc absent, so the connector's default false, but the server"
            " runs with --isolated-ipc;",
        ),
    ],
)
def test_the_mismatch_is_told_in_json_and_command_line_words(key, words):
    # what the user sees in the ConfigMap (JSON: false, "blake3") and on the command line (a
    # boolean flag is there or not), never Python's False or 'blake3'
    docs = copy.deepcopy(ok(values_for("non-default", False)).docs)  # ok() output is cached
    for doc in docs:
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "e-connection":
            kv = json.loads(doc["data"]["kv-transfer-config.json"])
            del kv["kv_connector_extra_config"][key]
            doc["data"]["kv-transfer-config.json"] = json.dumps(kv, indent=2, sort_keys=True)
    (error,) = process(yaml.safe_dump_all(docs)).errors
    assert words in error, error
