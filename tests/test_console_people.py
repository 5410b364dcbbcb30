"""Console users and API keys: invitations, roles in force at once, removal, scoped keys, server-side checks."""

import contextlib
import json
import re
import threading

import pytest

from flux_recon.cli import cli
from flux_recon.models import ConsoleUser, db
from flux_recon.services import api_keys, users
from flux_recon.services.errors import Conflict
from flux_recon.services.users import create_user
from tests.console_helpers import PASSWORD, enrol_second_factor, make_user, sign_in, submit


@pytest.fixture
def owner_client(app, client, tenant):
    make_user(app, tenant["tenant_id"], "owner@example.com", "owner")
    sign_in(client, "owner@example.com")
    enrol_second_factor(app, client, "owner@example.com")
    return client


def test_users_need_a_second_factor_first(app, client, tenant):
    make_user(app, tenant["tenant_id"], "owner@example.com", "owner")
    sign_in(client, "owner@example.com")
    response = client.get("/console/users")
    assert response.status_code == 302 and "/console/account/2fa" in response.headers["Location"]


def test_an_invitation_link_makes_a_user_with_its_role_once(app, owner_client):
    page = submit(owner_client, "/console/users/invitations", {"role": "finance"}, form_at="/console/users")
    assert page.status_code == 200
    link = re.search(r'id="invitation-link" readonly value="([^"]+)"', page.get_data(as_text=True)).group(1)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]

    newcomer = app.test_client()
    joined = submit(newcomer, path, {"email": "Fin@Example.com", "password": PASSWORD})
    assert joined.status_code == 302
    assert newcomer.get("/console/").status_code == 200
    with app.app_context():
        assert ConsoleUser.get(ConsoleUser.email == "fin@example.com").role == "finance"
    db.close()
    assert app.test_client().get(path).status_code == 404  # used: gone


def test_a_viewer_is_refused_every_write_with_403(app, client, tenant):
    make_user(app, tenant["tenant_id"], "viewer@example.com", "viewer")
    sign_in(client, "viewer@example.com")
    assert client.get("/console/").status_code == 200
    for path in ("/console/users/invitations", "/console/api-keys", "/console/users/1/remove"):
        refused = submit(client, path, {"role": "owner", "label": "x", "scope": "write"}, form_at="/console/")
        assert refused.status_code == 403, path


def test_a_role_change_and_a_removal_take_effect_on_the_next_request(app, owner_client, tenant):
    user_id = make_user(app, tenant["tenant_id"], "dev@example.com", "developer")
    developer = app.test_client()
    sign_in(developer, "dev@example.com")
    assert developer.get("/console/").status_code == 200

    submit(owner_client, f"/console/users/{user_id}/role", {"role": "viewer"}, form_at="/console/users")
    with app.app_context():
        assert ConsoleUser.get_by_id(user_id).role == "viewer"
    db.close()
    refused = submit(developer, "/console/api-keys", {"label": "x", "scope": "write"}, form_at="/console/")
    assert refused.status_code == 403

    submit(owner_client, f"/console/users/{user_id}/remove", {}, form_at="/console/users")
    assert developer.get("/console/").status_code == 302


def test_the_last_owner_cannot_be_removed_or_demoted(app, owner_client):
    with app.app_context():
        owner_id = ConsoleUser.get(ConsoleUser.email == "owner@example.com").id
    db.close()
    submit(owner_client, f"/console/users/{owner_id}/role", {"role": "viewer"}, form_at="/console/users")
    page = owner_client.get("/console/users")
    assert "the last owner cannot be given another role" in page.get_data(as_text=True)
    with app.app_context():
        assert ConsoleUser.get_by_id(owner_id).role == "owner"
    db.close()


def test_a_read_key_made_in_the_console_reads_but_cannot_write(app, owner_client, client):
    page = submit(owner_client, "/console/api-keys", {"label": "reporting", "scope": "read"})
    value = re.search(r'id="api-key-value" readonly value="([^"]+)"', page.get_data(as_text=True)).group(1)
    headers = {"Authorization": f"Bearer {value}"}
    api = app.test_client()
    assert api.get("/api/v1/orders", headers=headers).status_code == 200
    order = {"reference": "INV-1", "amount": "10.00", "currency": "NGN"}
    assert api.post("/api/v1/orders", json=order, headers=headers).status_code == 403
    listing = owner_client.get("/console/api-keys").get_data(as_text=True)
    assert value not in listing and value[:10] in listing


def test_users_and_api_keys_are_listed_a_page_at_a_time(app, owner_client, tenant):
    with app.app_context():
        for number in range(30):
            api_keys.create_key(tenant["tenant_id"], f"key {number:02d}", "read", "test")
            create_user(tenant["tenant_id"], f"user{number:02d}@example.com", "viewer", PASSWORD, "test")
    db.close()
    first = owner_client.get("/console/api-keys").get_data(as_text=True)
    # Active keys first, newest first; 31 in all with the tenant's first key.
    assert "key 29" in first and "key 05" in first and "key 04" not in first
    assert "Page 1 of 2 (31 in all)" in first
    second = owner_client.get("/console/api-keys?page=2").get_data(as_text=True)
    assert "key 04" in second and "key 29" not in second
    people = owner_client.get("/console/users").get_data(as_text=True)
    assert "Page 1 of 2 (31 in all)" in people
    assert "user23@example.com" in people and "user24@example.com" not in people
    assert "user24@example.com" in owner_client.get("/console/users?page=2").get_data(as_text=True)


def test_two_owners_removing_each_other_at_once_leave_one_owner(app, tenant, monkeypatch):
    first = make_user(app, tenant["tenant_id"], "first@example.com", "owner")
    second = make_user(app, tenant["tenant_id"], "second@example.com", "owner")
    both_counted = threading.Barrier(2, timeout=3)
    real_owners = users._owners

    def owners_then_wait(tenant_id):
        counted = real_owners(tenant_id)
        # Each sees two owners before either removal lands, unless the count waits its turn.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_counted.wait()
        return counted

    monkeypatch.setattr(users, "_owners", owners_then_wait)
    outcomes = []

    def remove(user_id, actor_id):
        with db.connection_context():
            try:
                users.remove_user(tenant["tenant_id"], user_id, f"user:{actor_id}")
                outcomes.append("removed")
            except Conflict:
                outcomes.append("refused")

    threads = [threading.Thread(target=remove, args=pair) for pair in ((second, first), (first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused", "removed"]
    with app.app_context():
        assert ConsoleUser.select().where(ConsoleUser.role == "owner").count() == 1
    db.close()


def test_the_cli_makes_the_first_owner_and_names_what_is_wrong(app, runner, tenant):
    args = ["users", "create", "--tenant", tenant["tenant_id"], "--email", "First@Example.com", "--role", "owner"]
    made = runner.invoke(cli, [*args, "--password-stdin"], input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    printed = json.loads(made.output)
    assert printed["email"] == "first@example.com" and printed["role"] == "owner"
    with app.app_context():
        assert ConsoleUser.get_by_id(printed["user_id"]).tenant_id == tenant["tenant_id"]
    db.close()
    again = runner.invoke(cli, [*args, "--password-stdin"], input=PASSWORD + "\n")
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(cli, [*args[:5], "other@example.com", *args[6:], "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "password: must be 12" in short.output
    # Never from an argument, where the process list and shell history would keep it.
    assert runner.invoke(cli, args).exit_code == 2
