"""The console's sections as the navigation shows them: each only to the roles that may open it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g

from flux_recon.services.users import Permission, can


@dataclass(frozen=True)
class Section:
    title: str
    endpoint: str
    permission: Permission = Permission.READ
    # Endpoints under this section, for aria-current.
    active: tuple[str, ...] = ()


# In the order they appear. A section whose views are not loaded is left out.
SECTIONS = [
    Section("Dashboard", "console.dashboard", active=("console.dashboard",)),
    Section("Review queue", "console.queue", active=("console.queue", "console.queue_item")),
    Section(
        "Orders",
        "console.orders",
        active=("console.orders", "console.order", "console.new_order", "console.edit_order"),
    ),
    Section("Payments", "console.payments", active=("console.payments", "console.payment")),
    Section("Inbox", "console.inbox", active=("console.inbox", "console.inbox_event")),
    Section("Integrations", "console.integrations", active=("console.integrations", "console.integration")),
    Section(
        "Outbound webhooks",
        "console.webhooks",
        active=(
            "console.webhooks",
            "console.webhook",
            "console.new_webhook",
            "console.edit_webhook",
            "console.update_webhook",
            "console.create_webhook",
        ),
    ),
    Section("Settlements", "console.settlements", active=("console.settlements", "console.settlement")),
    Section("Reports", "console.reports", active=("console.reports",)),
    Section("API keys", "console.api_keys_page", Permission.DEVELOP, active=("console.api_keys_page",)),
    Section("Users", "console.users_page", Permission.USERS, active=("console.users_page",)),
]


def nav_sections() -> list[Section]:
    role = g.console.user.role if g.get("console") else None
    endpoints = current_app.view_functions
    return [s for s in SECTIONS if s.endpoint in endpoints and role and can(role, s.permission)]
