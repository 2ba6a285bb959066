"""Users and API tokens. A token is shown once; only its SHA-256 is stored (tokens are 256-bit random,
so a fast hash is enough: there is nothing to brute-force)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from app.core.db.tables import ApiToken, User
from app.users import repository as repo

TOKEN_PREFIX = "aa_"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DEMO_USER = "demo"
BASELINE_USER = "archarena"
RESERVED_NAMES = frozenset({DEMO_USER, BASELINE_USER, "admin"})
MIN_PASSWORD = 8
TOUCH_EVERY = timedelta(minutes=1)  # how fresh a token's last_used_at is kept
_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters


class InvalidName(ValueError):
    pass


class SignupError(ValueError):
    """Why a sign-up was refused, in words for the form."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_or_create_user(session: Session, name: str, *, is_admin: bool = False) -> User:
    if not USERNAME_RE.match(name):
        raise InvalidName(f"user name {name!r} must be 1-64 characters of letters, digits, '_', '.' or '-'")
    return repo.get_user_by_name(session, name) or repo.add_user(session, name, is_admin=is_admin)


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


def authenticate(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    found = repo.active_token_by_hash(session, hash_token(token))
    if found is None:
        return None
    last = found.last_used_at
    if last is None or datetime.now(UTC) - _aware(last) > TOUCH_EVERY:  # not a write on every request
        repo.touch_token(session, found.id)
    return found.user


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite returns naive UTC


def banned_reason(session: Session, token: str) -> str | None:
    """Why an admin banned this token, if one did (a refused request should say so)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    return repo.banned_reason_of(session, hash_token(token))


def sign_up(session: Session, name: str, password: str) -> User:
    if not USERNAME_RE.match(name):
        raise SignupError("a user name is 1-64 characters of letters, digits, '_', '.' or '-'")
    if name.lower() in RESERVED_NAMES or repo.get_user_by_name(session, name) is not None:
        raise SignupError(f"the name {name!r} is taken")
    if len(password) < MIN_PASSWORD:
        raise SignupError(f"a password has at least {MIN_PASSWORD} characters")
    return repo.add_user(session, name, password_hash=_hasher.hash(password))


def log_in(session: Session, name: str, password: str) -> User | None:
    """The user when the password matches; None otherwise (with the same cost either way)."""
    user = repo.get_user_by_name(session, name) if USERNAME_RE.match(name) else None
    if user is None or user.password_hash is None:
        _hasher.hash(password)  # equal work, so timing does not tell which names exist
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        repo.set_password_hash(session, user.id, _hasher.hash(password))
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return repo.get_user(session, user_id)


def get_user_by_name(session: Session, name: str) -> User | None:
    return repo.get_user_by_name(session, name) if USERNAME_RE.match(name) else None


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return repo.tokens_of(session, user.id)


def revoke_token(session: Session, user: User, token_id: int) -> bool:
    return repo.revoke_token(session, user.id, token_id)
