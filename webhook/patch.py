"""JSONPatch between the pod the API server sent and the pod the webhook wants.

The patch is computed by diffing, never written by hand, so JSON-pointer escaping
(`lmcache.ai/...` becomes `lmcache.ai~1...`) and arrays that did not exist yet are always
right.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import jsonpatch


def without_managed_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy without `metadata.managedFields`.

    managedFields is large and the webhook never changes it; leaving it out of both
    sides keeps the diff fast and guarantees the patch never touches it.
    """
    result = dict(obj)
    metadata = result.get("metadata")
    if isinstance(metadata, Mapping) and "managedFields" in metadata:
        result["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return result


def _drop_shared(src: Any, dst: Any) -> tuple[Any, Any]:
    """Remove, from both sides, mapping entries that are the very same object.

    The injector copies only what it changes, so most of the pod is shared between the
    two sides and cannot differ. Dropping a key from both mappings does not move any
    other path, so the diff of what remains is the diff of the whole; list elements are
    left alone because removing them would shift indices.
    """
    if not (isinstance(src, dict) and isinstance(dst, dict)):
        return src, dst
    new_src: dict[str, Any] = {}
    new_dst: dict[str, Any] = {}
    for key, value in src.items():
        if key not in dst:
            new_src[key] = value
        elif dst[key] is not value:
            new_src[key], new_dst[key] = _drop_shared(value, dst[key])
    for key, value in dst.items():
        if key not in src:
            new_dst[key] = value
    return new_src, new_dst


def make_patch(original: Mapping[str, Any], mutated: Mapping[str, Any]) -> list[dict[str, Any]]:
    """RFC 6902 operations turning `original` into `mutated` (empty when they are equal)."""
    src, dst = _drop_shared(without_managed_fields(original), without_managed_fields(mutated))
    return list(jsonpatch.make_patch(src, dst).patch)


def encode_patch(operations: list[dict[str, Any]]) -> str:
    """The base64 form AdmissionResponse.patch carries."""
    raw = json.dumps(operations, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode("ascii")


def apply_patch(document: Mapping[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply operations to a copy of `document`, as the API server would."""
    return jsonpatch.apply_patch(dict(document), operations, in_place=False)
