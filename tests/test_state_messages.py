"""The table of messages that move the lifecycle (sansio.state.MESSAGE_TRIGGERS): every row is
a move of TRANSITIONS, and a method named there is refused for a role and step it has no row
for."""

from __future__ import annotations

import pytest

from sansio import Connection, LocalProtocolError, RemoteProtocolError, Role
from sansio.state import (
    LIFECYCLE_NOTIFICATIONS,
    LIFECYCLE_REQUESTS,
    MESSAGE_TRIGGERS,
    TRANSITIONS,
    UNCANCELLABLE,
    Step,
    message_triggers,
)
from tests.helpers import frame


def test_every_message_trigger_is_a_move_of_its_role() -> None:
    for (role, _method, _step), trigger in MESSAGE_TRIGGERS.items():
        assert any(trigger in moves for (r, _), moves in TRANSITIONS.items() if r is role)
    assert LIFECYCLE_REQUESTS == {"initialize"} <= UNCANCELLABLE
    assert LIFECYCLE_NOTIFICATIONS == {"notifications/initialized"}
    assert ("initialize", Step.SEND_REQUEST) in message_triggers(Role.CLIENT)
    assert ("initialize", Step.SEND_REQUEST) not in message_triggers(Role.SERVER)


def test_a_server_never_sends_initialize_nor_notifications_initialized() -> None:
    server = Connection(Role.SERVER)
    with pytest.raises(LocalProtocolError, match="only a client sends initialize"):
        server.send_request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                           "clientInfo": {"name": "c", "version": "1"}})
    with pytest.raises(LocalProtocolError, match="can't send notification"):
        server.send_notification("notifications/initialized")  # (refused by TRAFFIC first)
    assert server.data_to_send() == b""


def test_a_client_never_receives_notifications_initialized() -> None:
    client = Connection(Role.CLIENT)
    client.receive_data(frame({"jsonrpc": "2.0", "method": "notifications/initialized"}))
    with pytest.raises(RemoteProtocolError):
        client.next_event()
