"""Reading `<engine>-connection`: the contract with the chart."""

from __future__ import annotations

import json

import pytest

from webhook.engine import EngineConfigError, PayloadImage, parse_connection_data

from .builders import connection_data


def test_chart_configmap_is_read_with_every_setting() -> None:
    config = parse_connection_data(
        "llm",
        "blend",
        connection_data(
            cudagraph="piecewise",
            imagePullSecrets=[{"name": "a"}, {"name": "b"}, {"name": "a"}],
            targetContainer="server",
        ),
    )
    assert config.cudagraph == "piecewise"
    assert config.image_pull_secrets == ("a", "b")
    assert config.target_container == "server"
    assert config.payload_image == PayloadImage("registry.example.com/cb", "1.0", "IfNotPresent")
    assert config.key == "llm/blend"


def test_kv_transfer_config_is_reserialised_compactly() -> None:
    data = {"kv-transfer-config.json": '{\n  "kv_role": "kv_both",\n  "a": {"z": 1, "b": 2}\n}'}
    config = parse_connection_data("llm", "blend", data)
    assert config.kv_transfer_config == '{"a":{"b":2,"z":1},"kv_role":"kv_both"}'


def test_missing_injection_key_means_defaults_and_no_payload() -> None:
    config = parse_connection_data("llm", "blend", {"kv-transfer-config.json": "{}"})
    assert config.payload_image is None
    assert config.cudagraph == "eager"
    assert config.image_pull_secrets == ()
    assert config.target_container is None


def test_tag_and_pull_policy_default() -> None:
    data = connection_data(payloadImage={"repository": "r"})
    assert parse_connection_data("llm", "b", data).payload_image == PayloadImage("r")


@pytest.mark.parametrize(
    ("tag", "reference"),
    [("1.2", "repo/x:1.2"), ("sha256:" + "a" * 64, "repo/x@sha256:" + "a" * 64)],
)
def test_image_reference(tag: str, reference: str) -> None:
    assert PayloadImage("repo/x", tag).reference == reference


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "kv-transfer-config.json is missing"),
        ({"kv-transfer-config.json": "{"}, "not valid JSON"),
        ({"kv-transfer-config.json": "[]"}, "must be a JSON object"),
        (
            {"kv-transfer-config.json": "{}", "cacheblend-injection.json": '{"cudagraph": "full"}'},
            "cudagraph: must be one of",
        ),
        (
            {
                "kv-transfer-config.json": "{}",
                "cacheblend-injection.json": json.dumps(
                    {"payloadImage": {"repository": "r", "pullPolicy": "Sometimes"}}
                ),
            },
            "pullPolicy: must be one of",
        ),
        (
            {
                "kv-transfer-config.json": "{}",
                "cacheblend-injection.json": '{"imagePullSecrets": [{"nom": "x"}]}',
            },
            "imagePullSecrets[0]: needs a non-empty name",
        ),
    ],
)
def test_unusable_configmap_is_an_error_naming_the_key(data: dict, message: str) -> None:
    with pytest.raises(EngineConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_connection_data("llm", "blend", data)
