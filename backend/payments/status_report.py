"""pain.002 payment status reports: the bank's answer to a pain.001 file.

Only rejections matter for the ledger: a group (GrpSts), a payment information block
(PmtInfSts) or a single transaction (TxSts) with status RJCT reverses the rejected
payments (in_transit → the account the money came from) and raises an alert. Any
pain.002 version is read (element names are the same from 001.001.03 on); the parser
is hardened (no DTD, no entities, no network) and bounded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import InvalidInput
from backend.models import PaymentBatch, PaymentInstruction
from backend.payments.errors import PaymentMatchError, UnknownPayment
from backend.payments.settlement import reject_payment

REPORT_BYTES_MAX = 50 * 1024 * 1024
REJECTED = "RJCT"


@dataclass(frozen=True, slots=True)
class Rejection:
    scope: str  # "group", "payment_information" or "transaction"
    reference: str  # original MsgId, PmtInfId or EndToEndId
    reason_code: str | None


@dataclass(frozen=True, slots=True)
class StatusReport:
    message_id: str | None
    original_message_id: str | None
    rejections: tuple[Rejection, ...]


@dataclass
class StatusReportResult:
    report_message_id: str | None
    rejected: list[str] = field(default_factory=list)
    already_rejected: list[str] = field(default_factory=list)
    not_rejectable: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def _child(element: etree._Element, *path: str) -> etree._Element | None:
    current: etree._Element | None = element
    for name in path:
        if current is None:
            return None
        current = next((c for c in current if isinstance(c.tag, str) and _local(c) == name), None)
    return current


def _text(element: etree._Element, *path: str) -> str | None:
    found = _child(element, *path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _reason(element: etree._Element) -> str | None:
    reason = _child(element, "StsRsnInf", "Rsn")
    if reason is None:
        return None
    return _text(reason, "Cd") or _text(reason, "Prtry")


def parse_status_report(content: bytes) -> StatusReport:
    if len(content) > REPORT_BYTES_MAX:
        raise InvalidInput("the status report is larger than 50 MB")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as error:
        raise InvalidInput(f"the status report is not XML: {error}") from error
    report = _child(root, "CstmrPmtStsRpt")
    if report is None:
        raise InvalidInput("this is not a pain.002 payment status report (no CstmrPmtStsRpt)")
    rejections: list[Rejection] = []
    group = _child(report, "OrgnlGrpInfAndSts")
    original_message_id = _text(group, "OrgnlMsgId") if group is not None else None
    if group is not None and _text(group, "GrpSts") == REJECTED and original_message_id:
        rejections.append(Rejection("group", original_message_id, _reason(group)))
    for payment_information in report:
        if not isinstance(payment_information.tag, str):
            continue
        if _local(payment_information) != "OrgnlPmtInfAndSts":
            continue
        pmt_inf_id = _text(payment_information, "OrgnlPmtInfId")
        if _text(payment_information, "PmtInfSts") == REJECTED and pmt_inf_id:
            rejections.append(
                Rejection("payment_information", pmt_inf_id, _reason(payment_information))
            )
        for transaction in payment_information:
            if not isinstance(transaction.tag, str) or _local(transaction) != "TxInfAndSts":
                continue
            end_to_end_id = _text(transaction, "OrgnlEndToEndId")
            if _text(transaction, "TxSts") == REJECTED and end_to_end_id:
                rejections.append(Rejection("transaction", end_to_end_id, _reason(transaction)))
    return StatusReport(
        message_id=_text(report, "GrpHdr", "MsgId"),
        original_message_id=original_message_id,
        rejections=tuple(rejections),
    )


def apply_status_report(
    session: Session, content: bytes, *, actor: str, received_on: dt.date
) -> StatusReportResult:
    """Reverse every payment the report rejects. Re-importing the report changes nothing."""
    report = parse_status_report(content)
    result = StatusReportResult(report_message_id=report.message_id)
    for rejection in report.rejections:
        for end_to_end_id in _end_to_end_ids(session, rejection, result):
            try:
                outcome = reject_payment(
                    session,
                    end_to_end_id=end_to_end_id,
                    reason_code=rejection.reason_code,
                    rejected_on=received_on,
                    status_report_id=report.message_id,
                    actor=actor,
                )
            except UnknownPayment:
                result.unknown.append(end_to_end_id)
                continue
            except PaymentMatchError:
                result.not_rejectable.append(end_to_end_id)
                continue
            (result.already_rejected if outcome.replayed else result.rejected).append(end_to_end_id)
    return result


def _end_to_end_ids(
    session: Session, rejection: Rejection, result: StatusReportResult
) -> list[str]:
    if rejection.scope == "transaction":
        return [rejection.reference]
    column = PaymentBatch.message_id if rejection.scope == "group" else PaymentBatch.pmt_inf_id
    batch_id = session.scalar(select(PaymentBatch.id).where(column == rejection.reference))
    if batch_id is None:
        result.unknown.append(rejection.reference)
        return []
    return list(
        session.scalars(
            select(PaymentInstruction.end_to_end_id)
            .where(PaymentInstruction.batch_id == batch_id)
            .order_by(PaymentInstruction.id)
        )
    )
