"""Payment times no payment can have (year 1, year 9999) are a 422 naming the field, in every adapter."""

import copy
import datetime as dt
import json
import logging
from decimal import Decimal

import pytest

from flux_recon import PayloadError, PaymentNotice, WebhookRequest, encode_json
from flux_recon.providers import utc_time
from flux_recon_fuspay.provider import FuspayProvider
from flux_recon_monnify.provider import MonnifyProvider
from flux_recon_opay.provider import OpayProvider
from flux_recon_paystack.provider import PaystackProvider
from tests.conftest import core_payload

EDGES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
# Representable in UTC, but the matching window around them is not (year 1 was a 500),
# or no payment has them.
OUT_OF_RANGE = ["0001-01-01T00:00:00Z", "0001-01-01T00:30:00", "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z"]


@pytest.mark.parametrize("when", EDGES + OUT_OF_RANGE)
def test_a_core_webhook_at_the_ends_of_time_is_a_field_error(client, tenant, core_integration, post_core, when, caplog):
    with caplog.at_level(logging.ERROR):
        response = post_core(core_payload(tenant["tenant_id"], transactionDate=when))
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == ["transactionDate"]
    assert "1970" in response.json["errors"]["transactionDate"][0]
    # A field error, not an adapter failure with a traceback in the log.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_edges_of_the_range_and_local_times(client, tenant, core_integration, post_core):
    # Lagos time without an offset: 1970-01-01T00:30 there is still 1969 in UTC.
    assert post_core(core_payload(tenant["tenant_id"], transactionDate="1970-01-01T00:30:00")).status_code == 422
    for n, when in enumerate(["1970-01-01T01:00:00", "2199-12-31T23:59:59Z"]):
        response = post_core(core_payload(tenant["tenant_id"], transactionRef=f"T-{n}", transactionDate=when))
        assert response.status_code == 200, response.json


def _set(payload, path, value):
    payload = copy.deepcopy(payload)
    place = payload
    *parents, name = path.split(".")
    for parent in parents:
        place = place[parent]
    place[name] = value
    return payload


@pytest.mark.parametrize(
    ("provider", "sample", "path", "field"),
    [
        (MonnifyProvider, "card_payment", "eventData.paidOn", "eventData.paidOn"),
        (OpayProvider, "checkout_payment", "payload.timestamp", "timestamp"),
        (FuspayProvider, "paid_completed", "data.updated_at", "data.updated_at"),
        (PaystackProvider, "charge_success", "data.paid_at", "paid_at"),
    ],
)
@pytest.mark.parametrize("when", EDGES + ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_every_shipped_adapter_refuses_them_by_field(provider, sample, path, field, when):
    payload = _set(provider.sample_payloads()[sample], path, when)
    with pytest.raises(PayloadError) as refused:
        provider().parse(WebhookRequest(body=encode_json(payload), headers={"Content-Type": "application/json"}))
    assert any(key.endswith(field) for key in refused.value.errors), refused.value.errors
    assert "1970" in json.dumps(refused.value.errors)


def test_monnify_day_first_times_and_fuspay_epoch_milliseconds_too():
    monnify = _set(MonnifyProvider.sample_payloads()["card_payment"], "eventData.paidOn", "01/01/0001 12:00:00 AM")
    with pytest.raises(PayloadError) as refused:
        MonnifyProvider().parse(WebhookRequest(body=encode_json(monnify), headers={}))
    assert "eventData.paidOn" in refused.value.errors
    fuspay = _set(FuspayProvider.sample_payloads()["paid_completed"], "data.timestamp", 9_000_000_000_000)  # 2255
    with pytest.raises(PayloadError) as refused:
        FuspayProvider().parse(WebhookRequest(body=encode_json(fuspay), headers={}))
    assert "data.timestamp" in refused.value.errors


def test_utc_time_and_the_notice_guard():
    lagos = dt.timezone(dt.timedelta(hours=1))
    assert utc_time(dt.datetime(2026, 1, 1), assume=lagos) == dt.datetime(2025, 12, 31, 23, tzinfo=dt.UTC)
    for moment in (dt.datetime(1, 1, 1, tzinfo=lagos), dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC)):
        with pytest.raises(ValueError, match="1970"):
            utc_time(moment)
    # An adapter that skips utc_time is stopped where the notice is built, not in the engine.
    with pytest.raises(ValueError, match="occurred_at"):
        PaymentNotice(
            external_id="T",
            amount=Decimal("1"),
            currency="NGN",
            occurred_at=dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        )
