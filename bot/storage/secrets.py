"""Encryption of panel API keys at rest, and the bot's own secret key."""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger(__name__)


class SecretDecryptError(Exception):
    """A stored secret cannot be decrypted (wrong secret key or damaged data)."""


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) around text secrets."""

    __slots__ = ("_fernet",)

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(_validated_key(key, "the secret key"))

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except (InvalidToken, UnicodeDecodeError):
            raise SecretDecryptError(
                "cannot decrypt a stored secret: the secret key differs from the one it was "
                "encrypted with, or the data is damaged"
            ) from None

    @staticmethod
    def fingerprint(secret: str) -> str:
        """A short stable identifier of a secret that does not reveal it."""
        return hashlib.sha256(secret.encode()).hexdigest()[:16]


def _validated_key(key: bytes, what: str) -> bytes:
    key = key.strip()
    try:
        raw = base64.b64decode(key, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        # The value itself is never part of the message: it is a secret.
        raise ValueError(f"{what} is not a Fernet key (32 bytes, url-safe base64)")
    return key


def load_or_create_secret_key(configured: str | None, key_file: Path) -> bytes:
    """The configured key, else the one in key_file, else a new one saved there (mode 0600)."""
    if configured:
        return _validated_key(configured.encode(), "the configured secret key")
    if key_file.exists():
        mode = key_file.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("secret key file %s is readable by others (mode %o)", key_file, mode)
        return _validated_key(key_file.read_bytes(), f"the secret key file {key_file}")
    key = Fernet.generate_key()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 from the first instant (O_EXCL: never reuse a file someone else made).
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    log.info("generated a new secret key in %s", key_file)
    return key
