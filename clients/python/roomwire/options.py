"""The client's options, their defaults, and their checks: resolved once, in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Callable, List, Sequence, Union

#: A token, or a function that returns a fresh one; a function is called again on every (re)connect.
TokenSource = Union[str, Callable[[], str]]

# PROTOCOL.md §1: letters, digits, `_`, `-`; first a letter or digit; at most 64.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def is_valid_name(value: object) -> bool:
    """Why: a bad service name fails the whole request on the server; refuse it here, at once."""
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


@dataclass(frozen=True)
class ClientOptions:
    """Options of :class:`roomwire.Client`. Units are in the names (``_s`` seconds)."""

    #: Base URL of a node (or of the load balancer in front of the nodes), e.g. ``http://127.0.0.1:3000``.
    url: str
    #: A JWT, or a function returning a fresh one (called on every connection attempt).
    token: TokenSource
    #: Services to subscribe from the start.
    services: Sequence[str] = ()
    #: Socket.IO path on the node. @default ``socket.io``
    path: str = "socket.io"
    #: Engine.IO transports, in order. ``polling`` needs the ``requests`` package. @default ``["websocket"]``
    transports: List[str] = field(default_factory=lambda: ["websocket"])
    #: Shortest wait before reconnecting after a drop or a refused handshake (PROTOCOL.md §2). @default 1.0
    min_reconnect_delay_s: float = 1.0
    #: Longest wait between reconnection attempts. @default 30.0
    max_reconnect_delay_s: float = 30.0
    #: Random spread of each wait, as a fraction of it (0.5: from half to one and a half times). @default 0.5
    reconnect_jitter: float = 0.5
    #: How long a delivered event id is remembered to drop duplicates: the replay window. @default 300.0
    dedup_ttl_s: float = 300.0
    #: Most event ids remembered for de-duplication. @default 10000
    dedup_max_ids: int = 10_000
    #: How long to wait for the node's CONNECT answer to a handshake. @default 10.0
    connect_timeout_s: float = 10.0
    #: A request whose ack has not come, while nothing else arrives either, for this long drops the connection (it reconnects and resumes). @default 30.0
    request_timeout_s: float = 30.0
    #: Most received packets waiting for the handler thread; beyond it the client stops reading the socket, so a slow app slows the node's sends instead of growing memory. @default 10000
    max_pending_packets: int = 10_000

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("http://", "https://")):
            raise TypeError(f"roomwire.Client: url must be an http(s) URL, got {self.url!r}")
        if not (isinstance(self.token, str) and self.token) and not callable(self.token):
            raise TypeError("roomwire.Client: token must be a non-empty string or a function returning one")
        if isinstance(self.services, str):
            raise TypeError("roomwire.Client: services must be a list of service names, not a string")
        for name in self.services:
            if not is_valid_name(name):
                raise TypeError(f"roomwire.Client: invalid service name {name!r}")
        if not self.transports or any(t not in ("websocket", "polling") for t in self.transports):
            raise TypeError(f"roomwire.Client: transports must be 'websocket' and/or 'polling', got {self.transports!r}")
        for f in fields(self):
            if f.name.endswith("_s") or f.name in ("dedup_max_ids", "max_pending_packets"):
                value = getattr(self, f.name)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                    raise TypeError(f"roomwire.Client: {f.name} must be a positive number, got {value!r}")
        if self.max_reconnect_delay_s < self.min_reconnect_delay_s:
            raise TypeError("roomwire.Client: max_reconnect_delay_s must be at least min_reconnect_delay_s")
        if not 0 <= self.reconnect_jitter <= 1:
            raise TypeError(f"roomwire.Client: reconnect_jitter must be within [0, 1], got {self.reconnect_jitter!r}")
