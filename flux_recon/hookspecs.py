"""The pluggy markers and every flux_recon_* hook a plugin may implement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("flux_recon")
hookimpl = pluggy.HookimplMarker("flux_recon")


@hookspec
def flux_recon_register_providers(register: Callable[[type], None]) -> None:
    """Register provider adapters.

    Called once when the app is created. Call ``register(ProviderSubclass)`` for each
    :class:`flux_recon.Provider` subclass the plugin ships; the app dispatches webhooks
    to it by its ``name``.

    :param register: validates and adds one ``Provider`` subclass.
    :returns: nothing.
    """


@hookspec
def flux_recon_register_matchers(register: Callable[[Any], None]) -> None:
    """Register reconciliation strategies.

    Called once when the app is created. Call ``register(matcher)`` with an instance of a
    :class:`flux_recon.Matcher` subclass (a unique ``name``, a ``priority`` and a
    ``candidates(tenant_id, notice, settings)`` method returning orders). Lower priority
    runs first; the built-in strategies use 100 (reference), 200 (virtual account) and
    300 (amount + customer). Tenants can switch any strategy off by its name.

    :param register: adds one matcher.
    :returns: nothing.
    """


@hookspec
def flux_recon_event(event: dict[str, Any]) -> None:
    """Observe a committed domain event.

    Called after the database transaction that produced the event has committed, once
    per event, in the process that committed it. Use it for metrics or mirroring to a
    message bus; an exception raised here is logged and does not affect the request.

    :param event: ``{"event_type": "payment.matched", "tenant_id": ..., "payload": {...}}``.
    :returns: nothing.
    """


@hookspec
def flux_recon_register_commands(cli: Any) -> None:
    """Add commands to the ``flux-recon`` command line.

    Called when the command group is built. ``cli`` is a click group: decorate functions
    with ``@cli.command()``; they run inside the app context.

    :param cli: the ``flux-recon`` click group.
    :returns: nothing.
    """
