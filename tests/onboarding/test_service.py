"""Onboarding service (SQLite and PostgreSQL): one transaction, nothing until approved,
creditors reused, a refused onboarding changes nothing, one-time activation."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.access.policy import Principal
from backend.auth.passwords import verify_password
from backend.bank_import.demo import DemoCredit, import_demo_statement
from backend.codecision import service as proposals
from backend.codecision.applying import unregister_applier
from backend.codecision.changes import InitialPlanChange
from backend.codecision.matrix import ChangeKind
from backend.config import Settings
from backend.cycle.service import run_daily_cycle
from backend.db import transaction
from backend.demo.seed import ANNA, MUNICIPAL_IBAN
from backend.errors import InvalidInput
from backend.ledger_store import account_balances
from backend.ledger_store.service import check_ledger
from backend.models import (
    AccountActivation,
    CaseloadAssignment,
    Counterparty,
    Household,
    JournalEntryRecord,
    LedgerAccount,
    OnboardingDraft,
    Participant,
    PlanVersionRecord,
    PostingRecord,
    Proposal,
    UserAccount,
)
from backend.onboarding.service import (
    ActivationFailed,
    activate_account,
    load_draft,
    register_onboarding_applier,
    save_draft,
    submit_onboarding,
)
from backend.onboarding.steps import InvalidStep, Onboarding
from backend.plans.service import latest_plan
from ledger import AccountKind, AccountRef
from tests.access.conftest import SEED_TODAY, Demo

START = dt.date(2026, 11, 30)  # the Monday after the demo's "today"
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
NEW_BSN = "999990019"  # passes the 11-proef, fictitious
MITROS_IBAN = "NL44RABO0123456789"  # the demo's housing corporation
NEW_CREDITOR_IBAN = "NL02ABNA0123456789"
PAYER_IBAN = "NL71BNGH0285000111"  # Werk en Inkomen, known from the demo


@pytest.fixture(autouse=True)
def applier() -> Iterator[None]:
    register_onboarding_applier()
    yield
    unregister_applier(ChangeKind.INITIAL_PLAN)


def form(**changes: Any) -> dict[str, Any]:
    """A complete onboarding as the wizard collects it (text as typed in)."""
    data: dict[str, Any] = {
        "person": {"display_name": "Daan Kok", "bsn": NEW_BSN, "username": "daan"},
        "household": {"household_name": "Huishouden Kok", "adults": "1", "children": "0"},
        "bank": {"own_iban": "NL91 ABNA 0417 1643 00", "account_holder": "D. Kok"},
        "incomes": [
            {
                "payer_name": "Gemeente Utrecht Werk en Inkomen",
                "payer_iban": PAYER_IBAN,
                "description": "Uitkering",
                "kind": "benefit",
                "amount_cents": "1.250,00",
                "day_of_month": "1",
                "search_terms": "Participatiewet Kok",
            }
        ],
        "fixed_costs": [
            {
                "creditor_name": "Mitros Wonen",  # typed differently: the known name wins
                "creditor_iban": MITROS_IBAN,
                "description": "Huur",
                "category": "rent",
                "amount_cents": "700,00",
                "day_of_month": "20",
                "reference": "Huur Biltstraat 5",
            },
            {
                "creditor_name": "Sportschool Fit",
                "creditor_iban": NEW_CREDITOR_IBAN,
                "description": "Sport",
                "category": "other",
                "amount_cents": "25,00",
                "day_of_month": "20",
                "reference": "Lid 4411",
            },
        ],
        "living_money": {"frequency": "monthly", "day_of_month": "2"},
        "buffer": {
            "build_up_cents": "50,00",
            "advance_cents": "500,00",
            "repayment_cents": "25,00",
            "start_date": START.isoformat(),
        },
    }
    data.update(changes)
    return data


def carla(session: Session) -> Principal:
    account = session.scalar(select(UserAccount).where(UserAccount.username == "carla"))
    assert account is not None
    return Principal.from_account(account)


TABLES = (
    Participant,
    Household,
    UserAccount,
    Counterparty,
    Proposal,
    PlanVersionRecord,
    JournalEntryRecord,
    CaseloadAssignment,
    AccountActivation,
)


def counts(session: Session) -> dict[str, int]:
    return {
        table.__tablename__: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in TABLES
    }


def submit(session_factory: sessionmaker[Session], settings: Settings, data: dict[str, Any]) -> Any:
    with transaction(session_factory, write=True) as session:
        return submit_onboarding(
            session,
            settings.field_cipher(),
            carla(session),
            Onboarding.model_validate(data),
            today=SEED_TODAY,
            now=NOW,
        )


def _paid(session: Session, participant_id: int, reason: str) -> int:
    """Cents that left the participant's `payable` account for `reason` entries."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PostingRecord.amount_cents), 0))
            .join(JournalEntryRecord, JournalEntryRecord.id == PostingRecord.journal_entry_id)
            .join(LedgerAccount, LedgerAccount.id == PostingRecord.account_id)
            .where(
                LedgerAccount.participant_id == participant_id,
                LedgerAccount.kind == "payable",
                JournalEntryRecord.reason_code == reason,
            )
        )
        or 0
    )


