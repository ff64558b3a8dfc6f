"""lmcache_k8s is the one source of truth: these tests keep every file generated from it
(values.schema.json, _defaults.tpl, _contract.tpl, docs/values.md) and values.yaml in step."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml

from lmcache_k8s import generate as schema
from lmcache_k8s import relations, values_doc
from lmcache_k8s.lmcache_cli import rendered_flags
from lmcache_k8s.names import chart_names
from lmcache_k8s.relations import Chart
from lmcache_k8s.values import (
    GPU_VENDORS,
    MODELS,
    CacheBlendSpec,
    CoordinatorSpec,
    EngineSpec,
    PodShape,
    Values,
)
from tests.support import CHART, ROOT


def test_committed_generated_files_are_current():
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


@pytest.mark.parametrize("target", ["SCHEMA_FILE", "DEFAULTS_FILE", "CONTRACT_FILE", "VALUES_DOC"])
def test_check_mode_reports_any_stale_file(tmp_path, monkeypatch, target):
    path = getattr(schema, target)
    copy = tmp_path / path.name
    head, marker, tail = path.read_text().rpartition(values_doc.BEGIN)  # docs: inside the section
    copy.write_text(head + marker + tail.replace("e", "E", 1))
    monkeypatch.setattr(schema, target, copy)
    assert schema.main(["--check"]) == 1
    assert schema.main(["--write"]) == 0
    assert copy.read_text() == path.read_text()


def contract(name: str) -> dict:
    tpl = (CHART / "templates" / "_contract.tpl").read_text()
    start = tpl.index(f'define "{name}" -}}}}') + len(f'define "{name}" -}}}}')
    return json.loads(tpl[start : tpl.index("{{- end -}}", start)])


def test_the_chart_reads_the_shared_names_and_the_rendered_flags():
    assert contract("lmcache.names") == json.loads(json.dumps(chart_names()))
    assert contract("lmcache.renderedFlags") == {kind: rendered_flags(kind) for kind in MODELS}


def test_every_rule_the_chart_runs_has_its_check_in_validate_tpl():
    # Each check in _validate.tpl is headed by the name of its rule in relations.py; the rules
    # values.schema.json carries are not repeated there.
    tpl = (CHART / "templates" / "_validate.tpl").read_text()
    in_chart = {r.name for r in relations.RULES if r.chart is not Chart.SCHEMA}
    for name in in_chart:
        assert f"/* {name}" in tpl or f" {name} */" in tpl or f", {name}" in tpl, name
    headed = set(re.findall(r"\{\{- /\* ([a-z_]+)", tpl))
    assert headed <= in_chart, headed
    assert not [r.name for r in relations.RULES if r.chart is Chart.SCHEMA and r.name in tpl]


def test_the_pod_helper_renders_every_pod_shape_field():
    # lmcache.podTemplate (_pod.tpl) mirrors PodShape: a field added to the model must be
    # rendered there (extraArgs through the argv helpers of _entries.tpl, adoptOperatorObjects
    # through the selector labels of _helpers.tpl).
    templates = CHART / "templates"
    text = "".join(
        (templates / f).read_text() for f in ("_pod.tpl", "_entries.tpl", "_helpers.tpl")
    )
    for field in PodShape.model_fields:
        assert f"$s.{field}" in text or f'"{field}"' in text, field


def test_every_relational_rule_is_documented_and_checked_where_python_can():
    for rule in relations.RULES:
        assert rule.docs, rule.name
        assert (rule.check is None) == (rule.chart is Chart.CLUSTER), rule.name


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
    assert "nodeSelector" not in engine and "runtimeClassName" not in engine  # by gpuVendor
    assert block("gpuVendors") == GPU_VENDORS
    assert GPU_VENDORS["nvidia"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
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
