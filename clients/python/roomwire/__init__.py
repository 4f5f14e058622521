"""Roomwire client for Python, on python-socketio 5 (threading). See README.md and shared/PROTOCOL.md."""

from .client import PROTOCOL_VERSION, STATES, Client
from .codes import RETRYABLE, RoomwireError
from .dedup import DedupCache
from .frames import FrameError, decode_frame
from .options import ClientOptions
from .positions import Position, compare_offsets, is_valid_offset
from .types import Envelope, ResyncInfo

__all__ = [
    "Client",
    "ClientOptions",
    "DedupCache",
    "Envelope",
    "FrameError",
    "PROTOCOL_VERSION",
    "Position",
    "RETRYABLE",
    "ResyncInfo",
    "RoomwireError",
    "STATES",
    "compare_offsets",
    "decode_frame",
    "is_valid_offset",
]
