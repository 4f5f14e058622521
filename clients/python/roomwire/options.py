"""The client's options, their defaults, and their checks: resolved once, in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Callable, List, Optional, Sequence, Union
from urllib.parse import urlencode

#: A token, or a function that returns a fresh one; a function is called again on every (re)connect.
TokenSource = Union[str, Callable[[], str]]

# PROTOCOL.md §1: letters, digits, `_`, `-`; first a letter or digit; at most 64.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def is_valid_name(value: object) -> bool:
    """Why: a bad service name fails the whole request on the server; refuse it here, at once."""
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


#: Handshake query parameter of partition affinity (``AFFINITY_QUERY_PARAM`` in ``@roomwire/shared``).
AFFINITY_QUERY_PARAM = "rw_partition"
#: Most stream partitions a deployment may have (``MAX_PARTITIONS`` in ``@roomwire/shared``).
MAX_PARTITIONS = 1024


def partition_of_org(org: str, partitions: int) -> int:
    """The stream partition of an org: 32-bit FNV-1a of its UTF-16 code units, modulo the count (``partitionOfOrg``)."""
    if partitions == 1:
        return 0
    h = 0x811C9DC5
    units = org.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h ^= units[i] | (units[i + 1] << 8)
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h % partitions


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
    #: A connection that receives nothing for this long is taken for dead (its node frozen or cut off) and reconnects: a node sends every connection something at least every ``HEARTBEAT_MS`` (2.5 s). @default 6.0
    liveness_timeout_s: float = 6.0
    #: Most received packets waiting for the handler thread; beyond it the client stops reading the socket, so a slow app slows the node's sends instead of growing memory. @default 10000
    max_pending_packets: int = 10_000
    #: Partition affinity: the org the token is for; with ``affinity_partitions`` (the nodes' ``STREAM_PARTITIONS``) every handshake carries ``rw_partition=<partition of the org>`` for a balancer with partition affinity (infra/README.md). A routing hint only. @default None
    affinity_org: Optional[str] = None
    #: The deployment's ``STREAM_PARTITIONS`` (1..1024), set together with ``affinity_org``. @default None
    affinity_partitions: Optional[int] = None

    @property
    def connect_url(self) -> str:
        """The URL handed to Socket.IO: ``url``, plus the ``rw_partition`` parameter with partition affinity."""
        if self.affinity_org is None or self.affinity_partitions is None:
            return self.url
        query = urlencode({AFFINITY_QUERY_PARAM: partition_of_org(self.affinity_org, self.affinity_partitions)})
        return f"{self.url}{'&' if '?' in self.url else '?'}{query}"

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
        if (self.affinity_org is None) != (self.affinity_partitions is None):
            raise TypeError("roomwire.Client: affinity_org and affinity_partitions go together (partition affinity)")
        if self.affinity_org is not None and not is_valid_name(self.affinity_org):
            raise TypeError(f"roomwire.Client: affinity_org must be an org name, got {self.affinity_org!r}")
        partitions = self.affinity_partitions
        if partitions is not None and (isinstance(partitions, bool) or not isinstance(partitions, int) or not 1 <= partitions <= MAX_PARTITIONS):
            raise TypeError(f"roomwire.Client: affinity_partitions must be an integer in 1..{MAX_PARTITIONS} (STREAM_PARTITIONS), got {partitions!r}")
