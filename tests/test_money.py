"""Money parsing: exact Decimals, minor units per currency, clear refusals, never rounding."""

from decimal import Decimal

import pytest

from flux_recon.money import MoneyError, format_minor, normalize_currency, parse_amount, parse_decimal, to_minor


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("15000.00", "NGN", 1500000),
        ("0.01", "NGN", 1),
        (Decimal("1000.1"), "USD", 100010),
        (250, "NGN", 25000),
        ("1,500.50", "NGN", 150050),
        ("500", "JPY", 500),
        ("100", "XOF", 100),
        (" 12.5 ", "GHS", 1250),
    ],
)
def test_amounts_convert_exactly_to_minor_units(value, currency, minor):
    assert parse_amount(value, currency) == minor


@pytest.mark.parametrize(
    ("value", "currency", "message"),
    [
        ("1.005", "NGN", "more than 2 decimal places"),
        ("10.5", "JPY", "more than 0 decimal places"),
        ("0", "NGN", "greater than zero"),
        ("-5", "NGN", "greater than zero"),
        ("abc", "NGN", "not a decimal amount"),
        ("1,5", "NGN", "not a decimal amount"),
        ("NaN", "NGN", "not a decimal amount"),
        (Decimal("NaN"), "NGN", "finite"),
        (Decimal("-Infinity"), "NGN", "finite"),
        (1.5, "NGN", "exact JSON number"),
        (True, "NGN", "exact JSON number"),
        (Decimal("1e30"), "NGN", "larger than this service accepts"),
        (Decimal("1e999999"), "NGN", "larger than this service accepts"),
        ("99999999999999999999999", "NGN", "larger than this service accepts"),
        (None, "NGN", "number or a decimal string"),
        ("1.00000000000000000000000000001", "NGN", "decimal places"),
        (Decimal("0.99999999999999999999999999999"), "NGN", "decimal places"),
        ("1." + "0" * 100 + "1", "NGN", "decimal places"),
        ("1_5", "NGN", "not a decimal amount"),
        ("١٢", "NGN", "not a decimal amount"),
        ("1e3", "NGN", "not a decimal amount"),
        (".5", "NGN", "not a decimal amount"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(value, currency, message):
    with pytest.raises(MoneyError, match=message):
        parse_amount(value, currency)


def test_minor_units_format_with_the_currency_places():
    assert format_minor(1500000, "NGN") == "15000.00"
    assert format_minor(5, "NGN") == "0.05"
    assert format_minor(500, "JPY") == "500"
    assert to_minor(Decimal("1E+3"), "NGN") == 100000


def test_currency_codes_are_checked_and_normalized():
    assert normalize_currency(" ngn ") == "NGN"
    with pytest.raises(MoneyError, match="unsupported currency"):
        normalize_currency("XYZ")
    with pytest.raises(MoneyError):
        normalize_currency(566)


def test_json_numbers_arrive_as_decimals_not_floats():
    assert parse_decimal(Decimal("0.1")) + parse_decimal(Decimal("0.2")) == Decimal("0.3")


def test_absurd_minor_units_are_refused_not_an_arithmetic_error():
    from flux_recon.money import from_minor

    with pytest.raises(MoneyError):
        from_minor(10**40, "NGN")
