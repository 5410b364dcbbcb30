"""Errors a provider adapter raises; the webhook pipeline turns each into its HTTP answer."""

from __future__ import annotations

from flux_recon.core.states import Verdict


class PayloadError(ValueError):
    """The payload is well-formed JSON but not a valid notice for this provider (HTTP 422).

    :param message: one sentence saying what is wrong.
    :param errors: field-level messages, ``{"field": ["message", ...]}``.
    """

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class AuthFailure(Exception):
    """An auth check refused the request.

    ``status`` is the HTTP answer (403 for an address, 401 for a signature) and
    ``verdict`` the inbox verdict (``rejected_address`` or ``rejected_signature``).
    """

    def __init__(self, message: str, *, status: int = 401, verdict: str = Verdict.REJECTED_SIGNATURE):
        super().__init__(message)
        self.message = message
        self.status = status
        self.verdict = verdict


class AuthUnavailable(Exception):
    """An auth check could not verify the request because what it verifies against (a
    provider's signing endpoint, say) did not answer. Answered 503 so the provider retries;
    the message is recorded in the inbox, so it must never hold a secret."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class OptionsError(ValueError):
    """Integration options a provider refuses (HTTP 422), with messages by option name."""

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
