"""A token bucket per API token (or per client address without one), for POST endpoints.

With a redis:// broker (production) the buckets live in Redis, so every web process shares one limit per caller;
otherwise (the SQLite demo) they live in the process. A Redis that does not answer falls back to the process's
own buckets rather than refusing or failing requests."""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import HTTPException, Request, status

log = logging.getLogger(__name__)
RATE_LIMIT_PER_MINUTE = 60  # sustained POSTs per minute per token/address; the bucket also holds this many
MAX_KEYS = 10_000  # forget the oldest buckets beyond this many, so memory stays bounded
REDIS_RETRY_S = 10.0  # after Redis fails, the process's own buckets answer for this long before Redis is tried

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


# GCRA, the token bucket as one timestamp per caller: the "theoretical arrival time" (TAT) of the next request.
# A request is allowed when TAT - capacity*interval <= now; it then moves TAT one interval on. Atomic in Redis,
# on Redis's own clock, so every web process sees the same bucket. Returns the milliseconds to wait (0: allowed).
_GCRA = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat + interval - burst - now
if wait > 0 then return wait end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(tat + interval - now))
return 0
"""


class RedisTokenBucket:
    """The same bucket as TokenBucket, shared through Redis by every process that uses the same URL and prefix."""

    def __init__(
        self,
        url: str,
        per_minute: float = RATE_LIMIT_PER_MINUTE,
        capacity: float = RATE_LIMIT_PER_MINUTE,
        prefix: str = "archarena:ratelimit:",
    ) -> None:
        import redis

        self.per_minute = per_minute
        self.capacity = capacity
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self._redis.register_script(_GCRA)
        self._fallback = TokenBucket(per_minute=per_minute, capacity=capacity)
        self.redis_retry_at = 0.0  # monotonic time before which Redis is not asked again after a failure

    def take(self, key: str) -> float:
        if time.monotonic() < self.redis_retry_at:  # Redis failed recently: don't make every POST wait 0.5 s
            return self._fallback.take(key)
        interval_ms = 60_000.0 / self.per_minute
        try:
            wait_ms = self._script(keys=[self.prefix + key], args=[interval_ms, interval_ms * self.capacity])
        except Exception as exc:  # Redis down or slow: limit in this process rather than fail the request
            log.warning(
                "rate limiter: Redis did not answer (%s); this process's buckets for %.0f s", exc, REDIS_RETRY_S
            )
            self.redis_retry_at = time.monotonic() + REDIS_RETRY_S
            return self._fallback.take(key)
        return float(wait_ms) / 1000.0

    def close(self) -> None:
        self._redis.close()


Limiter = TokenBucket | RedisTokenBucket


def make_limiter(broker_url: str, per_minute: float = RATE_LIMIT_PER_MINUTE) -> Limiter:
    """Shared through Redis when the broker is Redis (production), else in this process (the demo)."""
    if broker_url.startswith(("redis://", "rediss://")):
        return RedisTokenBucket(broker_url, per_minute=per_minute, capacity=per_minute)
    return TokenBucket(per_minute=per_minute, capacity=per_minute)


def limiter_of(request: Request) -> Limiter:
    state = request.app.state
    if getattr(state, "rate_limiter", None) is None:
        settings = state.settings
        state.rate_limiter = make_limiter(settings.broker_url, settings.rate_limit_per_minute)
    limiter: Limiter = state.rate_limiter
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
