"""Rate limits: a token bucket per caller for every POST and DELETE, and throttles with back-off for sign-up and
log-in.

The caller is who the request proves to be, never what it merely says: the user behind a valid API token or a
live session (one budget per user, however many tokens they hold), else the client address. The address is the
TCP peer's; ``X-Forwarded-For`` is believed only when the peer is one of ``Settings.trusted_proxies``. An
invalid, random or oddly spelled ``Authorization`` header is no identity, so it lands in the address's bucket.

With a redis:// broker (production) the buckets live in Redis, so every web process shares one limit per caller;
otherwise (the SQLite demo) they live in the process. A Redis that does not answer falls back to the process's
own buckets rather than refusing or failing requests."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.core.config import Settings
from app.core.db.session import get_sessionmaker
from app.core.errors import RETRY_AFTER_HEADER, TooManyRequests
from app.users.names import name_key
from app.users.service import token_user_id
from app.web.sessions import session_user_id

log = logging.getLogger(__name__)
RATE_LIMIT_PER_MINUTE = 60  # sustained POSTs per minute per caller; the bucket also holds this many
MAX_KEYS = 10_000  # forget the oldest buckets beyond this many, so memory stays bounded
REDIS_RETRY_S = 10.0  # after Redis fails, the process's own buckets answer for this long before Redis is tried
LIMITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_CACHE_S = 60.0  # how long a token's owner is remembered for the limit's key

# Log-in failures per name (sign-ups and attempts per address: Settings.signups_per_hour, auth_attempts_per_minute).
FREE_LOGIN_FAILURES = 5  # failed log-ins for one name before the back-off starts
BACKOFF_BASE_S = 2.0  # then 2, 4, 8, … seconds, at most BACKOFF_MAX_S, before the name may try again
BACKOFF_MAX_S = 900.0
BACKOFF_FORGET_S = 3600.0  # a name's failures are forgotten this long after the last one

RATE_LIMIT_RESPONSES: dict[int | str, dict[str, object]] = {
    429: {
        "description": "Too many requests from this user or address; retry after `Retry-After` seconds.",
        "headers": RETRY_AFTER_HEADER,
    }
}


class Limiter(Protocol):
    per_minute: float

    def take(self, key: str) -> float: ...

    def peek(self, key: str) -> float: ...


@dataclass
class TokenBucket:
    per_minute: float = RATE_LIMIT_PER_MINUTE
    capacity: float = RATE_LIMIT_PER_MINUTE
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _level(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (self.capacity, now))
        return min(self.capacity, tokens + (now - last) * self.per_minute / 60.0)

    def take(self, key: str) -> float:
        """Spend one token for `key`: 0.0 when allowed, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens = self._level(key, now)
            self._buckets.pop(key, None)
            wait = 0.0 if tokens >= 1 else (1 - tokens) * 60.0 / self.per_minute
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)  # re-inserted: newest last
            while len(self._buckets) > MAX_KEYS:
                del self._buckets[next(iter(self._buckets))]
        return wait

    def peek(self, key: str) -> float:
        """The seconds until `key` could spend a token (0.0: now), spending nothing."""
        with self._lock:
            tokens = self._level(key, self.clock())
        return 0.0 if tokens >= 1 else (1 - tokens) * 60.0 / self.per_minute


# GCRA, the token bucket as one timestamp per caller: the "theoretical arrival time" (TAT) of the next request.
# A request is allowed when TAT - capacity*interval <= now; it then moves TAT one interval on. Atomic in Redis,
# on Redis's own clock, so every web process sees the same bucket. Returns the milliseconds to wait (0: allowed);
# ARGV[3] = 1 only looks.
_GCRA = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat + interval - burst - now
if wait > 0 then return wait end
if ARGV[3] == '1' then return 0 end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.ceil(tat + interval - now))
return 0
"""


class _RedisBacked:
    """A Redis connection with the fallback rule: after a failure, this process answers alone for a while."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self.redis_retry_at = 0.0  # monotonic time before which Redis is not asked again after a failure

    def _ask(self, ask: Callable[[], Any], fallback: Callable[[], Any]) -> Any:
        if time.monotonic() < self.redis_retry_at:  # Redis failed recently: don't make every POST wait 0.5 s
            return fallback()
        try:
            return ask()
        except Exception as exc:  # Redis down or slow: limit in this process rather than fail the request
            log.warning("rate limiter: Redis did not answer (%s); this process alone for %.0f s", exc, REDIS_RETRY_S)
            self.redis_retry_at = time.monotonic() + REDIS_RETRY_S
            return fallback()

    def close(self) -> None:
        self._redis.close()


