"""A first-in, first-out queue small enough to keep one per idle connection."""

from __future__ import annotations

from typing import TypeVar

__all__ = ["Fifo"]

T = TypeVar("T")


class Fifo(list[T]):
    """A FIFO on a list and a read position (internal: use only the methods below).

    ``append``, ``extend`` and truth are the list's own (C speed: the engine tests and fills
    its queues on every frame); :meth:`popleft` advances the read position, and the taken
    items are dropped when the queue empties or when they are more than half of it, so it is
    O(1) amortized. An empty one costs a list, where a :class:`collections.deque` costs ten
    times more: the engine and the transports keep several per connection, mostly empty. The
    list is empty exactly when no item is waiting, so ``if fifo:`` is the test for "anything
    to take"; :meth:`pending` counts them.
    """

    __slots__ = ("_head",)

    def __init__(self) -> None:
        super().__init__()
        self._head = 0

    def pending(self) -> int:
        """How many items are waiting."""
        return len(self) - self._head

    def popleft(self) -> T:
        """Remove and return the oldest item.

        Raises:
            IndexError: the queue is empty.
        """
        head = self._head
        item = self[head]  # IndexError when empty
        head += 1
        if head == len(self):  # the common case: the queue is now empty
            del self[:]
            self._head = 0
        elif head > 32 and head * 2 > len(self):
            del self[:head]
            self._head = 0
        else:
            self._head = head
        return item

    def clear(self) -> None:
        """Forget every item."""
        del self[:]
        self._head = 0
