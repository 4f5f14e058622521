"""One ordered queue for everything the client's handler thread does."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Deque, Tuple


class Inbox:
    """A FIFO with two doors: packets from the socket, which wait while ``max_packets`` are pending
    (so a slow application stops the client reading its socket, and the node's slow-consumer rule
    takes over, instead of memory growing without end), and control items (timers, the connection
    thread, the application's calls), which never wait — the handler thread puts items too, and must
    never block on its own queue.
    """

    def __init__(self, max_packets: int) -> None:
        self._items: Deque[Tuple[bool, Any]] = deque()
        self._packets = 0
        self._max_packets = max_packets
        self._cond = threading.Condition()
        self._closed = False
        #: Monotonic time of the last packet put (a sign of life of the connection, read by request timeouts).
        self.last_packet_at = time.monotonic()

    def put_packet(self, item: Any) -> None:
        """Queues a packet after those before it; waits while the queue is full (unless closed)."""
        with self._cond:
            while self._packets >= self._max_packets and not self._closed:
                self._cond.wait()
            self._items.append((True, item))
            self._packets += 1
            self.last_packet_at = time.monotonic()
            self._cond.notify_all()

    def put(self, item: Any) -> None:
        """Queues a control item; never waits."""
        with self._cond:
            self._items.append((False, item))
            self._cond.notify_all()

    def get(self) -> Any:
        """The next item, waiting for one."""
        with self._cond:
            while not self._items:
                self._cond.wait()
            is_packet, item = self._items.popleft()
            if is_packet:
                self._packets -= 1
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """Lets every waiting producer through: nothing will be read any more."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
