"""The post-renderer reads and writes both Helm dialects without losing anything."""

from __future__ import annotations

import pytest

from postrender.pipeline import process
from postrender.stream import StreamError, read_stream
from tests.postrender import chartlike
from tests.postrender.helpers import docs, hand_written, output_docs, stream_of

CONFIGMAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "plain"},
    "data": {"a": "1"},
}
HOOK = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {
        "name": "migrate",
        "annotations": {
            "helm.sh/hook": "pre-install,pre-upgrade",
            "helm.sh/hook-weight": "-5",
            "helm.sh/hook-delete-policy": "before-hook-creation",
        },
    },
    "spec": {
        "template": {
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
        }
    },
}


@pytest.mark.parametrize("dialect", ["helm3", "helm4"])
def test_the_chart_output_passes_through_byte_for_byte(dialect):
    text = chartlike.engines_stream(3, dialect)
    outcome = process(text)
    assert outcome.ok, outcome.errors
    assert outcome.output == text
    assert outcome.warnings == []
    assert outcome.dialect == dialect


def test_helm3_source_comments_are_kept_on_a_changed_document():
    text = stream_of(CONFIGMAP, hand_written())
    outcome = process(text)
    assert outcome.changed
    assert outcome.output.count("# Source: lmcache/templates/hand.yaml") == 2
    assert outcome.output.startswith("---\n# Source: lmcache/templates/hand.yaml\n")


def test_helm4_filename_annotation_is_kept_on_a_changed_object():
    text = stream_of(CONFIGMAP, hand_written(), HOOK, dialect="helm4")
    out = output_docs(process(text))
    for doc in out:
        assert doc["metadata"]["annotations"][chartlike.FILENAME_ANNOTATION] == (
            "lmcache/templates/hand.yaml"
        )
    assert out[1]["spec"]["template"]["spec"]["hostIPC"] is True


@pytest.mark.parametrize("dialect", ["helm3", "helm4"])
def test_hooks_and_their_annotations_survive(dialect):
    hooked = hand_written()
    hooked["metadata"]["annotations"] = {"helm.sh/hook": "post-install", "team": "ml"}
    out = output_docs(process(stream_of(HOOK, hooked, dialect=dialect)))
    assert out[0]["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert out[0]["metadata"]["annotations"]["helm.sh/hook-weight"] == "-5"
    # the hook DaemonSet was fixed, and is still a hook
    assert out[1]["metadata"]["annotations"]["helm.sh/hook"] == "post-install"
    assert out[1]["metadata"]["annotations"]["team"] == "ml"
    assert out[1]["spec"]["template"]["spec"]["hostIPC"] is True


def test_unmanaged_objects_are_unchanged_in_content_and_order():
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 1}]},
    }
    objects = [CONFIGMAP, hand_written(), service, HOOK]
    out = output_docs(process(stream_of(*objects)))
    assert [d["metadata"]["name"] for d in out] == ["plain", "my-cache", "s", "migrate"]
    assert out[0] == CONFIGMAP
    assert out[2] == service
    assert out[3] == HOOK


def test_unmanaged_text_is_copied_verbatim_even_beside_a_changed_document():
    odd = "---\n# Source: x/templates/odd.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: odd}\ndata: {k: 'quoted',   j: \"x\"}   # trailing comment\n"
    text = odd + stream_of(hand_written())
    outcome = process(text)
    assert outcome.changed
    assert outcome.output.startswith(odd)


def test_empty_and_comment_only_documents_pass_through():
    text = "---\n# Source: x/templates/empty.yaml\n---\n\n---\n# Source: x/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
    outcome = process(text)
    assert outcome.ok
    assert outcome.output == text
    assert outcome.objects == 1


def test_a_stream_without_a_leading_marker_is_read():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n"
    outcome = process(text)
    assert outcome.output == text
    assert outcome.objects == 2


def test_an_empty_stream_gives_an_empty_stream():
    outcome = process("")
    assert outcome.ok
    assert outcome.output == ""


def test_workloads_inside_a_list_are_managed():
    listed = {"apiVersion": "v1", "kind": "List", "items": [CONFIGMAP, hand_written()]}
    out = output_docs(process(stream_of(listed)))
    assert out[0]["kind"] == "List"
    assert out[0]["items"][0] == CONFIGMAP
    assert out[0]["items"][1]["spec"]["template"]["spec"]["hostIPC"] is True


def test_malformed_yaml_names_the_document_and_line():
    text = "---\n# Source: x/templates/a.yaml\na: 1\n---\n# Source: x/templates/b.yaml\nb: [1, 2\nc: 3\n"
    with pytest.raises(StreamError, match=r"document 2, line 7, column 2: not valid YAML"):
        read_stream(text)
    outcome = process(text)
    assert not outcome.ok
    assert outcome.output is None
    assert len(outcome.errors) == 1
    assert outcome.errors[0].startswith("stdin: document 2, line 7")


def test_tabs_and_bad_indentation_are_clean_errors():
    outcome = process("apiVersion: v1\nkind: ConfigMap\n\tmetadata: x\n")
    assert not outcome.ok
    assert "line 3" in outcome.errors[0]


def test_output_is_deterministic_and_running_twice_equals_once():
    text = stream_of(CONFIGMAP, hand_written("a"), hand_written("b"), HOOK)
    first = process(text)
    assert process(text).output == first.output
    second = process(first.output)
    assert second.output == first.output
    assert not second.changed
    assert second.warnings == []


def test_changed_documents_are_block_style_without_anchors():
    out = process(stream_of(hand_written())).output
    assert "&id" not in out and "*id" not in out
    assert "{" not in out.split("# Source")[1]


def test_multiline_strings_stay_readable_in_a_changed_document():
    obj = hand_written()
    obj["metadata"]["annotations"] = {"note": "line one\nline two\n"}
    out = process(stream_of(obj)).output
    assert "note: |\n      line one\n      line two\n" in out
    assert output_docs(process(out))[0]["metadata"]["annotations"]["note"] == "line one\nline two\n"


def test_documents_are_parsed_with_their_own_line_numbers():
    stream = read_stream("a: 1\n---\nb: 2\n---\n# c\nc: 3\n")
    assert [d.line for d in stream.documents] == [1, 2, 4]
    assert [d.objects for d in stream.documents] == [[{"a": 1}], [{"b": 2}], [{"c": 3}]]


def test_helm_dialect_is_detected():
    assert read_stream(stream_of(CONFIGMAP)).dialect == "helm3"
    assert read_stream(stream_of(CONFIGMAP, dialect="helm4")).dialect == "helm4"
    assert read_stream("a: 1\n").dialect == "plain"
    assert docs(stream_of(CONFIGMAP, dialect="helm4"))[0]["metadata"]["annotations"]
