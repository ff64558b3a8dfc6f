"""Engine resolution and its cache, with a scripted ConfigMap source and a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from webhook.connection import EngineConfigError
from webhook.kube import KubeApiError
from webhook.resolver import STALE_LIMIT, EngineRef, EngineResolver, parse_engine_ref

from .builders import connection_data

TTL = 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Source:
    """ConfigMaps by (namespace, name); records every call; can fail or be slow."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], dict[str, str]] = {}
        self.calls: list[tuple[str, str]] = []
        self.error: Exception | None = None
        self.delay = 0.0

    def add(self, namespace: str, engine: str = "blend", **injection: Any) -> None:
        self.data[(namespace, engine + "-connection")] = connection_data(**injection)

    async def __call__(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.calls.append((namespace, name))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        data = self.data.get((namespace, name))
        return None if data is None else {"data": data}


def make(source: Source, clock: Clock) -> EngineResolver:
    return EngineResolver(source, engine_namespace="llm", ttl=TTL, clock=clock)


BLEND = EngineRef(None, "blend")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("blend", EngineRef(None, "blend")),
        ("llm/blend", EngineRef("llm", "blend")),
        (" llm/blend ", EngineRef("llm", "blend")),
        ("/blend", None),
        ("a/b/c", None),
        ("Blend", None),
        ("../etc", None),
        ("blend?x=1", None),
        ("llm/", None),
        ("x" * 300, None),
    ],
)
def test_engine_reference_forms(value: str, expected: EngineRef | None) -> None:
    assert parse_engine_ref(value) == expected


def test_bare_name_is_looked_up_in_pod_namespace_then_engine_namespace() -> None:
    resolver = make(Source(), Clock())
    assert resolver.candidates(BLEND, "apps") == [("apps", "blend"), ("llm", "blend")]
    assert resolver.candidates(BLEND, "llm") == [("llm", "blend")]
    assert resolver.candidates(EngineRef("x", "blend"), "apps") == [("x", "blend")]


def test_fresh_engine_is_served_from_memory() -> None:
    source, clock = Source(), Clock()
    source.add("llm")
    resolver = make(source, clock)

    async def scenario() -> None:
        first = await resolver.resolve(BLEND, "llm")
        clock.now += TTL - 1
        assert await resolver.resolve(BLEND, "llm") is first

    asyncio.run(scenario())
    assert len(source.calls) == 1


def test_stale_engine_is_served_at_once_and_refreshed_in_background() -> None:
    source, clock = Source(), Clock()
    source.add("llm", cudagraph="eager")
    resolver = make(source, clock)

    async def scenario() -> None:
        await resolver.resolve(BLEND, "llm")
        source.add("llm", cudagraph="piecewise")
        clock.now += TTL + 1
        served = await resolver.resolve(BLEND, "llm")
        assert served is not None and served.injection.cudagraph == "eager"  # no wait for the API
        for _ in range(10):  # let the background task run
            await asyncio.sleep(0)
        refreshed = await resolver.resolve(BLEND, "llm")
        assert refreshed is not None and refreshed.injection.cudagraph == "piecewise"

    asyncio.run(scenario())
    assert len(source.calls) == 2


def test_background_refresh_failure_keeps_the_cached_engine() -> None:
    source, clock = Source(), Clock()
    source.add("llm")
    resolver = make(source, clock)

    async def scenario() -> None:
        await resolver.resolve(BLEND, "llm")
        source.error = KubeApiError("down", status=500)
        clock.now += TTL + 1
        assert await resolver.resolve(BLEND, "llm") is not None
        for _ in range(10):
            await asyncio.sleep(0)
        assert await resolver.resolve(BLEND, "llm") is not None

    asyncio.run(scenario())


def test_engine_too_old_to_serve_is_fetched_on_the_request() -> None:
    source, clock = Source(), Clock()
    source.add("llm")
    resolver = make(source, clock)

    async def scenario() -> None:
        await resolver.resolve(BLEND, "llm")
        del source.data[("llm", "blend-connection")]
        clock.now += TTL * STALE_LIMIT + 1
        assert await resolver.resolve(BLEND, "llm") is None

    asyncio.run(scenario())
    assert len(source.calls) == 2


def test_known_absence_before_a_found_engine_costs_nothing() -> None:
    source, clock = Source(), Clock()
    source.add("llm")
    resolver = make(source, clock)

    async def scenario() -> None:
        for _ in range(3):
            assert await resolver.resolve(BLEND, "apps") is not None

    asyncio.run(scenario())
    assert source.calls == [("apps", "blend-connection"), ("llm", "blend-connection")]


def test_missing_engine_is_asked_again_before_giving_up() -> None:
    source, clock = Source(), Clock()
    resolver = make(source, clock)

    async def scenario() -> None:
        assert await resolver.resolve(BLEND, "apps") is None
        source.add("llm")  # created a moment later; the negative answer is still fresh
        assert await resolver.resolve(BLEND, "apps") is not None

    asyncio.run(scenario())
    assert len(source.calls) == 4


def test_concurrent_lookups_share_one_request() -> None:
    source, clock = Source(), Clock()
    source.add("llm")
    source.delay = 0.05
    resolver = make(source, clock)

    async def scenario() -> None:
        results = await asyncio.gather(*(resolver.resolve(BLEND, "llm") for _ in range(20)))
        assert all(result is results[0] for result in results)

    asyncio.run(scenario())
    assert len(source.calls) == 1


def test_api_error_propagates_and_is_not_cached() -> None:
    source, clock = Source(), Clock()
    source.add("llm")
    source.error = KubeApiError("boom", status=500)
    resolver = make(source, clock)

    async def scenario() -> None:
        with pytest.raises(KubeApiError):
            await resolver.resolve(BLEND, "llm")
        source.error = None
        assert await resolver.resolve(BLEND, "llm") is not None

    asyncio.run(scenario())


def test_unusable_configmap_raises_and_is_asked_again() -> None:
    source, clock = Source(), Clock()
    source.data[("llm", "blend-connection")] = {"kv-transfer-config.json": "nope"}
    resolver = make(source, clock)

    async def scenario() -> None:
        for _ in range(2):
            with pytest.raises(EngineConfigError):
                await resolver.resolve(BLEND, "llm")

    asyncio.run(scenario())
    assert len(source.calls) == 2
