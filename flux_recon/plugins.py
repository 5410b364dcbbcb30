"""Build the plugin manager: shipped and third-party plugins through entry points, then checks."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Iterable

import pluggy

from flux_recon import hookspecs

ENTRY_POINT_GROUP = "flux_recon"

# Parts of the core that use the hooks themselves; listed by `flux-recon plugins --all`.
DEFAULT_PLUGINS = ("flux_recon.reconciliation.matchers",)


def get_plugin_manager(plugins: Iterable[object] | None = None) -> pluggy.PluginManager:
    """Return a new plugin manager with the default plugins and then either ``plugins``
    (tests register exactly what they want) or every installed ``flux_recon`` entry point.

    ``FLUX_RECON_LOAD_PLUGINS`` (comma-separated entry-point names, may be empty) limits
    which installed plugins are loaded. Unknown hook names fail here (``check_pending``).
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    for module_name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(module_name), name=module_name)
    if plugins is not None:
        for plugin in plugins:
            pm.register(plugin)
    else:
        _load_entry_points(pm)
    pm.check_pending()
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    wanted = os.environ.get("FLUX_RECON_LOAD_PLUGINS")
    if wanted is None:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        return
    names = {name.strip() for name in wanted.split(",") if name.strip()}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in names and pm.get_plugin(entry_point.name) is None:
            pm.register(entry_point.load(), name=entry_point.name)


def describe_plugins(pm: pluggy.PluginManager, *, include_default: bool = False) -> list[dict]:
    """The loaded plugins as ``flux-recon plugins`` prints them: name, hooks, version."""
    distributions = {plugin: dist for plugin, dist in pm.list_plugin_distinfo()}
    result = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        if name in DEFAULT_PLUGINS and not include_default:
            continue
        info = {"name": name, "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or [])}
        dist = distributions.get(plugin)
        if dist is not None:
            info["version"] = dist.version
            info["distribution"] = dist.metadata["name"]
        result.append(info)
    return sorted(result, key=lambda item: item["name"])
