"""Meta-tests, as datasette has: every hook is documented under its exact signature and has a
test; the public plugin API (flux_recon.__all__, flux_recon.testing.__all__) and the plugin
guide's reference name the same things, with the same parameters, each with an example."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import flux_recon
import flux_recon.testing
from flux_recon import hookspecs
from flux_recon.testing import ProviderConformance

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "plugins.md"
HOOKS = "Reference: hooks"
PLUGIN_API = "Reference: the plugin API"
KIT = "Reference: the conformance kit"
HEADING = re.compile(r"^`(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<params>.*)\))?`$")


def guide_sections() -> dict[str, dict[str, str]]:
    """{"## title": {"### heading text": body}}, ignoring lines inside code fences."""
    sections: dict[str, dict[str, str]] = {}
    section = heading = None
    fenced = False
    for line in GUIDE.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            section, heading = line[3:].strip(), None
            sections[section] = {}
            continue
        elif not fenced and line.startswith("### ") and section is not None:
            heading = line[4:].strip()
            sections[section][heading] = ""
            continue
        if section is not None and heading is not None:
            sections[section][heading] += line + "\n"
    return sections


def entries(section: str) -> dict[str, tuple[str | None, str]]:
    """{name: (parameter text or None, body)} of one reference section; every heading must parse."""
    found = {}
    for heading, body in guide_sections()[section].items():
        match = HEADING.match(heading)
        assert match, f"{section}: heading {heading!r} is not `name` or `name(parameters)`"
        found[match["name"]] = (match["params"], body)
    return found


def hookspec_functions() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(function)
        for name, function in vars(hookspecs).items()
        if name.startswith("flux_recon_") and hasattr(function, "flux_recon_spec")
    }


def test_the_guide_has_the_three_reference_sections():
    assert {HOOKS, PLUGIN_API, KIT} <= set(guide_sections())


@pytest.mark.parametrize("hook", sorted(hookspec_functions()))
def test_every_hook_is_documented_under_its_exact_signature(hook):
    signature = f"{hook}({', '.join(hookspec_functions()[hook].parameters)})"
    documented = {f"{name}({params})" for name, (params, _) in entries(HOOKS).items() if params is not None}
    assert signature in documented, f"docs/plugins.md needs a heading ### `{signature}` under '{HOOKS}'"


def test_every_documented_hook_exists():
    assert set(entries(HOOKS)) == set(hookspec_functions())


def defined_tests(paths) -> set[str]:
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


@pytest.mark.parametrize("hook", sorted(hookspec_functions()))
def test_every_hook_has_a_test(hook):
    tests = defined_tests(sorted((ROOT / "tests").glob("test_*.py")))
    assert any(name.startswith(f"test_hook_{hook}") for name in tests), (
        f"no test named test_hook_{hook}_...: add one that implements the hook in a plugin and proves it is called"
    )


def parameters_of(text: str) -> list[tuple[str, str, bool]]:
    """(name, kind, has a default) of a documented parameter list."""
    arguments = ast.parse(f"def f({text}): pass").body[0].args
    positional = arguments.posonlyargs + arguments.args
    first_default = len(positional) - len(arguments.defaults)
    result = [(a.arg, "positional", i >= first_default) for i, a in enumerate(positional)]
    if arguments.vararg:
        result.append((arguments.vararg.arg, "var_positional", False))
    result += [
        (a.arg, "keyword_only", default is not None)
        for a, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
    ]
    if arguments.kwarg:
        result.append((arguments.kwarg.arg, "var_keyword", False))
    return result


KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


def real_parameters(obj) -> list[tuple[str, str, bool]]:
    return [
        (p.name, KINDS[p.kind], p.default is not inspect.Parameter.empty)
        for p in inspect.signature(obj).parameters.values()
    ]


@pytest.mark.parametrize(("module", "section"), [(flux_recon, PLUGIN_API), (flux_recon.testing, KIT)])
def test_the_reference_documents_exactly_the_public_api(module, section):
    documented, exported = set(entries(section)), set(module.__all__)
    assert not exported - documented, (
        f"exported by {module.__name__} but not documented: {sorted(exported - documented)}"
    )
    assert not documented - exported, (
        f"documented but not exported by {module.__name__}: {sorted(documented - exported)}"
    )


@pytest.mark.parametrize(("module", "section"), [(flux_recon, PLUGIN_API), (flux_recon.testing, KIT)])
def test_documented_parameters_are_the_real_ones(module, section):
    drift = []
    for name, (params, _) in entries(section).items():
        if params is not None and parameters_of(params) != real_parameters(getattr(module, name)):
            drift.append(f"{name}({params}) documented; the code has {inspect.signature(getattr(module, name))}")
    assert not drift, "\n".join(drift)


@pytest.mark.parametrize("section", [HOOKS, PLUGIN_API, KIT])
def test_every_reference_entry_has_an_example(section):
    missing = [name for name, (_, body) in entries(section).items() if "```python" not in body]
    assert not missing, f"{section}: no ```python example under {missing}"


def test_the_guide_lists_every_check_of_the_conformance_kit():
    (_, body) = entries(KIT)["ProviderConformance"]
    listed = set(re.findall(r"`(test_[a-z_]+)`", body))
    checks = {name for name in dir(ProviderConformance) if name.startswith("test_")}
    assert listed == checks, f"missing from the guide: {sorted(checks - listed)}; not checks: {sorted(listed - checks)}"
