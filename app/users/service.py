"""Users, API tokens and browser sessions. A token is shown once; only its SHA-256 is stored (tokens are
256-bit random, so a fast hash is enough: there is nothing to brute-force). A session's cookie is a random secret
too; the database keeps its keyed hash, so a copy of the database opens no session.

Passwords are hashed with argon2id, which is slow on purpose: at most ``PASSWORD_SLOTS`` hashes run at once in a
process, so a guessing loop waits for a slot (or gets 503) instead of taking every core from the pages."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from app.core.db.tables import ApiToken, User, utcnow
from app.core.errors import ServiceUnavailable
from app.users import repository as repo
from app.users.names import name_key

TOKEN_PREFIX = "aa_"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DEMO_USER = "demo"
BASELINE_USER = "archarena"
RESERVED_NAMES = frozenset({DEMO_USER, BASELINE_USER, "admin"})
MIN_PASSWORD = 8
TOUCH_EVERY = timedelta(minutes=1)  # how fresh a token's last_used_at (and a session's last_seen_at) is kept
SESSION_LIFETIME = timedelta(days=14)
MAX_LIVE_SESSIONS = 20
"""Browsers one user may be logged in on at once; a 21st log-in ends the least recently used."""
_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
PASSWORD_SLOTS = 2  # argon2 hashes at once per process
PASSWORD_WAIT_S = 5.0  # how long a log-in waits for a slot before 503
_password_slots = threading.BoundedSemaphore(PASSWORD_SLOTS)


class InvalidName(ValueError):
    pass


class WrongPassword(ValueError):
    """The current password given to change it was wrong."""


@contextmanager
def _password_slot() -> Iterator[None]:
    if not _password_slots.acquire(timeout=PASSWORD_WAIT_S):
        raise ServiceUnavailable("Too many log-ins at once; try again in a few seconds.", retry_after_s=5)
    try:
        yield
    finally:
        _password_slots.release()


def _hash_password(password: str) -> str:
    with _password_slot():
        return _hasher.hash(password)


def _verify_password(stored: str, password: str) -> bool:
    with _password_slot():
        try:
            return bool(_hasher.verify(stored, password))
        except (VerificationError, InvalidHashError):
            return False


class SignupError(ValueError):
    """Why a sign-up was refused, in words for the form."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_or_create_user(session: Session, name: str, *, is_admin: bool = False) -> User:
    if not USERNAME_RE.match(name):
        raise InvalidName(f"user name {name!r} must be 1-64 characters of letters, digits, '_', '.' or '-'")
    found = repo.get_user_by_name(session, name)
    if found is not None:
        return found
    alike = repo.get_user_by_key(session, name_key(name))
    if alike is not None:
        raise InvalidName(f"user name {name!r} is too like the existing user {alike.name!r}")
    return repo.add_user(session, name, is_admin=is_admin)


def set_admin(session: Session, name: str, is_admin: bool = True) -> User:
    user = get_or_create_user(session, name)
    user.is_admin = is_admin
    session.flush()
    return user