def test_onboarding_creates_everything_and_nothing_runs_until_approved(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with session_factory() as session:
        before = counts(session)
    result = submit(session_factory, settings, form())
    assert "-" in result.activation_code and len(result.activation_code) == 14
    assert "Mitros" in result.reused_counterparties
    with session_factory() as session:
        after = counts(session)
        # One of each; only the new creditor is a new counterparty (Mitros and the
        # payer are reused); no plan version and no money yet.
        assert after["participant"] == before["participant"] + 1
        assert after["household"] == before["household"] + 1
        assert after["user_account"] == before["user_account"] + 1
        assert after["counterparty"] == before["counterparty"] + 1
        assert after["proposal"] == before["proposal"] + 1
        assert after["plan_version"] == before["plan_version"]
        assert after["journal_entry"] == before["journal_entry"]
        participant = session.get(Participant, result.participant_id)
        assert participant is not None and participant.own_iban == "NL91ABNA0417164300"
        assert NEW_BSN not in participant.bsn_encrypted and NEW_BSN not in participant.bsn_index
        assert session.scalar(
            select(CaseloadAssignment.id).where(
                CaseloadAssignment.participant_id == participant.id,
                CaseloadAssignment.caseworker_id == demo.users["carla"],
            )
        )
        mitros = session.scalars(select(Counterparty).where(Counterparty.iban == MITROS_IBAN))
        assert [row.name for row in mitros] == ["Mitros"]
        proposal = session.get(Proposal, result.proposal_id)
        assert proposal is not None and proposal.status == "proposed"
        assert proposal.kind == "initial_plan" and proposal.proposed_by == demo.users["carla"]
        rent = proposal.payload["plan"]["fixed_costs"][0]
        assert rent["creditor_name"] == "Mitros" and rent["amount_cents"] == 70000
        activation = session.scalar(
            select(AccountActivation).where(AccountActivation.user_id == result.user_id)
        )
        assert activation is not None
        assert result.activation_code.replace("-", "") not in activation.code_hash

    # The cycle skips a participant without an approved plan.
    summary = run_daily_cycle(session_factory, today=START, participant_ids=[result.participant_id])
    assert summary.journal_entries_created == 0

    # The participant activates the account and approves the plan in the app.
    with transaction(session_factory, write=True) as session:
        account = activate_account(
            session,
            username="daan",
            code=result.activation_code.lower(),
            new_password="een-lang-wachtwoord",
            now=NOW,
        )
        proposal = session.get(Proposal, result.proposal_id)
        assert proposal is not None
        proposals.approve(
            session,
            Principal.from_account(account),
            proposal,
            reason=None,
            today=SEED_TODAY,
            now=NOW,
        )
        assert proposal.applied_at is not None
    with session_factory() as session:
        stored = latest_plan(session, result.participant_id)
        assert stored is not None and stored.version == 1 and stored.effective_from == START
        balances = account_balances(session, participant_id=result.participant_id)
        pid = result.participant_id
        assert balances[AccountRef.of_participant(pid, AccountKind.BUFFER_ADVANCE)] == 50000
        assert balances[AccountRef.of_participant(pid, AccountKind.BUFFER)] == -50000

    # The income arrives on 1 December; the cycle pays the rent and the living money.
    with transaction(session_factory, write=True) as session:
        import_demo_statement(
            session,
            account_iban=MUNICIPAL_IBAN,
            day=dt.date(2026, 12, 1),
            credits=[
                DemoCredit(
                    payer_name="Gemeente Utrecht Werk en Inkomen",
                    payer_iban=PAYER_IBAN,
                    amount_cents=125000,
                    remittance="Participatiewet Kok december 2026",
                )
            ],
            imported_by="test",
        )
    day = START
    while day <= dt.date(2026, 12, 18):
        summary = run_daily_cycle(session_factory, today=day, participant_ids=[pid])
        assert not summary.failed_participants
        day += dt.timedelta(days=1)
    with session_factory() as session:
        assert _paid(session, pid, "fixed_cost.pay") == -(70000 + 2500)
        living = _paid(session, pid, "living_money.pay")
        # € 1.250 income - € 725 costs - € 50 buffer build-up for November (the plan
        # starts on 30 November) and € 50 for December = € 425 living money.
        assert living == -42500
        # Money is neither created nor lost: the ledger's invariants hold.
        assert check_ledger(session) == []
    # Running a day again pays nothing twice.
    again = run_daily_cycle(session_factory, today=dt.date(2026, 12, 18), participant_ids=[pid])
    assert again.journal_entries_created == 0


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"person": {"display_name": "X", "bsn": ANNA.bsn, "username": "x1"}}, "bsn", "bsn_taken"),
        (
            {"person": {"display_name": "X", "bsn": NEW_BSN, "username": "anna"}},
            "username",
            "username_taken",
        ),
        (
            {"bank": {"own_iban": MUNICIPAL_IBAN, "account_holder": "X"}},
            "own_iban",
            "iban_municipal",
        ),
        (
            {
                "living_money": {"frequency": "monthly", "day_of_month": "4"},
                "buffer": {"build_up_cents": "900,00", "start_date": START.isoformat()},
            },
            "plan",
            "plan_no_living_money",
        ),
        (
            {"buffer": {"build_up_cents": "10,00", "start_date": "2026-11-01"}},
            "start_date",
            "start_date_range",
        ),
    ],
)
def test_a_refused_onboarding_changes_nothing(
    demo: Demo,
    session_factory: sessionmaker[Session],
    settings: Settings,
    changes: dict[str, Any],
    field: str,
    error: str,
) -> None:
    with session_factory() as session:
        before = counts(session)
    with pytest.raises(InvalidStep) as refused:
        submit(session_factory, settings, form(**changes))
    assert refused.value.errors == {field: error}
    assert NEW_BSN not in str(refused.value) and ANNA.bsn not in str(refused.value)
    with session_factory() as session:
        assert counts(session) == before


