"""Shapes the client hands to the application."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, TypedDict


class Envelope(TypedDict):
    """One event as delivered (PROTOCOL.md §4): the payload and where it belongs."""

    id: str
    org: str
    service: str
    type: str
    ts: float
    data: Any


@dataclass(frozen=True)
class ResyncInfo:
    """Events of ``services`` may have been lost: reload their state from your backend."""

    services: List[str] = field(default_factory=list)
    reason: str = "unknown"
