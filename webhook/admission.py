"""One admission request, from decoded review to patch: the steps of SPEC section 4.

The HTTP layer calls `admit` and only encodes what it returns. Failure policy lives
here: the webhook never denies a pod, and when it cannot decide (API down, engine
ConfigMap unusable) it lets the pod through untouched instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webhook.connection import EngineConfigError
from webhook.constants import SkipReason
from webhook.inject import Injected, decide, requested_engine
from webhook.kube import KubeApiError
from webhook.modes import Mode
from webhook.patch import make_patch
from webhook.podsecurity import NamespaceLevels
from webhook.resolver import EngineResolver, parse_engine_ref
from webhook.review import AdmissionRequest


@dataclass(frozen=True)
class Decision:
    outcome: str  # one of metrics.OUTCOMES except "rejected"
    mode: Mode = Mode.CACHEBLEND
    patch: list[dict[str, Any]] = field(default_factory=list)
    reason: SkipReason | None = None
    error_kind: str | None = None
    engine: str | None = None
    detail: str = ""


def pod_label(request: AdmissionRequest) -> str:
    """`namespace/name` for logs; pods from controllers only have a generateName yet."""
    metadata = (request.object or {}).get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name = metadata.get("name") or f"{metadata.get('generateName') or '<unnamed>'}*"
    return f"{request.namespace or metadata.get('namespace') or '<none>'}/{name}"


async def admit(
    request: AdmissionRequest,
    resolver: EngineResolver,
    mode: Mode = Mode.CACHEBLEND,
    namespaces: NamespaceLevels | None = None,
) -> Decision:
    """Decide one admission request in `mode`.

    `namespaces` reads the pod namespace's Pod Security level; None skips that check
    (tests that are about something else). It is asked only once an engine is found, so
    a pod that is skipped anyway costs no namespace read.
    """
    if not request.is_pod_create or request.object is None:
        return Decision("ignored", mode, detail="not a pod CREATE")
    pod = request.object
    wanted = requested_engine(pod, mode)
    if wanted is None:
        return Decision("ignored", mode, detail="no engine annotation, or already injected")

    metadata = pod.get("metadata")
    own_namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    pod_namespace = request.namespace or (own_namespace if isinstance(own_namespace, str) else "")

    ref = parse_engine_ref(wanted)
    engine = None
    level = None
    if ref is not None:
        try:
            engine = await resolver.resolve(ref, pod_namespace)
            if engine is not None and namespaces is not None and pod_namespace:
                level = await namespaces.enforce_level(pod_namespace)
        except KubeApiError as exc:
            return Decision(
                "failed_open", mode, error_kind="kube_api", engine=wanted, detail=str(exc)
            )
        except EngineConfigError as exc:
            return Decision(
                "failed_open", mode, error_kind="engine_config", engine=wanted, detail=str(exc)
            )

    outcome = decide(pod, engine, mode, level)
    patch = make_patch(pod, outcome.pod)
    if isinstance(outcome, Injected):
        return Decision(
            "injected",
            mode,
            patch=patch,
            engine=engine.key if engine else wanted,
            detail=f"container {outcome.container}",
        )
    return Decision("skipped", mode, patch=patch, reason=outcome.reason, engine=wanted)