class RedisTokenBucket(_RedisBacked):
    """The same bucket as TokenBucket, shared through Redis by every process that uses the same URL and prefix."""

    def __init__(
        self,
        url: str,
        per_minute: float = RATE_LIMIT_PER_MINUTE,
        capacity: float = RATE_LIMIT_PER_MINUTE,
        prefix: str = "archarena:ratelimit:",
    ) -> None:
        super().__init__(url)
        self.per_minute = per_minute
        self.capacity = capacity
        self.prefix = prefix
        self._script = self._redis.register_script(_GCRA)
        self._fallback = TokenBucket(per_minute=per_minute, capacity=capacity)

    def _run(self, key: str, only_look: bool) -> float:
        interval_ms = 60_000.0 / self.per_minute
        args = [interval_ms, interval_ms * self.capacity, "1" if only_look else "0"]
        return float(self._script(keys=[self.prefix + key], args=args)) / 1000.0

    def take(self, key: str) -> float:
        return float(self._ask(lambda: self._run(key, False), lambda: self._fallback.take(key)))

    def peek(self, key: str) -> float:
        return float(self._ask(lambda: self._run(key, True), lambda: self._fallback.peek(key)))


def make_limiter(
    broker_url: str,
    per_minute: float = RATE_LIMIT_PER_MINUTE,
    capacity: float | None = None,
    prefix: str = "archarena:ratelimit:",
) -> Limiter:
    """Shared through Redis when the broker is Redis (production), else in this process (the demo)."""
    burst = per_minute if capacity is None else capacity
    if broker_url.startswith(("redis://", "rediss://")):
        return RedisTokenBucket(broker_url, per_minute=per_minute, capacity=burst, prefix=prefix)
    return TokenBucket(per_minute=per_minute, capacity=burst)


