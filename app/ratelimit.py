"""A small in-process token bucket per API token (or per client address without one), for POST endpoints.

In-process means per worker process: with N web processes the effective limit is N times this. That is enough
to stop a runaway script; a shared limit would live in Redis."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import HTTPException, Request, status

RATE_LIMIT_PER_MINUTE = 60  # sustained POSTs per minute per token/address; the bucket also holds this many
MAX_KEYS = 10_000  # forget the oldest buckets beyond this many, so memory stays bounded

RATE_LIMIT_RESPONSES: dict[int | str, dict[str, object]] = {
    429: {
        "description": "Too many requests from this token or address; retry after `Retry-After` seconds.",
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    }
}


@dataclass
class TokenBucket:
    per_minute: float = RATE_LIMIT_PER_MINUTE
    capacity: float = RATE_LIMIT_PER_MINUTE
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> float:
        """Spend one token for `key`: 0.0 when allowed, else the seconds until one is available."""
        rate = self.per_minute / 60.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / rate
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)  # re-inserted: newest last
            while len(self._buckets) > MAX_KEYS:
                del self._buckets[next(iter(self._buckets))]
        return wait


def limiter_of(request: Request) -> TokenBucket:
    state = request.app.state
    if getattr(state, "rate_limiter", None) is None:
        state.rate_limiter = TokenBucket()
    limiter: TokenBucket = state.rate_limiter
    return limiter


def client_key(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth:
        return "token:" + hashlib.sha256(auth.encode()).hexdigest()[:32]
    return "addr:" + (request.client.host if request.client else "unknown")


def rate_limited(request: Request) -> None:
    """Dependency: refuse with 429 and Retry-After once the caller's bucket is empty (POST only)."""
    if request.method != "POST":
        return
    wait = limiter_of(request).take(client_key(request))
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=f"Too many requests: at most {limiter_of(request).per_minute:g} a minute; retry in {seconds} s.",
            headers={"Retry-After": str(seconds)},
        )
