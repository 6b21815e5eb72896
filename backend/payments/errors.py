"""Errors of the payments domain.

The bank-import catches `PaymentMatchError`: the bank entry cannot be applied to
a payment (unknown EndToEndId, amount or account does not match, wrong state) and
goes to suspense. Nothing was written when one of these is raised.
"""

from __future__ import annotations

from backend.errors import Conflict, Forbidden, NotFound


class PaymentMatchError(Conflict):
    """A bank entry that cannot settle, return or reject a payment as it stands."""

    title = "Bank entry does not match a payment"
    slug = "payment-mismatch"


class UnknownPayment(PaymentMatchError):
    status_code = 404
    title = "Unknown payment"
    slug = "payment-unknown"


class AmountMismatch(PaymentMatchError):
    title = "Amount does not match the payment"
    slug = "payment-amount-mismatch"


class AccountMismatch(PaymentMatchError):
    title = "Bank account does not match the payment"
    slug = "payment-account-mismatch"


class PaymentStateError(PaymentMatchError):
    title = "Payment is not in a state that allows this"
    slug = "payment-state"


class BatchNotFound(NotFound):
    title = "Payment batch not found"
    slug = "payment-batch-not-found"


class BatchStateConflict(Conflict):
    title = "Payment batch is not in a state that allows this"
    slug = "payment-batch-state"


class FourEyesViolation(Forbidden):
    title = "Four eyes: a second finance user must approve"
    slug = "four-eyes"
