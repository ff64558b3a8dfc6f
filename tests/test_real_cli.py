"""Every lmcache command line the chart renders is accepted by the real lmcache 0.5.6 CLI.

A flag the real CLI rejects crash-loops the pod, so this runs the actual parser (installed by
scripts/install-real-cli.sh into .tools/lmcache-cli) on every scenario in charts/lmcache/ci/.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections import Counter

import pytest
import yaml

from lmcache_k8s import lmcache_cli
from tests.support import CI_VALUES, ROOT, ref, render
from tests.webhook.test_examples import example_injected_args
from webhook.modes import KEYS, MODES, Mode

PYTHON = ROOT / ".tools" / "lmcache-cli" / "bin" / "python"
PROBE = ROOT / "tests" / "real_cli_probe.py"

if os.environ.get("LMCACHE_K8S_SKIP_REAL_CLI") == "1":
    pytest.skip(
        "LMCACHE_K8S_SKIP_REAL_CLI=1: the real lmcache CLI is not installed",
        allow_module_level=True,
    )


def real_cli(lines: list[tuple[str, list[str]]]) -> list[dict]:
    assert PYTHON.exists(), "run scripts/setup.sh (it installs the real lmcache CLI)"
    payload = json.dumps([{"command": c, "args": a} for c, a in lines])
    proc = subprocess.run(
        [str(PYTHON), str(PROBE)], input=payload, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def lmcache_command_lines() -> list[tuple[str, str, list[str]]]:
    """(where, subcommand, args) of every lmcache container in every scenario."""
    found = []
    for values in CI_VALUES:
        for doc in render(values_files=(values,)).docs:
            template = doc.get("spec", {}).get("template", {}).get("spec", {})
            for container in template.get("containers", []):
                command = container.get("command") or []
                if command[:1] == ["/opt/venv/bin/lmcache"] and command[1:2] in (
                    ["server"],
                    ["coordinator"],
                ):
                    where = f"{values.name}: {ref(doc)}"
                    found.append((where, command[1], [str(a) for a in container.get("args", [])]))
    return found


def test_every_rendered_command_line_is_accepted_by_the_real_cli():
    lines = lmcache_command_lines()
    assert {c for _, c, _ in lines} == {"server", "coordinator"}, (
        "scenarios must cover both commands"
    )
    results = real_cli([(c, a) for _, c, a in lines])
    rejected = [
        f"{w}: {r['error']}" for (w, _, _), r in zip(lines, results, strict=True) if not r["ok"]
    ]
    assert rejected == []


MINIMAL = ["--l1-size-gb", "1", "--eviction-policy", "LRU"]
MANDATORY = [
    ("server", ["--eviction-policy", "LRU"]),  # --l1-size-gb is mandatory
    ("server", ["--l1-size-gb", "1"]),  # --eviction-policy is mandatory
]
# What the post-renderer rejects, it rejects because the real CLI does: its tables drive these.
REJECTED_FLAGS = [
    *[("server", [*MINIMAL, flag]) for flag in lmcache_cli.REJECTED],
    *[("coordinator", [flag, "1"]) for flag in lmcache_cli.REJECTED],
    *[("coordinator", [f"{prefix}reporting"]) for prefix in lmcache_cli.REJECTED_PREFIX],
    *[
        ("server", [*MINIMAL, "--engine-type", value])
        for value in lmcache_cli.ENGINE_TYPES_REJECTED
    ],
    *[("coordinator", [flag, "9090"]) for flag in lmcache_cli.COORDINATOR_REJECTED],
]
REJECTED = MANDATORY + REJECTED_FLAGS
# ...and what it only warns about, the real server parser accepts.
ACCEPTED_BUT_MISLEADING = [
    *[("server", [*MINIMAL, flag, "9090"]) for flag in lmcache_cli.SERVER_MISLEADING],
    *[
        ("server", [*MINIMAL, f"{prefix}reporting"])
        for prefix in lmcache_cli.SERVER_DEPRECATED_PREFIX
    ],
]


@functools.cache
def verdicts() -> list[dict]:
    """One run of the real CLI for all hand-written cases (starting it costs ~1.5 s)."""
    return real_cli(REJECTED + ACCEPTED_BUT_MISLEADING)


@pytest.mark.parametrize("index", range(len(REJECTED)), ids=lambda i: " ".join(REJECTED[i][1][-2:]))
def test_the_reference_operators_flags_are_rejected_by_the_real_cli(index):
    assert not verdicts()[index]["ok"]


@pytest.mark.parametrize("index", range(len(ACCEPTED_BUT_MISLEADING)))
def test_flags_the_real_cli_accepts_but_that_do_not_do_what_they_say(index):
    # The post-renderer warns about these instead of failing the render.
    result = verdicts()[len(REJECTED) + index]
    assert result["ok"], result["error"]


def _flag_under_test(args: list[str]) -> tuple[str, str | None]:
    rest = args[len(MINIMAL) :] if args[: len(MINIMAL)] == MINIMAL else args
    return rest[0], (rest[1] if len(rest) > 1 else None)


@pytest.mark.parametrize(("subcommand", "args"), REJECTED_FLAGS + ACCEPTED_BUT_MISLEADING)
def test_the_post_renderer_asks_lmcache_cli_for_the_real_clis_verdict(subcommand, args):
    # The tests above prove the tables; this proves the questions the post-renderer asks
    # about every flag (rejected? misleading?) are answered from them the real CLI's way.
    flag, value = _flag_under_test(args)
    refused = lmcache_cli.rejected(flag, value, subcommand)
    warned = lmcache_cli.misleading(flag, subcommand)
    if (subcommand, args) in REJECTED_FLAGS:
        assert refused and refused.startswith(f"{flag} ") and warned is None
    else:
        assert refused is None and warned


# -- vLLM: the command lines the injection webhook produces -----------------------------------

GOLDEN = ROOT / "tests" / "webhook" / "testdata"
KV_TRANSFER_CONFIG = "--kv-transfer-config"


def injected_vllm_command_lines() -> list[tuple[str, Mode, list[str]]]:
    """(case, mode, args) of the target container of every golden pod the webhook injected,
    in either mode: the container that received `--kv-transfer-config` (both modes add it;
    a pod that already had it is skipped, so only the webhook's own is there)."""
    found = []
    for path in sorted(GOLDEN.glob("*.injected.yaml")):
        pod = yaml.safe_load(path.read_text())
        annotations = pod["metadata"].get("annotations") or {}
        for mode in MODES:
            if annotations.get(KEYS[mode].injected_annotation) != "true":
                continue  # a skip, or the other mode: nothing was appended
            for container in pod["spec"]["containers"]:
                args = [str(a) for a in container.get("args") or []]
                if KV_TRANSFER_CONFIG in args:
                    found.append((path.name, mode, args))
    return found


def test_every_injected_vllm_command_line_is_accepted_by_the_real_vllm():
    lines = injected_vllm_command_lines()
    by_mode = Counter(mode for _, mode, _ in lines)
    # Found trying issue 9: the LMCache mode's goldens were left out (only containers with
    # the CacheBlend plugin mount were collected).
    assert by_mode[Mode.CACHEBLEND] >= 8, "the golden cases should cover every injection"
    assert by_mode[Mode.LMCACHE] >= 4, "and the LMCache mode's injections"
    results = real_cli([("vllm", args) for _, _, args in lines])
    rejected = [
        f"{case}: {r['error']}"
        for (case, _, _), r in zip(lines, results, strict=True)
        if not r["ok"]
    ]
    assert rejected == []


def test_the_plain_injection_example_is_accepted_by_the_real_vllm():
    """examples/vllm-lmcache-inject.yaml as the webhook injects it (tests/webhook/test_examples.py)."""
    (result,) = real_cli([("vllm", example_injected_args())])
    assert result["ok"], result["error"]


def test_real_vllm_rejects_a_cudagraph_mode_flag():
    # SPEC: the mode goes through --compilation-config; vLLM 0.33.0 has no --cudagraph-mode.
    (result,) = real_cli([("vllm", ["some/model", "--cudagraph-mode", "FULL_DECODE_ONLY"])])
    assert not result["ok"]
    assert "--cudagraph-mode" in result["error"]


def test_every_connection_configmap_is_a_kv_transfer_config_vllm_accepts():
    # What a vLLM pod passes as --kv-transfer-config "$(cat .../kv-transfer-config.json)".
    configs = []
    for values in CI_VALUES:
        for doc in render(values_files=(values,)).docs:
            if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].endswith("-connection"):
                configs.append(
                    (f"{values.name}: {ref(doc)}", doc["data"]["kv-transfer-config.json"])
                )
    assert {json.loads(text)["kv_connector"] for _, text in configs} == {
        "LMCacheMPConnector",
        "CBKVConnector",
    }
    results = real_cli(
        [("vllm", ["some/model", "--kv-transfer-config", text]) for _, text in configs]
    )
    rejected = [
        f"{where}: {r['error']}"
        for (where, _), r in zip(configs, results, strict=True)
        if not r["ok"]
    ]
    assert rejected == []