def create_token(session: Session, user_name: str, token_name: str = "default") -> str:
    """Create a token for the user (creating the user if needed) and return it; it is never shown again."""
    user = get_or_create_user(session, user_name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    repo.add_token(session, user, token_name[:64], hash_token(token), token[: len(TOKEN_PREFIX) + 4])
    return token


def _token_shape_ok(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and len(token) <= 200 and "\x00" not in token


def authenticate(session: Session, token: str) -> User | None:
    """The token's user; None for an unknown, revoked or banned token, or a banned user."""
    if not _token_shape_ok(token):
        return None
    found = repo.active_token_by_hash(session, hash_token(token))
    if found is None or found.user.banned_at is not None:
        return None
    last = found.last_used_at
    if last is None or datetime.now(UTC) - _aware(last) > TOUCH_EVERY:  # not a write on every request
        repo.touch_token(session, found.id)
    return found.user


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite returns naive UTC


def token_user_id(session: Session, token: str) -> int | None:
    """Whose active token this is (for the rate limit: one budget per user however many tokens), without
    touching it; None for anything that is not an active token."""
    if not _token_shape_ok(token):
        return None
    return repo.token_owner(session, hash_token(token))


def banned_reason(session: Session, token: str) -> str | None:
    """Why an admin banned this token or its user, if one did (a refused request should say so)."""
    if not _token_shape_ok(token):
        return None
    return repo.banned_reason_of(session, hash_token(token))


RESERVED_KEYS = frozenset(name_key(n) for n in RESERVED_NAMES)


def sign_up(session: Session, name: str, password: str) -> User:
    if not USERNAME_RE.match(name):
        raise SignupError("a user name is 1-64 characters of letters, digits, '_', '.' or '-'")
    key = name_key(name)
    alike = repo.get_user_by_key(session, key)
    if key in RESERVED_KEYS or alike is not None:
        too_like = f" (too like {alike.name!r})" if alike is not None and alike.name != name else ""
        raise SignupError(f"the name {name!r} is taken{too_like}")
    if len(password) < MIN_PASSWORD:
        raise SignupError(f"a password has at least {MIN_PASSWORD} characters")
    return repo.add_user(session, name, password_hash=_hash_password(password))


def log_in(session: Session, name: str, password: str) -> User | None:
    """The user when the password matches; None otherwise (with the same cost either way). The name is found
    by its skeleton, so 'Carol' logs in as 'carol'. A banned user is returned too: the caller says why."""
    user = repo.get_user_by_key(session, name_key(name)) if USERNAME_RE.match(name) else None
    if user is None or user.password_hash is None:
        _hash_password(password)  # equal work, so timing does not tell which names exist
        return None
    if not _verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        repo.set_password_hash(session, user.id, _hash_password(password))
    return user


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Set a new password (WrongPassword unless ``current`` is right); every session of the user ends, so a
    stolen cookie stops working with the old password."""
    if user.password_hash is None or not _verify_password(user.password_hash, current):
        raise WrongPassword("the current password is wrong")
    if len(new) < MIN_PASSWORD:
        raise SignupError(f"a password has at least {MIN_PASSWORD} characters")
    repo.set_password_hash(session, user.id, _hash_password(new))
    repo.end_user_sessions(session, user.id)


def ban_user(session: Session, user: User, reason: str | None) -> int:
    """Ban (reason given) or unban (None): a ban revokes every token and ends every session of the user.
    Returns the number of tokens revoked. The caller checks who may and writes the audit event."""
    revoked = repo.ban_user(session, user, reason)
    if reason is not None:
        repo.end_user_sessions(session, user.id)
    return revoked


def session_secret_hash(secret_key: str, cookie_value: str) -> str:
    return hmac.new(secret_key.encode(), cookie_value.encode(), hashlib.sha256).hexdigest()


def start_session(session: Session, user: User, secret_key: str) -> str:
    """A new browser session for the user; returns the cookie value (a random secret, shown to nobody else).
    The user's ended and expired sessions are deleted, and beyond ``MAX_LIVE_SESSIONS`` the least recently seen
    ones end: a log-in loop cannot grow the table without bound."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    repo.prune_web_sessions(session, user.id, now, keep=MAX_LIVE_SESSIONS - 1)
    repo.add_web_session(session, user.id, session_secret_hash(secret_key, value), now + SESSION_LIFETIME)
    return value


def session_user(session: Session, cookie_value: str, secret_key: str) -> User | None:
    """The user of a live session (not ended, not expired, user not banned); None for anything else."""
    if not cookie_value or len(cookie_value) > 128:
        return None
    now = utcnow()
    found = repo.live_web_session(session, session_secret_hash(secret_key, cookie_value), now)
    if found is None or found.user.banned_at is not None:
        return None
    if now - _aware(found.last_seen_at) > TOUCH_EVERY:
        repo.touch_web_session(session, found.id, now)
    return found.user


def end_session(session: Session, cookie_value: str, secret_key: str) -> None:
    if cookie_value and len(cookie_value) <= 128:
        repo.end_web_session(session, session_secret_hash(secret_key, cookie_value))


def end_all_sessions(session: Session, user: User) -> int:
    return repo.end_user_sessions(session, user.id)


def get_user(session: Session, user_id: int) -> User | None:
    return repo.get_user(session, user_id)


def get_user_by_name(session: Session, name: str) -> User | None:
    return repo.get_user_by_name(session, name) if USERNAME_RE.match(name) else None


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return repo.tokens_of(session, user.id)


def revoke_token(session: Session, user: User, token_id: int) -> bool:
    return repo.revoke_token(session, user.id, token_id)
