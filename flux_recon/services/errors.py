"""Domain errors: what a business operation refuses, in words every front-end can show."""

from __future__ import annotations


class DomainError(Exception):
    """An operation refused; ``message`` is for people, ``fields`` names the inputs at fault
    (``{"field": ["what is wrong"]}``). The web layer maps each kind to one HTTP status."""

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    """No such object for this tenant (another tenant's is treated the same)."""


class Conflict(DomainError):
    """The request is valid but the state of things forbids it (already exists, in use, ...)."""


class Invalid(DomainError):
    """An input that the operation cannot accept, named in ``fields``."""
