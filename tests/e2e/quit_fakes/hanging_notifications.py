"""A notification server that takes every Notify and never answers it (test_quit's "notification in
flight"): owns org.freedesktop.Notifications on the bus given as argv[1], appends one line per
Notify to the file argv[2], and touches argv[2] + ".ready" once it owns the name."""

from __future__ import annotations

import sys
from pathlib import Path

from jeepney import MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection
from jeepney.low_level import HeaderFields


def main() -> None:
    address, calls = sys.argv[1], Path(sys.argv[2])
    with open_dbus_connection(address) as conn:
        reply = conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.Notifications"), timeout=5)
        assert reply.body == (1,), reply.body
        Path(f"{calls}.ready").touch()
        while True:
            msg = conn.receive()
            if msg.header.message_type is not MessageType.method_call:
                continue
            member = msg.header.fields.get(HeaderFields.member)
            if member == "Notify":
                with calls.open("a") as f:
                    f.write(f"{msg.body[3]}\n")  # the summary; no reply, ever
            elif member == "GetCapabilities":
                conn.send(new_method_return(msg, "as", (["body", "actions"],)))
            else:
                conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))


if __name__ == "__main__":
    main()
