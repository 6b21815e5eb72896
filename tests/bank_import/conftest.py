"""The persona world of the statement fixtures (tests/bank/fixtures/README.md).

Gemeente Utrecht's account NL84 BNGH 0285 0501 23 (and its buffer account for the
CAMT .08 file). Three participants with plans:
- Zoë Ĳzerman: Participatiewet benefit from Werk en Inkomen (search terms
  "Participatiewet" and her client number 880142) and zorgtoeslag from Toeslagen
  (her toeslagnummer ...T43); no huurtoeslag agreement (yet).
- Jan de Vries: wages from Bakkerij Müller ("salaris", staff number 0412).
- Hans Müller: bijzondere bijstand from Werk en Inkomen (client number 771203).

With `payments=True` the payments the statements settle exist, made as the daily cycle
would (tests.payments.conftest.make_payment) and exported by two finance users:
Zoë's water to Vitens of 8 Nov (already settled; it comes back AC04 on Friday), the
fixed-cost batch HHB-20241115-VL-01 (Zoë's rent and energy, Jan's insurance) and Zoë's
living money of weeks 47 and 48. The participants were funded on 1 Nov.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.bank import StatementFormat
from backend.bank.generate import (
    DocumentSpec,
    EntrySpec,
    PartySpec,
    StatementSpec,
    TransactionSpec,
    write_camt053,
)
from backend.bank_import import ImportReport, import_statement_file
from backend.config import Settings
from backend.ledger_store import account_balances, post_entries
from backend.models import (
    Alert,
    BankEntryRecord,
    BankStatementRecord,
    JournalEntryRecord,
    PaymentBatch,
    PaymentInstruction,
    PostingRecord,
    SuspenseAssignmentRecord,
)
from backend.municipality.service import add_bank_account, ensure_system_accounts
from backend.participants.service import create_household, create_participant
from backend.payments import (
    approve_batch,
    export_batch,
    prepare_batch,
    propose_batches,
    settle_by_end_to_end_id,
)
from backend.plans import store_plan_version
from ledger import AccountKind, AccountRef, JournalEntry, Posting
from rules import IncomeAgreement, IncomeKind, MonthlySchedule, Plan
from tests.payments.conftest import make_payment

MUNICIPAL_IBAN = "NL84BNGH0285050123"
BUFFER_IBAN = "NL62BNGH0285050131"
BANK = AccountRef.bank(MUNICIPAL_IBAN)
WERK_EN_INKOMEN = ("Gemeente Utrecht Werk en Inkomen", "NL02BNGH0285128714")
TOESLAGEN = ("Belastingdienst Toeslagen", "NL81INGB0002445581")
BAKKERIJ_MULLER = ("Bakkerij Müller B.V.", "NL42RABO0301862911")
PLANS_FROM = dt.date(2024, 10, 1)
FUNDED_ON = dt.date(2024, 11, 1)
ZOE_FUNDS = 150_000
JAN_FUNDS = 20_000


@dataclass(frozen=True)
class Persona:
    zoe: int
    jan: int
    hans: int


def income(
    agreement_id: str,
    payer: tuple[str, str],
    cents: int,
    tolerance: int,
    day: int,
    terms: tuple[str, ...],
    kind: IncomeKind,
    description: str,
    *,
    window_before: int = 2,
) -> IncomeAgreement:
    return IncomeAgreement(
        agreement_id=agreement_id,
        payer_name=payer[0],
        payer_iban=payer[1],
        search_terms=terms,
        expected_amount_cents=cents,
        tolerance_cents=tolerance,
        schedule=MonthlySchedule(day_of_month=day, start_date=PLANS_FROM),
        window_days_before=window_before,
        window_days_after=5,
        kind=kind,
        description_nl=description,
    )


def plan(participant_id: int, *incomes: IncomeAgreement) -> Plan:
    return Plan(
        participant_id=participant_id, version=1, effective_from=PLANS_FROM, incomes=incomes
    )


def build_persona(
    session: Session,
    settings: Settings,
    *,
    payments: bool = True,
    buffer_account: bool = True,
    batch_pmt_inf_id: str | None = "HHB-20241115-VL-01",
) -> Persona:
    add_bank_account(session, iban=MUNICIPAL_IBAN, name="Gemeente Utrecht Budgetbeheer")
    if buffer_account:
        add_bank_account(session, iban=BUFFER_IBAN, name="Gemeente Utrecht buffer")
    ensure_system_accounts(session)
    cipher = settings.field_cipher()
    ids = []
    for name, bsn, iban in (
        ("Zoë Ĳzerman", "100000009", "NL46ASNB0708473105"),
        ("Jan de Vries", "111222333", "NL32INGB0007777777"),
        ("Hans Müller", "123456782", "NL74TRIO0390412745"),
    ):
        household = create_household(session, name=f"Huishouden {name}")
        ids.append(
            create_participant(
                session,
                cipher,
                household_id=household.id,
                display_name=name,
                bsn=bsn,
                own_iban=iban,
                started_on=PLANS_FROM,
            ).id
        )
    persona = Persona(*ids)
    for body in (
        plan(
            persona.zoe,
            income(
                "uitkering",
                WERK_EN_INKOMEN,
                138_745,
                500,
                15,
                ("Participatiewet", "880142"),
                IncomeKind.BENEFIT,
                "Uitkering",
            ),
            income(
                "zorgtoeslag",
                TOESLAGEN,
                12_300,
                0,
                20,
                ("zorgtoeslag", "123456782T43"),
                IncomeKind.ALLOWANCE,
                "Zorgtoeslag",
                window_before=5,
            ),
        ),
        plan(
            persona.jan,
            income(
                "loon",
                BAKKERIJ_MULLER,
                160_000,
                10_000,
                15,
                ("salaris", "0412"),
                IncomeKind.WAGES,
                "Loon",
            ),
        ),
        plan(
            persona.hans,
            income(
                "bijzondere-bijstand",
                WERK_EN_INKOMEN,
                9_630,
                0,
                18,
                ("bijzondere bijstand", "771203"),
                IncomeKind.BENEFIT,
                "Bijzondere bijstand",
            ),
        ),
    ):
        store_plan_version(session, body, created_by="test", source="test")
    if payments:
        _payments(session, persona, batch_pmt_inf_id)
    session.commit()
    return persona


def _export(session: Session, day: dt.date) -> int:
    (batch,) = propose_batches(session, today=day)
    prepare_batch(session, batch.id, actor="fenna", today=day)
    approve_batch(session, batch.id, actor="frank")
    export_batch(session, batch.id, actor="frank", today=day)
    return batch.id


def _payments(session: Session, persona: Persona, batch_pmt_inf_id: str | None) -> None:
    post_entries(
        session,
        [
            JournalEntry(
                idempotency_key=f"test:funding:{participant_id}",
                booking_date=FUNDED_ON,
                reason_code="income.matched",
                explanation="Inkomen van oktober",
                postings=(
                    Posting(BANK, cents),
                    Posting(
                        AccountRef.of_participant(participant_id, AccountKind.AVAILABLE), -cents
                    ),
                ),
            )
            for participant_id, cents in ((persona.zoe, ZOE_FUNDS), (persona.jan, JAN_FUNDS))
        ],
        created_by="test",
    )
    thursday_before = dt.date(2024, 11, 7)
    make_payment(
        session,
        persona.zoe,
        3_850,
        "cycle:zoe:water:2024-11-08",
        creditor=("Vitens N.V.", "NL75RABO0397050066"),
        remittance="Water november 2024 klantnr 4410233",
        execution_date=thursday_before,
        due_date=dt.date(2024, 11, 8),
        end_to_end_id="HHB-20241108-0007",
    )
    _export(session, thursday_before)
    settle_by_end_to_end_id(
        session,
        end_to_end_id="HHB-20241108-0007",
        amount_cents=3_850,
        bank_iban=MUNICIPAL_IBAN,
        booking_date=dt.date(2024, 11, 8),
        bank_reference="2024110800003",
    )
    thursday = dt.date(2024, 11, 14)
    for participant_id, cents, key, creditor, e2e in (
        (persona.zoe, 74_285, "rent", ("Stichting Mitros", "NL91ABNA0417164300"), "0001"),
        (persona.zoe, 31_200, "energy", ("Eneco Consumenten B.V.", "NL51ABNA0242490233"), "0002"),
        (persona.jan, 14_842, "insurance", ("Zilveren Kruis", "NL39INGB0000004750"), "0003"),
    ):
        make_payment(
            session,
            participant_id,
            cents,
            f"cycle:{participant_id}:{key}:2024-12-01",
            creditor=creditor,
            remittance=f"{key} december 2024",
            execution_date=thursday,
            due_date=dt.date(2024, 11, 15),
            end_to_end_id=f"HHB-20241115-{e2e}",
        )
    batch_id = _export(session, thursday)
    if batch_pmt_inf_id is not None:
        # The statement names the batch by the PmtInfId of the file we sent.
        session.execute(
            update(PaymentBatch)
            .where(PaymentBatch.id == batch_id)
            .values(pmt_inf_id=batch_pmt_inf_id)
        )
    for day, week, e2e in (
        (thursday, 47, "HHB-20241115-0010"),
        (dt.date(2024, 11, 15), 48, "HHB-20241118-0001"),
    ):
        make_payment(
            session,
            persona.zoe,
            7_500,
            f"cycle:zoe:living:{week}",
            creditor=("Zoë Ĳzerman", "NL46ASNB0708473105"),
            source="available",
            kind="living_money",
            remittance=f"Leefgeld week {week} 2024",
            execution_date=day,
            due_date=day + dt.timedelta(days=1),
            end_to_end_id=e2e,
        )
        _export(session, day)


def do_import(
    session: Session, path: Path | bytes, *, filename: str | None = None, by: str = "fenna"
) -> ImportReport:
    """One file in its own transaction, as the CLI and the API do."""
    try:
        report = import_statement_file(session, path, filename=filename, imported_by=by)
    except BaseException:
        session.rollback()
        raise
    session.commit()
    return report


def holdings(session: Session) -> dict[str, int]:
    """Every non-zero account as label -> what it holds (owner's view)."""
    raw = account_balances(session)
    return {
        account.label(): (cents if account.kind is AccountKind.BANK else -cents)
        for account, cents in sorted(raw.items())
        if cents
    }


COUNTED = (
    BankStatementRecord,
    BankEntryRecord,
    SuspenseAssignmentRecord,
    JournalEntryRecord,
    PostingRecord,
    Alert,
    PaymentInstruction,
)


def row_counts(session: Session) -> dict[str, int]:
    return {
        model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in COUNTED
    }


# ---------------------------------------------------------------------- statements made here


def camt(
    statement_id: str,
    entries: tuple[EntrySpec, ...],
    *,
    opening: int,
    day: dt.date,
    closing_day: dt.date | None = None,
    closing: int | None = None,
    iban: str = MUNICIPAL_IBAN,
) -> bytes:
    """A CAMT.053.001.02 file with one statement of `iban`."""
    closing_day = closing_day or day
    return write_camt053(
        DocumentSpec(
            f"MSG-{statement_id}",
            f"{closing_day.isoformat()}T18:00:00+01:00",
            (
                StatementSpec(
                    statement_id=statement_id,
                    account_iban=iban,
                    opening_cents=opening,
                    opening_date=day,
                    closing_date=closing_day,
                    created_at=f"{closing_day.isoformat()}T18:00:00+01:00",
                    entries=entries,
                    closing_cents=closing,
                ),
            ),
        ),
        StatementFormat.CAMT053_001_02,
    )


def credit(
    cents: int,
    reference: str | None,
    day: dt.date,
    *,
    payer: tuple[str, str] = ("Iemand", "NL30RABO0156622214"),
    text: str = "Gift",
    end_to_end_id: str | None = None,
    return_reason: str | None = None,
) -> EntrySpec:
    return EntrySpec(
        amount_cents=cents,
        credit=True,
        booking_date=day,
        value_date=day,
        reference=reference,
        transactions=(
            TransactionSpec(
                amount_cents=cents,
                end_to_end_id=end_to_end_id,
                debtor=PartySpec(payer[0], payer[1]),
                unstructured=(text,),
                return_reason_code=return_reason,
            ),
        ),
    )


def debit(
    cents: int,
    reference: str,
    day: dt.date,
    *,
    payee: tuple[str, str] = ("Onbekend B.V.", "NL91ABNA0417164300"),
    text: str = "Incasso",
    end_to_end_id: str | None = None,
    reversal: bool = False,
) -> EntrySpec:
    return EntrySpec(
        amount_cents=cents,
        credit=False,
        booking_date=day,
        value_date=day,
        reference=reference,
        reversal=reversal,
        domain_code=("PMNT", "ICDT", "ESCT"),
        transactions=(
            TransactionSpec(
                amount_cents=cents,
                end_to_end_id=end_to_end_id,
                creditor=PartySpec(payee[0], payee[1]),
                unstructured=(text,),
            ),
        ),
    )
