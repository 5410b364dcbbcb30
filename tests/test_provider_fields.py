"""Fields, the plugin API's payload reader: its messages and paths, one PayloadError, and no plugin's own copy."""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flux_recon
from flux_recon import Fields, PayloadError, utc_time
from flux_recon.testing.hostile_input import json_values

ROOT = Path(__file__).resolve().parent.parent
LAGOS = dt.timezone(dt.timedelta(hours=1))


def test_the_reader_and_utc_time_are_the_public_plugin_api():
    assert {"Fields", "utc_time"} <= set(flux_recon.__all__)
    assert flux_recon.providers.Fields is Fields
    assert flux_recon.providers.utc_time is utc_time


def test_check_raises_one_payload_error_naming_every_field_by_its_path():
    fields = Fields({"id": "", "amount": "1.001", "customer": {"email": ["a@b.ng"], "address": {"city": True}}})
    assert fields.text("id", required=True) is None
    assert fields.amount("amount", "NGN") is None
    customer = fields.nested("customer")
    assert customer.text("email") is None
    assert customer.nested("address").text("city") is None
    customer.error("email", "is not an address")  # a second message for the same field
    with pytest.raises(PayloadError) as caught:
        fields.check("not a valid AcmePay charge")
    assert caught.value.message == "not a valid AcmePay charge"
    assert caught.value.errors == {
        "id": ["is required"],
        "amount": ["1.001 has more than 2 decimal places allowed for NGN"],
        "customer.email": ["must be a string", "is not an address"],
        "customer.address.city": ["must be a string"],
    }


def test_check_passes_when_every_field_read_well():
    fields = Fields({"id": "ch_1"})
    assert fields.text("id", required=True) == "ch_1"
    fields.check("never raised")
    assert fields.errors == {}


@pytest.mark.parametrize(
    ("value", "read", "errors"),
    [
        ("  INV-1001 ", "INV-1001", {}),
        (1001, "1001", {}),  # a numeric reference is the same reference
        (None, None, {}),
        ("   ", None, {}),
        (True, None, {"ref": ["must be a string"]}),
        (1.5, None, {"ref": ["must be a string"]}),
        ({"a": 1}, None, {"ref": ["must be a string"]}),
        ("x" * 201, None, {"ref": ["must be at most 200 characters"]}),
    ],
)
def test_text(value, read, errors):
    fields = Fields({"ref": value})
    assert fields.text("ref") == read
    assert fields.errors == errors


def test_text_required_and_max_length():
    fields = Fields({"blank": " ", "long": "12345"})
    assert fields.text("missing", required=True) is None
    assert fields.text("blank", required=True) is None
    assert fields.text("long", max_length=4) is None
    assert fields.errors == {
        "missing": ["is required"],
        "blank": ["is required"],
        "long": ["must be at most 4 characters"],
    }


def test_nested_objects_absent_null_and_wrong():
    fields = Fields({"none": None, "list": [1], "text": "x", "ok": {"a": "b"}}, "data")
    assert fields.nested("absent").data == {}
    assert fields.nested("none").data == {}
    assert fields.nested("list").data == {}
    assert fields.nested("text").data == {}
    inner = fields.nested("ok")
    assert (inner.data, inner.path) == ({"a": "b"}, "data.ok")
    assert (inner.where("a"), inner.where("")) == ("data.ok.a", "data.ok")
    assert inner.errors is fields.errors
    assert fields.errors == {"data.list": ["must be an object"], "data.text": ["must be an object"]}


def test_a_subclass_reads_nested_objects_with_its_own_readers():
    class Kobo(Fields):
        def kobo(self, name):
            value = self.data.get(name)
            if not isinstance(value, int):
                self.error(name, "must be a whole number of kobo")
                return None
            return Decimal(value).scaleb(-2)

    fields = Kobo({"data": {"amount": 1500050, "fee": "x"}})
    data = fields.nested("data")
    assert isinstance(data, Kobo)
    assert data.kobo("amount") == Decimal("15000.50")
    assert data.kobo("fee") is None
    assert fields.errors == {"data.fee": ["must be a whole number of kobo"]}


def test_quietly_reads_the_same_object_without_refusing_it():
    fields = Fields({"fees": "lots", "id": "ch_1"}, "data")
    assert fields.quietly().amount("fees", "NGN") is None
    assert fields.text("id") == "ch_1"
    fields.check("never raised")


@pytest.mark.parametrize("value", [["a"], "text", 7, None])
def test_the_reader_reads_only_objects(value):
    with pytest.raises(TypeError):
        Fields(value)


def test_currency():
    fields = Fields({"a": " ngn ", "b": "", "c": "XYZ", "d": 5})
    assert fields.currency("a") == "NGN"
    assert fields.currency("b", default="GHS") == "GHS"
    assert fields.currency("missing", default="NGN") == "NGN"
    assert fields.currency("missing") is None
    assert fields.currency("c", default="NGN") is None  # an invalid code is not replaced by the default
    assert fields.currency("d") is None
    assert fields.errors["missing"] == ["is required"]
    assert fields.errors["c"] == [
        "unsupported currency 'XYZ'; supported: "
        "CAD, EGP, EUR, GBP, GHS, JPY, KES, MAD, NGN, RWF, TZS, UGX, USD, XAF, XOF, ZAR"
    ]
    assert list(fields.errors) == ["missing", "c", "d"]


