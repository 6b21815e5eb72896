"""Anna's plan from MONEY-FLOW.md and a tiny ledger that runs the engine day by day.

The tiny ledger is what the backend does, without a database: it books incomes,
asks the engine what to do, books the actions' journal entries, settles payments
the next day, and rebuilds balances (ledger.fold_balances) and open items
(rules.OpenItemsBuilder) from those entries only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ledger import (
    AccountKind,
    AccountRef,
    JournalEntry,
    Money,
    Posting,
    check_balances,
    fold_balances,
)
from rules import (
    REASON_INCOME_MATCHED,
    Action,
    Balances,
    BufferPolicy,
    Category,
    FixedCostAgreement,
    IncomeAgreement,
    IncomeKind,
    LivingMoneyPolicy,
    MonthlySchedule,
    OpenItemsBuilder,
    PaymentReference,
    Plan,
    PriorityClass,
    RaiseAlert,
    Weekday,
    WeeklySchedule,
    YearlySchedule,
    evaluate,
    income_metadata,
    occurrences,
)

ANNA_ID = 7
MUNICIPAL_BANK = AccountRef.bank("NL84BNGH0285050123")
ANNA_STARTS = dt.date(2026, 3, 20)


def euro(text: str) -> int:
    """'1.312,48' -> 131248 cents: amounts in tests read like the design document."""
    return Money.parse(text.replace(".", "").replace(",", ".")).cents


def monthly(day: int, start: dt.date = ANNA_STARTS) -> MonthlySchedule:
    return MonthlySchedule(day_of_month=day, start_date=start)


def fixed_cost(
    agreement_id: str,
    creditor: str,
    amount: str,
    schedule: MonthlySchedule | YearlySchedule,
    priority: PriorityClass,
    category: Category,
) -> FixedCostAgreement:
    return FixedCostAgreement(
        agreement_id=agreement_id,
        creditor_name=creditor,
        creditor_iban=f"NL00TEST{len(agreement_id):010d}",
        amount_cents=euro(amount),
        schedule=schedule,
        reference=PaymentReference(kind="free_text", text=f"Anna de Vries {agreement_id}"),
        priority_class=priority,
        category=category,
    )


BENEFIT = IncomeAgreement(
    agreement_id="benefit",
    payer_name="Werk en Inkomen",
    payer_iban="NL71BNGH0285000111",
    search_terms=("Participatiewet",),
    expected_amount_cents=euro("1.312,48"),
    tolerance_cents=euro("5,00"),
    schedule=monthly(25),
    window_days_before=2,
    window_days_after=5,
    kind=IncomeKind.BENEFIT,
    description_nl="Participatiewet-uitkering",
)
ZORGTOESLAG = IncomeAgreement(
    agreement_id="zorgtoeslag",
    payer_name="Belastingdienst Toeslagen",
    payer_iban="NL20INGB0001234567",
    search_terms=("zorgtoeslag",),
    expected_amount_cents=euro("154,00"),
    tolerance_cents=euro("1,00"),
    schedule=monthly(20),
    window_days_before=2,
    window_days_after=5,
    kind=IncomeKind.ALLOWANCE,
    description_nl="Zorgtoeslag",
)
RENT = fixed_cost(
    "rent", "Mitros", "645,00", monthly(1), PriorityClass.RENT_OR_MORTGAGE, Category.RENT
)
ENERGY = fixed_cost(
    "energy", "Eneco", "139,18", monthly(28), PriorityClass.ENERGY_WATER_HEATING, Category.ENERGY
)
WATER = fixed_cost(
    "water", "Vitens", "21,50", monthly(28), PriorityClass.ENERGY_WATER_HEATING, Category.WATER
)
HEALTH_INSURANCE = fixed_cost(
    "health",
    "Zilveren Kruis",
    "152,70",
    monthly(1),
    PriorityClass.HEALTH_INSURANCE,
    Category.HEALTH_INSURANCE,
)
MUNICIPAL_TAXES = fixed_cost(
    "taxes",
    "BghU",
    "312,00",
    YearlySchedule(month=3, day_of_month=31, start_date=dt.date(2026, 4, 1)),
    PriorityClass.MUNICIPAL_AND_WATER_BOARD_TAXES,
    Category.MUNICIPAL_TAXES,
)
PHONE = fixed_cost(
    "phone", "KPN", "35,00", monthly(15), PriorityClass.OTHER, Category.PHONE_AND_INTERNET
)


def anna_plan(**changes: object) -> Plan:
    """Anna's plan as in MONEY-FLOW.md; keyword arguments replace plan fields."""
    plan = Plan(
        participant_id=ANNA_ID,
        version=1,
        effective_from=ANNA_STARTS,
        incomes=(BENEFIT, ZORGTOESLAG),
        fixed_costs=(RENT, ENERGY, WATER, HEALTH_INSURANCE, MUNICIPAL_TAXES, PHONE),
        buffer=BufferPolicy(
            monthly_build_up_cents=euro("25,00"),
            advance_cents=euro("1.500,00"),
            monthly_advance_repayment_cents=euro("25,00"),
        ),
        living_money=LivingMoneyPolicy(
            schedule=WeeklySchedule(weekday=Weekday.MONDAY, start_date=dt.date(2026, 3, 26)),
            payee_name="A. de Vries",
            payee_iban="NL32INGB0007777777",
        ),
    )
    # model_validate, not model_copy(update=...): a changed plan must be validated again.
    return Plan.model_validate({**plan.model_dump(), **changes}) if changes else plan


def account(kind: AccountKind, participant_id: int = ANNA_ID) -> AccountRef:
    return AccountRef.of_participant(participant_id, kind)


def transfer(
    key: str, day: dt.date, debit: AccountRef, credit: AccountRef, cents: int, reason: str
) -> JournalEntry:
    """A two-line entry: debit one account, credit the other, by `cents`."""
    return JournalEntry(
        idempotency_key=key,
        booking_date=day,
        reason_code=reason,
        explanation=f"Test: {reason}.",
        explanation_en=f"Test: {reason}.",
        postings=(Posting(debit, cents), Posting(credit, -cents)),
    )


@dataclass
class MiniLedger:
    """A participant's ledger in memory, driven day by day like the daily cycle."""

    plan: Plan
    entries: list[JournalEntry] = field(default_factory=list)
    raw_balances: dict[AccountRef, int] = field(default_factory=dict)
    builder: OpenItemsBuilder = field(default_factory=OpenItemsBuilder)
    actions_by_day: dict[dt.date, list[Action]] = field(default_factory=dict)
    income_cents: int = 0
    settled_cents: int = 0
    opening_cents: int = 0

    @property
    def participant_id(self) -> int:
        return self.plan.participant_id

    def post(self, entry: JournalEntry) -> None:
        self.entries.append(entry)
        for ref, cents in fold_balances([entry]).items():
            self.raw_balances[ref] = self.raw_balances.get(ref, 0) + cents
        self.builder.add_entry(entry)

    def open_with(
        self, day: dt.date, *, available: int = 0, buffer_advance: int = 0, buffer: int = 0
    ) -> None:
        """Opening position: own money in `available` and in `buffer`, and a municipal
        buffer advance (which also sits in the buffer)."""
        if buffer:
            self.post(
                transfer(
                    f"opening-buffer:{self.participant_id}",
                    day,
                    MUNICIPAL_BANK,
                    account(AccountKind.BUFFER, self.participant_id),
                    buffer,
                    "opening",
                )
            )
            self.opening_cents += buffer
        if available:
            # Money arrives in the bank (debit) and is held for the participant (credit).
            self.post(
                transfer(
                    f"opening:{self.participant_id}",
                    day,
                    MUNICIPAL_BANK,
                    account(AccountKind.AVAILABLE, self.participant_id),
                    available,
                    "opening",
                )
            )
            self.opening_cents += available
        if buffer_advance:
            # The participant owes the advance (debit) and holds it in the buffer (credit).
            self.post(
                transfer(
                    f"advance:{self.participant_id}",
                    day,
                    account(AccountKind.BUFFER_ADVANCE, self.participant_id),
                    account(AccountKind.BUFFER, self.participant_id),
                    buffer_advance,
                    "buffer.advance",
                )
            )

    def receive(
        self, agreement_id: str, cents: int, on: dt.date, expected: dt.date | None = None
    ) -> None:
        income = self.plan.income(agreement_id)
        assert income is not None
        period = expected or income.expected_date_for(on)
        assert period is not None, f"{on} is in no window of {agreement_id}"
        self.post(
            JournalEntry(
                idempotency_key=f"income:{self.participant_id}:{agreement_id}:{period}:{on}",
                booking_date=on,
                reason_code=REASON_INCOME_MATCHED,
                explanation="Inkomen ontvangen.",
                explanation_en="Income received.",
                postings=(
                    Posting(MUNICIPAL_BANK, cents),
                    Posting(account(AccountKind.AVAILABLE, self.participant_id), -cents),
                ),
                metadata=income_metadata(agreement_id, period),
            )
        )
        self.income_cents += cents

    def settle_payable(self, day: dt.date) -> None:
        """Yesterday's payments left the bank (the statement settles them)."""
        payable = self.balances().payable_cents
        if payable:
            # Payable is cleared (debit) and the money leaves the bank (credit).
            self.post(
                transfer(
                    f"settle:{self.participant_id}:{day}",
                    day,
                    account(AccountKind.PAYABLE, self.participant_id),
                    MUNICIPAL_BANK,
                    payable,
                    "settlement",
                )
            )
            self.settled_cents += payable

    def balances(self) -> Balances:
        return Balances.from_ledger(self.participant_id, self.raw_balances)

    def evaluate(self, day: dt.date) -> list[Action]:
        return evaluate(self.plan, self.balances(), self.builder.build(day), day)

    def apply(self, day: dt.date, actions: Iterable[Action]) -> None:
        for action in actions:
            entry = action.to_journal_entry(day)
            if entry is None:
                self.builder.add_alert(action.idempotency_key)
            else:
                self.post(entry)
            self.actions_by_day.setdefault(day, []).append(action)

    def run_day(self, day: dt.date) -> list[Action]:
        actions = self.evaluate(day)
        self.apply(day, actions)
        problems = check_balances(self.raw_balances)
        assert not problems, problems
        return actions

    def all_actions(self) -> list[Action]:
        return [action for _, actions in sorted(self.actions_by_day.items()) for action in actions]

    def actions_between(self, start: dt.date, end: dt.date) -> list[Action]:
        return [
            action
            for day, actions in sorted(self.actions_by_day.items())
            if start <= day <= end
            for action in actions
        ]

    def alerts_between(self, start: dt.date, end: dt.date) -> list[RaiseAlert]:
        return [a for a in self.actions_between(start, end) if isinstance(a, RaiseAlert)]


@dataclass(frozen=True)
class Arrival:
    """How one expected income arrives: on which day and how much (None: not at all)."""

    on: dt.date | None
    cents: int


def run(
    ledger: MiniLedger,
    start: dt.date,
    end: dt.date,
    arrivals: Mapping[tuple[str, dt.date], Arrival] | None = None,
) -> MiniLedger:
    """Run every day from `start` to `end`. Incomes arrive on their expected day with the
    expected amount, unless `arrivals` says otherwise for (agreement_id, expected date)."""
    arrivals = dict(arrivals or {})
    planned: dict[dt.date, list[tuple[str, int, dt.date]]] = {}
    for income in ledger.plan.incomes:
        for expected in occurrences(income.schedule, start - dt.timedelta(days=40), end):
            arrival = arrivals.get(
                (income.agreement_id, expected), Arrival(expected, income.expected_amount_cents)
            )
            if arrival.on is not None and start <= arrival.on <= end:
                planned.setdefault(arrival.on, []).append(
                    (income.agreement_id, arrival.cents, expected)
                )
    day = start
    while day <= end:
        ledger.settle_payable(day)
        for agreement_id, cents, expected in planned.get(day, []):
            ledger.receive(agreement_id, cents, day, expected)
        ledger.run_day(day)
        day += dt.timedelta(days=1)
    return ledger


def anna_from_the_start(plan: Plan | None = None) -> MiniLedger:
    """Anna joins on 20 March 2026 with the municipality's € 1.500,00 buffer advance."""
    ledger = MiniLedger(plan or anna_plan())
    ledger.open_with(ANNA_STARTS, buffer_advance=euro("1.500,00"))
    return ledger
