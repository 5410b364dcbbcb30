"""Encryption at rest for stored secrets (Fernet), keyed by FLUX_RECON_SECRET_KEY."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretKeyError(RuntimeError):
    """SECRET_KEY is missing or not a Fernet key."""


class SecretBox:
    """Encrypts and decrypts secrets. Extra ``old_keys`` still decrypt (key rotation)."""

    def __init__(self, key: str, old_keys: tuple[str, ...] = ()):
        try:
            self._fernet = MultiFernet([Fernet(k) for k in (key, *old_keys)])
        except (ValueError, TypeError):
            raise SecretKeyError(
                "SECRET_KEY must be a Fernet key (32 url-safe base64-encoded bytes); "
                "make one with: flux-recon secrets generate-key"
            ) from None

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def rotate(self, token: str) -> str:
        """Re-encrypt a token with the current key (it may have been made with an old one)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyError("a stored secret cannot be decrypted with SECRET_KEY or OLD_SECRET_KEYS") from None

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretKeyError("a stored secret cannot be decrypted with the configured SECRET_KEY") from None


def generate_key() -> str:
    return Fernet.generate_key().decode()


def instance_key(instance_path: str) -> str:
    """The development default: a key generated once into the instance folder (mode 0600)."""
    path = Path(instance_path) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write aside, then link into place: several gunicorn workers may start at once,
        # and none may read a half-written file or overwrite another's key.
        tmp = path.with_name(f".secret.key.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_key())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def init_app(app) -> None:
    key = app.config.get("SECRET_KEY") or instance_key(app.instance_path)
    old_keys = app.config.get("OLD_SECRET_KEYS") or ()
    if isinstance(old_keys, str):
        old_keys = [k.strip() for k in old_keys.split(",") if k.strip()]
    app.extensions["secret_box"] = SecretBox(key, tuple(old_keys))
