"""AdmissionReview v1 in and out.

Decoding is strict about the envelope (a webhook that guesses at a malformed request
could patch the wrong object) and lenient about everything Kubernetes may add later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webhook import codec
from webhook.patch import encode_patch

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"


class BadReview(ValueError):
    """The request body is not an AdmissionReview v1 the webhook can answer."""


@dataclass(frozen=True)
class AdmissionRequest:
    uid: str
    group: str
    kind: str
    operation: str
    namespace: str
    sub_resource: str
    object: dict[str, Any] | None

    @property
    def is_pod_create(self) -> bool:
        return (
            self.group == ""
            and self.kind == "Pod"
            and self.operation == "CREATE"
            and not self.sub_resource
        )


def parse_review(body: bytes) -> AdmissionRequest:
    try:
        review = codec.decode(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadReview(f"body is not valid JSON: {exc}") from None
    if not isinstance(review, dict):
        raise BadReview("body must be a JSON object")
    if review.get("apiVersion") != API_VERSION:
        raise BadReview(f"apiVersion must be {API_VERSION} (got {review.get('apiVersion')!r})")
    if review.get("kind") != KIND:
        raise BadReview(f"kind must be {KIND} (got {review.get('kind')!r})")
    request = review.get("request")
    if not isinstance(request, dict):
        raise BadReview("request is missing or not an object")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise BadReview("request.uid is missing or empty")
    kind = request.get("kind")
    if not isinstance(kind, dict):
        raise BadReview("request.kind is missing or not an object")
    obj = request.get("object")
    if obj is not None and not isinstance(obj, dict):
        raise BadReview("request.object must be an object")
    operation = request.get("operation")
    if not isinstance(operation, str):
        raise BadReview("request.operation is missing")
    parsed = AdmissionRequest(
        uid=uid,
        group=str(kind.get("group") or ""),
        kind=str(kind.get("kind") or ""),
        operation=operation,
        namespace=str(request.get("namespace") or ""),
        sub_resource=str(request.get("subResource") or ""),
        object=obj,
    )
    if parsed.is_pod_create and obj is None:
        raise BadReview("request.object is required for a Pod CREATE")
    return parsed


def review_response(uid: str, patch: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An allowing AdmissionReview: this webhook never denies a pod."""
    response: dict[str, Any] = {"uid": uid, "allowed": True}
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = encode_patch(patch)
    return {"apiVersion": API_VERSION, "kind": KIND, "response": response}
