"""The models in postrender/spec.py are the one source of truth: these tests keep the
generated schema, the chart's defaults and values.yaml in step with them."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from lmcache_k8s import generate as schema
from lmcache_k8s.values import CacheBlendSpec, CoordinatorSpec, EngineSpec, Values
from tests.support import CHART, ROOT


def test_committed_schema_and_defaults_are_current():
    proc = subprocess.run(
        [sys.executable, "-m", "lmcache_k8s.generate", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_check_mode_reports_a_stale_schema(tmp_path, monkeypatch):
    stale = tmp_path / "values.schema.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(schema, "SCHEMA_FILE", stale)
    assert schema.main(["--check"]) == 1


def test_values_yaml_top_level_defaults_equal_the_model():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    model = Values().model_dump(mode="json", by_alias=True)
    assert values.keys() == model.keys()
    for key in values:
        assert values[key] == model[key], key


def test_schema_is_strict_about_unknown_keys_and_accepts_global():
    generated = schema.values_schema()
    assert generated["additionalProperties"] is False
    assert generated["properties"]["global"]["type"] == "object"
    engine = generated["$defs"]["EngineSpec"]
    assert engine["additionalProperties"] is False
    assert engine["required"] == ["l1"]


def test_map_keys_must_be_dns_labels_of_at_most_55_characters():
    names = schema.values_schema()["properties"]["engines"]["propertyNames"]
    assert names["maxLength"] == 55
    assert names["pattern"] == "^[a-z]([-a-z0-9]*[a-z0-9])?$"


def test_chart_defaults_are_the_model_defaults():
    tpl = (CHART / "templates" / "_defaults.tpl").read_text()

    def block(kind: str) -> dict:
        start = tpl.index(f'define "lmcache.defaults.{kind}" -}}}}') + len(
            f'define "lmcache.defaults.{kind}" -}}}}'
        )
        return json.loads(tpl[start : tpl.index("{{- end -}}", start)])

    engine = block("engines")
    assert engine["server"] == {
        "port": 5555,
        "httpPort": 8080,
        "chunkSize": 256,
        "maxWorkers": 1,
        "hashAlgorithm": "blake3",
    }
    assert engine["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert "l1" not in engine  # required: no default
    # Filling the defaults in and validating gives back exactly the model's own defaults.
    assert (
        EngineSpec.model_validate({**engine, "l1": {"sizeGB": 1}}).model_dump(
            mode="json", exclude_none=True, exclude={"l1"}
        )
        == engine
    )
    blend = block("cacheBlendEngines")
    assert blend["injection"] == {
        "cudagraph": "eager",
        "payloadImage": {"pullPolicy": "IfNotPresent", "tag": "latest"},
    }
    filled = {**blend, "l1": {"sizeGB": 1}}
    filled["injection"]["payloadImage"]["repository"] = "x"
    assert CacheBlendSpec.model_validate(filled).blend.recompRatio == 0.15
    coordinator = block("coordinators")
    assert (
        CoordinatorSpec.model_validate(coordinator).model_dump(mode="json", exclude_none=True)
        == coordinator
    )