@pytest.mark.parametrize(
    ("value", "currency", "positive", "read", "message"),
    [
        ("15000.50", "NGN", True, Decimal("15000.50"), None),
        (Decimal("15000.5"), "NGN", True, Decimal("15000.5"), None),
        (15000, "UGX", True, Decimal(15000), None),
        ("1,500.00", "NGN", True, Decimal("1500.00"), None),
        ("0", "NGN", False, Decimal(0), None),
        ("0", "NGN", True, None, "must be greater than zero"),
        ("-1", "NGN", False, None, "must not be negative"),
        ("-1", "NGN", True, None, "must be greater than zero"),
        ("10.5", "UGX", True, None, "10.5 has more than 0 decimal places allowed for UGX"),
        ("1e3", "NGN", True, None, "'1e3' is not a decimal amount"),
        (True, "NGN", True, None, "amount must be a decimal string or an exact JSON number"),
        ("15000.001", None, True, None, None),  # no currency (its own error is recorded): no verdict
    ],
)
def test_amount(value, currency, positive, read, message):
    fields = Fields({"amount": value})
    assert fields.amount("amount", currency, positive=positive) == read
    assert fields.errors == ({"amount": [message]} if message else {})


def test_amount_required():
    fields = Fields({"blank": " ", "null": None})
    assert fields.amount("blank", "NGN") is None
    assert fields.amount("null", "NGN", required=False) is None
    assert fields.errors == {"blank": ["is required"]}


@pytest.mark.parametrize(
    ("value", "read", "message"),
    [
        ("2026-11-22T10:15:03+01:00", dt.datetime(2026, 11, 22, 9, 15, 3, tzinfo=dt.UTC), None),
        ("2026-11-22T09:15:03.568Z", dt.datetime(2026, 11, 22, 9, 15, 3, 568000, tzinfo=dt.UTC), None),
        ("2026-11-22 10:15:03", dt.datetime(2026, 11, 22, 9, 15, 3, tzinfo=dt.UTC), None),  # in `assume`
        ("22/11/2026", None, "must be an ISO 8601 date and time, e.g. 2026-11-22T10:15:03+01:00"),
        ("", None, "must be an ISO 8601 date and time, e.g. 2026-11-22T10:15:03+01:00"),
        (17953, None, "must be an ISO 8601 date and time, e.g. 2026-11-22T10:15:03+01:00"),
        ("0001-01-01T00:00:00+01:00", None, "must be between 1970-01-01 and 2200-01-01 (UTC)"),
        ("9999-12-31T23:59:59", None, "must be between 1970-01-01 and 2200-01-01 (UTC)"),
    ],
)
def test_time(value, read, message):
    fields = Fields({"at": value})
    assert fields.time("at", assume=LAGOS) == read
    assert fields.errors == ({"at": [message]} if message else {})


def test_time_required_and_its_example():
    fields = Fields({"null": None, "bad": "soon"})
    assert fields.time("null") is None
    assert fields.time("missing", required=False) is None
    assert fields.time("bad", example="2026-11-22T09:15:03.568Z") is None
    assert fields.errors == {
        "null": ["is required"],
        "bad": ["must be an ISO 8601 date and time, e.g. 2026-11-22T09:15:03.568Z"],
    }


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b"]), json_values()))
def test_no_value_makes_a_reader_raise(data):
    fields = Fields(data, "data")
    for name in ("a", "b", "c"):
        text = fields.text(name, required=True)
        assert text is None or isinstance(text, str)
        currency = fields.currency(name, default="NGN")
        amount = fields.amount(name, currency or "NGN", positive=False)
        assert amount is None or (isinstance(amount, Decimal) and amount >= 0)
        moment = fields.time(name, required=False)
        assert moment is None or moment.tzinfo is dt.UTC
        assert isinstance(fields.nested(name), Fields)
    assert all(path.startswith("data.") and messages for path, messages in fields.errors.items())
    if fields.errors:
        with pytest.raises(PayloadError):
            fields.check("invalid")


def plugin_sources() -> list[Path]:
    packages = [*ROOT.glob("plugins/flux_recon_*"), *ROOT.glob("examples/*/flux_recon_*")]
    return sorted(path for package in packages for path in package.rglob("*.py"))


def test_no_plugin_carries_its_own_copy_of_the_reader():
    """Every shipped plugin and the example read fields with ``Fields`` (or a subclass
    adding the provider's own formats), not a field reader of their own."""
    assert len(plugin_sources()) >= 10
    copies = []
    for path in plugin_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
                bases = {ast.unparse(base) for base in node.bases}
                if methods & {"text", "error", "add", "check", "raise_if_any"} and "Fields" not in bases:
                    copies.append(f"{path.relative_to(ROOT)}: class {node.name}")
                if "text" in methods:
                    copies.append(f"{path.relative_to(ROOT)}: {node.name}.text overrides Fields.text")
    assert not copies, copies
