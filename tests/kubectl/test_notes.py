"""The chart's NOTES point to the plugin, so users find the status a controller would show."""

from __future__ import annotations

from tests.chart.helpers import notes


def test_notes_point_to_kubectl_lmcache_get():
    text = notes({"engines": {"my-cache": {"l1": {"sizeGB": 1}}}})
    assert "  kubectl lmcache get -n llm\n" in text


def test_an_empty_release_has_nothing_to_get():
    assert "kubectl lmcache get" not in notes({})
