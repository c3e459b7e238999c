"""The reconnect policy (sansio.reconnect): backoff, jitter, bounds, retry safety."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sansio.reconnect import READ_ONLY_METHODS, Reconnect, retry_safe


def test_backoff_doubles_up_to_the_bound() -> None:
    policy = Reconnect(initial_backoff=0.25, max_backoff=2.0, jitter=0.0)
    assert [policy.delay(n, 0.5) for n in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_jitter_takes_a_random_share_of_the_wait_away() -> None:
    policy = Reconnect(initial_backoff=1.0, max_backoff=8.0, jitter=0.5)
    assert policy.delay(1, 0.0) == 1.0
    assert policy.delay(1, 1.0) == 0.5
    assert policy.delay(3, 0.5) == pytest.approx(4.0 * 0.75)


def test_the_server_retry_hint_is_honoured_up_to_the_bound() -> None:
    policy = Reconnect(initial_backoff=0.1, max_backoff=3.0, jitter=0.0)
    assert policy.delay(1, 0.0, hint=1.5) == 1.5
    assert policy.delay(1, 0.0, hint=60.0) == 3.0  # never beyond max_backoff
    assert policy.delay(1, 0.0, hint=0.01) == 0.1  # a shorter hint does not hurry us


@given(st.integers(1, 10_000), st.floats(0.0, 1.0))
def test_every_delay_is_within_its_bounds(attempt: int, r: float) -> None:
    policy = Reconnect(initial_backoff=0.1, max_backoff=5.0, jitter=0.5)
    assert 0.05 * 0.999 <= policy.delay(attempt, r) <= 5.0


def test_attempts_are_bounded() -> None:
    policy = Reconnect(max_attempts=2)
    assert [policy.exhausted(n) for n in range(4)] == [False, False, True, True]
    assert Reconnect(max_attempts=0).exhausted(0)


@pytest.mark.parametrize("kwargs", [
    {"max_attempts": -1}, {"initial_backoff": 0}, {"max_backoff": -1.0}, {"jitter": 1.5},
    {"multiplier": 0.5}, {"attempt_timeout": 0}, {"retry_calls": -1},
    {"initial_backoff": 2.0, "max_backoff": 1.0},
])
def test_bad_values_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Reconnect(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("attempt", "r"), [(0, 0.5), (1, -0.1), (1, 1.1)])
def test_bad_arguments_to_delay(attempt: int, r: float) -> None:
    with pytest.raises(ValueError):
        Reconnect().delay(attempt, r)


def test_retry_safety_by_era_and_method() -> None:
    assert retry_safe(True, "tools/call") and retry_safe(True, None)
    assert not retry_safe(False, "tools/call") and not retry_safe(False, None)
    assert all(retry_safe(False, m) for m in READ_ONLY_METHODS)
    assert not retry_safe(False, "resources/subscribe")
