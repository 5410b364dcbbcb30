"""`flux-recon send-test-webhook`: post a provider's sample payload, signed exactly as the provider signs it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import click
import urllib3

from flux_recon.exact_json import JSONInputError, loads_exact
from flux_recon.providers import Ignored, Provider, ProviderRegistry, WebhookRequest

USER_AGENT = "flux-recon-send-test-webhook/1"


def load_provider(name: str) -> type[Provider]:
    """The provider class an installed plugin registers as ``name`` (FLUX_RECON_LOAD_PLUGINS applies)."""
    from flux_recon.plugins import get_plugin_manager

    registry = ProviderRegistry()
    get_plugin_manager().hook.flux_recon_register_providers(register=registry.register)
    provider = registry.get(name)
    if provider is None:
        known = ", ".join(p.name for p in registry) or "none"
        raise click.UsageError(f"no provider {name!r} is loaded (loaded: {known})")
    return type(provider)


def describe_sample(provider: type[Provider], payload: Any) -> str:
    """What a sample is, as its provider reads it: "payment succeeded", "refund", "ignored: ..."."""
    try:
        result = provider().parse(WebhookRequest(body=provider.sign(payload, {}).body))
    except Exception as exc:  # a sample the provider cannot read is shown as such, not raised
        return f"unreadable: {exc}"
    if isinstance(result, Ignored):
        return f"ignored: {result.reason}"
    return ", ".join(f"{n.kind} {n.status} {n.amount} {n.currency}" for n in result)


def default_sample(provider: type[Provider]) -> str:
    """The first sample that is a succeeded payment, else the first sample."""
    samples = provider.sample_payloads()
    for name, payload in samples.items():
        if describe_sample(provider, payload).startswith("payment succeeded"):
            return name
    return next(iter(samples))


def parse_secrets(provider: type[Provider], given: tuple[str, ...]) -> dict[str, str]:
    """``--secret NAME=VALUE`` (or a bare ``--secret VALUE`` for a provider with one credential)."""
    names = [field.name for field in provider.credentials]
    secrets = {}
    for item in given:
        name, sep, value = item.partition("=")
        if sep and name in names:
            secrets[name] = value
        elif len(names) == 1:
            secrets[names[0]] = item
        else:
            raise click.UsageError(
                f"{provider.name} has several credentials: give --secret NAME=VALUE with NAME one of {', '.join(names)}"
            )
    return secrets


def apply_setting(payload: Any, assignment: str) -> None:
    """``--set data.reference=INV-1001``: a dotted path (list items by number) and a value.

    The value keeps the type of the field it replaces: into a text field it goes as text;
    into a number, a boolean, an object or a new field it is read as JSON when it can be.
    """
    path, sep, text = assignment.partition("=")
    keys = path.split(".")
    if not sep or not all(keys):
        raise click.UsageError(f"--set {assignment!r}: expected PATH=VALUE, e.g. data.reference=INV-1001")
    container = payload
    for key in keys[:-1]:
        container = _child(container, key, assignment)
    last = keys[-1]
    current = _get(container, last, assignment)
    container[_slot(container, last, assignment)] = text if isinstance(current, str) else _json_or_text(text)


def _slot(container: Any, key: str, assignment: str):
    if isinstance(container, dict):
        return key
    if isinstance(container, list) and key.isdigit() and int(key) < len(container):
        return int(key)
    raise click.UsageError(f"--set {assignment!r}: {key!r} is not a field of the sample there")


def _get(container: Any, key: str, assignment: str) -> Any:
    slot = _slot(container, key, assignment)
    return container.get(slot) if isinstance(container, dict) else container[slot]


def _child(container: Any, key: str, assignment: str) -> Any:
    child = _get(container, key, assignment)
    if child is None and isinstance(container, dict):
        child = container[key] = {}
    if not isinstance(child, (dict, list)):
        raise click.UsageError(f"--set {assignment!r}: {key!r} is not an object in the sample")
    return child


def _json_or_text(text: str) -> Any:
    try:
        return loads_exact(text)
    except JSONInputError:
        return text


def build_request(
    provider: type[Provider],
    sample: str | None,
    settings: tuple[str, ...],
    secrets: Mapping[str, str],
) -> tuple[str, WebhookRequest]:
    """(sample name, the signed request) for the chosen sample with ``settings`` applied."""
    samples = provider.sample_payloads()
    name = sample or default_sample(provider)
    if name not in samples:
        raise click.UsageError(f"{provider.name} has no sample {name!r}; its samples: {', '.join(samples)}")
    payload = copy.deepcopy(samples[name])
    for assignment in settings:
        apply_setting(payload, assignment)
    try:
        return name, provider.sign(payload, secrets)
    except (KeyError, TypeError, ValueError) as exc:
        # e.g. --set removed or retyped a field the provider's signature covers
        raise click.ClickException(f"{provider.name} cannot sign sample {name!r} as changed: {exc!r}") from None


def post(url: str, webhook: WebhookRequest, timeout: float) -> tuple[int, str, bytes]:
    """POST the exact bytes to ``url`` and nowhere else (no proxy from the environment, no
    redirects followed); (status, reason, body), whatever the status."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"{url!r} is not an http(s) URL")
    headers = {"User-Agent": USER_AGENT, **dict(webhook.headers)}
    # A PoolManager never reads proxy settings from the environment.
    with urllib3.PoolManager(timeout=timeout, retries=False) as pool:
        answer = pool.request("POST", url, body=webhook.body, headers=headers, redirect=False)
    return answer.status, answer.reason, answer.data


