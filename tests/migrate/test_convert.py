"""`kubectl lmcache migrate`: conversion rules, path-naming warnings, malformed input."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest
import yaml

from kubectl_lmcache.cli import main
from kubectl_lmcache.migrate import MigrateError, convert, dump, load_documents

TESTDATA = Path(__file__).parent / "testdata"


def _engine(spec: dict, name: str = "my-cache", **extra) -> dict:
    return {
        "apiVersion": "lmcache.lmcache.ai/v1alpha1",
        "kind": "LMCacheEngine",
        "metadata": {"name": name, **extra},
        "spec": spec,
    }


def _run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = main(argv, stdout=out, stderr=err)
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


def test_fields_map_one_to_one_and_defaults_are_left_out() -> None:
    spec = {
        "l1": {"sizeGB": 0.5},
        "server": {"port": 5555, "chunkSize": 512},
        "eviction": {"policy": "LRU", "triggerWatermark": 0.8},
        "nodeSelector": {"nvidia.com/gpu.present": "true"},
        "tolerations": [{"key": "gpu", "operator": "Exists"}],
        "l2Backends": [{"type": "redis", "url": "redis://r:6379"}],
    }
    values = convert([_engine(spec)]).values["default"]
    assert values == {
        "engines": {
            "my-cache": {
                "l1": {"sizeGB": 0.5},
                "server": {"chunkSize": 512},
                "tolerations": [{"key": "gpu", "operator": "Exists"}],
                "l2Backends": [{"type": "redis", "url": "redis://r:6379"}],
            }
        }
    }


def test_empty_lists_and_maps_without_a_default_are_left_out() -> None:
    spec = {"l1": {"sizeGB": 1}, "env": [], "podLabels": {}, "resourceOverrides": {}}
    spec["extraArgs"] = []
    values = convert([_engine(spec)]).values["default"]
    assert values == {"engines": {"my-cache": {"l1": {"sizeGB": 1}}}}
    # An explicit empty nodeSelector is not "unset" to the chart: reported, not silent.
    migration = convert([_engine({"l1": {"sizeGB": 1}, "nodeSelector": {}})])
    assert [n.path for n in migration.notes] == ["spec.nodeSelector"]


def test_a_namespace_with_cacheblend_engines_is_told_to_enable_the_webhook() -> None:
    blend = {
        **_engine({"l1": {"sizeGB": 1}, "injection": {"payloadImage": {"repository": "r/p"}}}),
        "kind": "CacheBlendEngine",
    }
    plain = _engine({"l1": {"sizeGB": 1}}, name="plain", namespace="other")
    notes = [str(n) for n in convert([blend, plain]).notes]
    assert [n for n in notes if "webhook.enabled" in n] == [
        "namespace default: webhook.enabled: CacheBlend engines need an injection webhook,"
        " and the operator's stops with it: the chart's renders by default in its place"
        " (cert-manager TLS; see webhook.tls.mode), or set webhook.enabled: false here if"
        " another release runs it (docs/migrate.md 2.2)"
    ]


def test_values_shared_by_yaml_aliases_are_written_out_in_each_entry() -> None:
    # One node shared by two items of a List (anchors and aliases) must become two copies
    # in the values file: an alias there would make an edit of one entry edit the other.
    stream = """
kind: List
items:
- {apiVersion: lmcache.lmcache.ai/v1alpha1, kind: LMCacheEngine, metadata: {name: a},
   spec: {l1: {sizeGB: 1}, tolerations: &tol [{key: gpu, operator: Exists}]}}
- {apiVersion: lmcache.lmcache.ai/v1alpha1, kind: LMCacheEngine, metadata: {name: b},
   spec: {l1: {sizeGB: 2}, tolerations: *tol}}
