"""sansio._fifo.Fifo behaves as a deque used as a FIFO, whatever the mix of operations."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sansio._fifo import Fifo

ops = st.lists(st.one_of(st.integers(0, 9).map(lambda n: ("append", n)),
                         st.just(("popleft", None)), st.just(("clear", None)),
                         st.lists(st.integers(), max_size=50).map(lambda xs: ("extend", xs))),
               max_size=300)


@given(ops)
def test_fifo_matches_a_deque(operations: list[tuple[str, object]]) -> None:
    fifo: Fifo[object] = Fifo()
    model: deque[object] = deque()
    for op, arg in operations:
        if op == "append":
            fifo.append(arg)
            model.append(arg)
        elif op == "extend":
            fifo.extend(arg)  # type: ignore[arg-type]
            model.extend(arg)  # type: ignore[arg-type]
        elif op == "clear":
            fifo.clear()
            model.clear()
        elif model:
            assert fifo.popleft() == model.popleft()
        else:
            with pytest.raises(IndexError):
                fifo.popleft()
        assert fifo.pending() == len(model)
        assert bool(fifo) == bool(model)
        assert list.__len__(fifo) <= 2 * len(model) + 33  # taken items do not pile up


def test_a_reader_that_keeps_up_only_partly_does_not_grow_it_forever() -> None:
    fifo: Fifo[int] = Fifo()
    fifo.append(-1)
    for i in range(10_000):  # one item always waiting: the queue never empties
        fifo.append(i)
        assert fifo.popleft() == i - 1
        assert list.__len__(fifo) <= 2 * fifo.pending() + 33
    assert fifo.pending() == 1
