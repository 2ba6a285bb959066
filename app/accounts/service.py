"""Users and API tokens. A token is shown once; only its SHA-256 is stored (tokens are 256-bit random,
so a fast hash is enough: there is nothing to brute-force)."""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy.orm import Session

from app.accounts import repository as repo
from app.db.tables import User

TOKEN_PREFIX = "aa_"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
DEMO_USER = "demo"
BASELINE_USER = "archarena"


class InvalidName(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_or_create_user(session: Session, name: str, *, is_admin: bool = False) -> User:
    if not USERNAME_RE.match(name):
        raise InvalidName(f"user name {name!r} must be 1-64 characters of letters, digits, '_', '.' or '-'")
    return repo.get_user_by_name(session, name) or repo.add_user(session, name, is_admin=is_admin)


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
    repo.touch_token(session, found.id)
    return found.user
