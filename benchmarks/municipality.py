"""A synthetic municipality for benchmarks: N participants with realistic plans and a
year of CAMT.053 statements. Deterministic by seed: the same arguments give the same
plans and the same bytes.

- Plans: one to three incomes (benefit, allowance, wages, other) from payers shared by
  many participants (a few Werk en Inkomen departments, Toeslagen, some employers),
  4–10 fixed costs from shared creditors (landlords, energy, water, insurers, taxes,
  phone, repayment arrangements), a buffer, and living money weekly on a weekday or
  monthly on a day.
- Statements: one statement per month on the municipality's account for 12 months.
  Every income arrives as a credit with a remittance carrying its search terms; noise:
  ~8 % arrive 1–6 days late, ~4 % with a changed amount, ~1 % never; every fixed cost
  and living-money payment leaves as a debit, ~3 % with a changed amount, and ~1 % of
  them come back as a return (credit with a return reason).

`synthetic_plans(ids, seed)` and `year_statement(plans, seed)` are the entry points;
`insert_municipality(session, plans)` writes participants and plan versions in bulk.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.bank.generate import (
    DocumentSpec,
    EntrySpec,
    PartySpec,
    StatementSpec,
    TransactionSpec,
    write_camt053,
)
from backend.bank.statement import StatementFormat
from backend.ledger_store import post_entries
from backend.models import Household, IncomeExpectationRecord, Participant, PlanVersionRecord
from backend.municipality.service import add_bank_account, ensure_system_accounts
from ledger import AccountKind, AccountRef, JournalEntry, Posting
from rules import (
    BufferPolicy,
    Category,
    FixedCostAgreement,
    IncomeAgreement,
    IncomeKind,
    LivingMoneyPolicy,
    MonthlySchedule,
    PaymentReference,
    Plan,
    PriorityClass,
    Weekday,
    WeeklySchedule,
    YearlySchedule,
    occurrences,
)

MUNICIPAL_IBAN = "NL84BNGH0285050123"
PLAN_START = dt.date(2025, 11, 16)
MONTHS = 12
_BANKS = ("INGB", "RABO", "ABNA", "SNSB", "ASNB", "TRIO", "BUNQ", "KNAB")


def iban(seed: int, bank: str = "INGB") -> str:
    """A valid Dutch IBAN (mod 97) for a number: fictitious, stable."""
    account = f"{seed % 10**10:010d}"
    digits = "".join(str(int(c, 36)) for c in f"{bank}{account}NL00")
    check = 98 - int(digits) % 97
    return f"NL{check:02d}{bank}{account}"


def _parties(prefix: str, names: Sequence[str], base: int) -> list[tuple[str, str]]:
    return [
        (f"{prefix}{name}", iban(base + i, _BANKS[i % len(_BANKS)])) for i, name in enumerate(names)
    ]


# Counterparties shared by many participants (all fictitious).
BENEFIT_PAYERS = _parties(
    "Gemeente ", ("Utrecht Werk en Inkomen", "Nieuwegein Werk", "Zeist Sociaal Domein"), 11
)
ALLOWANCE_PAYER = ("Belastingdienst Toeslagen", iban(7, "INGB"))
EMPLOYERS = _parties("", [f"Werkgever {i:02d} B.V." for i in range(40)], 100)
OTHER_PAYERS = _parties("", ("SVB Kinderbijslag", "UWV", "Alimentatie Stichting LBIO"), 200)
LANDLORDS = _parties("", ("Mitros", "Bo-Ex", "Portaal", "Woonin", "Particulier Verhuur"), 300)
ENERGY = _parties("", ("Eneco", "Vattenfall", "Essent", "Budget Energie"), 400)
WATER = _parties("", ("Vitens", "Waternet"), 500)
INSURERS = _parties("", ("Zilveren Kruis", "CZ", "Menzis", "VGZ"), 600)
TAXES = _parties("", ("BghU Belastingsamenwerking", "Waterschap HDSR"), 700)
PHONE = _parties("", ("KPN", "Odido", "Ziggo", "Vodafone"), 800)
INSURANCE = _parties("", ("Centraal Beheer", "Interpolis"), 900)
TREASURY = ("Gemeente Treasury", iban(5, "BNGH"))
CREDITORS = _parties("", [f"Schuldeiser {i:02d}" for i in range(20)], 1000)

# (pool, priority, category, low, high cents, yearly?)
_COSTS = (
    (LANDLORDS, PriorityClass.RENT_OR_MORTGAGE, Category.RENT, 45_000, 95_000, False),
    (ENERGY, PriorityClass.ENERGY_WATER_HEATING, Category.ENERGY, 8_000, 22_000, False),
    (WATER, PriorityClass.ENERGY_WATER_HEATING, Category.WATER, 1_500, 3_500, False),
    (INSURERS, PriorityClass.HEALTH_INSURANCE, Category.HEALTH_INSURANCE, 13_000, 16_500, False),
    (TAXES, PriorityClass.MUNICIPAL_AND_WATER_BOARD_TAXES, Category.MUNICIPAL_TAXES, 20_000,
     40_000, True),
    (PHONE, PriorityClass.OTHER, Category.PHONE_AND_INTERNET, 1_500, 6_000, False),
    (INSURANCE, PriorityClass.OTHER, Category.INSURANCE, 1_000, 3_000, False),
    (CREDITORS, PriorityClass.REPAYMENT_ARRANGEMENT, Category.REPAYMENT_ARRANGEMENT, 1_000,
     5_000, False),
    (CREDITORS, PriorityClass.REPAYMENT_ARRANGEMENT, Category.REPAYMENT_ARRANGEMENT, 1_000,
     5_000, False),
    (CREDITORS, PriorityClass.REPAYMENT_ARRANGEMENT, Category.REPAYMENT_ARRANGEMENT, 1_000,
     5_000, False),
)  # fmt: skip


def _costs_start(start: dt.date) -> dt.date:
    return (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def make_plan(participant_id: int, rng: random.Random, start: dt.date = PLAN_START) -> Plan:
    """One participant's plan: incomes, 4–10 fixed costs, a buffer and living money."""
    incomes: list[IncomeAgreement] = []
    client = 9_000_000 + participant_id
    if rng.random() < 0.7:
        payer = rng.choice(BENEFIT_PAYERS)
        terms: tuple[str, ...] = ("Participatiewet", f"klantnr {client}")
        kind, cents = IncomeKind.BENEFIT, None
        cents = rng.randrange(95_000, 140_000)
        day = 25
    else:
        payer = rng.choice(EMPLOYERS)
        kind, terms = IncomeKind.WAGES, (f"salaris pnr {client}",)
        cents = rng.randrange(140_000, 260_000)
        day = rng.choice((20, 23, 24, 25, 28))
    incomes.append(_income("inkomen", payer, cents, day, start, kind, terms))
    if rng.random() < 0.6:
        incomes.append(
            _income(
                "zorgtoeslag",
                ALLOWANCE_PAYER,
                rng.randrange(9_000, 16_000),
                20,
                start,
                IncomeKind.ALLOWANCE,
                ("zorgtoeslag", f"toeslagnummer {client}"),
            )
        )
    if rng.random() < 0.25:
        incomes.append(
            _income(
                "overig",
                rng.choice(OTHER_PAYERS),
                rng.randrange(5_000, 40_000),
                rng.choice((1, 15, 28)),
                start,
                IncomeKind.OTHER,
                (f"dossier {client}",),
            )
        )
    costs_start = _costs_start(start)
    count = rng.randint(4, 10)
    costs = []
    for index, (pool, priority, category, low, high, yearly) in enumerate(_COSTS[:count]):
        creditor = rng.choice(pool)
        schedule: MonthlySchedule | YearlySchedule = (
            YearlySchedule(month=3, day_of_month=31, start_date=costs_start)
            if yearly
            else MonthlySchedule(day_of_month=rng.choice((1, 1, 1, 15, 28)), start_date=costs_start)
        )
        costs.append(
            FixedCostAgreement(
                agreement_id=f"vast-{index}",
                creditor_name=creditor[0],
                creditor_iban=creditor[1],
                amount_cents=rng.randrange(low, high),
                schedule=schedule,
                reference=PaymentReference(kind="free_text", text=f"Klant {client}-{index}"),
                priority_class=priority,
                category=category,
                description_nl=category.value.replace("_", " ").capitalize(),
            )
        )
    own = iban(50_000_000 + participant_id, _BANKS[participant_id % len(_BANKS)])
    living_start = start.replace(day=26)
    living_schedule: MonthlySchedule | WeeklySchedule = (
        WeeklySchedule(weekday=Weekday(rng.randrange(0, 5)), start_date=living_start)
        if rng.random() < 0.7
        else MonthlySchedule(day_of_month=rng.choice((1, 26, 28)), start_date=living_start)
    )
    advance = rng.choice((0, 0, 100_000, 150_000))
    return Plan(
        participant_id=participant_id,
        version=1,
        effective_from=start,
        incomes=tuple(incomes),
        fixed_costs=tuple(costs),
        buffer=BufferPolicy(
            monthly_build_up_cents=rng.choice((1_000, 2_500, 5_000)),
            advance_cents=advance,
            monthly_advance_repayment_cents=2_500 if advance else 0,
        ),
        living_money=LivingMoneyPolicy(
            schedule=living_schedule, payee_name=f"Deelnemer {participant_id}", payee_iban=own
        ),
    )


