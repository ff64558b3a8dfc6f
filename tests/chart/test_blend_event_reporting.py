"""A CacheBlend engine with a coordinator reports cache events unless told not to.

lmcache 0.5.6 disables fleet CacheBlend matching for a blend engine whose coordinator gets
no cache events, and only logs a warning (the runtime tier caught it). So the blend
default is on (lmcache_k8s.values.BlendCoordinatorRef), and an explicit `false` is a
warning of the post-renderer and of NOTES, with the same words (relations.warnings).
"""

from __future__ import annotations

import pytest

from lmcache_k8s.relations import BLEND_WITHOUT_EVENTS
from lmcache_k8s.validate import warn_values
from tests.chart.helpers import args, blend, engine, notes, ok
from tests.support import run_postrender

FLAG = "--coordinator-event-reporting"
WARNING = f"cacheBlendEngines.b.coordinator.l2EventReporting: {BLEND_WITHOUT_EVENTS}"


def fleet(reporting: bool | None = None, url: bool = False) -> dict:
    coordinator = {"url": "http://fleet.llm.svc:9300"} if url else {"ref": {"name": "fleet"}}
    if reporting is not None:
        coordinator["l2EventReporting"] = reporting
    return {
        "coordinators": {"fleet": {}},
        "cacheBlendEngines": {"b": blend(coordinator=coordinator)},
        "engines": {"e": engine(coordinator={"ref": {"name": "fleet"}})},
    }


@pytest.mark.parametrize("url", [False, True], ids=["ref", "url"])
def test_a_blend_engine_reports_cache_events_by_default(url):
    out = ok(fleet(url=url))
    assert FLAG in args(out.get("DaemonSet", "b"))
    # A plain engine keeps its default: off.
    assert FLAG not in args(out.get("DaemonSet", "e"))
    assert [str(w) for w in warn_values(fleet(url=url))] == []


def test_turning_it_off_is_rendered_and_warned_about_by_relations():
    out = ok(fleet(reporting=False))
    assert FLAG not in args(out.get("DaemonSet", "b"))
    assert [str(w) for w in warn_values(fleet(reporting=False))] == [WARNING]


def test_notes_warn_in_the_same_words():
    # `helm install --dry-run` takes no --api-versions: trust the webhook's cert-manager CRDs.
    trusted = {"webhook": {"tls": {"certManager": {"trustCRDsExist": True}}}}
    assert WARNING in notes({**fleet(reporting=False), **trusted})
    assert "l2EventReporting" not in notes({**fleet(), **trusted})


def test_the_post_renderer_reads_an_absent_switch_as_off_and_warns():
    off = run_postrender(ok(fleet(reporting=False)).stdout)
    assert off.returncode == 0, off.stderr
    assert WARNING in off.stderr
    on = run_postrender(ok(fleet()).stdout)
    assert on.returncode == 0, on.stderr
    assert "l2EventReporting" not in on.stderr
