"""What the pages need from plans, the ledger and the rules engine, in one place.

`money_view` gives the plan in force (backend.plans), the participant's holdings
(ledger balances) and the open items the engine works with, folded the way the
daily cycle folds them (backend.cycle.loading: the cached `cycle_state` plus
the entries after it, or every entry when there is no usable cache). The
forecast ("Wat komt eraan", "gevuld tot", the next living-money payout) is then
`rules.simulate` on exactly that: the pages have no money rules of their own.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.cycle import loading
from backend.ledger_store import account_balances
from backend.models import LedgerAccount, Participant, PostingRecord
from backend.plans import StoredPlan, current_plan, latest_plan
from rules import Balances, Forecast, OpenItems, OpenItemsBuilder, Plan, RulesError, simulate

FORECAST_MONTHS = 3

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MoneyView:
    participant_id: int
    today: dt.date
    balances: Balances
    plan: StoredPlan | None  # in force today
    upcoming_plan: StoredPlan | None  # a later version, decided, not in force yet
    open_items: OpenItems | None

    @property
    def monthly_fixed_costs_cents(self) -> int:
        return 0 if self.plan is None else self.plan.plan.monthly_fixed_costs_cents

    @property
    def buffer_target_cents(self) -> int:
        return 0 if self.plan is None else self.plan.plan.buffer_target_cents


def balances_of(session: Session, participant_id: int) -> Balances:
    return Balances.from_ledger(
        participant_id, account_balances(session, participant_id=participant_id)
    )


def _open_items(session: Session, participant_id: int, today: dt.date) -> OpenItems:
    """The engine's open items as the daily cycle folds them (cache + newer entries)."""
    ledgers = loading.holdings_and_counts(session, [participant_id])
    state = loading.states(session, [participant_id]).get(participant_id)
    ledger = ledgers.get(participant_id)
    seen = 0 if ledger is None else ledger.postings_through_state
    rebuild = state is None or today < state.as_of or seen != state.postings_folded
    found = loading.entries_after(
        session,
        incremental_ids=[] if rebuild else [participant_id],
        rebuild_ids=[participant_id] if rebuild else [],
        accounts=loading.AccountCache(),
    )[participant_id]
    if rebuild or state is None:
        builder = OpenItemsBuilder()
        for key in loading.rules_alert_keys(session, [participant_id]).get(participant_id, ()):
            builder.add_alert(key)
    else:
        builder = OpenItemsBuilder.starting_from(OpenItems.model_validate(state.open_items))
    for entry in found.entries:
        builder.add_entry(entry)
    return builder.build(today)


def _participation_ended(session: Session, participant_id: int) -> bool:
    participant = session.get(Participant, participant_id)
    return participant is not None and participant.status == "ended"


def money_view(
    session: Session, participant_id: int, today: dt.date, *, with_open_items: bool = True
) -> MoneyView:
    """Plan, balances and (unless not needed: `with_open_items=False`) open items."""
    plan = current_plan(session, participant_id, today)
    newest = latest_plan(session, participant_id)
    upcoming = (
        newest if newest is not None and (plan is None or newest.version > plan.version) else None
    )
    if with_open_items and _participation_ended(session, participant_id):
        # After the end (backend.ending) nothing is coming any more: no open items, so
        # no forecast, and the closing entries need not fit the engine's bookkeeping.
        with_open_items = False
    return MoneyView(
        participant_id=participant_id,
        today=today,
        balances=balances_of(session, participant_id),
        plan=plan,
        upcoming_plan=upcoming,
        open_items=(
            _open_items(session, participant_id, today)
            if plan is not None and with_open_items
            else None
        ),
    )


def forecast(view: MoneyView, months: int = FORECAST_MONTHS) -> Forecast | None:
    """The next months if every expected income arrives on its day; None without a plan
    or when the balances are impossible for the engine (it refuses them)."""
    if view.plan is None or view.open_items is None or view.balances.problems():
        return None
    try:
        return simulate(view.plan.plan, view.balances, view.open_items, view.today, months)
    except RulesError:
        # The engine refuses state it cannot explain (the daily cycle reports it to
        # the caseworker); the pages then show no forecast rather than a wrong one.
        log.warning("no forecast for participant %s", view.participant_id, exc_info=True)
        return None


# Forecasts per (database, participant, day, plan version, last journal entry): the same inputs
# give the same forecast, so a page shown again costs two small queries. Per process.
FORECAST_CACHE_MAX = 512
_forecasts: OrderedDict[tuple[str, int, dt.date, int, int], Forecast | None] = OrderedDict()
_forecasts_lock = threading.Lock()


def _last_entry_id(session: Session, participant_id: int) -> int:
    found = session.scalar(
        select(func.max(PostingRecord.journal_entry_id))
        .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
        .where(LedgerAccount.participant_id == participant_id)
    )
    return int(found or 0)


def view_with_forecast(
    session: Session, participant_id: int, today: dt.date, months: int = FORECAST_MONTHS
) -> tuple[MoneyView, Forecast | None]:
    """The money view and its forecast, from the cache when nothing changed."""
    view = money_view(session, participant_id, today, with_open_items=False)
    if view.plan is None:
        return view, None
    database = str(session.get_bind().engine.url)
    key = (
        database,
        participant_id,
        today,
        view.plan.record_id,
        _last_entry_id(session, participant_id),
    )
    with _forecasts_lock:
        if key in _forecasts:
            _forecasts.move_to_end(key)
            return view, _forecasts[key]
    full = replace(view, open_items=_open_items(session, participant_id, today))
    result = forecast(full, months)
    with _forecasts_lock:
        _forecasts[key] = result
        while len(_forecasts) > FORECAST_CACHE_MAX:
            _forecasts.popitem(last=False)
    return full, result


@dataclass(frozen=True, slots=True)
class Payout:
    day: dt.date
    amount_cents: int


def next_living_money(result: Forecast | None) -> Payout | None:
    if result is None:
        return None
    for day in result.days:
        if day.living_money_cents > 0:
            return Payout(day.day, day.living_money_cents)
    return None


def agreement_names(plan: Plan, lang: str) -> dict[str, str]:
    """Readable names per agreement id: "Huur (Mitros)"."""
    names: dict[str, str] = {}
    for cost in plan.fixed_costs:
        label = cost.description_nl or cost.creditor_name
        names[cost.agreement_id] = (
            f"{label} ({cost.creditor_name})" if label != cost.creditor_name else label
        )
    for income in plan.incomes:
        label = income.description_nl or income.payer_name
        names[income.agreement_id] = (
            f"{label} ({income.payer_name})" if label != income.payer_name else label
        )
    return names
