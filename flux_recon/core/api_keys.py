"""Merchant API keys: how one is made and the only form of it that is stored (SHA-256)."""

import hashlib
import secrets

API_KEY_PREFIX = "frk_"


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)