def _income(
    agreement_id: str,
    payer: tuple[str, str],
    cents: int,
    day: int,
    start: dt.date,
    kind: IncomeKind,
    terms: tuple[str, ...],
) -> IncomeAgreement:
    return IncomeAgreement(
        agreement_id=agreement_id,
        payer_name=payer[0],
        payer_iban=payer[1],
        search_terms=terms,
        expected_amount_cents=cents,
        tolerance_cents=max(100, cents // 100),
        schedule=MonthlySchedule(day_of_month=day, start_date=start),
        window_days_before=2,
        window_days_after=5,
        kind=kind,
        description_nl=kind.value,
    )


def synthetic_plans(
    participant_ids: Sequence[int], seed: int, start: dt.date = PLAN_START
) -> dict[int, Plan]:
    """Plans for the participants; each depends only on (seed, participant id)."""
    return {
        pid: make_plan(pid, random.Random(seed * 1_000_003 + pid), start) for pid in participant_ids
    }


# ------------------------------------------------------------------- statements


def _month_bounds(start: dt.date, months: int) -> Iterator[tuple[dt.date, dt.date]]:
    first = start.replace(day=1)
    for index in range(months):
        month_index = first.year * 12 + first.month - 1 + index
        begin = dt.date(month_index // 12, month_index % 12 + 1, 1)
        end = (begin + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        yield max(begin, start), end


def year_entries(
    plans: Mapping[int, Plan], seed: int, *, start: dt.date = PLAN_START, months: int = MONTHS
) -> list[list[EntrySpec]]:
    """The entries on the municipality's account, per month, with noise."""
    rng = random.Random(seed)
    per_month: list[list[EntrySpec]] = []
    bounds = list(_month_bounds(start, months))
    last_day = bounds[-1][1]
    sequence = 0

    def reference() -> str:
        nonlocal sequence
        sequence += 1
        return f"{seed % 10_000:04d}{sequence:012d}"

    by_day: dict[dt.date, list[EntrySpec]] = {}
    for pid, plan in plans.items():
        for income in plan.incomes:
            for expected in occurrences(income.schedule, start, last_day):
                draw = rng.random()
                if draw < 0.01:
                    continue  # never arrives
                day = expected + dt.timedelta(days=rng.randint(1, 6)) if draw < 0.09 else expected
                cents = income.expected_amount_cents
                if rng.random() < 0.04:
                    cents += rng.randint(-cents // 20, cents // 20)
                text = f"{' '.join(income.search_terms)} {expected:%m-%Y}"
                by_day.setdefault(day, []).append(
                    _entry(reference(), day, max(cents, 1), True, income.payer_name,
                           income.payer_iban, text, f"E2E-{pid}-{income.agreement_id}-{expected}")
                )  # fmt: skip
        payments = [
            (cost.creditor_name, cost.creditor_iban, cost.amount_cents, cost.schedule,
             f"{cost.reference.text} {cost.agreement_id}")
            for cost in plan.fixed_costs
        ]  # fmt: skip
        living = plan.living_money
        if living is not None:
            # What is left after costs and build-up, so the account does not drift far.
            monthly = (
                sum(i.expected_amount_cents for i in plan.incomes)
                - sum(
                    c.amount_cents // (12 if isinstance(c.schedule, YearlySchedule) else 1)
                    for c in plan.fixed_costs
                )
                - plan.buffer.monthly_build_up_cents
            )
            per_payment = (
                monthly * 12 // 52 if isinstance(living.schedule, WeeklySchedule) else monthly
            )
            payments.append(
                (living.payee_name, living.payee_iban, max(2_000, per_payment),
                 living.schedule, "Leefgeld")
            )  # fmt: skip
        for name, account, cents, schedule, text in payments:
            for due in occurrences(schedule, start, last_day):
                day = due - dt.timedelta(days=1) if due > start else due
                if rng.random() < 0.03:
                    cents = cents + rng.randint(-cents // 10, cents // 10) or cents
                end_to_end = f"HHB-{pid}-{due:%Y%m%d}-{rng.randrange(10**6)}"
                by_day.setdefault(day, []).append(
                    _entry(reference(), day, cents, False, name, account, f"{text} {due:%m-%Y}",
                           end_to_end)
                )  # fmt: skip
                if rng.random() < 0.01:
                    back = day + dt.timedelta(days=rng.randint(1, 4))
                    by_day.setdefault(back, []).append(
                        _entry(reference(), back, cents, True, name, account,
                               f"Retour {text}", end_to_end, return_reason="AC04")
                    )  # fmt: skip
    for begin, end in bounds:
        month: list[EntrySpec] = []
        day = begin
        while day <= end:
            month.extend(by_day.get(day, ()))
            day += dt.timedelta(days=1)
        per_month.append(month)
    return per_month


def _entry(
    ref: str,
    day: dt.date,
    cents: int,
    credit: bool,
    name: str,
    account: str,
    text: str,
    end_to_end: str,
    *,
    return_reason: str | None = None,
) -> EntrySpec:
    party = PartySpec(name, account, None)
    return EntrySpec(
        amount_cents=cents,
        credit=credit,
        booking_date=day,
        value_date=day,
        reference=ref,
        domain_code=("PMNT", "RCDT" if credit else "ICDT", "RRTN" if return_reason else "ESCT"),
        transactions=(
            TransactionSpec(
                amount_cents=cents,
                end_to_end_id=end_to_end,
                debtor=party if credit else None,
                creditor=None if credit else party,
                unstructured=(text[:140],),
                return_reason_code=return_reason,
            ),
        ),
    )


def year_statement(
    plans: Mapping[int, Plan],
    seed: int,
    *,
    start: dt.date = PLAN_START,
    months: int = MONTHS,
    max_entries: int | None = None,
    version: StatementFormat = StatementFormat.CAMT053_001_02,
) -> tuple[bytes, int]:
    """One CAMT.053 file with a statement per month; returns (bytes, number of entries).
    `max_entries` keeps the first entries (in date order) only."""
    per_month = year_entries(plans, seed, start=start, months=months)
    statements = []
    # Opening balance: minus the first (partial) month's net, within the ±10 M the
    # reader accepts, so the balances stay small.
    first_net = sum(e.amount_cents if e.credit else -e.amount_cents for e in per_month[0])
    balance = max(-900_000_000, min(900_000_000, -first_net))
    count = 0
    for number, ((begin, end), entries) in enumerate(
        zip(_month_bounds(start, months), per_month, strict=True), start=1
    ):
        if max_entries is not None:
            entries = entries[: max(0, max_entries - count)]
        closing = balance + sum(e.amount_cents if e.credit else -e.amount_cents for e in entries)
        if abs(closing) > 500_000_000:  # the treasury sweeps the account back to zero
            entries = [
                *entries,
                _entry(f"SWEEP{number:011d}", end, abs(closing), closing < 0, TREASURY[0],
                       TREASURY[1], f"Liquiditeitsbeheer {end:%m-%Y}", f"SWEEP-{number}"),
            ]  # fmt: skip
        count += len(entries)
        statement = StatementSpec(
            statement_id=f"SYN-{seed}-{begin:%Y%m}",
            account_iban=MUNICIPAL_IBAN,
            opening_cents=balance,
            opening_date=begin,
            closing_date=end,
            created_at=f"{end.isoformat()}T18:00:00+01:00",
            entries=tuple(entries),
            electronic_sequence_number=number,
        )
        balance = statement.computed_closing_cents()
        statements.append(statement)
    document = DocumentSpec(
        message_id=f"SYN-{seed}-{len(plans)}",
        created_at=f"{start.isoformat()}T18:00:00+01:00",
        statements=tuple(statements),
    )
    return write_camt053(document, version, indent=False), count


# --------------------------------------------------------------------- database

BATCH = 5_000


def insert_municipality(
    session: Session, count: int, seed: int, *, start: dt.date = PLAN_START
) -> dict[int, Plan]:
    """The municipality's account, `count` participants (bulk), their plan versions and
    buffer advances. Synthetic BSN fields: the benchmark does not read them."""
    add_bank_account(session, iban=MUNICIPAL_IBAN, name="Gemeente Budgetbeheer", bic="BNGHNL2G")
    ensure_system_accounts(session)
    ids: list[int] = []
    for offset in range(0, count, BATCH):
        size = min(BATCH, count - offset)
        household_ids = [
            row[0]
            for row in session.execute(
                insert(Household).returning(Household.id, sort_by_parameter_order=True),
                [{"name": f"Huishouden {offset + i}"} for i in range(size)],
            )
        ]
        ids.extend(
            row[0]
            for row in session.execute(
                insert(Participant).returning(Participant.id, sort_by_parameter_order=True),
                [
                    {
                        "household_id": household_id,
                        "display_name": f"Deelnemer {household_id}",
                        "bsn_encrypted": f"synthetic-{seed}-{household_id}",
                        "bsn_index": f"synthetic-{seed}-{household_id}",
                        "own_iban": iban(50_000_000 + household_id),
                        "status": "active",
                        "started_on": start,
                    }
                    for household_id in household_ids
                ],
            )
        )
    plans = synthetic_plans(ids, seed, start)
    rows = [
        {
            "participant_id": pid,
            "version": 1,
            "effective_from": start,
            "body": plan.model_dump(mode="json"),
            "source": "benchmark",
            "created_by": "benchmark",
        }
        for pid, plan in plans.items()
    ]
    for offset in range(0, len(rows), BATCH):
        session.execute(insert(PlanVersionRecord), rows[offset : offset + BATCH])
    # The income expectations the import matches against (as store_plan_version projects).
    expectations = [
        {
            "participant_id": pid,
            "plan_version": 1,
            "agreement_id": income.agreement_id,
            "effective_from": start,
            "effective_until": None,
            "payer_iban": income.payer_iban,
            "payer_name": income.payer_name,
            "search_terms": list(income.search_terms),
            "expected_amount_cents": income.expected_amount_cents,
            "tolerance_cents": income.tolerance_cents,
            "terms": income.model_dump(mode="json"),
        }
        for pid, plan in plans.items()
        for income in plan.incomes
    ]
    for offset in range(0, len(expectations), BATCH):
        session.execute(insert(IncomeExpectationRecord), expectations[offset : offset + BATCH])
    advances = [
        JournalEntry(
            idempotency_key=f"bench:{pid}:advance",
            booking_date=start,
            reason_code="buffer.advance",
            explanation="De gemeente schiet het begin van je buffer voor.",
            postings=(
                Posting(AccountRef.of_participant(pid, AccountKind.BUFFER_ADVANCE), cents),
                Posting(AccountRef.of_participant(pid, AccountKind.BUFFER), -cents),
            ),
        )
        for pid, plan in plans.items()
        if (cents := plan.buffer.advance_cents)
    ]
    for offset in range(0, len(advances), BATCH):
        post_entries(session, advances[offset : offset + BATCH], created_by="benchmark")
    return plans
