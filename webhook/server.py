"""HTTP layer: decode, call `admission.admit`, encode. Nothing else happens here.

Every way a request can be wrong ends in a 4xx with a one-line JSON error, and a body
that is too large or too slow is cut off, so a broken or hostile client cannot take the
webhook down for everyone else.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from webhook import codec
from webhook.admission import Decision, admit, pod_label
from webhook.metrics import Metrics
from webhook.modes import KEYS, Mode
from webhook.podsecurity import NamespaceLevels
from webhook.resolver import EngineResolver
from webhook.review import AdmissionRequest, BadReview, parse_review, review_response

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # a pod is a few KiB; 1 MiB leaves room for huge ones
BODY_TIMEOUT = 10.0  # seconds to receive the whole body


class RequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def json_response(status: int, content: dict[str, Any]) -> Response:
    """Pre-encoded bytes into a Response: no response-model validation on the hot path."""
    return Response(codec.encode(content), status_code=status, media_type="application/json")


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError(400, "invalid Content-Length")
        if int(declared) > limit:
            raise RequestError(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RequestError(413, f"body larger than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestError(408, f"body not received within {timeout:g} s") from None
    return b"".join(chunks)


def create_app(
    resolver: EngineResolver,
    *,
    metrics: Metrics | None = None,
    ready: Callable[[], bool] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    body_timeout: float = BODY_TIMEOUT,
    on_shutdown: Callable[[], Any] | None = None,
    namespaces: NamespaceLevels | None = None,
) -> FastAPI:
    """Build the webhook app: one POST path per injection mode (webhook.modes.KEYS).

    `namespaces` reads Pod Security levels (None: not checked, for tests about other
    things); `ready` decides /readyz (the CLI passes "the service-account token is readable");
    `on_shutdown` (a function or coroutine function) runs after the resolver is closed.
    """
    metrics = metrics if metrics is not None else Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.draining = True
        await resolver.aclose()
        if on_shutdown is not None:
            result = on_shutdown()
            if asyncio.iscoroutine(result):
                await result

    app = FastAPI(
        title="lmcache injection webhook",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.resolver = resolver
    app.state.draining = False

    def endpoint(mode: Mode) -> Callable[[Request], Any]:
        async def mutate(request: Request) -> Response:
            started = time.perf_counter()
            try:
                return await _mutate(request, mode)
            finally:
                metrics.latency.observe(time.perf_counter() - started)

        return mutate

    for mode in Mode:
        app.add_api_route(KEYS[mode].path, endpoint(mode), methods=["POST"])

    async def _mutate(request: Request, mode: Mode) -> Response:
        try:
            body = await read_body(request, max_body_bytes, body_timeout)
            review = parse_review(body)
        except (RequestError, BadReview) as exc:
            status = exc.status if isinstance(exc, RequestError) else 400
            metrics.count_outcome("rejected", mode)
            metrics.count_error("bad_request")
            log.warning("rejected admission request: %s", exc)
            return json_response(status, {"error": str(exc)})

        try:
            decision = await admit(review, resolver, mode, namespaces)
        except Exception as exc:  # a bug must not block pod creation
            log.exception("admission of %s failed; admitting it unchanged", pod_label(review))
            decision = Decision("failed_open", mode, error_kind="internal", detail=repr(exc))
        _record(review, decision)
        return json_response(200, review_response(review.uid, decision.patch))

    def _record(review: AdmissionRequest, decision: Decision) -> None:
        metrics.count_outcome(decision.outcome, decision.mode)
        if decision.outcome == "injected":
            metrics.count_injection(decision.mode)
            # The happy path is stamped on the pod and counted; a line per pod at INFO
            # would cost as much as the injection itself. --log-level DEBUG shows it.
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "injected %s (%s mode, engine %s, %s)",
                    pod_label(review),
                    decision.mode.value,
                    decision.engine,
                    decision.detail,
                )
        elif decision.outcome == "skipped" and decision.reason is not None:
            metrics.count_skip(decision.reason.value, decision.mode)
            log.info(
                "skipped %s: %s (%s mode, engine %s)",
                pod_label(review),
                decision.reason.value,
                decision.mode.value,
                decision.engine,
            )
        elif decision.outcome == "failed_open":
            metrics.count_error(decision.error_kind or "internal")
            log.warning(
                "admitted %s unchanged (uid %s) after %s error: %s",
                pod_label(review),
                review.uid,
                decision.error_kind,
                decision.detail,
            )

    @app.get("/healthz")
    async def healthz() -> Response:
        return json_response(200, {"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        if app.state.draining:
            return json_response(503, {"status": "shutting down"})
        if ready is not None and not ready():
            return json_response(503, {"status": "not ready: kubernetes credentials unavailable"})
        return json_response(200, {"status": "ready"})

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
