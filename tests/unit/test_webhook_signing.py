"""Standard Webhooks signing: the published test vector, secrets, and verification."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from journeyman.channels.webhook import secret_bytes, sign, verify

# The test vector published with the Standard Webhooks reference libraries.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_published_test_vector_is_reproduced() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY.encode()) == (
        VECTOR_SIGNATURE
    )


def test_the_vector_verifies_and_any_change_breaks_it() -> None:
    assert verify(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, VECTOR_SIGNATURE)
    assert verify(VECTOR_SECRET, VECTOR_ID, str(VECTOR_TIMESTAMP), VECTOR_BODY, VECTOR_SIGNATURE)
    assert not verify(
        VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY + " ", VECTOR_SIGNATURE
    )
    assert not verify(VECTOR_SECRET, "msg_other", VECTOR_TIMESTAMP, VECTOR_BODY, VECTOR_SIGNATURE)
    assert not verify(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP + 1, VECTOR_BODY, VECTOR_SIGNATURE)
    assert not verify("whsec_b3RoZXI=", VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, VECTOR_SIGNATURE)
    assert not verify(VECTOR_SECRET, VECTOR_ID, "soon", VECTOR_BODY, VECTOR_SIGNATURE)


def test_any_of_several_signatures_may_match() -> None:
    header = f"v1,bm9wZQ== {VECTOR_SIGNATURE}"

    assert verify(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, header)
    assert not verify(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, "v1,bm9wZQ==")
    assert not verify(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, "")


def test_a_timestamp_outside_the_tolerance_is_refused_when_now_is_given() -> None:
    def check(now: int) -> bool:
        return verify(
            VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY, VECTOR_SIGNATURE, now=now
        )

    assert check(VECTOR_TIMESTAMP + 300) and check(VECTOR_TIMESTAMP - 300)
    assert not check(VECTOR_TIMESTAMP + 301) and not check(VECTOR_TIMESTAMP - 301)


def test_a_plain_secret_is_used_as_utf8_bytes() -> None:
    secret = "geheimnis-ß"
    expected = hmac.new(secret.encode(), b"k1.1700000000.{}", hashlib.sha256).digest()

    assert secret_bytes(secret) == secret.encode()
    assert sign(secret, "k1", 1700000000, b"{}") == f"v1,{base64.b64encode(expected).decode()}"


def test_a_whsec_secret_is_base64_decoded() -> None:
    assert secret_bytes("whsec_" + base64.b64encode(b"\x00\xffkey").decode()) == b"\x00\xffkey"


def test_a_whsec_secret_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValueError, match="not valid base64"):
        sign("whsec_not base64!", "k", 1, b"")