def failure_reason(exc: BaseException) -> str:
    """What urllib3 wraps: the refused connection, the timeout, the unknown name, the
    certificate, or an answer that is not HTTP."""
    while isinstance(exc, urllib3.exceptions.HTTPError):
        inner = exc.__cause__ or next((arg for arg in exc.args if isinstance(arg, BaseException)), None)
        if inner is None:
            break
        exc = inner
    if isinstance(exc, OSError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc).strip()}"


@click.command("send-test-webhook")
@click.argument("provider_name", metavar="PROVIDER")
@click.option("--url", help="Where to POST it: the integration's webhook URL (http or https).")
@click.option(
    "--secret",
    "secrets",
    multiple=True,
    metavar="[NAME=]VALUE",
    help="A secret to sign with, by credential name (NAME may be left out when the provider has one). Repeatable.",
)
@click.option("--sample", help="Which sample payload to send (default: the first payment).")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="PATH=VALUE",
    help="Change a field before signing, e.g. --set tenantId=tn_... or --set data.reference=INV-1001. Repeatable.",
)
@click.option("--unsigned", is_flag=True, help="Send it without the signatures the required secrets would make.")
@click.option("--dry-run", is_flag=True, help="Print the request instead of sending it.")
@click.option("--list-samples", is_flag=True, help="List the provider's samples and what each one is, then exit.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds.")
def send_test_webhook(provider_name, url, secrets, sample, settings, unsigned, dry_run, list_samples, timeout):
    """Sign a provider's sample payload exactly as the provider would and POST it to --url.

    Test your integration end to end with real signatures: enable the provider, add your
    address to its allow-list, then send, e.g.

    \b
      flux-recon send-test-webhook core --url "$WEBHOOK_URL" --secret "$API_SECRET" --set tenantId="$TENANT_ID"
      flux-recon send-test-webhook paystack --url "$WEBHOOK_URL" --secret sk_test_... --set data.reference=INV-1001

    Prints the answer's status line and body; exits 1 unless it is a 2xx.
    """
    provider = load_provider(provider_name)
    if list_samples:
        for name, payload in provider.sample_payloads().items():
            click.echo(f"{name}: {describe_sample(provider, payload)}")
        return
    given = parse_secrets(provider, secrets)
    missing = [f.name for f in provider.credentials if f.required and f.name not in given]
    if missing and not unsigned:
        raise click.UsageError(
            f"{provider.name} signs with {', '.join(missing)}: give --secret NAME=VALUE "
            "(or --unsigned to send it without that signature)"
        )
    name, webhook = build_request(provider, sample, settings, given)
    if dry_run:
        click.echo("\n".join(f"{header}: {value}" for header, value in webhook.headers.items()))
        click.echo()
        click.echo(webhook.body.decode("utf-8"))
        return
    if not url or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise click.UsageError("give --url http(s)://host/webhooks/<provider>/<token>: the integration's webhook URL")
    note = f"signed with {', '.join(given)}" if given else "unsigned"
    click.echo(f"POST {url}  (sample {name}, {note})", err=True)
    try:
        status, reason, body = post(url, webhook, timeout)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise click.ClickException(f"could not reach {url}: {failure_reason(exc)}") from None
    click.echo(f"HTTP {status} {reason}")
    click.echo(body.decode("utf-8", errors="replace"))
    if not 200 <= status < 300:
        raise SystemExit(1)
