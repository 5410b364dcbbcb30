"""Driving the console with Flask's test client as a browser would: read the form's CSRF token, post it back."""

from __future__ import annotations

import re

import pyotp

from flux_recon.models import ConsoleUser, db
from flux_recon.services.users import create_user

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def csrf_token(client, path: str) -> str:
    page = client.get(path)
    found = CSRF.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def submit(client, path: str, data: dict, *, form_at: str | None = None, **kwargs):
    """POST ``data`` to ``path`` with the CSRF token of the page ``form_at`` (default: path)."""
    return client.post(path, data={"csrf_token": csrf_token(client, form_at or path), **data}, **kwargs)


def make_user(app, tenant_id: str, email: str, role: str, password: str = PASSWORD) -> int:
    with app.app_context():
        user = create_user(tenant_id, email, role, password, actor="test")
    db.close()
    return user.id


def sign_in(client, email: str, password: str = PASSWORD):
    return submit(client, "/console/login", {"email": email, "password": password}, form_at="/console/login")


def totp_secret(app, email: str) -> str:
    with app.app_context():
        user = ConsoleUser.get(ConsoleUser.email == email)
        secret = app.extensions["secret_box"].decrypt(user.totp_secret_encrypted)
    db.close()
    return secret


def enrol_second_factor(app, client, email: str) -> list[str]:
    """Turn on TOTP for the signed-in ``email``; returns the recovery codes shown."""
    client.get("/console/account/2fa")
    code = pyotp.TOTP(totp_secret(app, email)).now()
    page = submit(client, "/console/account/2fa", {"code": code})
    assert page.status_code == 200, page.get_data(as_text=True)
    return re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", page.get_data(as_text=True))
