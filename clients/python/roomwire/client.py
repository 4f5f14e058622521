"""A Roomwire client on python-socketio: subscribe, de-duplicate, resume and resync as PROTOCOL.md says.

Threads:

- python-engineio's reading thread decodes each received packet in arrival order (see
  ``transport.py``) and only queues it in the :class:`~roomwire.inbox.Inbox`;
- the *handler thread* takes every item from that one queue, in order, and does all the work:
  requests, acks, positions, de-duplication and the application's handlers;
- the *connection thread* connects, waits for the connection to end, and reconnects with backoff.

So the application's handlers run one at a time, in the order events were received, always on the
handler thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import socketio

from .backoff import reconnect_delay_s, should_retry_refusal
from .codes import RETRYABLE, RoomwireError, is_error_code
from .dedup import DedupCache
from .frames import FrameError, decode_frame, is_compressed_frame
from .inbox import Inbox
from .options import ClientOptions, TokenSource, is_valid_name
from .positions import Position, is_newer_position, is_valid_offset
from .transport import OrderedSocketIOClient
from .types import Envelope, ResyncInfo

#: Version of the wire protocol this client speaks (PROTOCOL.md §1).
PROTOCOL_VERSION = 1

EVENT = "rw:event"
POSITION = "rw:position"
RESYNC = "rw:resync"
ERROR = "rw:error"
SUBSCRIBE = "rw:subscribe"
UNSUBSCRIBE = "rw:unsubscribe"
RESUME = "rw:resume"

#: ``idle`` before :meth:`Client.connect`; ``connected`` once the node has confirmed every wanted service
#: on the current connection (resumed or subscribed): events published from then on arrive.
STATES = ("idle", "connecting", "connected", "reconnecting", "disconnected")

EventHandler = Callable[[Any, Envelope], None]

log = logging.getLogger("roomwire")


class Client:
    """One connection to a Roomwire cluster, kept subscribed to the services the application wants.

    Example::

        client = roomwire.Client("http://127.0.0.1:3000", token=fetch_token, services=["billing"])
        client.on("billing", "invoice.paid", lambda data, envelope: print(data["invoiceId"]))
        client.on_resync(lambda info: reload_state(info.services))
        client.connect()
        ...
        client.close()

    Handlers run on the client's handler thread, one at a time, in arrival order: do not block in
    them for long, and do not wait there on a :class:`~concurrent.futures.Future` this client returned.
    """

    def __init__(self, url: str, token: TokenSource, services: Iterable[str] = (), **options: Any) -> None:
        self._opts = ClientOptions(url=url, token=token, services=tuple(services), **options)
        self._inbox = Inbox(self._opts.max_pending_packets)
        self._handlers_lock = threading.Lock()
        self._handlers: Dict[Tuple[str, str], List[EventHandler]] = {}
        self._resync_handlers: List[Callable[[ResyncInfo], None]] = []
        self._error_handlers: List[Callable[[RoomwireError], None]] = []
        self._state_handlers: List[Callable[[str, str], None]] = []
        self._stop = threading.Event()
        self._connected_event = threading.Event()
        self._started = False
        self._refusal: Optional[RoomwireError] = None

        # Owned by the handler thread.
        self._state = "idle"
        self._wanted: Dict[str, None] = dict.fromkeys(self._opts.services)
        self._confirmed: set = set()
        self._position: Optional[Position] = None
        self._generation = 0
        self._sid: Optional[str] = None
        self._connected = False
        self._synced = False
        self._pending: Dict[int, Tuple[Callable[[Any], None], threading.Timer]] = {}
        self._request_ids = itertools.count(1)
        self._one_by_one = False
        self._waiters: List[Future] = []
        self._timers: List[threading.Timer] = []
        self._dedup = DedupCache(self._opts.dedup_ttl_s, self._opts.dedup_max_ids)
        self._metrics: Dict[str, int] = dict.fromkeys(
            ("events", "duplicates", "frames", "compressed_frames", "bad_frames", "connects", "resumes", "recovered", "resyncs", "token_calls"), 0
        )

        self._sio = OrderedSocketIOClient(
            reconnection=False, handle_sigint=False, logger=False, engineio_logger=False, liveness_timeout_s=self._opts.liveness_timeout_s
        )
        # These run on the reading thread: they only queue, in order.
        self._sio.on("connect", lambda: self._inbox.put_packet(("connect", self._sio.get_sid())))
        self._sio.on("connect_error", self._on_connect_error)
        self._sio.on(EVENT, lambda *args: self._inbox.put_packet(("event",) + args))
        self._sio.on(POSITION, lambda *args: self._inbox.put_packet(("position",) + args))
        self._sio.on(RESYNC, lambda *args: self._inbox.put_packet(("resync",) + args))
        self._sio.on(ERROR, lambda *args: self._inbox.put_packet(("notice",) + args))
        self._worker = threading.Thread(target=self._work, name="roomwire-handler", daemon=True)
        self._connection = threading.Thread(target=self._keep_connected, name="roomwire-connection", daemon=True)

    # ---------------------------------------------------------------- public API

    def on(self, service: str, type: str, handler: EventHandler) -> Callable[[], None]:
        """Calls ``handler(data, envelope)`` for each event of ``service``/``type`` (``"*"``: every type), once, in order.

        Returns a function that removes the handler.
        """
        key = (service, type)
        with self._handlers_lock:
            self._handlers[key] = self._handlers.get(key, []) + [handler]

        def off() -> None:
            with self._handlers_lock:
                self._handlers[key] = [h for h in self._handlers.get(key, []) if h is not handler]

        return off

    def on_resync(self, handler: Callable[[ResyncInfo], None]) -> None:
        """Calls ``handler(info)`` when events of ``info.services`` may have been lost: reload their state."""
        with self._handlers_lock:
            self._resync_handlers = self._resync_handlers + [handler]

    def on_error(self, handler: Callable[[RoomwireError], None]) -> None:
        """Calls ``handler(error)`` for refused handshakes and requests, ``rw:error`` notices and undecodable frames."""
        with self._handlers_lock:
            self._error_handlers = self._error_handlers + [handler]

    def on_state(self, handler: Callable[[str, str], None]) -> None:
        """Calls ``handler(from_state, to_state)`` on every change of :attr:`state`."""
        with self._handlers_lock:
            self._state_handlers = self._state_handlers + [handler]

    def connect(self, wait_s: Optional[float] = None) -> bool:
        """Starts connecting (and reconnecting, until :meth:`close`); with ``wait_s``, waits that long until connected.

        Returns whether the client is connected (always False without ``wait_s``).
        """
        if self._started or self._stop.is_set():
            raise RuntimeError("roomwire.Client: connect() may be called once, and not after close()")
        self._started = True
        self._inbox.put(("call", lambda: self._set_state("connecting")))
        self._worker.start()
        self._connection.start()
        return self.wait_connected(wait_s) if wait_s is not None else False

    def wait_connected(self, timeout_s: float) -> bool:
        """Waits until the connection has caught up (state ``connected``); False after ``timeout_s``."""
        return self._connected_event.wait(timeout_s)

    def subscribe(self, services: Iterable[str]) -> "Future[None]":
        """Adds ``services``; the future resolves once the node confirmed (or refused, see :meth:`on_error`) every wanted service."""
        return self._change(add=self._checked(services), remove=[])

    def unsubscribe(self, services: Iterable[str]) -> "Future[None]":
        """Removes ``services``; the future resolves once the node confirmed. Events already sent may still arrive."""
        return self._change(add=[], remove=self._checked(services))

    @property
    def state(self) -> str:
        """One of ``idle``, ``connecting``, ``connected``, ``reconnecting``, ``disconnected``."""
        return self._state

    @property
    def position(self) -> Optional[Position]:
        """The position this client resumes from (PROTOCOL.md §5), or None before the first subscribe."""
        return self._position

    def metrics(self) -> Dict[str, Any]:
        """Counters: events delivered, duplicates dropped, frames (compressed ones too), connects, resumes, recovered, resyncs, token calls."""
        snapshot: Dict[str, Any] = dict(self._metrics)
        snapshot["position"] = self._position.to_wire() if self._position else None
        snapshot["state"] = self._state
        return snapshot

    def close(self) -> None:
        """Disconnects for good; stops both threads (waits for them, except when called from a handler)."""
        if self._stop.is_set():
            return
        self._stop.set()
        # The reading thread must not wait for room in the inbox any more: nothing more is handled.
        self._inbox.close()
        try:
            self._sio.disconnect()
        except Exception:  # noqa: BLE001 - closing must not fail on a half-open connection
            log.debug("disconnect on close failed", exc_info=True)
        self._inbox.put(("close",))
        if not self._started:
            return
        current = threading.current_thread()
        if current is not self._connection:
            self._connection.join(self._opts.connect_timeout_s + 5)
        if current is not self._worker:
            self._worker.join(5)

    def __enter__(self) -> "Client":
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- connection thread

    def _auth(self) -> Dict[str, Any]:
        """The handshake's ``auth``, with a fresh token from a token function on every attempt."""
        self._metrics["token_calls"] += 1
        token: Any = self._opts.token
        if callable(token):
            try:
                token = token()
            except Exception:  # noqa: BLE001 - the node refuses the empty token; the refusal is retried
                log.warning("the token function raised", exc_info=True)
                token = ""
        return {"token": token if isinstance(token, str) else "", "v": PROTOCOL_VERSION}

    def _on_connect_error(self, data: Any = None, *_: Any) -> None:
        """A refused handshake (reading thread): remembered for the retry decision, reported in order."""
        payload = data.get("data") if isinstance(data, dict) else None
        if isinstance(payload, dict) and is_error_code(payload.get("code")):
            self._refusal = RoomwireError.from_payload(payload)
            self._inbox.put_packet(("refused", self._refusal))

    def _keep_connected(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._refusal = None
            connected = False
            try:
                self._sio.connect(
                    self._opts.connect_url,
                    auth=self._auth,
                    transports=list(self._opts.transports),
                    socketio_path=self._opts.path,
                    wait_timeout=self._opts.connect_timeout_s,
                )
                connected = True
            except Exception as err:  # noqa: BLE001 - refused, unreachable, or a library error: retried all the same
                log.info("connection attempt failed: %s", err)
            if connected:
                failures = 0
                if self._stop.is_set():
                    self._sio.disconnect()
            # Until this connection's reading thread has ended: nothing of it can be queued after "ended".
            self._sio.eio.wait()
            # python-socketio stays "connected" when the connection drops while connect() waits for CONNECT.
            self._sio.connected = False
            self._inbox.put(("ended",))
            if self._stop.is_set():
                return
            refusal = self._refusal
            if not connected and refusal is not None and not should_retry_refusal(refusal.code, callable(self._opts.token), refusal.retryable):
                self._inbox.put(("stopped", refusal))
                return
            failures += 1
            self._stop.wait(reconnect_delay_s(failures, self._opts.min_reconnect_delay_s, self._opts.max_reconnect_delay_s, self._opts.reconnect_jitter))

    # ---------------------------------------------------------------- handler thread

    def _work(self) -> None:
        while True:
            item = self._inbox.get()
            kind = item[0]
            try:
                if kind == "close":
                    self._on_close()
                    return
                if self._stop.is_set():
                    continue  # closed: what is still queued reaches no handler
                getattr(self, "_handle_" + kind)(*item[1:])
            except Exception:  # noqa: BLE001 - one bad item must not stop the handler thread
                log.exception("roomwire: handling %s failed", kind)

    def _handle_call(self, fn: Callable[[], None]) -> None:
        fn()

    def _handle_connect(self, sid: Optional[str]) -> None:
        """PROTOCOL.md §6 B, steps 1–4: resume from the position, or subscribe, or nothing to do."""
        self._generation += 1
        self._sid = sid
        self._connected = True
        self._synced = False
        self._confirmed.clear()
        self._one_by_one = False
        self._metrics["connects"] += 1
        services = list(self._wanted)
        if services and self._position is not None:
            self._metrics["resumes"] += 1
            self._request(RESUME, {"services": services, "position": self._position.to_wire()}, lambda ack: self._on_resume_ack(services, ack))
        else:
            self._mark_synced()

    def _on_resume_ack(self, services: List[str], ack: Any) -> None:
        if isinstance(ack, dict) and ack.get("ok") is True and isinstance(ack.get("services"), list):
            self._confirmed.update(s for s in ack["services"] if isinstance(s, str))
            position = Position.parse(ack.get("position"))
            if position is not None:
                self._adopt(position, replace=True)
            if ack.get("recovered") is True:
                self._metrics["recovered"] += 1
            else:
                self._resync(ResyncInfo(list(ack["services"]), str(ack.get("reason", "unknown"))))
        else:
            # Nothing was replayed, whatever the code: every service resyncs and is subscribed afresh (§3).
            error = RoomwireError.from_payload(ack.get("error") if isinstance(ack, dict) else None, "malformed resume ack", services)
            self._confirmed.clear()
            self._report(error)
            self._resync(ResyncInfo(services, error.code))
        self._mark_synced()

    def _mark_synced(self) -> None:
        """Step 5: the connection has rejoined its rooms; subscribe and unsubscribe what still differs."""
        self._synced = True
        self._reconcile()

    def _reconcile(self) -> None:
        """One request at a time until the node's view of this connection matches the wanted services."""
        if not (self._connected and self._synced) or self._pending:
            return
        to_add = [s for s in self._wanted if s not in self._confirmed]
        if to_add:
            batch = to_add[:1] if self._one_by_one else to_add
            self._request(SUBSCRIBE, {"services": batch}, lambda ack: self._on_subscribe_ack(batch, ack))
            return
        self._one_by_one = False
        to_remove = [s for s in self._confirmed if s not in self._wanted]
        if to_remove:
            self._request(UNSUBSCRIBE, {"services": to_remove}, lambda ack: self._on_unsubscribe_ack(to_remove, ack))
            return
        # Caught up: every wanted service is confirmed on this connection, so events published from now on arrive.
        self._set_state("connected")
        self._settle_waiters()

    def _on_subscribe_ack(self, services: List[str], ack: Any) -> None:
        if isinstance(ack, dict) and ack.get("ok") is True and isinstance(ack.get("services"), list):
            self._confirmed.update(s for s in ack["services"] if isinstance(s, str))
            position = Position.parse(ack.get("position"))
            if position is not None:
                self._adopt(position, replace=True)
            self._reconcile()
            return
        error = RoomwireError.from_payload(ack.get("error") if isinstance(ack, dict) else None, "malformed subscribe ack", services)
        if error.retryable:
            self._report(error)
            self._retry_later()
        elif len(services) > 1:
            # One bad service spoils the batch: ask one by one, so the others still get through.
            self._one_by_one = True
            self._reconcile()
        else:
            self._wanted.pop(services[0], None)
            self._report(error)
            self._reconcile()

    def _on_unsubscribe_ack(self, services: List[str], ack: Any) -> None:
        if isinstance(ack, dict) and ack.get("ok") is True:
            self._confirmed.difference_update(services)
            self._reconcile()
            return
        error = RoomwireError.from_payload(ack.get("error") if isinstance(ack, dict) else None, "malformed unsubscribe ack", services)
        self._report(error)
        if error.retryable:
            self._retry_later()
        else:
            # The node will not take these back; forget them rather than ask for ever.
            self._confirmed.difference_update(services)
            self._reconcile()

    def _retry_later(self) -> None:
        generation = self._generation
        delay = reconnect_delay_s(1, self._opts.min_reconnect_delay_s, self._opts.max_reconnect_delay_s, self._opts.reconnect_jitter)
        self._start_timer(delay, lambda: self._inbox.put(("call", lambda: self._generation == generation and self._reconcile())))

    def _request(self, event: str, body: Dict[str, Any], on_ack: Callable[[Any], None]) -> None:
        """Sends one request on the current connection; its ack comes back through the inbox, in order."""
        if not self._connected or self._sio.get_sid() != self._sid:
            return  # the connection ended (or was replaced): "ended" and the next "connect" are queued
        generation, request_id = self._generation, next(self._request_ids)
        timer = self._start_timer(self._opts.request_timeout_s, lambda: self._inbox.put(("request_timeout", generation, request_id)), start=False)
        self._pending[request_id] = (on_ack, timer)
        try:
            self._sio.emit(event, body, callback=lambda *args: self._inbox.put_packet(("ack", generation, request_id, args)))
        except socketio.exceptions.SocketIOError:
            self._pending.pop(request_id, None)
            return
        timer.start()

    def _handle_ack(self, generation: int, request_id: int, args: Tuple[Any, ...]) -> None:
        if generation != self._generation:
            return
        pending = self._pending.pop(request_id, None)
        if pending is None:
            return
        on_ack, timer = pending
        timer.cancel()
        on_ack(args[0] if args else None)

    def _handle_request_timeout(self, generation: int, request_id: int) -> None:
        if generation != self._generation or request_id not in self._pending:
            return
        quiet_s = time.monotonic() - self._inbox.last_packet_at
        if quiet_s < self._opts.request_timeout_s:
            # Packets still arrive (a long replay before the ack, a slow app): the node is alive; wait on.
            on_ack, _ = self._pending[request_id]
            timer = self._start_timer(self._opts.request_timeout_s - quiet_s, lambda: self._inbox.put(("request_timeout", generation, request_id)))
            self._pending[request_id] = (on_ack, timer)
            return
        log.warning("roomwire: no answer to a request for %.1f s; reconnecting", quiet_s)
        self._sio.disconnect()

    def _handle_event(self, frame: Any = None, offset: Any = None, *_: Any) -> None:
        """Step 6: every envelope once, in order; then the frame's offset as a position candidate."""
        self._metrics["frames"] += 1
        if is_compressed_frame(frame):
            self._metrics["compressed_frames"] += 1
        try:
            envelopes = decode_frame(frame)
        except (FrameError, ValueError) as err:
            self._metrics["bad_frames"] += 1
            self._report(RoomwireError("RW_ERR_INTERNAL", f"a frame could not be decoded: {err}"))
            return
        for envelope in envelopes:
            if self._dedup.add(envelope["id"]):
                self._metrics["events"] += 1
                self._deliver(envelope)
            else:
                self._metrics["duplicates"] += 1
        if is_valid_offset(offset) and self._position is not None:
            self._adopt(Position(self._position.epoch, offset))

    def _handle_position(self, notice: Any = None, offset: Any = None, *_: Any) -> None:
        """A watermark counts only once this connection is synced (§5)."""
        if self._synced and isinstance(notice, dict) and isinstance(notice.get("epoch"), str) and notice["epoch"] and is_valid_offset(offset):
            self._adopt(Position(notice["epoch"], offset))

    def _handle_resync(self, notice: Any = None, *_: Any) -> None:
        services = notice.get("services") if isinstance(notice, dict) else None
        if not (isinstance(services, list) and all(isinstance(s, str) for s in services)):
            services = list(self._wanted)
        reason = notice.get("reason") if isinstance(notice, dict) else None
        self._resync(ResyncInfo(list(services), reason if isinstance(reason, str) else "unknown"))

    def _handle_notice(self, notice: Any = None, *_: Any) -> None:
        # Unknown codes in notices are ignored (§9).
        if isinstance(notice, dict) and is_error_code(notice.get("code")):
            self._report(RoomwireError.from_payload(notice))

    def _handle_refused(self, error: RoomwireError) -> None:
        self._report(error)

    def _handle_ended(self) -> None:
        if self._connected:
            self._connected = False
            self._synced = False
            for _, timer in self._pending.values():
                timer.cancel()
            self._pending.clear()
        if self._state != "disconnected" and not self._stop.is_set():
            self._set_state("reconnecting" if self._state != "connecting" else "connecting")

    def _handle_stopped(self, error: RoomwireError) -> None:
        log.warning("roomwire: the node refused the handshake and retrying cannot help: %s", error)
        self._set_state("disconnected")
        self._settle_waiters()

    def _on_close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for _, timer in self._pending.values():
            timer.cancel()
        self._pending.clear()
        self._connected = False
        self._set_state("disconnected")
        self._settle_waiters()

    # ---------------------------------------------------------------- helpers (handler thread)

    def _adopt(self, candidate: Position, replace: bool = False) -> None:
        # An ack's position replaces the current one even when lower (PROTOCOL.md section 5): the
        # server vouches for it, while a higher one it did not give may name entries the stream lost.
        if replace or is_newer_position(candidate, self._position):
            self._position = candidate

    def _change(self, add: List[str], remove: List[str]) -> "Future[None]":
        future: "Future[None]" = Future()
        if self._stop.is_set():
            future.set_result(None)
            return future

        def apply() -> None:
            for service in remove:
                self._wanted.pop(service, None)
            for service in add:
                self._wanted[service] = None
            self._waiters.append(future)
            if self._state == "disconnected":
                self._settle_waiters()
            else:
                self._reconcile()

        self._inbox.put(("call", apply))
        return future

    @staticmethod
    def _checked(services: Iterable[str]) -> List[str]:
        if isinstance(services, str):
            raise TypeError("roomwire.Client: services must be a list of service names, not a string")
        names = list(services)
        for name in names:
            if not is_valid_name(name):
                raise TypeError(f"roomwire.Client: invalid service name {name!r}")
        return names

    def _settle_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def _start_timer(self, delay_s: float, fn: Callable[[], None], start: bool = True) -> threading.Timer:
        timer = threading.Timer(delay_s, fn)
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive() or not t.finished.is_set()] + [timer]
        if start:
            timer.start()
        return timer

    def _set_state(self, to: str) -> None:
        """The one state transition: every change goes through here and is reported as (from, to)."""
        previous = self._state
        if to == previous:
            return
        self._state = to
        if to == "connected":
            self._connected_event.set()
        else:
            self._connected_event.clear()
        for handler in self._state_handlers:
            self._call_app(handler, previous, to)

    def _deliver(self, envelope: Envelope) -> None:
        with self._handlers_lock:
            handlers = self._handlers.get((envelope["service"], envelope["type"]), []) + self._handlers.get((envelope["service"], "*"), [])
        for handler in handlers:
            self._call_app(handler, envelope.get("data"), envelope)

    def _resync(self, info: ResyncInfo) -> None:
        self._metrics["resyncs"] += 1
        for handler in self._resync_handlers:
            self._call_app(handler, info)

    def _report(self, error: RoomwireError) -> None:
        for handler in self._error_handlers:
            self._call_app(handler, error)

    @staticmethod
    def _call_app(handler: Callable[..., None], *args: Any) -> None:
        try:
            handler(*args)
        except Exception:  # noqa: BLE001 - the application's bug must not stop delivery to other handlers
            log.exception("roomwire: a handler raised")


__all__ = ["Client", "PROTOCOL_VERSION", "STATES", "RETRYABLE"]
