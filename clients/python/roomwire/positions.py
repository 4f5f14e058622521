"""Stream offsets and positions (PROTOCOL.md §5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

# [0-9], not \d: Python's \d also matches other scripts' digits, which the server refuses.
_OFFSET = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")


def is_valid_offset(value: Any) -> bool:
    """Why: offsets come from the wire; anything but ``ms-seq`` is not a position."""
    return isinstance(value, str) and _OFFSET.fullmatch(value) is not None


def compare_offsets(a: str, b: str) -> int:
    """Negative when ``a`` is older than ``b``, 0 when equal: ``ms`` first, then ``seq``, as integers (never as strings)."""
    ma, mb = _OFFSET.fullmatch(a), _OFFSET.fullmatch(b)
    if ma is None or mb is None:
        raise ValueError(f"invalid stream offset: {a!r} or {b!r}")
    ka = (int(ma.group(1)), int(ma.group(2)))
    kb = (int(mb.group(1)), int(mb.group(2)))
    return (ka > kb) - (ka < kb)


@dataclass(frozen=True)
class Position:
    """Where a client stands in the event stream: every durable frame of its services up to ``offset`` was received."""

    epoch: str
    offset: str

    @classmethod
    def parse(cls, value: Any) -> Optional["Position"]:
        """The position of a wire object ``{epoch, offset}``, or None when it is not one."""
        if isinstance(value, dict) and isinstance(value.get("epoch"), str) and value["epoch"] and is_valid_offset(value.get("offset")):
            return cls(value["epoch"], value["offset"])
        return None

    def to_wire(self) -> dict:
        return {"epoch": self.epoch, "offset": self.offset}


def is_newer_position(candidate: Position, current: Optional[Position]) -> bool:
    """Why: a position only moves forward within one stream lifetime; a new epoch replaces it."""
    return current is None or candidate.epoch != current.epoch or compare_offsets(candidate.offset, current.offset) > 0
