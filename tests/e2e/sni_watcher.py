"""A minimal StatusNotifierWatcher (and host) on the session bus, for the tray e2e tests: it owns
``org.kde.StatusNotifierWatcher``, so Qt shows its tray icon as a StatusNotifierItem (the D-Bus tray
of KDE Plasma, GNOME's AppIndicator extension, waybar...) instead of an XEmbed window. It prints
``ready`` once it owns the name, then ``registered <service>`` for every item that registers, and runs
until killed."""

from __future__ import annotations

import sys

from jeepney import HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

WATCHER = "org.kde.StatusNotifierWatcher"


def main() -> None:
    conn = open_dbus_connection(bus="SESSION")
    reply = conn.send_and_get_reply(message_bus.RequestName(WATCHER, 4))  # 4: do not queue
    if reply.body[0] != 1:
        sys.exit(f"could not own {WATCHER}: {reply.body}")
    items: list[str] = []
    print("ready", flush=True)
    while True:
        msg = conn.receive()
        if msg.header.message_type is not MessageType.method_call:
            continue
        fields = msg.header.fields
        member = fields.get(HeaderFields.member)
        interface = fields.get(HeaderFields.interface)
        if interface == WATCHER and member == "RegisterStatusNotifierItem":
            service = msg.body[0]
            if service.startswith("/"):  # some items send their path; the sender is the service
                service = fields[HeaderFields.sender] + service
            items.append(service)
            print("registered", fields[HeaderFields.sender], service, flush=True)
            conn.send(new_method_return(msg))
        elif interface == WATCHER and member == "RegisterStatusNotifierHost":
            conn.send(new_method_return(msg))
        elif interface == "org.freedesktop.DBus.Properties" and member in ("Get", "GetAll"):
            props = {
                "IsStatusNotifierHostRegistered": ("b", True),
                "ProtocolVersion": ("i", 0),
                "RegisteredStatusNotifierItems": ("as", list(items)),
            }
            if member == "Get":
                name = msg.body[1]
                if name in props:
                    conn.send(new_method_return(msg, "v", (props[name],)))
                else:
                    conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownProperty"))
            else:
                conn.send(new_method_return(msg, "a{sv}", (props,)))
        else:
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))


if __name__ == "__main__":
    main()
