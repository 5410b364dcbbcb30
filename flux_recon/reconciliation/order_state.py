"""Order status as a function of what has been allocated to it."""

from __future__ import annotations

from flux_recon.core.states import OrderStatus


def derive_status(amount_minor: int, paid_minor: int, *, cancelled: bool = False, tolerance_minor: int = 0) -> str:
    """``open`` -> ``partially_paid`` -> ``paid`` -> ``overpaid``, or ``cancelled``.

    An underpayment within ``tolerance_minor`` counts as paid.
    """
    if cancelled:
        return OrderStatus.CANCELLED
    if paid_minor <= 0:
        return OrderStatus.OPEN
    if paid_minor < amount_minor - tolerance_minor:
        return OrderStatus.PARTIALLY_PAID
    if paid_minor <= amount_minor:
        return OrderStatus.PAID
    return OrderStatus.OVERPAID
