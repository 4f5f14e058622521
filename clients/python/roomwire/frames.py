"""Delivery frames (PROTOCOL.md §4): plain ``{events}`` or compressed ``{n, z}`` (raw DEFLATE of a plain frame's JSON)."""

from __future__ import annotations

import json
import zlib
from typing import Any, List

from .types import Envelope

#: The most bytes a compressed frame may inflate to: a frame holds at most 64 KiB of envelope JSON
#: by default; the bound only stops a frame that would inflate without end.
MAX_INFLATED_BYTES = 16 * 1024 * 1024


class FrameError(ValueError):
    """A frame that is not one: the client reports it and skips it."""


def is_envelope(value: Any) -> bool:
    """Why: envelopes come from the network; the client checks the shape before trusting one."""
    return (
        isinstance(value, dict)
        and all(isinstance(value.get(key), str) for key in ("id", "org", "service", "type"))
        and isinstance(value.get("ts"), (int, float))
        and not isinstance(value.get("ts"), bool)
    )


def is_compressed_frame(value: Any) -> bool:
    """A compressed frame: ``n`` a positive event count, ``z`` the bytes (a Socket.IO binary attachment)."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("n"), int)
        and not isinstance(value.get("n"), bool)
        and value["n"] > 0
        and isinstance(value.get("z"), (bytes, bytearray))
    )


def decode_frame(frame: Any) -> List[Envelope]:
    """The envelopes of a frame, in order, inflating a compressed one; raises FrameError for anything else."""
    if is_compressed_frame(frame):
        frame = json.loads(inflate_raw(bytes(frame["z"])).decode("utf-8"))
    if not isinstance(frame, dict) or not isinstance(frame.get("events"), list):
        raise FrameError("a frame must be {events: [...]} or {n, z}")
    events = frame["events"]
    if not all(is_envelope(e) for e in events):
        raise FrameError("a frame holds something that is not an envelope {id, org, service, type, ts, data}")
    return events


def inflate_raw(data: bytes, max_bytes: int = MAX_INFLATED_BYTES) -> bytes:
    """Inflates raw DEFLATE (RFC 1951: no zlib or gzip header) of at most ``max_bytes``."""
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(data, max_bytes)
        if inflater.unconsumed_tail:
            raise FrameError(f"a compressed frame inflates to more than {max_bytes} bytes")
        out += inflater.flush()
    except zlib.error as err:
        raise FrameError(f"a compressed frame is not raw DEFLATE: {err}") from err
    if not inflater.eof:
        raise FrameError("a compressed frame ends before its DEFLATE stream does")
    return out
