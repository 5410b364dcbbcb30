"""ProviderConformance: the checks every provider plugin must pass, as a base test class."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import ipaddress
import json
import re
import traceback
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from flux_recon.core.states import Verdict
from flux_recon.plugins import ENTRY_POINT_GROUP, get_plugin_manager
from flux_recon.providers import (
    AuthCheck,
    AuthContext,
    AuthFailure,
    CredentialField,
    Ignored,
    IpAllowlist,
    MalformedBody,
    NoticeKind,
    NoticeStatus,
    Payer,
    PayloadError,
    PaymentNotice,
    Provider,
    Unrecognized,
    WebhookRequest,
    encode_json,
)
from flux_recon.providers.base import PROVIDER_NAME
from flux_recon.providers.settlement_api import SettlementNotice
from flux_recon.reconciliation.records import InvalidNotice, exact

# The allow-list used when a provider publishes no addresses (TEST-NET-1), and addresses
# to send from outside it (TEST-NET-2, TEST-NET-3, the IPv6 documentation prefix).
FALLBACK_ALLOWLIST = ("192.0.2.0/24",)
OUTSIDE_ADDRESSES = ("198.51.100.7", "203.0.113.9", "2001:db8::7")
SAMPLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CREDENTIAL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# What a notice says about money and identity: tampering that changes any of these and
# still passes auth is forgery. (Descriptive fields such as payer or method may be unsigned.)
# What an event type may carry (Provider.event_types); only "no_money" types may be Ignored.
EVENT_TYPE_CARRIES = ("payment", "refund", "reversal", "settlement", "no_money")
# An event type no provider sends, put where a sample names its type.
UNKNOWN_EVENT_TYPE = "flux.kit.unknown-event"
# An authenticated body of a shape no provider sends.
UNKNOWN_SHAPE = {"flux_kit": "an unknown shape", "id": "flux-kit-0001"}
SIGNIFICANT = (
    "external_id",
    "kind",
    "status",
    "amount",
    "currency",
    "references",
    "parent_external_id",
    "destination_account",
    "tenant_hint",
)


class ProviderConformance:
    """Checks one :class:`~flux_recon.Provider` subclass against the plugin contract.

    Subclass it in a test module under a name pytest collects, and set ``provider``::

        class TestAcmePayConformance(ProviderConformance):
            provider = AcmePay

    Optional class attributes:

    - ``secrets``: secret values by credential name to sign and verify with (default: a
      made-up value for every credential field);
    - ``unsigned_samples``: names of samples the provider really sends without any
      signature (protected by the allow-list alone), e.g. Opay's POS notifications;
    - ``entry_point``: the name the plugin's ``flux_recon`` entry point must have;
    - ``options``: the integration options the samples are parsed with (default: the
      provider's ``option_fields`` defaults), e.g. ``{"api_generation": "v1"}``;
    - ``max_examples``: how many hostile bodies the property-based check tries (200).

    To leave a check out, override its method in the subclass with a reason.
    """

    provider: ClassVar[type[Provider]]
    secrets: ClassVar[Mapping[str, str] | None] = None
    unsigned_samples: ClassVar[tuple[str, ...]] = ()
    entry_point: ClassVar[str | None] = None
    options: ClassVar[Mapping[str, Any] | None] = None
    max_examples: ClassVar[int] = 200

    # -- helpers a subclass may use in its own tests ------------------------------------

    def kit_secrets(self) -> dict[str, str]:
        """The secrets the checks sign and verify with."""
        if self.secrets is not None:
            return dict(self.secrets)
        return {field.name: f"kit-{field.name}-0123456789abcdef" for field in self.provider.credentials}

    def other_secrets(self) -> dict[str, str]:
        """Different values for the same credentials: what a forger or a misconfiguration signs with."""
        return {name: f"not-{value}" for name, value in self.kit_secrets().items()}

    def samples(self) -> dict[str, Any]:
        return self.provider.sample_payloads()

    def signed(self, name: str, secrets: Mapping[str, str] | None = None) -> WebhookRequest:
        """Sample ``name`` as the provider sends it, signed with ``secrets`` (default: the kit's)."""
        return self.provider.sign(self.samples()[name], self.kit_secrets() if secrets is None else secrets)

    def unsigned(self, name: str) -> WebhookRequest:
        """Sample ``name`` signed, then stripped of its signature: the headers and top-level
        body fields that differ when another secret signs it."""
        a, b = self.signed(name), self.signed(name, self.other_secrets())
        headers = {k: v for k, v in a.headers.items() if k.lower() not in _differing_headers(a, b)}
        fields = _differing_fields(a, b)
        if not fields:
            return WebhookRequest(body=a.body, headers=headers)
        if not isinstance(a.payload, dict):
            return WebhookRequest(body=encode_json(self.samples()[name]), headers=headers)
        kept = {k: v for k, v in a.payload.items() if k not in fields}
        return WebhookRequest(body=encode_json(kept), headers=headers)

    def allowlist(self) -> tuple:
        return tuple(ipaddress.ip_network(c) for c in (self.provider.default_allowlist or FALLBACK_ALLOWLIST))

    def auth_context(self, client_ip: str | None = None) -> AuthContext:
        """An integration holding the kit's secrets, reached from an allowed address unless told otherwise."""
        networks = self.allowlist()
        address = ipaddress.ip_address(client_ip) if client_ip else networks[0].network_address
        return AuthContext(
            client_ip=address,
            allowlist=networks,
            credentials=self.provider.credential_values(self.kit_secrets()),
            options=self.provider.resolve_options(self.options),
        )

    def refusal(self, webhook: WebhookRequest, context: AuthContext | None = None) -> AuthFailure | None:
        """Run the declared auth checks in order, as the webhook pipeline does: the
        ``AuthFailure`` that refused the request, or None when it passed. A check raising
        anything else fails the test."""
        context = context or self.auth_context()
        for check in self.provider.auth:
            try:
                check.verify(webhook, context)
            except AuthFailure as failure:
                return failure
            except MalformedBody as exc:
                return AuthFailure(f"malformed body: {exc}", status=400, verdict=Verdict.INVALID_PAYLOAD)
        return None

    def parse(self, webhook: WebhookRequest):
        """``provider.parse`` as the pipeline calls it: with the integration's options."""
        return self.provider().parse(_with_options(webhook, self.provider.resolve_options(self.options)))

    # -- the declaration ----------------------------------------------------------------

    def test_name_is_a_url_safe_slug(self):
        name = getattr(self.provider, "name", None)
        assert isinstance(name, str) and PROVIDER_NAME.match(name), (
            f"{self.provider.__name__}.name must be a URL slug (lower-case letters, digits, - and _; "
            f"at most 40 characters; it is the /webhooks/<name>/... path), got {name!r}"
        )

    def test_name_is_unique_among_installed_providers(self):
        clashes = [
            f"{other.__module__}.{other.__qualname__} (entry point {entry})"
            for entry, other in _installed_providers()
            if other is not self.provider and getattr(other, "name", None) == self.provider.name
        ]
        assert not clashes, f"provider name {self.provider.name!r} is already taken by {', '.join(clashes)}"

    def test_declaration_is_complete(self):
        provider = self.provider
        problems = []
        if not (isinstance(provider.title, str) and provider.title.strip()):
            problems.append("title must be a non-empty string (merchants see it in GET /providers)")
        if not (isinstance(provider.description, str) and provider.description.strip()):
            problems.append("description must say what the provider sends and how it is signed")
        if not isinstance(provider.auth, tuple) or not all(isinstance(c, AuthCheck) for c in provider.auth):
            problems.append("auth must be a tuple of AuthCheck instances (IpAllowlist(), HeaderHmac(...), ...)")
        if not isinstance(provider.credentials, tuple) or not all(
            isinstance(c, CredentialField) for c in provider.credentials
        ):
            problems.append("credentials must be a tuple of CredentialField")
        else:
            names = [c.name for c in provider.credentials]
            if len(set(names)) != len(names):
                problems.append(f"credential names repeat: {names}")
            problems += [
                f"credential name {n!r} must be lower-case letters, digits, - and _ (it is a URL segment)"
                for n in names
                if not (isinstance(n, str) and CREDENTIAL_NAME.match(n))
            ]
        for cidr in provider.default_allowlist:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except (TypeError, ValueError) as exc:
                problems.append(f"default_allowlist entry {cidr!r} is not an address or network: {exc}")
        try:
            json.dumps(provider.describe())
        except (TypeError, ValueError, AttributeError, NotImplementedError) as exc:
            problems.append(f"describe() (what GET /providers shows) is not JSON: {exc!r}")
        assert not problems, "\n".join(problems)

    def test_declares_an_ip_allowlist(self):
        assert any(isinstance(check, IpAllowlist) for check in self.provider.auth), (
            "auth declares no IpAllowlist(): every flux-recon provider admits only its integration's addresses; "
            "put IpAllowlist() first in auth"
        )

    def test_registers_through_a_flux_recon_entry_point(self):
        names = [entry for entry, provider in _installed_providers() if provider is self.provider]
        assert names, (
            f"no installed '{ENTRY_POINT_GROUP}' entry point registers {self.provider.__name__}: declare "
            f'[project.entry-points.{ENTRY_POINT_GROUP}] {self.provider.name} = "your_package" in pyproject.toml, '
            "register the class in your flux_recon_register_providers hook, and pip install the package"
        )
        if self.entry_point is not None:
            assert self.entry_point in names, f"expected entry point {self.entry_point!r}, found {names}"

    # -- the samples --------------------------------------------------------------------

    def test_sample_payloads_are_named_json_documents(self):
        samples = self.samples()
        assert isinstance(samples, dict) and samples, (
            "sample_payloads() must return a non-empty {name: payload} dict: the docs, this kit and "
            "flux-recon send-test-webhook use them"
        )
        problems = [f"sample name {n!r} must be a word such as 'charge_success'" for n in samples if not _word(n)]
        for name, payload in samples.items():
            try:
                encode_json(payload)
            except (TypeError, ValueError) as exc:
                problems.append(f"sample {name!r} is not exact JSON: {exc}")
        assert not problems, "\n".join(problems)

    def test_sample_payloads_are_fresh_copies(self):
        first = self.samples()
        before = {name: encode_json(payload) for name, payload in first.items()}
        for payload in first.values():
            _scribble(payload)
        after = {name: encode_json(payload) for name, payload in self.samples().items()}
        assert after == before, (
            "changing a returned sample changed the next call's: return fresh copies (copy.deepcopy), "
            "send-test-webhook edits them"
        )

    def test_every_sample_parses_into_valid_notices_or_ignored(self):
        problems, payments = [], 0
        for name in self.samples():
            try:
                result = self.parse(self.signed(name))
            except Exception:
                problems.append(f"sample {name!r}: parse raised\n{traceback.format_exc()}")
                continue
            problems += [f"sample {name!r}: {p}" for p in result_problems(result, engine=True)]
            if isinstance(result, (list, tuple)):
                payments += sum(
                    1 for n in result if n.kind == NoticeKind.PAYMENT and n.status == NoticeStatus.SUCCEEDED
                )
        assert not problems, "\n".join(problems)
        assert payments, "no sample is a succeeded payment: add one (send-test-webhook sends it by default)"

    # -- the declared auth --------------------------------------------------------------

    def test_signed_samples_pass_the_declared_auth(self):
        problems = []
        for name in self.samples():
            failure = self.refusal(self.signed(name))
            if failure is not None:
                problems.append(f"sample {name!r} signed with {sorted(self.kit_secrets())} is refused: {failure}")
        assert not problems, "\n".join(problems)

    def test_every_signed_sample_is_declared_signed_or_unsigned(self):
        problems = []
        for name in self.samples():
            signed = _signature_parts(self.signed(name), self.signed(name, self.other_secrets()))
            if name in self.unsigned_samples and signed:
                problems.append(f"sample {name!r} is listed in unsigned_samples, but signing changes {signed}")
            if name not in self.unsigned_samples and not signed:
                problems.append(
                    f"sample {name!r} carries no signature: if the provider really sends it unsigned "
                    "(the allow-list alone protects it), list it in unsigned_samples; otherwise sign it "
                    "(a custom AuthCheck needs a sign(webhook, credentials) method)"
                )
        unknown = set(self.unsigned_samples) - set(self.samples())
        if unknown:
            problems.append(f"unsigned_samples names no sample: {sorted(unknown)}")
        assert not problems, "\n".join(problems)

    def test_unsigned_samples_are_refused(self):
        problems = []
        for name in self._signed_sample_names():
            failure = self.refusal(self.unsigned(name))
            if failure is None or failure.status != 401:
                problems.append(f"sample {name!r} without its signature: {failure or 'accepted'}")
        assert not problems, "\n".join(problems)

    def test_samples_signed_with_another_secret_are_refused(self):
        problems = []
        for name in self._signed_sample_names():
            failure = self.refusal(self.signed(name, self.other_secrets()))
            if failure is None or failure.status != 401:
                problems.append(f"sample {name!r} signed with the wrong secret: {failure or 'accepted'}")
        assert not problems, "\n".join(problems)

    def test_tampered_samples_are_refused(self):
        problems = []
        for name in self._signed_sample_names():
            signed = self.signed(name)
            original = _meaning(self.parse(signed))
            for path, tampered in _tamperings(signed.payload):
                forged = WebhookRequest(body=encode_json(tampered), headers=dict(signed.headers))
                if self.refusal(forged) is not None:
                    continue
                try:
                    meaning = _meaning(self.parse(forged))
                except Exception:  # noqa: S112 - a forged body that does not parse records nothing
                    continue
                if meaning is not None and meaning != original:
                    problems.append(f"sample {name!r}: changing {path} changes the notice and still passes auth")
        assert not problems, "\n".join(problems)

    def test_an_address_off_the_allow_list_is_refused(self):
        networks = self.allowlist()
        outside = next((a for a in OUTSIDE_ADDRESSES if not any(ipaddress.ip_address(a) in n for n in networks)), None)
        assert outside is not None, f"default_allowlist {self.provider.default_allowlist} admits every address"
        problems = []
        for name in self.samples():
            failure = self.refusal(self.signed(name), self.auth_context(outside))
            if failure is None or failure.status != 403:
                problems.append(f"sample {name!r} correctly signed from {outside}: {failure or 'accepted'}")
        assert not problems, "\n".join(problems)

    def test_signature_headers_are_redacted_in_the_inbox(self):
        sensitive = {h.lower() for h in self.provider.sensitive_headers()}
        problems = []
        for name in self._signed_sample_names():
            headers = _differing_headers(self.signed(name), self.signed(name, self.other_secrets()))
            problems += [
                f"sample {name!r}: signature header {h!r} is not in sensitive_headers, so the inbox would keep it"
                for h in headers
                if h not in sensitive
            ]
        assert not problems, "\n".join(problems)

    # -- nothing that may be a payment is ignored ---------------------------------------

    def test_event_types_are_declared(self):
        declared = self.provider.event_types
        assert isinstance(declared, Mapping) and declared, (
            f"{self.provider.__name__}.event_types is empty: declare every event type the provider sends, "
            f'with what it carries, e.g. {{"charge.success": "payment", "transfer.success": "no_money"}} '
            "(GET /providers and the plugin's README list them; only no_money types may be Ignored)"
        )
        problems = [
            f"event type {name!r} carries {carries!r}: must be one of {', '.join(EVENT_TYPE_CARRIES)}"
            for name, carries in declared.items()
            if carries not in EVENT_TYPE_CARRIES
        ]
        problems += [f"event type {name!r} must be a non-empty string" for name in declared if not _text(name)]
        assert not problems, "\n".join(problems)

    def test_no_money_samples_are_not_parsed_into_notices(self):
        """A sample of a type declared ``no_money`` must not become a payment, refund or reversal."""
        problems = []
        for name, payload in self.samples().items():
            found = _event_type_path(payload, self.provider.event_types)
            if found is None or self.provider.event_types[found[1]] != "no_money":
                continue
            result = self.parse(self.signed(name))
            if isinstance(result, (list, tuple)) and result:
                path, event_type = found
                problems.append(f"sample {name!r} ({path} = {event_type!r}, declared no_money) is parsed into notices")
        assert not problems, "\n".join(problems)

    def test_an_unknown_event_type_is_not_ignored(self):
        """Each sample with its event type replaced by one the provider never declared, and
        a body of an unknown shape, signed as the provider signs: parse may answer
        Unrecognized or raise PayloadError, never Ignored nor an empty list, which the
        pipeline answers as ignored (a new type may be a payment)."""
        problems, typed = [], 0
        for name, payload in self.samples().items():
            found = _event_type_path(payload, self.provider.event_types)
            if found is None:
                continue
            typed += 1
            path, event_type = found
            changed = _replaced(payload, path, UNKNOWN_EVENT_TYPE)
            where = f"sample {name!r} with {path} = {UNKNOWN_EVENT_TYPE!r} (was {event_type!r})"
            problems += _unknown_problems(self, changed, where)
        if not typed and len(self.provider.event_types) > 1:
            problems.append(
                f"no sample carries one of the declared event_types ({', '.join(sorted(self.provider.event_types))}) "
                "as a field value, top level or one level down, so the kit cannot send an unknown type: add a "
                "sample of each type; if the type travels elsewhere (a header), override this check with a test "
                "of your own"
            )
        problems += _unknown_problems(self, dict(UNKNOWN_SHAPE), f"a body of unknown shape {UNKNOWN_SHAPE}")
        assert not problems, "\n".join(problems)

    # -- hostile input ------------------------------------------------------------------

    def test_hostile_bodies_raise_nothing_but_payload_errors(self):
        """Every field of every sample replaced by each edge value in turn (or removed),
        then a property-based search (hypothesis) over arbitrary JSON, damaged samples and
        non-JSON bytes. Auth checks may only refuse (AuthFailure, MalformedBody); parse may
        only return a valid result or raise PayloadError (after MalformedBody for a body
        that is not JSON)."""
        try:
            from hypothesis import HealthCheck, given, settings
        except ImportError:  # pragma: no cover - the message is the point
            raise AssertionError("the conformance kit needs hypothesis: pip install 'flux-recon[test]'") from None
        from flux_recon.testing.hostile_input import bodies, swept_samples

        provider = self.provider()
        context = self.auth_context()
        options = self.provider.resolve_options(self.options)
        for document in swept_samples(list(self.samples().values())):
            problem = _hostile_problem(provider, context, encode_json(document), options)
            assert problem is None, problem

        @settings(
            max_examples=self.max_examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        )
        @given(bodies(list(self.samples().values())))
        def hostile(body):
            problem = _hostile_problem(provider, context, body, options)
            assert problem is None, problem

        hostile()

    def _signed_sample_names(self) -> list[str]:
        return [name for name in self.samples() if name not in self.unsigned_samples]


def result_problems(result: Any, *, engine: bool) -> list[str]:
    """What is wrong with a ``parse`` result; ``engine=True`` also applies the engine's own
    checks (currency, exact amount above zero, id length) that answer 422 otherwise."""
    if isinstance(result, Ignored):
        return [] if isinstance(result.reason, str) and result.reason.strip() else ["Ignored needs a reason"]
    if isinstance(result, Unrecognized):
        if not (isinstance(result.reason, str) and result.reason.strip()):
            return ["Unrecognized needs a reason (the inbox and the merchant's webhook.unrecognized show it)"]
        if engine:
            return [f"is Unrecognized ({result.reason}): a sample is a format the provider reads"]
        return []
    if isinstance(result, SettlementNotice):
        return _settlement_problems(result)
    if isinstance(result, (list, tuple)) and not result and not engine:
        return []  # answered as unrecognized (kept for a person), though Unrecognized should say why
    if not isinstance(result, (list, tuple)) or not result or not all(isinstance(n, PaymentNotice) for n in result):
        return [
            "parse must return a non-empty list of PaymentNotice, Ignored(reason) or Unrecognized(reason), "
            f"got {result!r:.200}"
        ]
    problems = []
    for notice in result:
        problems += _notice_problems(notice, strict=engine)
        if engine:
            try:
                exact(notice)
            except InvalidNotice as exc:
                problems.append(f"the engine refuses notice {notice.external_id!r}: {exc.field}: {exc.message}")
    return problems


def _settlement_problems(notice: SettlementNotice) -> list[str]:
    """A settlement webhook's records: a reference, a tz-aware settlement time, exact amounts."""
    problems = []
    for record in notice.records:
        if not (isinstance(record.reference, str) and record.reference.strip()):
            problems.append("a SettlementRecord needs its provider reference")
        if not isinstance(record.settled_at, dt.datetime) or record.settled_at.utcoffset() is None:
            problems.append(f"settlement {record.reference!r}: settled_at must be a tz-aware datetime")
        for line in record.lines:
            if not (isinstance(line.transaction_id, str) and line.transaction_id.strip()):
                problems.append(f"settlement {record.reference!r}: a line without its transaction id")
            if not isinstance(line.amount, Decimal) or not isinstance(line.fee, Decimal):
                problems.append(f"settlement {record.reference!r}: line amounts must be Decimal")
    return problems


def _notice_problems(notice: PaymentNotice, *, strict: bool) -> list[str]:
    """Types always; ``strict`` (samples) also refuses empty strings where a value is optional."""
    problems = []

    def text(value) -> bool:
        return isinstance(value, str) and (bool(value.strip()) or not strict)

    if not all(text(r) for r in notice.references):
        problems.append(f"references must be non-empty strings: {notice.references!r}")
    if not isinstance(notice.payer, Payer):
        problems.append("payer must be a Payer")
    for name in ("fee", "settlement_amount"):
        value = getattr(notice, name)
        if value is not None and not (isinstance(value, Decimal) and value.is_finite()):
            problems.append(f"{name} must be a finite Decimal or None, got {value!r}")
    for name in ("parent_external_id", "destination_account", "tenant_hint"):
        value = getattr(notice, name)
        if value is not None and not text(value):
            problems.append(f"{name} must be a non-empty string or None, got {value!r}")
    return problems


def _hostile_problem(provider: Provider, context: AuthContext, body: bytes, options: Mapping) -> str | None:
    webhook = WebhookRequest(body=body, headers={"Content-Type": "application/json"}, options=options)
    for check in provider.auth:
        try:
            check.verify(webhook, context)
        except (AuthFailure, MalformedBody):
            pass
        except Exception:
            return f"auth check {type(check).__name__} raised on body {body[:300]!r}:\n{traceback.format_exc()}"
    try:
        webhook.payload  # noqa: B018 - the pipeline answers 400 here before parse sees the body
    except MalformedBody:
        return None
    try:
        result = provider.parse(webhook)
    except PayloadError:
        return None
    except Exception:
        return f"parse raised something other than PayloadError on body {body[:300]!r}:\n{traceback.format_exc()}"
    problems = result_problems(result, engine=False)
    return f"parse returned an invalid result for body {body[:300]!r}: {problems}" if problems else None


def _with_options(webhook: WebhookRequest, options: Mapping[str, Any]) -> WebhookRequest:
    return WebhookRequest(body=webhook.body, headers=webhook.headers, options=options)


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _event_type_path(payload: Any, declared: Mapping[str, str]) -> tuple[str, str] | None:
    """Where a sample names its event type: the first string value equal to a declared type,
    at the top level, else one object down (``data.type``). ``(path, type)`` or None."""
    if not isinstance(payload, dict):
        return None
    for key, value in payload.items():
        if isinstance(value, str) and value in declared:
            return key, value
    for key, inner in payload.items():
        if isinstance(inner, dict):
            for name, value in inner.items():
                if isinstance(value, str) and value in declared:
                    return f"{key}.{name}", value
    return None


def _replaced(payload: dict, path: str, value: str) -> dict:
    changed = dict(payload)
    outer, _, inner = path.partition(".")
    if inner:
        changed[outer] = {**payload[outer], inner: value}
    else:
        changed[outer] = value
    return changed


def _unknown_problems(kit: ProviderConformance, payload: dict, where: str) -> list[str]:
    """What is wrong with how the provider parses ``payload``, which it cannot know."""
    try:
        webhook = kit.provider.sign(payload, kit.kit_secrets())
    except Exception:  # noqa: BLE001 - a signer that needs fields this body lacks: parse it unsigned
        webhook = WebhookRequest(body=encode_json(payload), headers={"Content-Type": "application/json"})
    try:
        result = kit.parse(webhook)
    except (PayloadError, MalformedBody):
        return []
    except Exception:
        return [f"{where}: parse raised something other than PayloadError\n{traceback.format_exc()}"]
    if isinstance(result, Ignored):
        return [
            f"{where} is Ignored ({result.reason}): an event type or shape the provider does not know may be a "
            "payment; return Unrecognized(reason) (kept, announced, replayable) or raise PayloadError"
        ]
    if isinstance(result, (list, tuple)) and not result:
        # The pipeline keeps an empty answer as unrecognized, but with no reason a person can act on.
        return [
            f"{where} is an empty list: an event type or shape the provider does not know may be a payment; "
            "return Unrecognized(reason) (kept, announced, replayable, with the reason shown) or raise PayloadError"
        ]
    return [f"{where}: {problem}" for problem in result_problems(result, engine=False)]


def _installed_providers() -> list[tuple[str, type]]:
    """(entry point name, provider class) for every provider an installed plugin registers."""
    found = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            plugin = entry_point.load()
            registered: list[type] = []
            get_plugin_manager([plugin]).hook.flux_recon_register_providers(register=registered.append)
        except Exception:  # noqa: S112 - another plugin's breakage is its own test's business
            continue
        found += [(entry_point.name, provider) for provider in registered]
    return found


def _word(name: object) -> bool:
    return isinstance(name, str) and bool(SAMPLE_NAME.match(name))


def _scribble(value: Any) -> None:
    """Change every container in place, as a careless caller would."""
    if isinstance(value, dict):
        for item in list(value.values()):
            _scribble(item)
        value.clear()
        value["scribbled"] = True
    elif isinstance(value, list):
        for item in value:
            _scribble(item)
        value.append("scribbled")


def _differing_headers(a: WebhookRequest, b: WebhookRequest) -> list[str]:
    first = {k.lower(): v for k, v in a.headers.items()}
    second = {k.lower(): v for k, v in b.headers.items()}
    return sorted(h for h in first.keys() | second.keys() if first.get(h) != second.get(h))


def _differing_fields(a: WebhookRequest, b: WebhookRequest) -> list[str]:
    if a.body == b.body:
        return []
    first, second = a.payload, b.payload
    if not (isinstance(first, dict) and isinstance(second, dict)):
        return ["the body"]
    return sorted(k for k in first.keys() | second.keys() if first.get(k, ...) != second.get(k, ...))


def _signature_parts(a: WebhookRequest, b: WebhookRequest) -> list[str]:
    """What signing with two different secrets makes differ: the signature's headers and fields."""
    return [f"header {h}" for h in _differing_headers(a, b)] + [f"field {f}" for f in _differing_fields(a, b)]


def _meaning(result: Any) -> tuple | None:
    if not isinstance(result, (list, tuple)):
        return None
    return tuple(tuple(getattr(notice, name) for name in SIGNIFICANT) for notice in result)


def _tampered_value(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, Decimal)):
        return value + 1
    if isinstance(value, str):
        for index in range(len(value) - 1, -1, -1):
            if value[index] in "0123456789":
                return value[:index] + str((int(value[index]) + 1) % 10) + value[index + 1 :]
        return value + "x"
    return None


def _tamperings(payload: Any, path: str = "body"):
    """(path, a copy of the payload with that one leaf changed) for every leaf."""
    if isinstance(payload, dict):
        items = list(payload.items())
    elif isinstance(payload, list):
        items = list(enumerate(payload))
    else:
        return
    for key, value in items:
        where = f"{path}.{key}" if isinstance(payload, dict) else f"{path}[{key}]"
        if isinstance(value, (dict, list)):
            for inner, changed in _tamperings(value, where):
                copy = dict(payload) if isinstance(payload, dict) else list(payload)
                copy[key] = changed
                yield inner, copy
            continue
        tampered = _tampered_value(value)
        if tampered is not None:
            copy = dict(payload) if isinstance(payload, dict) else list(payload)
            copy[key] = tampered
            yield where, copy
