"""How long to wait before the next connection attempt (PROTOCOL.md §2)."""

from __future__ import annotations

import random
from typing import Callable


def reconnect_delay_s(attempt: int, min_s: float, max_s: float, jitter: float, uniform: Callable[[], float] = random.random) -> float:
    """``min(max_s, min_s · 2^(attempt−1) · (1 + jitter·u))``, ``u`` uniform in [−1, 1]; ``attempt`` counts from 1.

    Example::

        time.sleep(reconnect_delay_s(failures, 1.0, 30.0, 0.5))
    """
    u = 2 * uniform() - 1
    # Capped before the power grows: 2**1100 is a float overflow.
    exponent = min(max(attempt, 1) - 1, 64)
    return min(max_s, min_s * 2**exponent * (1 + jitter * u))


def should_retry_refusal(code: "str | None", token_is_function: bool, retryable: bool) -> bool:
    """Why: retrying a refused handshake only helps if the node may say yes next time (a fresh token, or a passing condition)."""
    if code == "RW_ERR_UNSUPPORTED_PROTOCOL":
        return False
    return token_is_function or retryable
