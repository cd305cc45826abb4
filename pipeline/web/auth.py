"""Who is asking: passwords (argon2), API tokens (stored as SHA-256), roles, signed session
cookies and the session secret. Pure functions apart from ``session_secret``, which reads
or creates the secret file."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..errors import ConfigError

ROLES = ("viewer", "analyst", "admin")
"""Each role may do what the roles before it may."""
SESSION_COOKIE = "wirewatch_session"
SESSION_MAX_AGE = 14 * 24 * 3600
SECRET_ENV = "WIREWATCH_SESSION_SECRET"
SECRET_FILE = "web-session-secret"
TOKEN_PREFIX = "ww_"

_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
"""OWASP's recommended argon2id setting (19 MiB, 2 passes, 1 lane): tens of milliseconds
per sign-in on a small server, which is also what makes guessing expensive."""


@dataclass(frozen=True)
class Principal:
    """The signed-in user or the token's owner."""

    name: str
    role: str
    via: str = "session"
    """``session`` (a browser: CSRF applies) or ``token`` (a script)."""
    csrf: str = ""

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
    return role


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> None:
    """Spend the same time for an unknown user as for a wrong password."""
    verify_password(_DUMMY_HASH, password)


_DUMMY_HASH = _hasher.hash("not a password anyone has")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class SessionCodec:
    """Signs and reads the session cookie: ``{"user": name, "csrf": token}``."""

    secret: str

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt="wirewatch-session")

    def dump(self, user: str) -> str:
        return self._serializer().dumps({"user": user, "csrf": secrets.token_urlsafe(24)})

    def load(self, cookie: str | None) -> dict[str, str] | None:
        if not cookie:
            return None
        try:
            data = self._serializer().loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not {"user", "csrf"} <= set(data):
            return None
        return {"user": str(data["user"]), "csrf": str(data["csrf"])}


def same_token(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected, given)


def session_secret(data_directory: Path, environ: dict[str, str] | None = None) -> str:
    """The secret from ``WIREWATCH_SESSION_SECRET``, else from the data directory's
    ``web-session-secret`` (created 0600 on first use)."""
    environ = os.environ if environ is None else environ
    given = environ.get(SECRET_ENV, "").strip()
    if given:
        return given
    path = data_directory / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_directory.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret
