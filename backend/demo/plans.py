"""The demo participants' plans (rules.Plan) and their history.

Anna's plan is exactly the one in docs MONEY-FLOW.md: benefit € 1.312,48 on the
25th and zorgtoeslag € 154,00 on the 20th; rent, energy, water, health insurance,
yearly municipal taxes and phone (€ 1.019,38 a month); a buffer advance of
€ 1.500,00, built up by € 25,00 a month and then repaid at € 25,00 a month; living
money weekly on Mondays (€ 97,41). Bram gets his living money monthly and has no
advance; Zoë only receives zorgtoeslag and wages and gets living money weekly on
Fridays with an agreed cap.

The history: the plan takes effect on the 16th of the month two months back, the
incomes arrive on their expected days (one of Anna's allowances two days late) on a
daily bank statement that the bank import matches and books (backend.bank_import.demo),
and the daily cycle runs for every day up to `today`, so the demo shows real
reservations, payments, buffer build-up and living money.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.bank_import.demo import DemoCredit, demo_remittance, import_demo_statement
from backend.cycle.loading import AccountCache
from backend.cycle.service import run_cycle_in_session
from backend.errors import InvalidInput
from backend.ledger_store import account_balances, post_entries
from backend.models import CycleState, Participant
from backend.plans import latest_plan, store_plan_version
from ledger import AccountKind, AccountRef, JournalEntry, Money, Posting
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

# Counterparties: (name, IBAN). All fictitious.
WERK_EN_INKOMEN = ("Gemeente Utrecht Werk en Inkomen", "NL71BNGH0285000111")
TOESLAGEN = ("Belastingdienst Toeslagen", "NL20INGB0001234567")
BAKKERIJ = ("Bakkerij Van Dam", "NL45RABO0150493872")
MITROS = ("Mitros", "NL44RABO0123456789")
ENECO = ("Eneco", "NL91ABNA0417164300")
VITENS = ("Vitens", "NL71INGB0009876543")
ZILVEREN_KRUIS = ("Zilveren Kruis", "NL30RABO0301234567")
BGHU = ("BghU Belastingsamenwerking", "NL94INGB0005555555")
KPN = ("KPN", "NL46ABNA0123987654")


def euro(text: str) -> int:
    """'1.312,48' -> 131248 cents: amounts read like the design document."""
    return Money.parse(text.replace(".", "").replace(",", ".")).cents


def plan_start(today: dt.date) -> dt.date:
    """The 16th of the month two months back: the plan takes effect before the month's
    incomes arrive; fixed costs start on the 1st after, living money on the 26th."""
    month_index = today.year * 12 + today.month - 1 - 2
    return dt.date(month_index // 12, month_index % 12 + 1, 16)


def _costs_start(start: dt.date) -> dt.date:
    return (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _living_money_start(start: dt.date) -> dt.date:
    return start.replace(day=26)


def _cost(
    agreement_id: str,
    creditor: tuple[str, str],
    amount: str,
    schedule: MonthlySchedule | YearlySchedule,
    priority: PriorityClass,
    category: Category,
    description: str,
    reference: str,
    *,
    structured: bool = False,
) -> FixedCostAgreement:
    return FixedCostAgreement(
        agreement_id=agreement_id,
        creditor_name=creditor[0],
        creditor_iban=creditor[1],
        amount_cents=euro(amount),
        schedule=schedule,
        reference=PaymentReference(
            kind="structured" if structured else "free_text", text=reference
        ),
        priority_class=priority,
        category=category,
        description_nl=description,
    )


def _income(
    agreement_id: str,
    payer: tuple[str, str],
    amount: str,
    day: int,
    start: dt.date,
    kind: IncomeKind,
    description: str,
    search_terms: tuple[str, ...],
    tolerance: str,
) -> IncomeAgreement:
    return IncomeAgreement(
        agreement_id=agreement_id,
        payer_name=payer[0],
        payer_iban=payer[1],
        search_terms=search_terms,
        expected_amount_cents=euro(amount),
        tolerance_cents=euro(tolerance),
        schedule=MonthlySchedule(day_of_month=day, start_date=start),
        window_days_before=2,
        window_days_after=5,
        kind=kind,
        description_nl=description,
    )


def anna_plan(participant_id: int, start: dt.date, own_iban: str) -> Plan:
    def monthly(day: int) -> MonthlySchedule:
        return MonthlySchedule(day_of_month=day, start_date=_costs_start(start))

    return Plan(
        participant_id=participant_id,
        version=1,
        effective_from=start,
        incomes=(
            _income(
                "uitkering",
                WERK_EN_INKOMEN,
                "1.312,48",
                25,
                start,
                IncomeKind.BENEFIT,
                "Participatiewet-uitkering",
                ("Participatiewet",),
                "5,00",
            ),
            _income(
                "zorgtoeslag",
                TOESLAGEN,
                "154,00",
                20,
                start,
                IncomeKind.ALLOWANCE,
                "Zorgtoeslag",
                ("zorgtoeslag", "toeslagnummer 2001 4711"),
                "1,00",
            ),
        ),
        fixed_costs=(
            _cost(
                "huur",
                MITROS,
                "645,00",
                monthly(1),
                PriorityClass.RENT_OR_MORTGAGE,
                Category.RENT,
                "Huur",
                "Huur Amsterdamsestraatweg 12 bis",
            ),
            _cost(
                "energie",
                ENECO,
                "139,18",
                monthly(28),
                PriorityClass.ENERGY_WATER_HEATING,
                Category.ENERGY,
                "Energie",
                "Klantnummer 200 418 377",
            ),
            _cost(
                "water",
                VITENS,
                "21,50",
                monthly(28),
                PriorityClass.ENERGY_WATER_HEATING,
                Category.WATER,
                "Water",
                "Klantnummer 7712 0456",
            ),
            _cost(
                "zorgverzekering",
                ZILVEREN_KRUIS,
                "152,70",
                monthly(1),
                PriorityClass.HEALTH_INSURANCE,
                Category.HEALTH_INSURANCE,
                "Zorgverzekering",
                "Polis 1234 5678",
            ),
            _cost(
                "gemeentebelastingen",
                BGHU,
                "312,00",
                YearlySchedule(month=3, day_of_month=31, start_date=_costs_start(start)),
                PriorityClass.MUNICIPAL_AND_WATER_BOARD_TAXES,
                Category.MUNICIPAL_TAXES,
                "Gemeentelijke belastingen",
                "5000056789012345",
                structured=True,
            ),
            _cost(
                "telefoon",
                KPN,
                "35,00",
                monthly(15),
                PriorityClass.OTHER,
                Category.PHONE_AND_INTERNET,
                "Telefoon en internet",
                "Klant 31 6 1234 5678",
            ),
        ),
        buffer=BufferPolicy(
            monthly_build_up_cents=euro("25,00"),
            advance_cents=euro("1.500,00"),
            monthly_advance_repayment_cents=euro("25,00"),
        ),
        living_money=LivingMoneyPolicy(
            schedule=WeeklySchedule(weekday=Weekday.MONDAY, start_date=_living_money_start(start)),
            payee_name="A. de Vries",
            payee_iban=own_iban,
        ),
    )


def bram_plan(participant_id: int, start: dt.date, own_iban: str) -> Plan:
    def monthly(day: int) -> MonthlySchedule:
        return MonthlySchedule(day_of_month=day, start_date=_costs_start(start))

    return Plan(
        participant_id=participant_id,
        version=1,
        effective_from=start,
        incomes=(
            _income(
                "uitkering",
                WERK_EN_INKOMEN,
                "1.089,20",
                25,
                start,
                IncomeKind.BENEFIT,
                "Participatiewet-uitkering",
                ("Participatiewet",),
                "5,00",
            ),
            _income(
                "huurtoeslag",
                TOESLAGEN,
                "402,00",
                20,
                start,
                IncomeKind.ALLOWANCE,
                "Huurtoeslag",
                ("huurtoeslag",),
                "1,00",
            ),
        ),
        fixed_costs=(
            _cost(
                "huur",
                MITROS,
                "812,40",
                monthly(1),
                PriorityClass.RENT_OR_MORTGAGE,
                Category.RENT,
                "Huur",
                "Huur Kanaalweg 88",
            ),
            _cost(
                "energie",
                ENECO,
                "98,00",
                monthly(28),
                PriorityClass.ENERGY_WATER_HEATING,
                Category.ENERGY,
                "Energie",
                "Klantnummer 200 733 912",
            ),
            _cost(
                "zorgverzekering",
                ZILVEREN_KRUIS,
                "148,95",
                monthly(1),
                PriorityClass.HEALTH_INSURANCE,
                Category.HEALTH_INSURANCE,
                "Zorgverzekering",
                "Polis 8765 4321",
            ),
        ),
        # No advance: the buffer is built up at € 50,00 a month from income.
        buffer=BufferPolicy(monthly_build_up_cents=euro("50,00")),
        living_money=LivingMoneyPolicy(
            schedule=MonthlySchedule(day_of_month=26, start_date=_living_money_start(start)),
            payee_name="B. Jansen",
            payee_iban=own_iban,
        ),
    )


def zoe_plan(participant_id: int, start: dt.date, own_iban: str) -> Plan:
    def monthly(day: int) -> MonthlySchedule:
        return MonthlySchedule(day_of_month=day, start_date=_costs_start(start))

    return Plan(
        participant_id=participant_id,
        version=1,
        effective_from=start,
        incomes=(
            _income(
                "loon",
                BAKKERIJ,
                "1.180,00",
                23,
                start,
                IncomeKind.WAGES,
                "Loon",
                ("salaris", "loon"),
                "40,00",
            ),
            _income(
                "zorgtoeslag",
                TOESLAGEN,
                "154,00",
                20,
                start,
                IncomeKind.ALLOWANCE,
                "Zorgtoeslag",
                ("zorgtoeslag", "toeslagnummer 2001 5823"),
                "1,00",
            ),
        ),
        fixed_costs=(
            _cost(
                "huur",
                MITROS,
                "702,15",
                monthly(1),
                PriorityClass.RENT_OR_MORTGAGE,
                Category.RENT,
                "Huur",
                "Huur Oudegracht 201",
            ),
            _cost(
                "water",
                VITENS,
                "19,75",
                monthly(28),
                PriorityClass.ENERGY_WATER_HEATING,
                Category.WATER,
                "Water",
                "Klantnummer 7712 9981",
            ),
        ),
        buffer=BufferPolicy(
            monthly_build_up_cents=euro("40,00"),
            advance_cents=euro("1.000,00"),
            monthly_advance_repayment_cents=euro("20,00"),
        ),
        living_money=LivingMoneyPolicy(
            schedule=WeeklySchedule(weekday=Weekday.FRIDAY, start_date=_living_money_start(start)),
            payee_name="Z. IJzerman",
            payee_iban=own_iban,
            monthly_amount_cap_cents=euro("450,00"),
        ),
    )


PLAN_BUILDERS: dict[str, Callable[[int, dt.date, str], Plan]] = {
    "anna": anna_plan,
    "bram": bram_plan,
    "zoe": zoe_plan,
}
# Anna's zorgtoeslag of last month arrives two days late: the only trace is "later dan
# verwacht" in her transactions (MONEY-FLOW.md, "Income three days late").
LATE_INCOMES: dict[str, dict[str, tuple[int, int]]] = {
    "anna": {"zorgtoeslag": (1, 2)},  # months back, days late
}


# ---------------------------------------------------------------------- history

DEMO_PLAN_SOURCE = "demo-seed"


def seed_plans_and_history(
    session: Session,
    participants: Mapping[str, Participant],
    *,
    municipal_iban: str,
    today: dt.date,
    created_by: str,
) -> int:
    """Plan version 1 for each demo participant (once), the buffer advance, the incomes
    day by day and the daily cycle for every day not run yet, up to `today`.
    Returns the number of journal entries created."""
    plans: dict[int, Plan] = {}
    for username, participant in participants.items():
        stored = latest_plan(session, participant.id)
        if stored is None:
            if account_balances(session, participant_id=participant.id):
                raise InvalidInput(
                    "this demo database was seeded by an older version without plans; "
                    "delete it (make clean) and seed again"
                )
            own_iban = participant.own_iban or ""
            plan = PLAN_BUILDERS[username](participant.id, plan_start(today), own_iban)
            stored = store_plan_version(
                session, plan, created_by=created_by, source=DEMO_PLAN_SOURCE
            )
        plans[participant.id] = stored.plan
    incomes = _incomes_by_day(participants, plans, municipal_iban, today)
    advances = [
        _advance(participant_id, plan)
        for participant_id, plan in plans.items()
        if plan.buffer.advance_cents
    ]
    created = sum(item.created for item in post_entries(session, advances, created_by=created_by))
    first_day = _first_day_to_run(session, plans)
    accounts = AccountCache()
    day = first_day
    while day <= today:
        # The day's incomes arrive on a bank statement, which the import books.
        report = import_demo_statement(
            session,
            account_iban=municipal_iban,
            day=day,
            credits=incomes.get(day, []),
            imported_by=created_by,
        )
        if report is not None:
            created += report.total("journal_entries_created")
        summary = run_cycle_in_session(
            session, today=day, participant_ids=sorted(plans), accounts=accounts
        )
        if summary.failed_participants:
            raise InvalidInput(f"the demo cycle of {day} failed: {summary.failed_participants}")
        created += summary.journal_entries_created
        day += dt.timedelta(days=1)
    return created


def _first_day_to_run(session: Session, plans: Mapping[int, Plan]) -> dt.date:
    """The day after the last day the cycle ran for all demo participants."""
    ran_until = dict(
        session.execute(
            select(CycleState.participant_id, CycleState.as_of).where(
                CycleState.participant_id.in_(list(plans))
            )
        ).all()
    )
    return min(
        ran_until[participant_id] + dt.timedelta(days=1)
        if participant_id in ran_until
        else plan.effective_from
        for participant_id, plan in plans.items()
    )


def _advance(participant_id: int, plan: Plan) -> JournalEntry:
    cents = plan.buffer.advance_cents
    amount = Money(cents).format_nl()
    return JournalEntry(
        idempotency_key=f"demo:{participant_id}:buffer-advance",
        booking_date=plan.effective_from,
        reason_code="buffer.advance",
        explanation=f"De gemeente schiet {amount} voor om je buffer te starten.",
        explanation_en=f"The municipality advances {amount} to start your buffer.",
        postings=(
            Posting(AccountRef.of_participant(participant_id, AccountKind.BUFFER_ADVANCE), cents),
            Posting(AccountRef.of_participant(participant_id, AccountKind.BUFFER), -cents),
        ),
    )


def _incomes_by_day(
    participants: Mapping[str, Participant],
    plans: Mapping[int, Plan],
    municipal_iban: str,
    today: dt.date,
) -> dict[dt.date, list[DemoCredit]]:
    """Every expected income from the plan's start up to today, as the payer sends it:
    a credit on the municipality's statement of the day it arrives, with the
    agreement's search terms in its description."""
    found: dict[dt.date, list[DemoCredit]] = defaultdict(list)
    for username, participant in participants.items():
        plan = plans[participant.id]
        for income in plan.incomes:
            late = LATE_INCOMES.get(username, {}).get(income.agreement_id)
            late_month = _months_back(today, late[0]) if late else None
            for expected in occurrences(income.schedule, plan.effective_from, today):
                days_late = late[1] if late and (expected.year, expected.month) == late_month else 0
                received_on = expected + dt.timedelta(days=days_late)
                if received_on > today:
                    continue
                found[received_on].append(
                    DemoCredit(
                        payer_name=income.payer_name,
                        payer_iban=income.payer_iban,
                        amount_cents=income.expected_amount_cents,
                        remittance=demo_remittance(
                            income.search_terms, expected, income.description_nl
                        ),
                    )
                )
    return found


def _months_back(today: dt.date, months: int) -> tuple[int, int]:
    month_index = today.year * 12 + today.month - 1 - months
    return month_index // 12, month_index % 12 + 1


MONTHS_NL = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
