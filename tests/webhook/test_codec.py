"""webhook.codec: orjson where it can, and exactly the standard library's answers elsewhere."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webhook import codec
from webhook.patch import encode_patch
from webhook.review import BadReview, parse_review, review_response

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(JSON)
def test_plain_json_round_trips_like_the_standard_library(value: object) -> None:
    body = json.dumps(value).encode()
    decoded = codec.decode(body)
    assert decoded == json.loads(body)
    assert json.loads(codec.encode(decoded)) == json.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": NaN}',
        b'{"a": -Infinity}',
        b'\xef\xbb\xbf{"a": 1}',  # UTF-8 byte order mark
        '{"a": 1}'.encode("utf-16"),
        b'{"a": "\\ud800"}',  # lone surrogate
    ],
)
def test_what_only_the_standard_library_accepts_is_still_accepted(body: bytes) -> None:
    decoded = codec.decode(body)
    assert repr(decoded) == repr(json.loads(body))  # repr: NaN != NaN
    # Written back exactly as the standard library writes it (NaN stays NaN, not null).
    assert codec.encode(decoded) == codec.STDLIB.encode(json.loads(body)).encode()


@pytest.mark.parametrize("body", [b"", b"{", b"[1,]", b"\xff", b'{"a": 1} x'])
def test_invalid_json_raises_the_standard_library_error(body: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        codec.decode(body)
    with pytest.raises(ValueError) as theirs:
        json.loads(body)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(BadReview, match="not valid JSON"):
        parse_review(body)


def test_a_review_only_the_standard_library_reads_is_answered_by_it() -> None:
    body = (
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
        b'{"uid": "u", "kind": {"kind": "Pod", "version": "v1"}, "operation": "CREATE", '
        b'"object": {"metadata": {"annotations": {"x": "\\ud800"}}, "n": NaN}}}'
    )
    request = parse_review(body)
    ops = [{"op": "add", "path": "/n", "value": request.object["n"]}]  # type: ignore[index]
    patch = encode_patch(ops)
    assert base64.b64decode(patch) == b'[{"op":"add","path":"/n","value":NaN}]'
    answer = review_response(request.uid, ops)
    assert answer["response"]["patch"] == patch
    surrogate = request.object["metadata"]["annotations"]["x"]  # type: ignore[index]
    assert codec.encode([surrogate]) == b'["\\ud800"]'


def test_non_finite_numbers_are_floats_that_orjson_refuses() -> None:
    value = codec.decode(b"[NaN, Infinity, -Infinity, 1.5]")
    assert all(isinstance(v, float) for v in value)
    assert [type(v) for v in value[:3]] == [codec.NonFinite] * 3
    assert codec.encode(value) == b"[NaN,Infinity,-Infinity,1.5]"
