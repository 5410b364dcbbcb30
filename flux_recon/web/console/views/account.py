"""My account: password, two-factor enrolment, recovery codes and open sessions."""

from __future__ import annotations

import segno
from flask import current_app, flash, g, redirect, render_template, request, session, url_for

from flux_recon.services import console_sessions, users
from flux_recon.services.errors import DomainError
from flux_recon.services.users import Permission
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires, safe_next, timeouts


@bp.route("/account")
@requires(Permission.READ)
def account():
    signed = g.console
    return render_template(
        "console/account.html",
        user=signed.user,
        current_session=signed.session,
        sessions=console_sessions.list_open(signed.user, timeouts()),
        recovery_codes_left=console_sessions.recovery_codes_left(signed.user),
    )


@bp.route("/account/password", methods=["POST"])
@requires(Permission.READ)
def change_password():
    try:
        users.change_password(
            g.console.user,
            request.form.get("current_password", ""),
            request.form.get("new_password", ""),
            keep_session_id=g.console.session.id,
        )
    except DomainError as refused:
        flash(refused.message + _fields(refused), "error")
    else:
        flash("Password changed. Your other sessions were signed out.", "success")
    return redirect(url_for("console.account"))


@bp.route("/account/2fa", methods=["GET", "POST"])
@requires(Permission.READ)
def two_factor_setup():
    signed = g.console
    target = safe_next(request.args.get("next"), url_for("console.account"))
    if signed.user.totp_confirmed_at is not None:
        flash("Two-factor authentication is already set up.", "info")
        return redirect(target)
    secret_box = current_app.extensions["secret_box"]
    secret = console_sessions.enrolment_secret(signed.user, secret_box)
    error = None
    if request.method == "POST":
        try:
            codes = console_sessions.confirm_enrolment(signed, request.form.get("code", ""), secret_box)
        except DomainError as refused:
            error = refused.message
        else:
            return render_template("console/recovery_codes.html", codes=codes, next=target)
    uri = console_sessions.provisioning_uri(signed.user, secret)
    # An SVG drawn here, as a data: URI: no script, nothing fetched from elsewhere.
    qr = segno.make(uri, error="m").svg_data_uri(scale=4)
    return render_template("console/two_factor_setup.html", qr=qr, secret=secret, uri=uri, error=error), (
        200 if error is None else 422
    )


@bp.route("/account/recovery-codes", methods=["POST"])
@requires(Permission.READ, second_factor=True)
def regenerate_recovery_codes():
    codes = console_sessions.new_recovery_codes(g.console)
    return render_template("console/recovery_codes.html", codes=codes, next=url_for("console.account"))


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@requires(Permission.READ)
def sign_out_everywhere():
    users.sign_out_everywhere(g.console.user)
    session.clear()
    flash("Signed out of every session, this one included.", "info")
    return redirect(url_for("console.login"))


def _fields(refused: DomainError) -> str:
    return "".join(f" {name.replace('_', ' ')} {', '.join(messages)}." for name, messages in refused.fields.items())
