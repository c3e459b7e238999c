"""Reconnect policy: whether to try again, after how long, and which calls a retry is safe for.

Pure decisions, no I/O: the caller (the trio adapter) passes the attempt number, a random
value in ``[0, 1)`` and the server's own reconnection hint (an SSE ``retry``), reads the clock
itself and sleeps the delay this module computes.

>>> policy = Reconnect(max_attempts=3, initial_backoff=0.5, max_backoff=4.0, jitter=0.0)
>>> [policy.delay(n, 0.0) for n in (1, 2, 3, 4)]
[0.5, 1.0, 2.0, 4.0]
>>> policy.exhausted(2), policy.exhausted(3)
(False, True)
"""

from __future__ import annotations

import attrs

__all__ = ["READ_ONLY_METHODS", "Reconnect", "retry_safe"]

#: Handshake-era requests that change nothing on the server: sending one again on a new
#: session is safe. Anything else (``tools/call`` first) may have had its effect already.
READ_ONLY_METHODS = frozenset({
    "ping",
    "tools/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
    "completion/complete",
})


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, not {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, not {value!r}")


def _fraction(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, not {value!r}")


@attrs.frozen
class Reconnect:
    """How a client session opens its transport again after it failed.

    ``Client.connect(transport, reconnect=Reconnect(...))``. The attempt counter counts the
    attempts made since the last call the server answered: a reconnect that succeeds does not
    reset it (a server that accepts and then drops every connection cannot cause an endless
    loop), an answered call does.

    Attributes:
        max_attempts: attempts without an answered call in between, before the session gives
            up and closes with a terminal :class:`~trio_adapter.PeerDisconnected`.
        initial_backoff: seconds before the first attempt.
        max_backoff: the longest wait between attempts (the server's ``retry`` hint is
            honoured up to this bound).
        multiplier: each attempt waits this many times longer than the previous one.
        jitter: the fraction of each wait that is random (0: none; 1: anything from 0 to the
            full wait), so that many clients of one restarted server do not come back in step.
        attempt_timeout: bound, in seconds, on one attempt (spawn or connect, then the
            handshake or the era probe, then the listens sent again).
        retry_calls: in the 2026-07-28 era (where every request stands alone), how many times
            a call that failed because the transport went away is sent again by itself once
            the session is back; 0 leaves it to the caller (``exc.retry_safe``).

    Raises:
        ValueError: a value out of range.
    """

    max_attempts: int = attrs.field(default=5, validator=_non_negative)
    initial_backoff: float = attrs.field(default=0.1, validator=_positive)
    max_backoff: float = attrs.field(default=5.0, validator=_positive)
    multiplier: float = attrs.field(default=2.0, validator=_positive)
    jitter: float = attrs.field(default=0.5, validator=_fraction)
    attempt_timeout: float = attrs.field(default=10.0, validator=_positive)
    retry_calls: int = attrs.field(default=0, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be >= 1, not {self.multiplier!r}")
        if self.max_backoff < self.initial_backoff:
            raise ValueError("max_backoff must not be below initial_backoff")

    def exhausted(self, attempts: int) -> bool:
        """Whether ``attempts`` attempts (since the last answered call) are all there are."""
        return attempts >= self.max_attempts

    def delay(self, attempt: int, random_value: float, hint: float | None = None) -> float:
        """Seconds to wait before attempt number ``attempt`` (1 for the first).

        The base wait is ``initial_backoff * multiplier ** (attempt - 1)``, at most
        ``max_backoff``; ``jitter`` of it is taken away at random (``random_value`` in
        ``[0, 1)``, from the caller). A server's reconnection hint (``hint``, seconds: an SSE
        ``retry``) makes the wait at least that long, up to ``max_backoff``.

        Raises:
            ValueError: ``attempt`` below 1 or ``random_value`` outside ``[0, 1]``.
        """
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        if not 0.0 <= random_value <= 1.0:
            raise ValueError("random_value must be in [0, 1]")
        exponent = min(attempt - 1, 64)  # the cap is reached long before; no float overflow
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** exponent)
        wait = base * (1.0 - self.jitter * random_value)
        if hint is not None and hint > 0:
            wait = max(wait, min(hint, self.max_backoff))
        return wait


def retry_safe(stateless: bool, method: str | None) -> bool:
    """Whether sending request ``method`` again after its transport failed is safe.

    In the 2026-07-28 era every request is independent of the connection it travelled on,
    so any of them may be sent again. In the handshake era only the read-only requests
    (:data:`READ_ONLY_METHODS`) are known to be safe: a ``tools/call`` may have run. An
    unknown method (``None``) is safe only in the 2026-07-28 era.
    """
    if stateless:
        return True
    return method is not None and method in READ_ONLY_METHODS
