"""JSON in and out of the webhook: orjson on the hot path, the standard library as fallback.

orjson decodes and encodes the ~3 KB AdmissionReview several times faster than the `json`
module. It is strict RFC 8259, while `json.loads` also accepts a few things that are not
JSON (NaN and Infinity, a UTF-8 BOM, UTF-16/32 bodies, lone surrogates). So that exactly
the same bodies are accepted as with `json` alone, a body orjson refuses is decoded again
with `json`.

What such a body may carry back into an answer (a NaN copied into the patch, a lone
surrogate in a string) orjson would write as `null` or refuse, so `json` writes it, the
way it always did. The choice is made here and nowhere else: non-finite numbers are
decoded as `NonFinite`, a float subclass orjson refuses to encode, and `encode` falls
back to `json` whenever orjson refuses a document (also for lone surrogates and integers
beyond 64 bits). Callers never need to know which decoder read a body.

One difference remains by design: orjson reads an integer beyond 64 bits as a float
where `json` keeps a Python int. An API server never sends one (Pod fields are at most
int64), and the webhook reads no numbers from the request.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# One instance: json.dumps() with options builds an encoder per call.
STDLIB = json.JSONEncoder(separators=(",", ":"), check_circular=False)


class NonFinite(float):
    """NaN, Infinity or -Infinity as `json.loads` reads them.

    A float for every purpose, but orjson does not encode float subclasses: `encode`
    therefore hands a document holding one to `json`, which writes `NaN` back.
    """


def _non_finite(constant: str) -> NonFinite:
    return NonFinite(constant)  # float() reads "NaN", "Infinity" and "-Infinity"


def decode(body: bytes) -> Any:
    """The JSON value of `body`, as `json.loads` would read it.

    Raises ValueError (or UnicodeDecodeError) with the standard library's message when
    `body` is not JSON, as `json.loads` does.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    return json.loads(body, parse_constant=_non_finite)


def encode(value: Any) -> bytes:
    """Compact JSON bytes: orjson's, or the standard library's for what orjson refuses."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return STDLIB.encode(value).encode()