def test_real_vllm_checks_the_kv_transfer_config_it_is_given():
    # So the test above can fail: vLLM validates the JSON against its KVTransferConfig.
    bad = json.dumps({"kv_connector": "LMCacheMPConnector", "kv_role": "kv_everything"})
    (result,) = real_cli([("vllm", ["some/model", "--kv-transfer-config", bad])])
    assert not result["ok"]
    assert "kv_role" in result["error"]


# -- the connection contract: extra-config keys that must match a server setting --------------


def real_connector_contract() -> dict[str, dict]:
    proc = subprocess.run(
        [str(PYTHON), str(PROBE), "--contract"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_every_key_the_real_connector_says_must_match_the_server_is_mirrored():
    # A future lmcache that adds a "must match" key fails here, not in a user's cache.
    contract = real_connector_contract()
    assert "lmcache.mp.hash_algorithm" in contract, "the probe no longer reads the connector"
    ours = {
        key: {"flag": m.flag, "default": m.connector_default}
        for key, m in lmcache_cli.MIRRORED_EXTRA_CONFIG.items()
    }
    # The defaults matter too: an adopted entry omits a key whose value is the default.
    assert contract == ours


def engines_with_their_connection() -> list[tuple[str, list[str], str]]:
    """(where, server args, kv-transfer-config JSON) of every engine in every scenario."""
    found = []
    for values in CI_VALUES:
        docs = render(values_files=(values,)).docs
        configs = {
            d["metadata"]["name"]: d["data"]["kv-transfer-config.json"]
            for d in docs
            if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-connection")
        }
        for doc in docs:
            if doc["kind"] != "DaemonSet":
                continue
            (container,) = [
                c
                for c in doc["spec"]["template"]["spec"]["containers"]
                if c.get("command", [])[1:2] == ["server"]
            ]
            args = [str(a) for a in container["args"]]
            name = doc["metadata"]["name"]
            found.append((f"{values.name}: {ref(doc)}", args, configs[f"{name}-connection"]))
    return found


def test_every_connection_configmap_agrees_with_its_server_through_the_real_code():
    pairs = engines_with_their_connection()
    configs = [json.loads(text)["kv_connector_extra_config"] for _, _, text in pairs]
    for key in lmcache_cli.MIRRORED_EXTRA_CONFIG:
        # No ci/ scenario adopts operator objects, so every ConfigMap carries every key.
        assert all(key in extra for extra in configs), f"{key} missing from a ConfigMap"
    results = real_cli([("pair", [json.dumps(args), text]) for _, args, text in pairs])
    disagree = [
        f"{where}: {r['error']}"
        for (where, _, _), r in zip(pairs, results, strict=True)
        if not r["ok"]
    ]
    assert disagree == []
    algorithms = {extra["lmcache.mp.hash_algorithm"] for extra in configs}
    assert len(algorithms) > 1, "a scenario should set a non-default server.hashAlgorithm"


def test_the_real_pair_check_fails_on_a_mismatch():
    # So the test above can fail: a ConfigMap that omits the hash the server uses.
    server = ["--l1-size-gb", "1", "--eviction-policy", "LRU", "--hash-algorithm", "sha256_cbor"]
    config = json.dumps({"kv_connector": "LMCacheMPConnector", "kv_role": "kv_both"})
    (result,) = real_cli([("pair", [json.dumps(server), config])])
    assert not result["ok"]
    assert "lmcache.mp.hash_algorithm" in result["error"]


def test_an_adopted_connection_without_default_keys_agrees_with_its_server():
    # adoptOperatorObjects: a mirrored key is written only when it is not the connector's
    # default; the real resolver must still land on what the server runs with.
    pairs = []
    for overrides in ({}, {"server": {"hashAlgorithm": "sha256_cbor"}, "ipc": "isolated"}):
        values = {
            "engines": {"e": {"l1": {"sizeGB": 1}, "adoptOperatorObjects": True, **overrides}}
        }
        docs = render(values).docs
        (daemonset,) = [d for d in docs if d["kind"] == "DaemonSet"]
        (configmap,) = [d for d in docs if d["metadata"]["name"] == "e-connection"]
        args = [str(a) for a in daemonset["spec"]["template"]["spec"]["containers"][0]["args"]]
        pairs.append(("pair", [json.dumps(args), configmap["data"]["kv-transfer-config.json"]]))
    first, second = real_cli(pairs)
    assert first["ok"], first["error"]
    assert second["ok"], second["error"]
    assert "hash_algorithm" not in pairs[0][1][1]
