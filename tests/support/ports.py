"""Port checks shared by the tests that start and stop servers."""

from __future__ import annotations

import socket


def port_is_closed(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing accepts connections on `port`, and a new server could bind it again."""
    with socket.socket() as sock:
        sock.settimeout(1)
        refused = sock.connect_ex((host, port)) != 0
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    return refused
