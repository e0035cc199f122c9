"""A dispute's fee in the domain: validated, integer minor units in the dispute's
currency, two accounting entries of its own (charged, returned), and payment documents
stored before disputes had fees still load (seed 004_67d5e53a019b49ae.txt)."""

from __future__ import annotations

import pytest

from portal_access import (
    DisputeOutcome,
    EntryKind,
    Money,
    PaymentDispute,
    PaymentMethodKind,
    PaymentSnapshot,
    PaymentStatus,
    ValidationError,
)
from portal_access._domain.accounting import implied_entries
from portal_access._domain.serialization import from_json, structure, to_json, unstructure

USD = "USD"


def dispute(outcome: DisputeOutcome = DisputeOutcome.OPEN, **fees: Money | None) -> PaymentDispute:
    return PaymentDispute("dp_1", Money(10000, USD), outcome, **fees)


def disputed(*disputes: PaymentDispute) -> PaymentSnapshot:
    return PaymentSnapshot("pi_1", "inv-1", PaymentMethodKind.CARD, PaymentStatus.DISPUTED,
                           Money(10000, USD), 7, "stripe", disputes=disputes,
                           itemized=True)  # fmt: skip


def lines(snapshot: PaymentSnapshot) -> list[tuple[str, int]]:
    return [(line.line, line.kind.sign * line.amount.amount) for line in implied_entries(snapshot)]


def test_a_dispute_fee_and_its_return_are_entries_of_their_own():
    """Charged: money out, keyed by the dispute; returned (won): money back in."""
    fee = Money(1500, USD)
    won = dispute(DisputeOutcome.WON, fee=fee, fee_returned=fee)
    assert lines(disputed(won)) == [
        ("payment", 10000),
        ("dispute:dp_1", -10000),
        ("dispute_won:dp_1", 10000),
        ("dispute_fee:dp_1", -1500),
        ("dispute_fee_returned:dp_1", 1500),
    ]
    lost = dispute(DisputeOutcome.LOST, fee=fee)
    assert lines(disputed(lost))[-1] == ("dispute_fee:dp_1", -1500)
    assert (EntryKind.DISPUTE_FEE.sign, EntryKind.DISPUTE_FEE_RETURNED.sign) == (-1, 1)


def test_a_dispute_without_a_fee_makes_no_fee_entry():
    assert lines(disputed(dispute())) == [("payment", 10000), ("dispute:dp_1", -10000)]


@pytest.mark.parametrize(
    ("fees", "field"),
    [
        ({"fee": Money(0, USD)}, "fee"),
        ({"fee": Money(1500, "EUR")}, "fee"),
        ({"fee": 1500}, "fee"),
        ({"fee_returned": Money(1500, USD)}, "fee_returned"),
        ({"fee": Money(1500, USD), "fee_returned": Money(1501, USD)}, "fee_returned"),
        ({"fee": Money(1500, USD), "fee_returned": Money(1500, "EUR")}, "fee_returned"),
        ({"fee": Money(1500, USD), "fee_returned": Money(0, USD)}, "fee_returned"),
    ],
)
def test_a_dispute_fee_is_validated(fees, field):
    """More than zero, in the dispute's currency; no more returned than charged."""
    with pytest.raises(ValidationError) as raised:
        dispute(**fees)
    assert raised.value.field == field


def test_a_payment_stored_before_dispute_fees_still_loads():
    """A document written before disputes had fees (no ``fee`` keys) is read with none,
    and a dispute with fees survives the round trip."""
    old = (
        '{"amount":{"amount":10000,"currency":"USD"},"disputes":[{"amount":{"amount":10000,'
        '"currency":"USD"},"dispute_id":"dp_1","outcome":"won"}],"fee":null,"gateway":"stripe",'
        '"invoice_id":"inv-1","itemized":true,"method":"card","payment_id":"pi_1",'
        '"refunds":[],"status":"succeeded","version":7}'
    )
    (loaded,) = from_json(old, PaymentSnapshot).disputes
    assert loaded == dispute(DisputeOutcome.WON)
    assert (loaded.fee, loaded.fee_returned) == (None, None)
    fee = Money(1500, USD)
    new = disputed(dispute(DisputeOutcome.WON, fee=fee, fee_returned=fee))
    assert from_json(to_json(new), PaymentSnapshot) == new
    damaged = unstructure(new)
    del damaged["disputes"][0]["fee"]  # a fee returned that was never charged
    with pytest.raises(ValidationError):
        structure(damaged, PaymentSnapshot)
