"""pain.001 files from sepaxml: both versions valid against the XSD, our ids,
structured references, control sums (no database)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from lxml import etree

from backend.errors import InvalidInput
from backend.payments.sepa_file import (
    FORMATS,
    FileHeader,
    FilePayment,
    build_file,
    check_file,
)

HEADER = FileHeader(
    message_id="HHB-M-20261130-ABCDEF012345",
    payment_information_id="HHB-P-20261130-ABCDEF012345",
    created_at=dt.datetime(2026, 11, 30, 7, 15, tzinfo=dt.UTC),
    execution_date=dt.date(2026, 11, 30),
    debtor_name="Gemeente Utrecht Budgetbeheer",
    debtor_iban="NL84BNGH0285050123",
    debtor_bic="BNGHNL2G",
)


def _payments() -> list[FilePayment]:
    return [
        FilePayment("HHB-RENT", 64500, "Mitros", "NL44RABO0123456789", None, "Huur", None),
        FilePayment(
            "HHB-ENERGY", 13918, "Eneco", "NL91ABNA0417164300", None, None, "5000056789012345"
        ),
        FilePayment(
            "HHB-WATER", 2150, "Vitens", "NL71INGB0009876543", "INGBNL2A", None, "RF18539007547034"
        ),
        FilePayment(
            "HHB-LIVING", 9741, "Zoë Ĳzerman", "NL79INGB0002468024", None, "Leefgeld week 49", None
        ),
    ]


def _find(document: etree._Element, path: str) -> list[str]:
    return [str(value) for value in document.xpath(path, namespaces={"p": document.nsmap[None]})]


@pytest.mark.parametrize("file_format", FORMATS)
def test_both_versions_are_valid_and_carry_our_ids(file_format: str) -> None:
    sepa = build_file(HEADER, _payments(), file_format=file_format)
    check_file(sepa.content, file_format=file_format)
    document = etree.fromstring(sepa.content)
    assert document.nsmap[None] == f"urn:iso:std:iso:20022:tech:xsd:{file_format}"
    assert _find(document, "//p:GrpHdr/p:MsgId/text()") == [HEADER.message_id]
    assert _find(document, "//p:PmtInf/p:PmtInfId/text()") == [HEADER.payment_information_id]
    assert _find(document, "//p:GrpHdr/p:CreDtTm/text()") == ["2026-11-30T08:15:00"]
    assert _find(document, "//p:EndToEndId/text()") == [p.end_to_end_id for p in _payments()]
    assert "NOTPROVIDED" not in sepa.content.decode()
    assert sepa.sha256 == hashlib.sha256(sepa.content).hexdigest()
    assert sepa.sha1 == hashlib.sha1(sepa.content, usedforsecurity=False).hexdigest()


@pytest.mark.parametrize("file_format", FORMATS)
def test_control_sums_and_counts(file_format: str) -> None:
    payments = [
        FilePayment(f"HHB-{index}", cents, "Mitros", "NL44RABO0123456789", None, "Huur", None)
        for index, cents in enumerate([1, 10, 99, 100, 64_501, 1_000_000_00, 7])
    ]
    sepa = build_file(HEADER, payments, file_format=file_format)
    document = etree.fromstring(sepa.content)
    assert _find(document, "//p:CtrlSum/text()") == ["1000647.18", "1000647.18"]
    assert _find(document, "//p:NbOfTxs/text()") == ["7", "7"]
    assert _find(document, "//p:InstdAmt/text()")[:3] == ["0.01", "0.10", "0.99"]
    assert sepa.control_sum_cents == 100_064_718


def test_structured_reference_or_free_text() -> None:
    document = etree.fromstring(build_file(HEADER, _payments(), file_format=FORMATS[0]).content)
    energy = "//p:CdtTrfTxInf[p:PmtId/p:EndToEndId='HHB-ENERGY']/p:RmtInf"
    assert _find(document, f"{energy}/p:Ustrd/text()") == []
    assert _find(document, f"{energy}/p:Strd/p:CdtrRefInf/p:Tp/p:CdOrPrtry/p:Cd/text()") == ["SCOR"]
    assert _find(document, f"{energy}/p:Strd/p:CdtrRefInf/p:Tp/p:Issr/text()") == ["CUR"]
    assert _find(document, f"{energy}/p:Strd/p:CdtrRefInf/p:Ref/text()") == ["5000056789012345"]
    water = "//p:CdtTrfTxInf[p:PmtId/p:EndToEndId='HHB-WATER']/p:RmtInf/p:Strd"
    assert _find(document, f"{water}/p:CdtrRefInf/p:Tp/p:Issr/text()") == ["ISO"]
    living = "//p:CdtTrfTxInf[p:PmtId/p:EndToEndId='HHB-LIVING']"
    assert _find(document, f"{living}/p:RmtInf/p:Ustrd/text()") == ["Leefgeld week 49"]
    assert _find(document, f"{living}/p:Cdtr/p:Nm/text()") == ["Zoe IJzerman"]


def test_debtor_without_bic_is_notprovided_in_the_agent_only() -> None:
    header = dataclasses.replace(HEADER, debtor_bic=None)
    for file_format in FORMATS:
        document = etree.fromstring(
            build_file(header, _payments(), file_format=file_format).content
        )
        assert _find(document, "//p:DbtrAgt/p:FinInstnId/p:Othr/p:Id/text()") == ["NOTPROVIDED"]


def test_same_input_gives_the_same_bytes() -> None:
    first = build_file(HEADER, _payments(), file_format=FORMATS[0])
    assert build_file(HEADER, _payments(), file_format=FORMATS[0]).content == first.content


def test_duplicate_end_to_end_id_is_refused() -> None:
    payments = _payments()
    with pytest.raises(InvalidInput, match="twice"):
        build_file(HEADER, [*payments, payments[0]], file_format=FORMATS[0])


def test_a_file_the_xsd_refuses_is_never_offered() -> None:
    bad = FilePayment("HHB-X", 100, "Mitros", "nl44 rabo", None, "Huur", None)
    with pytest.raises(InvalidInput, match="not valid against its XSD"):
        build_file(HEADER, [bad], file_format=FORMATS[0])
