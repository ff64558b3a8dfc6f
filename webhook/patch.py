"""JSONPatch between the pod the API server sent and the pod the webhook wants.

The patch is computed by diffing the two documents, never written field by field, so
JSON-pointer escaping (`lmcache.ai/...` becomes `lmcache.ai~1...`) and arrays that did
not exist yet are always right.

The diff is a small one written for this job rather than `jsonpatch.make_patch`: that
function costs about 0.45 ms on a typical pod (its list alignment dominates), more than
everything else the webhook does per request together. This one relies on what the
injector guarantees (it copies only what it changes, so unchanged subtrees are the very
same objects and are skipped without a look) and aligns lists by common prefix and
suffix: the middle is edited pair by pair, then removed or added. A list of plain values
changed in more than one place (container args) is replaced whole, one operation instead
of one per token. The result is correct for any two documents, which the tests check
against `jsonpatch.apply_patch` (a test-only dependency) over generated pods and
arbitrary JSON.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from itertools import repeat
from typing import Any

from webhook import codec

Operation = dict[str, Any]
SCALARS = (str, int, float, bool, type(None))


def without_managed_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy without `metadata.managedFields`.

    managedFields is large and the webhook never changes it; leaving it out of both
    sides keeps the diff fast and guarantees the patch never touches it.
    """
    result = dict(obj)
    metadata = result.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        result["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return result


def escape(key: str) -> str:
    """One JSON-pointer reference token (RFC 6901): `~` first, then `/`."""
    return key.replace("~", "~0").replace("/", "~1")


def same_json(a: Any, b: Any) -> bool:
    """Equality as JSON sees it: `1` and `true` differ, unlike in Python."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    # Loops rather than all(...): children are mostly shared, and the identity check
    # skips them without a call.
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return False
        for key, value in a.items():
            other = b[key]
            if value is not other and not same_json(value, other):
                return False
        return True
    if isinstance(a, list):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):
            if x is not y and not same_json(x, y):
                return False
        return True
    return a == b


_MISSING = object()


def _diff(src: Any, dst: Any, path: str, ops: list[Operation]) -> None:
    if src is dst:
        return
    if isinstance(src, dict) and isinstance(dst, dict):
        _diff_dict(src, dst, path, ops)
    elif isinstance(src, list) and isinstance(dst, list):
        _diff_list(src, dst, path, ops)
    elif not same_json(src, dst):
        ops.append({"op": "replace", "path": path, "value": dst})


def _diff_dict(src: dict[str, Any], dst: dict[str, Any], path: str, ops: list[Operation]) -> None:
    removed = 0
    for key, value in src.items():
        other = dst.get(key, _MISSING)
        if other is value:  # shared subtrees (most of the pod) cost nothing
            continue
        if other is _MISSING:
            removed += 1
            ops.append({"op": "remove", "path": f"{path}/{escape(key)}"})
        elif isinstance(value, dict) and isinstance(other, dict):  # _diff, one call less
            _diff_dict(value, other, f"{path}/{escape(key)}", ops)
        elif isinstance(value, list) and isinstance(other, list):
            _diff_list(value, other, f"{path}/{escape(key)}", ops)
        else:
            _diff(value, other, f"{path}/{escape(key)}", ops)
    # dst holds the src keys that stayed plus the new ones: no new key, no second loop.
    if len(dst) > len(src) - removed:
        for key, value in dst.items():
            if key not in src:
                ops.append({"op": "add", "path": f"{path}/{escape(key)}", "value": value})


def _diff_list(src: list[Any], dst: list[Any], path: str, ops: list[Operation]) -> None:
    src_len, dst_len = len(src), len(dst)
    shortest = min(src_len, dst_len)
    start = 0
    while start < shortest:
        a, b = src[start], dst[start]
        if a is not b and not same_json(a, b):
            break
        start += 1
    tail = 0
    room = shortest - start
    if src_len == dst_len and room:
        # The suffix would end on the pair the prefix stopped at, known to differ (a
        # changed container in a one-container list is compared once, not twice).
        room -= 1
    while tail < room:
        a, b = src[src_len - 1 - tail], dst[dst_len - 1 - tail]
        if a is not b and not same_json(a, b):
            break
        tail += 1
    src_mid, dst_mid = src_len - start - tail, dst_len - start - tail
    if max(src_mid, dst_mid) > 1 and all(map(isinstance, dst, repeat(SCALARS))):
        # A list of plain values (container args) edited in several places: one
        # "replace" is smaller and cheaper than an operation per token.
        ops.append({"op": "replace", "path": path, "value": dst})
        return
    paired = min(src_mid, dst_mid)
    # Paired elements are edited in place; none of these operations moves an index.
    for offset in range(paired):
        index = start + offset
        _diff(src[index], dst[index], f"{path}/{index}", ops)
    first_unpaired = start + paired
    # Each removal shifts the rest left, so the same index is removed repeatedly.
    for _ in range(src_mid - paired):
        ops.append({"op": "remove", "path": f"{path}/{first_unpaired}"})
    for offset in range(dst_mid - paired):
        index = first_unpaired + offset
        ops.append({"op": "add", "path": f"{path}/{index}", "value": dst[index]})


def make_patch(original: Mapping[str, Any], mutated: Mapping[str, Any]) -> list[Operation]:
    """RFC 6902 operations turning `original` into `mutated` (empty when they are equal)."""
    ops: list[Operation] = []
    _diff(without_managed_fields(original), without_managed_fields(mutated), "", ops)
    return ops


def encode_patch(operations: list[Operation]) -> str:
    """The base64 form AdmissionResponse.patch carries."""
    return base64.b64encode(codec.encode(operations)).decode("ascii")
