"""RetryPolicy.decide: exponential backoff with a cap, permanent errors never retried."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeyman.clock import UTC
from journeyman.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from journeyman.model.retry import RetryPolicy

NOW = dt.datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
TRANSIENT = TransientDeliveryError("421 try again later")


@pytest.mark.parametrize(
    ("attempt", "wait"),
    [(1, dt.timedelta(seconds=30)), (2, dt.timedelta(minutes=2)), (3, dt.timedelta(minutes=8))],
)
def test_transient_errors_back_off_exponentially(attempt: int, wait: dt.timedelta) -> None:
    assert RetryPolicy().decide(TRANSIENT, attempt, NOW) == NOW + wait


def test_the_backoff_is_capped() -> None:
    policy = RetryPolicy(max_attempts=20, cap=dt.timedelta(hours=1))

    assert policy.decide(TRANSIENT, 10, NOW) == NOW + dt.timedelta(hours=1)


def test_no_retry_after_the_last_attempt() -> None:
    policy = RetryPolicy(max_attempts=3)

    assert policy.decide(TRANSIENT, 2, NOW) is not None
    assert policy.decide(TRANSIENT, 3, NOW) is None
    assert policy.decide(TRANSIENT, 4, NOW) is None


@pytest.mark.parametrize(
    "error", [PermanentDeliveryError("550 no such user"), DeliveryError("broken")]
)
def test_errors_that_a_retry_cannot_fix_give_up_at_once(error: DeliveryError) -> None:
    assert not error.retryable
    assert RetryPolicy().decide(error, 1, NOW) is None


def test_the_error_classes_say_whether_a_retry_helps() -> None:
    assert TransientDeliveryError.retryable is True
    assert PermanentDeliveryError.retryable is False
    assert str(TransientDeliveryError()) == (TransientDeliveryError.__doc__ or "").strip()


def test_a_long_policy_caps_the_wait_instead_of_overflowing() -> None:
    # 30 s * 4 ** 29 is more than timedelta can hold; the cap applies long before that.
    policy = RetryPolicy(max_attempts=40)

    assert policy.decide(TRANSIENT, 30, NOW) == NOW + policy.cap


@given(
    st.integers(1, 12),  # bounded: larger products overflow timedelta (test above)
    st.integers(1, 3600),
    st.floats(1.0, 10.0),
    st.integers(1, 48),
)
def test_waits_never_shrink_and_never_pass_the_cap(
    max_attempts: int, base_seconds: int, factor: float, cap_hours: int
) -> None:
    policy = RetryPolicy(
        max_attempts=max_attempts,
        base=dt.timedelta(seconds=base_seconds),
        factor=factor,
        cap=dt.timedelta(hours=cap_hours),
    )
    waits = []
    for attempt in range(1, max_attempts + 2):
        retry_at = policy.decide(TRANSIENT, attempt, NOW)
        if attempt >= max_attempts:
            assert retry_at is None
            continue
        assert retry_at is not None
        waits.append(retry_at - NOW)

    assert waits == sorted(waits)
    assert all(dt.timedelta(0) < w <= policy.cap for w in waits)