def test_onboarding_the_same_person_twice_is_refused(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    submit(session_factory, settings, form())
    with session_factory() as session:
        before = counts(session)
    second = form(person={"display_name": "Daan Kok", "bsn": NEW_BSN, "username": "daan2"})
    with pytest.raises(InvalidStep) as refused:
        submit(session_factory, settings, second)
    assert refused.value.errors == {"bsn": "bsn_taken"}
    with session_factory() as session:
        assert counts(session) == before


def test_a_creditor_is_shared_by_two_new_participants(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    first = submit(session_factory, settings, form())
    assert "Sportschool Fit" not in first.reused_counterparties
    second = submit(
        session_factory,
        settings,
        form(person={"display_name": "Eva Kok", "bsn": "999990032", "username": "eva"}),
    )
    assert "Sportschool Fit" in second.reused_counterparties
    with session_factory() as session:
        rows = session.scalars(select(Counterparty).where(Counterparty.iban == NEW_CREDITOR_IBAN))
        assert len(list(rows)) == 1


def test_activation_code_is_one_time_and_limited(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    result = submit(session_factory, settings, form())
    with transaction(session_factory, write=True) as session:
        with pytest.raises(InvalidInput):  # too short a password: the code is not used up
            activate_account(
                session, username="daan", code=result.activation_code, new_password="kort", now=NOW
            )
        with pytest.raises(ActivationFailed):
            activate_account(
                session, username="daan", code="AAAA-BBBB-CCCC", new_password="x" * 12, now=NOW
            )
    later = NOW + dt.timedelta(days=31)
    with transaction(session_factory, write=True) as session, pytest.raises(ActivationFailed):
        activate_account(
            session, username="daan", code=result.activation_code, new_password="x" * 12, now=later
        )
    with transaction(session_factory, write=True) as session:
        activate_account(
            session, username="daan", code=result.activation_code, new_password="x" * 12, now=NOW
        )
    with transaction(session_factory, write=True) as session, pytest.raises(ActivationFailed):
        activate_account(
            session, username="daan", code=result.activation_code, new_password="y" * 12, now=NOW
        )
    with session_factory() as session:
        activation = session.scalar(
            select(AccountActivation).where(AccountActivation.user_id == result.user_id)
        )
        assert activation is not None and activation.failed_attempts == 1
        assert activation.used_at is not None


def test_five_wrong_codes_spend_the_code(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    result = submit(session_factory, settings, form())
    for _ in range(5):
        with transaction(session_factory, write=True) as session, pytest.raises(ActivationFailed):
            activate_account(
                session, username="daan", code="AAAA-BBBB-CCCC", new_password="x" * 12, now=NOW
            )
    with transaction(session_factory, write=True) as session, pytest.raises(ActivationFailed):
        activate_account(
            session, username="daan", code=result.activation_code, new_password="x" * 12, now=NOW
        )


def _attempts(session_factory: sessionmaker[Session], user_id: int) -> int:
    with session_factory() as session:
        activation = session.scalar(
            select(AccountActivation).where(AccountActivation.user_id == user_id)
        )
        assert activation is not None
        return activation.failed_attempts


def _wrong_guess(session: Session) -> None:
    with pytest.raises(ActivationFailed):
        activate_account(
            session, username="daan", code="AAAA-BBBB-CCCC", new_password="x" * 12, now=NOW
        )


def test_every_wrong_code_counts_even_when_guessed_at_the_same_time(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """The count is kept in the database: a request that read the activation before
    another request's wrong guess was stored still adds one to the stored count."""
    result = submit(session_factory, settings, form())
    for expected in (1, 2):
        with transaction(session_factory, write=True) as session:
            _wrong_guess(session)
        assert _attempts(session_factory, result.user_id) == expected
    with transaction(session_factory, write=True) as session:
        stale = session.scalar(
            select(AccountActivation).where(AccountActivation.user_id == result.user_id)
        )
        assert stale is not None and stale.failed_attempts == 2
        # Another worker's wrong guess lands after this request read the row.
        session.execute(text("UPDATE account_activation SET failed_attempts = failed_attempts + 1"))
        _wrong_guess(session)
    assert _attempts(session_factory, result.user_id) == 4
    with transaction(session_factory, write=True) as session:
        stale = session.scalar(
            select(AccountActivation).where(AccountActivation.user_id == result.user_id)
        )
        assert stale is not None and stale.failed_attempts == 4
        session.execute(text("UPDATE account_activation SET failed_attempts = failed_attempts + 1"))
        # Spent at the limit (5) by the other worker: the right code no longer works.
        with pytest.raises(ActivationFailed):
            activate_account(
                session,
                username="daan",
                code=result.activation_code,
                new_password="x" * 12,
                now=NOW,
            )
    assert _attempts(session_factory, result.user_id) == 5
    with session_factory() as session:
        activation = session.scalar(
            select(AccountActivation).where(AccountActivation.user_id == result.user_id)
        )
        assert activation is not None and activation.used_at is None
        account = session.get(UserAccount, result.user_id)
        assert account is not None and not verify_password(account.password_hash, "x" * 12)


def test_two_sessions_guessing_at_once_both_count_on_postgres(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Real concurrency (PostgreSQL): both requests read count 0, both count."""
    if session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time; the stale-read case is tested above")
    result = submit(session_factory, settings, form())
    with session_factory() as first, session_factory() as second:
        for session in (first, second):
            row = session.scalar(
                select(AccountActivation).where(AccountActivation.user_id == result.user_id)
            )
            assert row is not None and row.failed_attempts == 0
        _wrong_guess(first)
        first.commit()
        _wrong_guess(second)
        second.commit()
    assert _attempts(session_factory, result.user_id) == 2


def test_a_first_plan_cannot_be_proposed_for_someone_with_a_plan(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    anna = demo.participants["anna"]
    with transaction(session_factory, write=True) as session:
        stored = latest_plan(session, anna)
        assert stored is not None
        with pytest.raises(InvalidInput):
            proposals.create_proposal(
                session,
                carla(session),
                anna,
                change=InitialPlanChange(plan=stored.plan),
                reason="Nog een keer.",
                effective_from=None,
                emergency=False,
                today=SEED_TODAY,
                now=NOW,
                expiry_days=14,
            )


def test_the_draft_is_stored_encrypted(
    demo: Demo, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    cipher = settings.field_cipher()
    data = {"person": {"bsn": NEW_BSN}}
    with transaction(session_factory, write=True) as session:
        save_draft(session, cipher, demo.users["carla"], data, now=NOW)
    with session_factory() as session:
        stored = session.scalar(text("SELECT data_encrypted FROM onboarding_draft"))
        assert NEW_BSN not in str(stored)
        assert load_draft(session, cipher, demo.users["carla"]) == data
        # Bound to its caseworker: another's id cannot read it.
        row = session.scalar(select(OnboardingDraft))
        assert row is not None
        row.caseworker_id = demo.users["chris"]
        session.flush()
        with pytest.raises(ValueError):
            load_draft(session, cipher, demo.users["chris"])


def test_a_new_code_replaces_the_old_one(
    demo: Demo,
    session_factory: sessionmaker[Session],
    settings: Settings,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from backend.cli import main
    from backend.config import get_settings

    result = submit(session_factory, settings, form())
    for key in [key for key in os.environ if key.startswith("HUISHOUDBOEKJE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HUISHOUDBOEKJE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        refused = CliRunner().invoke(main, ["users", "activation-code", "carla", "--by", "carla"])
        assert refused.exit_code != 0 and "participant account" in refused.output
        issued = CliRunner().invoke(main, ["users", "activation-code", "daan", "--by", "carla"])
    finally:
        get_settings.cache_clear()
    assert issued.exit_code == 0, issued.output
    new_code = issued.output.split(": ")[1].split(" ")[0]
    assert new_code != result.activation_code
    with transaction(session_factory, write=True) as session, pytest.raises(ActivationFailed):
        activate_account(
            session, username="daan", code=result.activation_code, new_password="x" * 12, now=NOW
        )
    with transaction(session_factory, write=True) as session:
        activate_account(session, username="daan", code=new_code, new_password="x" * 12, now=NOW)


def test_an_activated_account_gets_a_code_only_as_a_deliberate_reset(
    demo: Demo,
    session_factory: sessionmaker[Session],
    settings: Settings,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`users activation-code` on an activated account would let whoever holds the
    code set a new password: refused unless --reset, and only by her own caseworker."""
    from click.testing import CliRunner

    from backend.cli import main
    from backend.config import get_settings

    result = submit(session_factory, settings, form())
    with transaction(session_factory, write=True) as session:
        activate_account(
            session, username="daan", code=result.activation_code, new_password="x" * 12, now=NOW
        )

    def stored() -> tuple[str, Any]:
        with session_factory() as session:
            row = session.scalar(
                select(AccountActivation).where(AccountActivation.user_id == result.user_id)
            )
            assert row is not None
            return row.code_hash, row.used_at

    before = stored()
    for key in [key for key in os.environ if key.startswith("HUISHOUDBOEKJE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HUISHOUDBOEKJE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        activated = runner.invoke(main, ["users", "activation-code", "daan", "--by", "carla"])
        assert activated.exit_code != 0
        assert "already activated" in activated.output and "--reset" in activated.output
        # anna (demo) has her own password and no activation code at all.
        anna = runner.invoke(main, ["users", "activation-code", "anna", "--by", "carla"])
        assert anna.exit_code != 0 and "already activated" in anna.output
        # chris is a caseworker, but daan is not on his caseload: not even with --reset.
        other = runner.invoke(
            main, ["users", "activation-code", "daan", "--by", "chris", "--reset"]
        )
        assert other.exit_code != 0 and "not on the caseload of 'chris'" in other.output
        assert stored() == before
        reset = runner.invoke(
            main, ["users", "activation-code", "daan", "--by", "carla", "--reset"]
        )
    finally:
        get_settings.cache_clear()
    assert reset.exit_code == 0, reset.output
    assert "PASSWORD RESET for 'daan'" in reset.output
    new_code = reset.output.split("activation code for 'daan': ")[1].split(" ")[0]
    with transaction(session_factory, write=True) as session:
        activate_account(session, username="daan", code=new_code, new_password="y" * 12, now=NOW)
