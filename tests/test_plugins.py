"""The plugin manager: entry points, FLUX_RECON_LOAD_PLUGINS, check_pending, provider registration."""

import click
import pluggy
import pytest

from flux_recon import Provider, hookimpl
from flux_recon.plugins import get_plugin_manager
from flux_recon.providers import ProviderRegistry
from tests.conftest import close_app, make_app


def names(pm):
    return {pm.get_name(p) for p in pm.get_plugins()}


def test_shipped_plugins_load_through_entry_points(monkeypatch):
    monkeypatch.delenv("FLUX_RECON_LOAD_PLUGINS", raising=False)
    assert "core" in names(get_plugin_manager())


def test_load_plugins_limits_what_is_loaded(monkeypatch):
    monkeypatch.setenv("FLUX_RECON_LOAD_PLUGINS", "")
    assert "core" not in names(get_plugin_manager())
    monkeypatch.setenv("FLUX_RECON_LOAD_PLUGINS", "core")
    assert "core" in names(get_plugin_manager())


def test_a_misspelt_hook_fails_loudly():
    class Misspelt:
        @hookimpl
        def flux_recon_register_provider(self, register):  # missing the final "s"
            pass

    with pytest.raises(pluggy.PluginValidationError):
        get_plugin_manager([Misspelt()])


def test_plugins_given_to_create_app_are_exactly_the_ones_registered(database_url):
    class Dummy(Provider):
        name = "dummy"
        title = "Dummy"

    class DummyPlugin:
        @hookimpl
        def flux_recon_register_providers(self, register):
            register(Dummy)

    app = make_app(database_url, plugins=[DummyPlugin()])
    try:
        assert [p.name for p in app.extensions["providers"]] == ["dummy"]
    finally:
        close_app(app)


@pytest.mark.parametrize("name", ["Has Space", "", "UPPER", "a/b", None, "x" * 41])
def test_provider_names_must_be_url_safe_slugs(name):
    bad = type("Bad", (Provider,), {"name": name})
    with pytest.raises(ValueError, match="URL-safe"):
        ProviderRegistry().register(bad)


def test_registering_a_non_provider_or_a_duplicate_fails():
    registry = ProviderRegistry()
    with pytest.raises(TypeError):
        registry.register(object)
    good = type("Good", (Provider,), {"name": "good"})
    registry.register(good)
    with pytest.raises(ValueError, match="twice"):
        registry.register(good)


def test_register_commands_hook_adds_a_cli_command():
    class CommandPlugin:
        @hookimpl
        def flux_recon_register_commands(self, cli):
            @cli.command("hello")
            def hello():
                click.echo("hello from a plugin")

    group = click.Group()
    get_plugin_manager([CommandPlugin()]).hook.flux_recon_register_commands(cli=group)
    assert "hello" in group.commands


def test_a_malformed_default_allowlist_fails_at_registration():
    bad = type("Bad", (Provider,), {"name": "bad", "default_allowlist": ("10.0.0.1/8",)})
    with pytest.raises(ValueError, match="default_allowlist"):
        ProviderRegistry().register(bad)