"""
    text = dump(convert(load_documents(stream, "in.yaml")).values["default"])
    assert "&" not in text and "*" not in text
    engines = yaml.safe_load(text)["engines"]
    assert (
        engines["a"]["tolerations"]
        == engines["b"]["tolerations"]
        == [{"key": "gpu", "operator": "Exists"}]
    )


def test_literal_l2_credentials_are_carried_over_with_a_warning() -> None:
    backends = [
        {"type": "redis", "host": "r", "password": "hunter2"},
        {"type": "redis", "host": "r2", "password": "$(REDIS_PASSWORD)"},
        {"type": "s3", "bucket": "b", "AWS_SECRET_ACCESS_KEY": "abc", "token": ""},
    ]
    migration = convert([_engine({"l1": {"sizeGB": 1}, "l2Backends": backends})])
    assert migration.values["default"]["engines"]["my-cache"]["l2Backends"] == backends
    assert [n.path for n in migration.notes] == [
        "spec.l2Backends[0].password",
        "spec.l2Backends[2].AWS_SECRET_ACCESS_KEY",
    ]
    assert 'write "$(VAR)" here instead' in migration.notes[0].message


def test_coordinator_resource_overrides_become_resources_and_ref_is_kept() -> None:
    coordinator = {
        "apiVersion": "lmcache.lmcache.ai/v1alpha1",
        "kind": "LMCacheCoordinator",
        "metadata": {"name": "coord", "namespace": "ns"},
        "spec": {"port": 9400, "resourceOverrides": {"requests": {"cpu": "1"}}},
    }
    engine = _engine({"l1": {"sizeGB": 1}, "coordinator": {"ref": {"name": "coord"}}})
    engine["metadata"]["namespace"] = "ns"
    values = convert([coordinator, engine]).values["ns"]
    assert values["coordinators"]["coord"] == {
        "port": 9400,
        "resources": {"requests": {"cpu": "1"}},
    }
    assert values["engines"]["my-cache"]["coordinator"] == {"ref": {"name": "coord"}}


def test_unknown_fields_status_and_metadata_are_reported_by_path() -> None:
    resource = _engine(
        {"l1": {"sizeGB": 1, "pinned": True}, "futureField": 3},
        labels={"team": "a"},
        annotations={"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        uid="u-1",
    )
    resource["status"] = {"phase": "Running"}
    migration = convert([resource])
    notes = {note.path: note for note in migration.notes}
    assert set(notes) == {"spec.l1.pinned", "spec.futureField", "status", "metadata.labels"}
    assert str(notes["spec.futureField"]).startswith(
        "LMCacheEngine default/my-cache: spec.futureField:"
    )
    assert "dropped" in notes["spec.l1.pinned"].message
    assert migration.values["default"]["engines"]["my-cache"] == {"l1": {"sizeGB": 1}}


def test_defaults_the_operator_and_the_chart_disagree_on_are_reported() -> None:
    blend = {
        "apiVersion": "lmcache.lmcache.ai/v1alpha1",
        "kind": "CacheBlendEngine",
        "metadata": {"name": "cb"},
        "spec": {
            "l1": {"sizeGB": 1},
            "nodeSelector": {},
            "injection": {"payloadImage": {"repository": "r/p"}},
            "coordinator": {"url": "http://c:9300"},
        },
    }
    migration = convert([blend])
    paths = {note.path for note in migration.notes}
    assert {"spec.coordinator.l2EventReporting", "spec.nodeSelector"} <= paths
    assert "nodeSelector" not in migration.values["default"]["cacheBlendEngines"]["cb"]


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ([_engine({"l1": {"sizeGB": 0}})], "engines.my-cache.l1.sizeGB"),
        ([_engine({"l1": {"sizeGB": "60"}})], "engines.my-cache.l1.sizeGB"),
        ([_engine({})], "engines.my-cache.l1"),
        ([{"kind": "LMCacheEngine", "metadata": {}, "spec": {}}], "metadata.name: required"),
        ([_engine("x")], "spec: expected a mapping"),
        ([_engine({"l1": {"sizeGB": 1}}), _engine({"l1": {"sizeGB": 2}})], "given twice"),
        (
            [_engine({"l1": {"sizeGB": 1}, "coordinator": {"ref": {"name": "nope"}}})],
            'spec.coordinator.ref.name: no coordinator named "nope" in coordinators; give'
            " migrate that LMCacheCoordinator of namespace default too",
        ),
        # Wrong types equal to a default by Python's `True == 1` are still wrong types.
        (
            [_engine({"l1": {"sizeGB": 1}, "prometheus": {"serviceMonitor": {"enabled": 0}}})],
            "spec.prometheus.serviceMonitor.enabled: must be true or false (got 0)",
        ),
        (
            [_engine({"l1": {"sizeGB": 1}, "server": {"maxWorkers": True}})],
            "spec.server.maxWorkers: must be an integer (got true)",
        ),
        # An entry's own problems are its metadata.name's, dots in the name included.
        (
            [_engine({"l1": {"sizeGB": 1}}, name="a.b")],
            "LMCacheEngine default/a.b: metadata.name: must match",
        ),
        (
            [_engine({"l1": {"sizeGB": 1}}, name="x" * 56)],
            "metadata.name: must be at most 55 characters",
        ),
        ([{**_engine({"l1": {"sizeGB": 1}}), "metadata": "x"}], "metadata: expected a mapping"),
        # The namespace names the values file written under -o DIR: never a path.
        (
            [_engine({"l1": {"sizeGB": 1}}, namespace="../etc")],
            "metadata.namespace: must be a Kubernetes namespace name",
        ),
    ],
)
def test_bad_resources_are_errors_naming_the_path(resources: list, message: str) -> None:
    with pytest.raises(MigrateError, match=re.escape(message)):
        convert(resources)


def test_a_renamed_field_is_reported_under_the_operators_name() -> None:
    coordinator = {
        "apiVersion": "lmcache.lmcache.ai/v1alpha1",
        "kind": "LMCacheCoordinator",
        "metadata": {"name": "c"},
        "spec": {"resourceOverrides": 3},
    }
    with pytest.raises(
        MigrateError, match=r"spec\.resourceOverrides: .*coordinators\.c\.resources"
    ):
        convert([coordinator])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [", "in.yaml: not valid YAML: line 1, column 5: expected the node content"),
        ("a: \x7f", "in.yaml: not valid YAML: position 3: special characters"),
        ("- 1\n- 2", "in.yaml document 1: expected a Kubernetes object, got list"),
        ("", "in.yaml: no objects in the input"),
        ("---\n# nothing\n---\n", "in.yaml: no objects in the input"),
        ("kind: 5\nitems: 3\n", None),
    ],
)
def test_malformed_input_is_a_clear_error(text: str, message: str | None) -> None:
    if message is None:  # odd but not malformed: skipped later as another kind
        assert load_documents(text, "in.yaml") == [{"kind": 5, "items": 3}]
        return
    with pytest.raises(MigrateError) as caught:
        load_documents(text, "in.yaml")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)  # one line, without PyYAML's excerpt


def test_a_file_that_is_not_utf8_is_one_error_line(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"kind: LMCacheEngine\nmetadata: {name: caf\xe9}\n")
    code, out, err = _run(["migrate", "-f", str(bad)])
    assert (code, out) == (1, "")
    assert err == f"error: {bad}: not UTF-8 text (byte 0xe9 at offset 40)\n"


def test_an_output_dir_that_cannot_be_written_is_one_error_line(tmp_path: Path) -> None:
    taken = tmp_path / "values"
    taken.write_text("a file, not a directory")
    code, _, err = _run(["migrate", "-f", str(TESTDATA / "minimal.yaml"), "-o", str(taken)])
    assert code == 1
    assert err == f"error: -o {taken}: File exists: {taken}\n"


def test_an_empty_list_is_nothing_to_convert_not_an_error() -> None:
    code, out, err = _run(["migrate", "-f", "-"], "apiVersion: v1\nkind: List\nitems: []\n")
    assert (code, out) == (0, "") and "No LMCacheEngine" in err
    code, out, err = _run(["migrate", "-f", "-"], "")
    assert (code, out) == (1, "") and err == "error: <stdin>: no objects in the input" + (
        " (empty, or only comments)\n"
    )


def test_malformed_metadata_is_reported_not_a_crash() -> None:
    resource = _engine({"l1": {"sizeGB": 1}}, annotations=["x"], labels={"a": "b"})
    notes = [str(n) for n in convert([resource]).notes]
    assert any("metadata.annotations" in n for n in notes)
    other = {"kind": 7, "metadata": "x"}
    assert [str(n) for n in convert([other]).notes] == [
        "7 default/<no name>: kind: not an LMCache operator resource; skipped"
    ]


def test_kubectl_get_list_on_stdin_spanning_namespaces_needs_an_output_dir(tmp_path: Path) -> None:
    items = [_engine({"l1": {"sizeGB": 1}}, namespace=ns) for ns in ("a", "b")]
    items.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    stream = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
    code, _, err = _run(["migrate", "-f", "-"], stream)
    assert code == 1 and "give -o DIR" in err
    code, out, err = _run(["migrate", "-f", "-", "-o", str(tmp_path), "--adopt"], stream)
    assert code == 0, err
    assert "ConfigMap default/x: kind: not an LMCache operator resource" in err
    for ns in ("a", "b"):
        text = (tmp_path / f"{ns}.yaml").read_text()
        assert f"-n {ns} -f <this file> --take-ownership (the handover" in text
        values = yaml.safe_load(text)
        assert values == {
            "engines": {"my-cache": {"l1": {"sizeGB": 1}, "adoptOperatorObjects": True}}
        }


def test_cli_prints_one_namespace_and_exits_1_on_bad_input(tmp_path: Path) -> None:
    code, out, err = _run(["migrate", "-f", str(TESTDATA / "production.yaml")])
    assert code == 0 and err == ""
    assert yaml.safe_load(out)["engines"]["production-cache"]["server"] == {
        "port": 6555,
        "maxWorkers": 4,
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_engine({"l1": {"sizeGB": -1}})))
    code, out, err = _run(["migrate", "-f", str(bad)])
    assert code == 1 and out == ""
    assert (
        "LMCacheEngine default/my-cache: spec.l1.sizeGB: must be greater than 0 (got -1)"
        " (values path engines.my-cache.l1.sizeGB)" in err
    )
