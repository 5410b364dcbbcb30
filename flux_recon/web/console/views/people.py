"""Users and API keys: who may use the console and the REST API (owners and developers, with a fresh second factor)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from flux_recon.services import api_keys, users
from flux_recon.services.errors import DomainError
from flux_recon.services.users import Permission, Role
from flux_recon.web.console.blueprint import bp
from flux_recon.web.console.guard import requires
from flux_recon.web.console.paging import Page


def _refused(refused: DomainError) -> None:
    details = "".join(f" {name}: {', '.join(messages)}." for name, messages in refused.fields.items())
    flash(refused.message + details, "error")


@bp.route("/users")
@requires(Permission.USERS, second_factor=True)
def users_page():
    page = Page(users.list_users(g.tenant.id), "console.users_page")
    return render_template("console/users.html", users=page.items, page=page, roles=list(Role))


@bp.route("/users/invitations", methods=["POST"])
@requires(Permission.USERS, second_factor=True)
def invite_user():
    try:
        invitation, token = users.invite(g.tenant.id, request.form.get("role", ""), g.actor)
    except DomainError as refused:
        _refused(refused)
        return redirect(url_for("console.users_page"))
    link = url_for("console.accept_invitation", token=token, _external=True)
    return render_template("console/invitation_link.html", link=link, invitation=invitation)


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@requires(Permission.USERS, second_factor=True)
def change_role(user_id):
    try:
        user = users.change_role(g.tenant.id, user_id, request.form.get("role", ""), g.actor)
    except DomainError as refused:
        _refused(refused)
    else:
        flash(f"{user.email} is now {user.role}.", "success")
    return redirect(url_for("console.users_page"))


@bp.route("/users/<int:user_id>/remove", methods=["POST"])
@requires(Permission.USERS, second_factor=True)
def remove_user(user_id):
    try:
        users.remove_user(g.tenant.id, user_id, g.actor)
    except DomainError as refused:
        _refused(refused)
    else:
        flash("User removed; their sessions have ended.", "success")
    return redirect(url_for("console.users_page"))


@bp.route("/api-keys")
@requires(Permission.DEVELOP, second_factor=True)
def api_keys_page():
    page = Page(api_keys.list_keys(g.tenant.id), "console.api_keys_page")
    return render_template("console/api_keys.html", keys=page.items, page=page, scopes=list(api_keys.Scope))


@bp.route("/api-keys", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def create_api_key():
    try:
        key, value = api_keys.create_key(
            g.tenant.id, request.form.get("label", ""), request.form.get("scope", ""), g.actor
        )
    except DomainError as refused:
        _refused(refused)
        return redirect(url_for("console.api_keys_page"))
    return render_template("console/api_key_created.html", key=key, value=value)


@bp.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@requires(Permission.DEVELOP, second_factor=True)
def revoke_api_key(key_id):
    try:
        api_keys.revoke_key(g.tenant.id, key_id, g.actor)
    except DomainError as refused:
        _refused(refused)
    else:
        flash("API key revoked: requests with it are refused from now on.", "success")
    return redirect(url_for("console.api_keys_page"))
