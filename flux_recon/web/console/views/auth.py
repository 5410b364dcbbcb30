"""Signing in and out, the second factor at sign-in or when a section asks again, and joining by invitation."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for

from flux_recon.services import console_sessions, users
from flux_recon.services.errors import DomainError
from flux_recon.services.users import Permission
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import client_address, requires, safe_next


def _start_session(user) -> None:
    if g.console is not None:
        # Signing in (or joining) over a live session ends it: it is not left open behind the new cookie.
        console_sessions.end(g.console.session)
    signed_session, token = console_sessions.start(user, client_address(), request.headers.get("User-Agent", ""))
    # A new cookie for a new session: nothing from before sign-in carries over.
    session.clear()
    session["sid"] = token


@bp.route("/login", methods=["GET", "POST"])
def login():
    if g.console is not None and request.method == "GET":
        return redirect(url_for("console.dashboard"))
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")
        try:
            user = users.authenticate(email, request.form.get("password", ""))
        except users.SignInRefused as refused:
            error = refused.message
        else:
            _start_session(user)
            target = safe_next(request.args.get("next"), url_for("console.dashboard"))
            if user.totp_confirmed_at is not None:
                return redirect(url_for("console.second_factor", next=target))
            return redirect(target)
    return render_template("console/login.html", error=error), 200 if error is None else 401


@bp.route("/logout", methods=["POST"])
@requires(Permission.READ)
def logout():
    console_sessions.end(g.console.session)
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("console.login"))


@bp.route("/2fa", methods=["GET", "POST"])
@requires(Permission.READ)
def second_factor():
    """The code (or a recovery code) at sign-in, and again when a section needs a fresh one."""
    signed = g.console
    target = safe_next(request.args.get("next"), url_for("console.dashboard"))
    if signed.user.totp_confirmed_at is None:
        return redirect(url_for("console.two_factor_setup", next=target))
    error = None
    if request.method == "POST":
        try:
            how = console_sessions.verify_second_factor(
                signed, request.form.get("code", ""), current_app.extensions["secret_box"]
            )
        except DomainError as refused:
            error = refused.message
        else:
            if how == "recovery_code":
                left = console_sessions.recovery_codes_left(signed.user)
                flash(f"Recovery code used: it will not work again. {left} left.", "warning")
            return redirect(target)
    return render_template("console/second_factor.html", error=error), 200 if error is None else 401


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    invitation = users.open_invitation(token)
    errors = {}
    if request.method == "POST":
        try:
            user = users.accept_invitation(token, request.form.get("email", ""), request.form.get("password", ""))
        except DomainError as refused:
            errors = refused.fields or {"": [refused.message]}
        else:
            _start_session(user)
            flash("Welcome. Your account is ready.", "success")
            return redirect(url_for("console.dashboard"))
    return render_template("console/invitation.html", invitation=invitation, errors=errors), 422 if errors else 200


@bp.route("/<path:anything>")
def not_found(anything):
    """Any other console address: the console's own 404 page, not the API's JSON."""
    abort(404)
