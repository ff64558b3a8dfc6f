"""Reading `<engine>-connection`: the contract with the chart.

The injection settings are validated by the chart's own model (InjectionSpec); these
tests pin how the webhook reports and normalises them. test_chart_agreement.py renders
the chart to show both sides agree on every accepted value.
"""

from __future__ import annotations

import json

import pytest

from lmcache_k8s.values import PayloadImage
from webhook.connection import EngineConfigError, parse_connection_data

from .builders import connection_data

KV = {"kv-transfer-config.json": "{}"}


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
    assert config.injection is not None
    assert config.injection.cudagraph == "piecewise"
    assert config.image_pull_secrets == ("a", "b")
    assert config.target_container == "server"
    assert config.injection.payloadImage == PayloadImage(
        repository="registry.example.com/cb", tag="1.0", pullPolicy="IfNotPresent"
    )
    assert config.key == "llm/blend"


def test_kv_transfer_config_is_reserialised_compactly() -> None:
    data = {"kv-transfer-config.json": '{\n  "kv_role": "kv_both",\n  "a": {"z": 1, "b": 2}\n}'}
    config = parse_connection_data("llm", "blend", data)
    assert config.kv_transfer_config == '{"a":{"b":2,"z":1},"kv_role":"kv_both"}'


@pytest.mark.parametrize("raw", [None, "", "  \n"])
def test_a_plain_engine_has_no_injection_settings(raw: str | None) -> None:
    data = dict(KV) if raw is None else {**KV, "cacheblend-injection.json": raw}
    config = parse_connection_data("llm", "blend", data)
    assert config.injection is None
    assert config.image_pull_secrets == ()
    assert config.target_container is None


def test_tag_and_pull_policy_defaults_are_the_models() -> None:
    data = connection_data(payloadImage={"repository": "r"})
    injection = parse_connection_data("llm", "b", data).injection
    assert injection is not None
    assert injection.payloadImage == PayloadImage(repository="r")
    assert (injection.payloadImage.tag, injection.payloadImage.pullPolicy) == (
        "latest",
        "IfNotPresent",
    )
    assert injection.cudagraph == "eager"


def test_an_empty_target_container_means_the_first_one() -> None:
    assert (
        parse_connection_data("llm", "b", connection_data(targetContainer="")).target_container
        is None
    )


def _injection(settings: object) -> dict[str, str]:
    return {**KV, "cacheblend-injection.json": json.dumps(settings)}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "key kv-transfer-config.json is missing"),
        ({"kv-transfer-config.json": "{"}, "key kv-transfer-config.json: not valid JSON"),
        ({"kv-transfer-config.json": "[]"}, "key kv-transfer-config.json: must be a JSON object"),
        ({**KV, "cacheblend-injection.json": "{"}, "key cacheblend-injection.json: not valid JSON"),
        (_injection([]), "key cacheblend-injection.json: must be a JSON object"),
        (
            {**KV, "cacheblend-injection.json": 3},
            "key cacheblend-injection.json: must be a JSON string",
        ),
        (
            _injection({"payloadImage": {"repository": "r"}, "cudagraph": "full"}),
            "key cacheblend-injection.json: cudagraph: must be one of eager, piecewise or"
            " full_decode_only (got 'full')",
        ),
        (
            _injection({"payloadImage": {"repository": "r", "pullPolicy": "Sometimes"}}),
            "key cacheblend-injection.json: payloadImage.pullPolicy: must be one of Always,"
            " Never or IfNotPresent (got 'Sometimes')",
        ),
        (
            _injection({"payloadImage": {"repository": "r"}, "imagePullSecrets": [{"nom": "x"}]}),
            "key cacheblend-injection.json: imagePullSecrets.0.name: is required;"
            " imagePullSecrets.0.nom: is not a known field",
        ),
        # No fallback image: an empty or missing repository is an error, never `:tag`.
        (
            _injection({"payloadImage": {"repository": "", "tag": "1"}}),
            "key cacheblend-injection.json: payloadImage.repository: must not be empty",
        ),
        (
            _injection({"payloadImage": {"tag": "1"}, "targetContainer": 7}),
            "key cacheblend-injection.json: payloadImage.repository: is required;"
            " targetContainer: must be a string (got 7)",
        ),
        (_injection({}), "key cacheblend-injection.json: payloadImage: is required"),
    ],
)
def test_unusable_configmap_is_an_error_naming_configmap_key_and_field(
    data: dict, message: str
) -> None:
    with pytest.raises(EngineConfigError) as error:
        parse_connection_data("llm", "blend", data)
    assert str(error.value).startswith(f"configmap llm/blend-connection: {message}")
