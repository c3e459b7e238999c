"""The request table on its own: ids, pending and serving requests, cancel memory, progress
tokens and batches (sansio/_requests.py). The engine's behaviour built on it is covered by
test_correlation.py, test_cancel_progress.py and test_batches.py."""

from __future__ import annotations

import pytest

from sansio._requests import (
    CANCEL_MEMORY,
    Batch,
    Incoming,
    Outgoing,
    RequestTable,
    UnknownRequest,
    progress_token_of,
)


def test_ids_start_at_one_and_advance_only_when_a_request_is_recorded() -> None:
    table = RequestTable()
    assert table.next_id == 1
    table.add_pending(1, Outgoing("ping", None))
    assert table.next_id == 2
    assert RequestTable(first_id=50).next_id == 50
    assert set(table.pending) == {1}


def test_an_answer_finishes_a_pending_request_and_frees_its_progress_token() -> None:
    table = RequestTable()
    table.add_pending(1, Outgoing("tools/call", "tok"))
    assert table.progress == {"tok": 1}
    out = table.take_pending(1)
    assert out is not None and out.method == "tools/call"
    assert table.pending == {} and table.progress == {}
    with pytest.raises(UnknownRequest):
        table.take_pending(1)  # answered twice


def test_a_late_answer_to_a_cancelled_request_is_dropped_once() -> None:
    table = RequestTable()
    table.add_pending(1, Outgoing("tools/call", 7))
    table.cancel_pending(1)
    assert table.pending == {} and table.progress == {}
    assert table.take_pending(1) is None  # late answer: dropped quietly
    with pytest.raises(UnknownRequest):
        table.take_pending(1)  # the memory is used up
    with pytest.raises(UnknownRequest):
        table.cancel_pending(2)


def test_cancel_memory_is_bounded_and_forgets_the_oldest() -> None:
    table = RequestTable()
    for rid in range(1, CANCEL_MEMORY + 2):
        table.add_pending(rid, Outgoing("ping", None))
        table.cancel_pending(rid)
    assert len(table.cancelled_out) == CANCEL_MEMORY
    with pytest.raises(UnknownRequest):
        table.take_pending(1)  # the oldest was forgotten
    assert table.take_pending(CANCEL_MEMORY + 1) is None


def test_serving_requests_their_tokens_and_the_peers_cancellation() -> None:
    table = RequestTable()
    table.add_serving("a", Incoming("tools/call", "t", None))
    assert table.serving_tokens == {"t": "a"}
    assert not table.peer_cancelled("a")
    table.cancel_serving("a")
    assert table.serving == {} and table.serving_tokens == {}
    assert table.peer_cancelled("a")
    assert table.take_serving("a") is None  # answering a cancelled request: a no-op
    with pytest.raises(UnknownRequest):
        table.take_serving("b")
    table.add_serving("b", Incoming("ping", None, None))
    incoming = table.take_serving("b")
    assert incoming is not None and incoming.method == "ping"
    assert table.serving == {}


def test_a_batch_is_complete_when_its_last_member_is_done() -> None:
    table = RequestTable()
    batch = Batch()
    table.add_serving(1, Incoming("ping", None, batch))
    table.add_serving(2, Incoming("ping", None, batch))
    assert batch.waiting == {1, 2}
    first = {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert RequestTable.finish_batch_member(batch, 1, first) is None
    table.cancel_serving(2)
    assert RequestTable.finish_batch_member(batch, 2, None) == [first]
    assert batch.responses == [] and batch.waiting == set()


def test_a_batch_whose_members_were_all_cancelled_sends_nothing() -> None:
    batch = Batch()
    batch.waiting.add(1)
    assert RequestTable.finish_batch_member(batch, 1, None) is None


def test_drop_all_forgets_both_directions_and_names_our_pending_requests() -> None:
    table = RequestTable()
    table.add_pending(1, Outgoing("ping", "p"))
    table.add_pending(2, Outgoing("ping", None))
    table.add_serving("x", Incoming("ping", "q", None))
    assert table.drop_all() == (1, 2)
    assert (table.pending, table.progress, table.serving, table.serving_tokens) == ({}, {}, {},
                                                                                    {})


@pytest.mark.parametrize(("params", "token"), [
    (None, None),
    ({}, None),
    ({"_meta": "x"}, None),
    ({"_meta": {}}, None),
    ({"_meta": {"progressToken": 3}}, 3),
    ({"_meta": {"progressToken": "t"}}, "t"),
    ({"_meta": {"progressToken": True}}, None),
    ({"_meta": {"progressToken": 1.5}}, None),
])
def test_progress_token_of_reads_only_valid_ids(params: dict[str, object] | None,
                                                token: object) -> None:
    assert progress_token_of(params) == token