# A name's failed log-ins: after FREE_LOGIN_FAILURES, each failure doubles the wait before the next try.
_BACKOFF_FAIL = """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
if n > tonumber(ARGV[1]) then
  wait = math.min(tonumber(ARGV[2]) * 2 ^ (n - tonumber(ARGV[1]) - 1), tonumber(ARGV[3]))
  redis.call('HSET', KEYS[1], 'until', now + wait)
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return math.floor(wait)
"""
_BACKOFF_WAIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = tonumber(redis.call('HGET', KEYS[1], 'until') or 0)
if until_ms > now then return until_ms - now end
return 0
"""


@dataclass
class Backoff:
    """Failures per key with an exponential wait once ``free`` are spent; a success forgets them."""

    free: int = FREE_LOGIN_FAILURES
    base_s: float = BACKOFF_BASE_S
    max_s: float = BACKOFF_MAX_S
    clock: Callable[[], float] = time.monotonic
    _state: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # failures, until, last failure
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, key: str) -> float:
        with self._lock:
            _, until, _ = self._state.get(key, (0, 0.0, 0.0))
        return max(0.0, until - self.clock())

    def fail(self, key: str) -> float:
        now = self.clock()
        with self._lock:
            n, _, last = self._state.pop(key, (0, 0.0, now))
            n = 1 if now - last > BACKOFF_FORGET_S else n + 1
            wait = min(self.base_s * 2 ** (n - self.free - 1), self.max_s) if n > self.free else 0.0
            self._state[key] = (n, now + wait, now)
            while len(self._state) > MAX_KEYS:
                del self._state[next(iter(self._state))]
        return wait

    def forget(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)


class RedisBackoff(_RedisBacked):
    def __init__(self, url: str, prefix: str = "archarena:backoff:") -> None:
        super().__init__(url)
        self.prefix = prefix
        self._fail = self._redis.register_script(_BACKOFF_FAIL)
        self._wait = self._redis.register_script(_BACKOFF_WAIT)
        self._fallback = Backoff()

    def wait(self, key: str) -> float:
        ask = lambda: float(self._wait(keys=[self.prefix + key])) / 1000.0  # noqa: E731
        return float(self._ask(ask, lambda: self._fallback.wait(key)))

    def fail(self, key: str) -> float:
        args = [FREE_LOGIN_FAILURES, BACKOFF_BASE_S * 1000, BACKOFF_MAX_S * 1000, BACKOFF_FORGET_S * 1000]
        ask = lambda: float(self._fail(keys=[self.prefix + key], args=args)) / 1000.0  # noqa: E731
        return float(self._ask(ask, lambda: self._fallback.fail(key)))

    def forget(self, key: str) -> None:
        self._ask(lambda: self._redis.delete(self.prefix + key), lambda: self._fallback.forget(key))


@dataclass
class Guards:
    """Every limiter of one app: the general bucket, and the sign-up / log-in throttles."""

    requests: Limiter
    signups: Limiter
    auth_attempts: Limiter
    login_failures: Backoff | RedisBackoff

    def close(self) -> None:
        for part in (self.requests, self.signups, self.auth_attempts, self.login_failures):
            if hasattr(part, "close"):
                part.close()


def make_guards(settings: Settings) -> Guards:
    url = settings.broker_url
    redis = url.startswith(("redis://", "rediss://"))
    signups = settings.signups_per_hour
    return Guards(
        requests=make_limiter(url, settings.rate_limit_per_minute),
        signups=make_limiter(url, signups / 60.0, signups, prefix="archarena:signups:"),
        auth_attempts=make_limiter(url, settings.auth_attempts_per_minute, prefix="archarena:auth:"),
        login_failures=RedisBackoff(url) if redis else Backoff(),
    )


def guards_of(request: Request) -> Guards:
    state = request.app.state
    if getattr(state, "guards", None) is None:
        state.guards = make_guards(state.settings)
    guards: Guards = state.guards
    # A test (or an operator's console) may put its own general limiter on the app.
    custom = getattr(state, "rate_limiter", None)
    if custom is not None:
        guards.requests = custom
    return guards


def limiter_of(request: Request) -> Limiter:
    return guards_of(request).requests


def _in_networks(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


def client_address(request: Request) -> str:
    """The client's address: the TCP peer's, or, when the peer is a trusted proxy, the nearest address in
    ``X-Forwarded-For`` that is not one of ours (the ones before it are whatever the client wrote)."""
    peer = request.client.host if request.client else "unknown"
    trusted: list[str] = request.app.state.settings.trusted_proxies
    forwarded = request.headers.get("x-forwarded-for", "")
    if not trusted or not forwarded or not _in_networks(peer, trusted):
        return peer
    for hop in reversed([h.strip() for h in forwarded.split(",")]):
        if not _in_networks(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a proxy we trust wrote garbage: use the proxy itself
    return peer


_token_owners: dict[str, tuple[int | None, float]] = {}
_token_owners_lock = threading.Lock()


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


def _token_owner(request: Request, token: str) -> int | None:
    digest = hashlib.sha256(token.encode(errors="replace")).hexdigest()
    now = time.monotonic()
    with _token_owners_lock:
        cached = _token_owners.get(digest)
    if cached is not None and now - cached[1] < TOKEN_CACHE_S:
        return cached[0]
    with get_sessionmaker(request.app.state.settings.database_url)() as session:
        owner = token_user_id(session, token)
    with _token_owners_lock:
        _token_owners[digest] = (owner, now)
        while len(_token_owners) > MAX_KEYS:
            del _token_owners[next(iter(_token_owners))]
    return owner


def caller_key(request: Request) -> str:
    """Whose budget a request spends: ``user:ID`` for a valid token or session, else ``addr:ADDRESS``. Worked
    out once per request."""
    cached = getattr(request.state, "caller_key", None)
    if cached is not None:
        return str(cached)
    token = _bearer(request)
    owner = _token_owner(request, token) if token else None
    if owner is None:
        owner = session_user_id(request)
    key = f"user:{owner}" if owner is not None else "addr:" + client_address(request)
    request.state.caller_key = key
    return key


def is_anonymous(request: Request) -> bool:
    """No valid token and no live session: the caller is only an address."""
    return caller_key(request).startswith("addr:")


def _refuse(wait: float, message: str) -> TooManyRequests:
    seconds = max(1, math.ceil(wait))
    return TooManyRequests(f"{message}; retry in {seconds} s.", seconds)


def _take(request: Request) -> None:
    limiter = limiter_of(request)
    wait = limiter.take(caller_key(request))
    if wait > 0:
        raise _refuse(wait, f"Too many requests: at most {limiter.per_minute:g} a minute")


async def rate_limited(request: Request) -> None:
    """App-wide dependency: every POST, PUT, PATCH and DELETE spends one token of its caller's bucket, or is
    refused with 429 and Retry-After. Reads are never limited (and cost no thread hop here)."""
    if request.method in LIMITED_METHODS:
        await run_in_threadpool(_take, request)


def check_auth_attempt(request: Request, kind: str, name: str) -> None:
    """Before a sign-up or log-in is tried: refuse (429) when this address has tried too often, when it made
    too many accounts in the last hour (sign-up), or while the name is backing off after failed log-ins."""
    guards = guards_of(request)
    address = client_address(request)
    wait = guards.auth_attempts.take(f"{kind}:{address}")
    if wait > 0:
        raise _refuse(wait, f"Too many {kind} attempts from this address")
    if kind == "signup":
        wait = guards.signups.peek(address)
        if wait > 0:
            per_hour = request.app.state.settings.signups_per_hour
            raise _refuse(wait, f"At most {per_hour} new accounts an hour from one address")
    else:
        wait = guards.login_failures.wait(_name_key(name))
        if wait > 0:
            raise _refuse(wait, "Too many failed log-ins for this name")


def record_signup(request: Request) -> None:
    guards_of(request).signups.take(client_address(request))


def record_login(request: Request, name: str, ok: bool) -> None:
    """A failed log-in makes the name wait longer before the next (after a few free ones); a success forgets."""
    guards = guards_of(request)
    if ok:
        guards.login_failures.forget(_name_key(name))
    else:
        guards.login_failures.fail(_name_key(name))


def _name_key(name: str) -> str:
    return "name:" + hashlib.sha256(name_key(name).encode()).hexdigest()[:32]
