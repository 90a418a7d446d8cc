"""``wire.parse_json`` reads every body as ``json.loads`` does (orjson where they agree)."""

from __future__ import annotations

import json

import pytest

from journeyman.api import wire


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": [1, 2.5, "x", true, null], "b": {"c": "\\u00e9\\ud83d\\ude00"}}',
        b'{"x": NaN, "y": Infinity, "z": -Infinity, "w": 1e400}',  # orjson refuses
        b'{"big": %d, "low": %d, "u64": %d}' % (2**70, -(2**63) - 1, 2**64 - 1),  # floats
        b'{"s": "\\ud800", "t": "\\udc00x"}',  # unpaired surrogates: orjson refuses
        b'{"a": 1, "b": 2, "a": 3}',  # duplicate keys: the last one wins, in place
        b"\xef\xbb\xbf{}",  # a byte order mark
        '{"a": 1}'.encode("utf-16"),
    ],
)
def test_a_body_reads_as_json_reads_it(body: bytes) -> None:
    assert repr(wire.parse_json(body)) == repr(json.loads(body))


@pytest.mark.parametrize("body", [b"[1,]", b'{"a" 1}', b"01", b'"\\x"'])
def test_a_body_json_refuses_is_refused_as_json_refuses_it(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(body)
    with pytest.raises(json.JSONDecodeError) as found:
        wire.parse_json(body)
    assert (found.value.msg, found.value.pos) == (expected.value.msg, expected.value.pos)
