"""vLLM argument editing: every spelling of a flag the webhook owns is replaced."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webhook.args import KV_TRANSFER_CONFIG, cacheblend_args, flag_name, has_flag, parse_flag

from .builders import KV_TRANSFER_CONFIG as KV
from .builders import engine

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
    return cacheblend_args(args, engine(cudagraph=mode))


def test_kv_transfer_config_is_one_compact_sorted_token() -> None:
    result = edit(["--model", "m"])
    token = result[result.index("--kv-transfer-config") + 1]
    assert token == KV_TOKEN
    assert " " not in token


@pytest.mark.parametrize(
    ("mode", "tail"),
    [
        ("eager", ["--enforce-eager"]),
        ("piecewise", []),
        ("full_decode_only", ["--compilation-config", '{"cudagraph_mode":"FULL_DECODE_ONLY"}']),
    ],
)
def test_flags_appended_per_cudagraph_mode(mode: str, tail: list[str]) -> None:
    assert edit(["--model", "m"], mode) == ["--model", "m", *COMMON, *tail]


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
    "token",
    [
        "--",
        "-",
        "--x",
        "--a_b",
        "--a_b=c_d",
        "--a.b_c=d",
        "--=x",
        "--.x",
        "-pp",
        "-pp=2",
        "-x",
        "-1",
    ],
)
def test_flag_name_is_the_name_parse_flag_gives(token: str) -> None:
    parsed = parse_flag(token)
    assert flag_name(token) == (parsed.name if parsed is not None else None)


@given(st.text(alphabet="-_.=ap1 ", max_size=12))
def test_flag_name_agrees_with_parse_flag_on_any_token(token: str) -> None:
    parsed = parse_flag(token)
    assert flag_name(token) == (parsed.name if parsed is not None else None)
