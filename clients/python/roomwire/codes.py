"""Roomwire's error codes (PROTOCOL.md §9) and the error that carries one.

The catalogue is born in ``shared/src/codes.ts``; ``test/python-client.test.ts`` checks that this copy
lists the same codes with the same ``retryable`` flags.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

#: Every code, and whether the same request may succeed later unchanged.
RETRYABLE: Mapping[str, bool] = {
    "RW_ERR_UNAUTHORIZED": False,
    "RW_ERR_TOKEN_EXPIRED": True,
    "RW_ERR_FORBIDDEN": False,
    "RW_ERR_INVALID_REQUEST": False,
    "RW_ERR_UNKNOWN_EVENT": False,
    "RW_ERR_INVALID_PAYLOAD": False,
    "RW_ERR_PAYLOAD_TOO_LARGE": False,
    "RW_ERR_UNSUPPORTED_MEDIA_TYPE": False,
    "RW_ERR_UNSUPPORTED_PROTOCOL": False,
    "RW_ERR_UNAVAILABLE": True,
    "RW_ERR_RATE_LIMITED": True,
    "RW_ERR_SLOW_CONSUMER": True,
    "RW_ERR_DRAINING": True,
    "RW_ERR_CONNECTION_LIMIT": True,
    "RW_ERR_NOT_FOUND": False,
    "RW_ERR_METHOD_NOT_ALLOWED": False,
    "RW_ERR_INTERNAL": True,
    # Client-side codes (never sent by a node): what a client answers its app with.
    "RW_ERR_CLOSED": False,
    "RW_ERR_CANCELLED": False,
    "RW_ERR_TIMEOUT": True,
}

#: What a code from the wire that is not in the catalogue is treated as (PROTOCOL.md §9).
UNKNOWN_CODE = "RW_ERR_INTERNAL"


def is_error_code(value: Any) -> bool:
    """Why: a string from the wire must not be trusted as a code."""
    return isinstance(value, str) and value in RETRYABLE


class RoomwireError(Exception):
    """An error with a stable code: a refused handshake or request, a notice, a frame that could not be decoded.

    Example::

        client.on_error(lambda err: log.warning("%s (%s)", err.message, err.code))
    """

    def __init__(self, code: str, message: str, services: Optional[list] = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code if is_error_code(code) else UNKNOWN_CODE
        self.message = message
        #: The services a refused request named, when there were any.
        self.services = list(services) if services else []

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later unchanged."""
        return RETRYABLE[self.code]

    @classmethod
    def from_payload(cls, payload: Any, fallback: str = "malformed error", services: Optional[list] = None) -> "RoomwireError":
        """The error of a wire payload ``{code, message}``; anything else becomes ``RW_ERR_INTERNAL``."""
        if isinstance(payload, Mapping):
            message = payload.get("message")
            return cls(str(payload.get("code")), message if isinstance(message, str) else fallback, services)
        return cls(UNKNOWN_CODE, fallback, services)
