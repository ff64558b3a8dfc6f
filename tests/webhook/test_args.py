"""vLLM argument editing: every spelling of a flag the webhook owns is replaced."""

from __future__ import annotations

import json
from typing import get_args

import pytest

from lmcache_k8s.values import InjectionSpec
from webhook.args import KV_TRANSFER_CONFIG, cacheblend_args, has_flag, parse_flag

from .builders import KV_TRANSFER_CONFIG as KV

KV_TOKEN = json.dumps(KV, sort_keys=True, separators=(",", ":"))
COMMON = [
    "--attention-backend",
    "CUSTOM",
    "--kv-transfer-config",
    KV_TOKEN,
    "--block-size",
    "64",
    "--pipeline-parallel-size",
    "1",
    "--no-enable-chunked-prefill",
    "--no-async-scheduling",
]


def edit(args: list[str], mode: str = "eager") -> list[str]:
    return cacheblend_args(args, KV_TOKEN, mode)


def test_kv_transfer_config_is_one_compact_sorted_token() -> None:
    result = edit(["--model", "m"])
    token = result[result.index("--kv-transfer-config") + 1]
    assert token == KV_TOKEN
    assert " " not in token


# SPEC 4 step 5, per mode of the chart's model (InjectionSpec.cudagraph).
TAIL_PER_MODE = {
    "eager": ["--enforce-eager"],
    "piecewise": [],
    "full_decode_only": ["--compilation-config", '{"cudagraph_mode":"FULL_DECODE_ONLY"}'],
}
MODEL_MODES = get_args(InjectionSpec.model_fields["cudagraph"].annotation)


@pytest.mark.parametrize("mode", MODEL_MODES)
def test_flags_appended_per_cudagraph_mode(mode: str) -> None:
    # Parametrised by the model: a mode added there fails here until it is handled.
    assert edit(["--model", "m"], mode) == ["--model", "m", *COMMON, *TAIL_PER_MODE[mode]]


def test_a_mode_the_webhook_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown cudagraph mode 'full'"):
        edit(["--model", "m"], "full")


@pytest.mark.parametrize(
    "existing",
    [
        ["--block-size", "32"],
        ["--block-size=32"],
        ["--block_size", "32"],
        ["--block_size=32"],
        ["--pipeline-parallel-size", "2"],
        ["-pp", "2"],
        ["-pp=2"],
        ["--attention-backend", "FLASHINFER"],
        ["--enable-chunked-prefill"],
        ["--enable-chunked-prefill", "true"],
        ["--enable_chunked_prefill=false"],
        ["--no-enable-chunked-prefill"],
        ["--async-scheduling"],
        ["--no-async-scheduling"],
        ["--enforce-eager"],
        ["--enforce-eager=true"],
        ["--enforce-eager", "True"],
        ["--no-enforce-eager"],
    ],
)
def test_existing_spelling_is_replaced(existing: list[str]) -> None:
    assert edit(["--model", "m", *existing, "--port", "8000"]) == [
        "--model",
        "m",
        "--port",
        "8000",
        *COMMON,
        "--enforce-eager",
    ]


@pytest.mark.parametrize("mode", ["piecewise", "full_decode_only"])
def test_enforce_eager_is_removed_when_graphs_are_wanted(mode: str) -> None:
    result = edit(["--model", "m", "--enforce-eager=true"], mode)
    assert not any(token.startswith("--enforce-eager") for token in result)


def test_boolean_flag_does_not_swallow_the_next_option() -> None:
    assert edit(["--enforce-eager", "--model", "m"])[:2] == ["--model", "m"]


def test_value_flag_without_value_does_not_swallow_the_next_option() -> None:
    assert edit(["--block-size", "--model", "m"])[:2] == ["--model", "m"]


def test_flags_go_before_end_of_options_marker() -> None:
    result = edit(["--model", "m", "--", "positional"])
    assert result[-2:] == ["--", "positional"]
    assert result.index("--enforce-eager") < result.index("--")


def test_tokens_after_end_of_options_are_left_alone() -> None:
    assert edit(["--model", "m", "--", "--block-size", "8"])[-3:] == ["--", "--block-size", "8"]


def test_full_decode_only_replaces_a_non_json_compilation_config() -> None:
    result = edit(["--compilation-config", "3"], "full_decode_only")
    assert result[-2:] == ["--compilation-config", '{"cudagraph_mode":"FULL_DECODE_ONLY"}']
    assert result.count("--compilation-config") == 1


def test_full_decode_only_drops_dotted_cudagraph_mode_and_keeps_other_keys() -> None:
    result = edit(
        ["--compilation-config.cudagraph_mode", "FULL", "--compilation-config.mode=3"],
        "full_decode_only",
    )
    assert "--compilation-config.cudagraph_mode" not in result
    assert "FULL" not in result
    assert result[0] == "--compilation-config.mode=3"


def test_eager_mode_leaves_compilation_config_alone() -> None:
    assert edit(["--compilation-config", '{"mode": 3}'])[:2] == [
        "--compilation-config",
        '{"mode": 3}',
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["--kv-transfer-config", "{}"],
        ["--kv-transfer-config={}"],
        ["--kv_transfer_config", "{}"],
        ["--kv-transfer-config.kv_role", "kv_both"],
    ],
)
def test_kv_transfer_config_is_detected_in_any_spelling(args: list[str]) -> None:
    assert has_flag(["--model", "m", *args], KV_TRANSFER_CONFIG)


def test_kv_transfer_config_after_end_of_options_is_not_a_flag() -> None:
    assert not has_flag(["--model", "m", "--", "--kv-transfer-config"], KV_TRANSFER_CONFIG)


def test_a_value_that_mentions_the_flag_is_not_the_flag() -> None:
    assert not has_flag(["--served-model-name", "kv-transfer-config"], KV_TRANSFER_CONFIG)


@pytest.mark.parametrize(
    ("token", "flag"),
    [
        ("--", None),
        ("-", None),
        ("x", None),
        ("-x", None),
        ("-1", None),
        ("--x", ("--x", None, None)),
        ("--a_b", ("--a-b", None, None)),
        ("--a_b=c_d", ("--a-b", None, "c_d")),
        ("--a.b_c=d", ("--a", "b_c", "d")),
        ("--a=b.c", ("--a", None, "b.c")),
        ("--a=b_c", ("--a", None, "b_c")),
        ("--a.b=c_d", ("--a", "b", "c_d")),
        ("--block_size", ("--block-size", None, None)),
        ("--compilation-config.mode=3", ("--compilation-config", "mode", "3")),
        ("--=x", ("--", None, "x")),
        ("--.x", ("--", "x", None)),
        ("-pp", ("--pipeline-parallel-size", None, None)),
        ("-pp=2", ("--pipeline-parallel-size", None, "2")),
    ],
)
def test_parse_flag_names_a_token_as_vllm_does(token: str, flag: tuple | None) -> None:
    assert parse_flag(token) == flag
