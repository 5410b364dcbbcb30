"""Who is signed in to the console and what they may do: cookie, CSRF, roles, second factor, headers, error pages."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from flux_recon.core.secret_box import instance_key
from flux_recon.services import console_sessions
from flux_recon.services.errors import DomainError
from flux_recon.services.users import Permission, can
from flux_recon.web.client_ip import client_ip, from_trusted_proxy
from flux_recon.web.console.blueprint import bp

log = logging.getLogger(__name__)
csrf = CSRFProtect()
PREFIX = "/console"
# Views anyone may open (the rest need a signed-in user with a permission).
PUBLIC = {"console.login", "console.accept_invitation", "console.static", "console.not_found"}
SECURITY_HEADERS = {
    # No inline script anywhere: the console's JavaScript is in files it serves itself.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class ConsoleSessions(SecureCookieSessionInterface):
    """A signed cookie only under /console (it holds the database session's token and the
    CSRF token); every other path keeps no session, as before. ``Secure`` is set when the
    request came over HTTPS, directly or through a trusted proxy."""

    salt = "flux-recon-console"

    def __init__(self, signing_key: str):
        self.signing_key = signing_key

    def get_signing_serializer(self, app):
        return URLSafeTimedSerializer(
            self.signing_key,
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )

    def open_session(self, app, request):
        if not request.path.startswith(PREFIX + "/"):
            return None
        return super().open_session(app, request)

    def get_cookie_path(self, app):
        return PREFIX

    def get_cookie_samesite(self, app):
        return "Lax"

    def get_cookie_secure(self, app):
        return served_over_https()


def served_over_https() -> bool:
    if request.scheme == "https":
        return True
    # X-Forwarded-Proto is believed only from a proxy the operator named as trusted.
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return forwarded == "https" and from_trusted_proxy(
        request.remote_addr or "", current_app.extensions["trusted_proxies"]
    )


def timeouts() -> console_sessions.Timeouts:
    config = current_app.config
    return console_sessions.Timeouts(
        idle=dt.timedelta(minutes=config["CONSOLE_IDLE_MINUTES"]),
        absolute=dt.timedelta(hours=config["CONSOLE_ABSOLUTE_HOURS"]),
        second_factor=dt.timedelta(minutes=config["CONSOLE_SECOND_FACTOR_MINUTES"]),
    )


def requires(permission: Permission = Permission.READ, *, second_factor: bool = False):
    """Mark a view with what it needs: a permission of the user's role and, for the
    sensitive sections, a second factor passed in this session within the configured time.
    Every console view must carry this (or be PUBLIC): the guard refuses one that does not."""

    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            return view(*args, **kwargs)

        wrapped.console_permission = permission
        wrapped.console_second_factor = second_factor
        return wrapped

    return decorate


def _guard():
    """before_request: the signed-in user, then the checks the view declared."""
    g.console = console_sessions.resume(session.get("sid"), timeouts())
    endpoint = request.endpoint or "console.not_found"
    if endpoint in PUBLIC:
        return None
    view = current_app.view_functions.get(endpoint)
    permission = getattr(view, "console_permission", None)
    if permission is None:
        # A view nobody declared a permission for is refused, never open by omission.
        log.error("console view %s declares no permission", endpoint)
        abort(403)
    signed = g.console
    if signed is None:
        if request.method == "GET":
            return redirect(url_for("console.login", next=_here()))
        abort(401)
    g.tenant = signed.user.tenant
    g.actor = f"user:{signed.user.id}"
    if signed.needs_second_factor and endpoint not in ("console.second_factor", "console.logout"):
        return redirect(url_for("console.second_factor", next=_here()))
    if not can(signed.user.role, permission):
        abort(403)
    if getattr(view, "console_second_factor", False):
        if signed.user.totp_confirmed_at is None:
            flash("This section needs two-factor authentication: set it up first.", "warning")
            return redirect(url_for("console.two_factor_setup", next=_here()))
        if not signed.second_factor_fresh(timeouts()):
            if request.method != "GET":
                flash("Your form was not sent: enter your code, then send it again.", "warning")
            return redirect(url_for("console.second_factor", next=_here()))
    return None


def _here() -> str:
    """Where to come back to: this page, or for a form's action (which answers no GET) the
    page the form was on."""
    if request.method != "GET":
        referrer = urlsplit(request.referrer or "")
        page = referrer.path + (f"?{referrer.query}" if referrer.query else "")
        same_site = referrer.netloc == request.host
        return safe_next(page if same_site else None, url_for("console.dashboard"))
    return request.full_path.rstrip("?") if request.query_string else request.path


def safe_next(target: str | None, default: str) -> str:
    """Where to go after signing in: only a path in the console, never another site."""
    # Control characters: a header cannot carry them, and browsers drop some before parsing.
    if not target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/") or "\\" in target:
        return default
    return target


def _protect():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def _headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _error_page(status: int, title: str, message: str):
    return render_template("console/error.html", status=status, title=title, message=message), status


def _handle_http(error: HTTPException):
    messages = {
        401: "Sign in to continue.",
        403: "Your role does not allow this. Ask an owner if you need it.",
        404: "There is nothing here.",
        405: "That action cannot be done this way.",
        429: "Too many attempts. Wait a minute and try again.",
    }
    return _error_page(error.code or 500, error.name, messages.get(error.code, error.description))


def _handle_csrf(error: CSRFError):
    return _error_page(400, "Form expired", "The form was missing its security token or it expired. Reload the page.")


def _handle_domain(error: DomainError):
    # A view that does not catch a refusal itself shows it on the error page.
    from flux_recon.web.api import DOMAIN_ERROR_STATUS

    status = next((DOMAIN_ERROR_STATUS[kind] for kind in type(error).__mro__ if kind in DOMAIN_ERROR_STATUS), 409)
    return _error_page(status, "Not possible", error.message)


def _handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return _handle_http(error)
    from flux_recon.web.api import UNAVAILABLE_ERRORS

    if isinstance(error, UNAVAILABLE_ERRORS):
        return _error_page(503, "Unavailable", "The database is unavailable. Try again in a moment.")
    log.exception("console error")
    return _error_page(500, "Something went wrong", "The error was logged. Try again, or tell your operator.")


def signing_key(app) -> str:
    """A key of its own for console cookies and CSRF tokens, derived from SECRET_KEY."""
    key = app.config.get("SECRET_KEY") or instance_key(app.instance_path)
    return hmac.new(key.encode(), b"flux-recon console cookies", hashlib.sha256).hexdigest()


# Set up once, on the blueprint every app registers.
bp.before_request(_guard)
bp.before_request(_protect)
bp.after_request(_headers)
bp.register_error_handler(CSRFError, _handle_csrf)
bp.register_error_handler(DomainError, _handle_domain)
bp.register_error_handler(HTTPException, _handle_http)
bp.register_error_handler(Exception, _handle_unexpected)


def init_app(app) -> None:
    key = signing_key(app)
    app.session_interface = ConsoleSessions(key)
    # CSRF is checked by the console alone: the REST API and webhooks carry no cookies.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config["WTF_CSRF_SECRET_KEY"] = key
    csrf.init_app(app)


def client_address() -> str:
    """The person's address: the socket peer, or X-Forwarded-For's from a trusted proxy."""
    peer = request.remote_addr or ""
    try:
        return str(client_ip(peer, request.headers.get("X-Forwarded-For"), current_app.extensions["trusted_proxies"]))
    except ValueError:  # not an IP address (a Unix socket): the peer as it is
        return peer


def limit_sign_in(app) -> None:
    """Throttle sign-in attempts per address (after the blueprint is registered)."""
    limiter = app.extensions.get("rate_limiter")
    if limiter is not None:
        # Per client address, before the per-account lock-out the domain keeps. The limiter
        # checks inside the wrapper it returns, so the wrapper must replace the view.
        app.view_functions["console.login"] = limiter.limit(
            lambda: app.config["CONSOLE_SIGN_IN_RATE_LIMIT"],
            methods=["POST"],
            key_func=lambda: "console-sign-in:" + client_address(),
        )(app.view_functions["console.login"])
