"""Every console action against every role, from the routes the app has: a role outside an area gets 403,
whatever the form; the sections that need a fresh second factor ask for it on every page and action."""

import pytest
from flask import url_for

from tests.console_helpers import csrf_token, enrol_second_factor, make_user, sign_in

# The areas as issue 18 splits them, by address (a new area must be added here, or the test fails).
AREAS = {
    "money": ("/console/orders", "/console/payments", "/console/queue", "/console/settlements", "/console/exports"),
    "develop": ("/console/integrations", "/console/webhooks", "/console/inbox", "/console/api-keys"),
    "owner": ("/console/users", "/console/settings"),
}
ROLE_AREAS = {"viewer": set(), "finance": {"money"}, "developer": {"develop"}}
# What every signed-in person does for themselves.
SELF_SERVICE = {
    "console.login",
    "console.logout",
    "console.second_factor",
    "console.accept_invitation",
    "console.change_password",
    "console.two_factor_setup",
    "console.regenerate_recovery_codes",
    "console.sign_out_everywhere",
}
SECOND_FACTOR_SECTIONS = ("/console/integrations", "/console/webhooks", "/console/api-keys", "/console/users")


def _area(path: str) -> str:
    found = [area for area, prefixes in AREAS.items() if path.startswith(prefixes)]
    assert found, f"{path} is in no area: say which roles may use it"
    return found[0]


def _paths(app, method: str) -> list[tuple[str, str]]:
    """(endpoint, path) of each console route taking ``method``, with 1 for each variable part."""
    paths = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith("console.") and method in rule.methods and rule.endpoint != "console.static":
                if rule.endpoint not in SELF_SERVICE and rule.endpoint != "console.not_found":
                    paths.append((rule.endpoint, url_for(rule.endpoint, **dict.fromkeys(rule.arguments, 1))))
    return sorted(paths)


@pytest.mark.parametrize("role", sorted(ROLE_AREAS))
def test_every_action_outside_a_roles_areas_is_refused_with_403(app, client, tenant, role):
    make_user(app, tenant["tenant_id"], f"{role}@example.com", role)
    sign_in(client, f"{role}@example.com")
    token = csrf_token(client, "/console/account")
    posts = _paths(app, "POST")
    assert len(posts) > 30  # the sections are all loaded
    for endpoint, path in posts:
        answer = client.post(path, data={"csrf_token": token, "role": "owner", "label": "x", "scope": "write"})
        if _area(path) in ROLE_AREAS[role]:
            assert answer.status_code not in (403, 500), (endpoint, answer.status_code)
        else:
            assert answer.status_code == 403, (endpoint, answer.status_code)
    # Refused, not done: the viewer is still a viewer and no key was made.
    assert client.get("/console/").status_code == 200


def test_every_page_and_action_of_the_sensitive_sections_needs_a_second_factor(app, client, tenant):
    make_user(app, tenant["tenant_id"], "owner@example.com", "owner")
    sign_in(client, "owner@example.com")
    token = csrf_token(client, "/console/account")
    sensitive = [(m, e, p) for m in ("GET", "POST") for e, p in _paths(app, m) if p.startswith(SECOND_FACTOR_SECTIONS)]
    assert len(sensitive) > 20
    for method, endpoint, path in sensitive:
        answer = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert answer.status_code == 302, (endpoint, answer.status_code)
        assert "/console/account/2fa?next=" in answer.headers["Location"], endpoint
    # Enrolled (a fresh factor): the same pages open.
    enrol_second_factor(app, client, "owner@example.com")
    for section in SECOND_FACTOR_SECTIONS:
        assert client.get(section).status_code == 200, section
