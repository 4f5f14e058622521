"""python-socketio's threading client, with every received message handled in order on the reading thread.

python-engineio's threading client hands each received message to a new thread
(``_trigger_event('message', ..., run_async=True)``). Threads are not run in the order they were
started: frames reorder, an ack can overtake the replayed frames it must follow, and the binary
attachment of a compressed frame can be decoded before (or as) its header packet. PROTOCOL.md §1
requires packets to be handled one at a time, in arrival order; so here Engine.IO messages are
dispatched synchronously by the thread that read them. The Socket.IO handlers this triggers must
therefore not block: :class:`roomwire.Client` only queues them for its one handler thread.
"""

from __future__ import annotations

import engineio
import socketio


class OrderedEngineIOClient(engineio.Client):
    """An Engine.IO client that handles each received message on the reading thread, in arrival order.

    With ``liveness_timeout_s``, a WebSocket that receives nothing (no event, no heartbeat) for that
    long is given up: python-engineio's read then times out ("Server has stopped communicating") and
    the connection closes, instead of after Engine.IO's ``pingInterval + pingTimeout`` (45 s by default).
    A Roomwire node sends every connection something at least every ``HEARTBEAT_MS`` (PROTOCOL.md §1).
    """

    def __init__(self, *args, liveness_timeout_s=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._liveness_timeout_s = liveness_timeout_s

    def _connect_websocket(self, *args, **kwargs):  # type: ignore[override]
        connected = super()._connect_websocket(*args, **kwargs)
        if connected and self._liveness_timeout_s is not None and getattr(self, "ws", None) is not None:
            self.ws.settimeout(self._liveness_timeout_s)
        return connected

    def _trigger_event(self, event, *args, **kwargs):  # type: ignore[override]
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class OrderedSocketIOClient(socketio.Client):
    """A Socket.IO client on :class:`OrderedEngineIOClient`."""

    def _engineio_client_class(self):  # type: ignore[override]
        return OrderedEngineIOClient
