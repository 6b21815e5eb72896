"""The `huishoudboekje` command line: what a scheduler and an operator run.

Every command that reports has `--json`; failures exit non-zero with a sentence
that says what is wrong.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backend.access.roles import Role
from backend.clock import today_amsterdam
from backend.config import ConfigurationError, Settings, get_settings
from backend.db import make_engine, make_session_factory, transaction
from backend.errors import AppError


def _echo_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=True, default=str))


@contextmanager
def unit_of_work(settings: Settings, *, write: bool = False) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine), write=write) as session:
            yield session
    finally:
        engine.dispose()


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-30") from error


class FriendlyGroup(click.Group):
    """Turns expected errors into one clear line and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (AppError, ConfigurationError, ValueError) as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(2)
        except OperationalError as error:
            click.echo(
                f"error: the database refused the command ({error.orig}); "
                "is HUISHOUDBOEKJE_DATABASE_URL right and has `huishoudboekje db upgrade` run?",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=FriendlyGroup)
def main() -> None:
    """Huishoudboekje: budgetbeheer voor gemeenten."""
    from backend.logging import configure_logging

    # Log lines (JSON, personal data redacted) go to stderr; command output to stdout.
    configure_logging(level=os.environ.get("HUISHOUDBOEKJE_LOG_LEVEL", "WARNING"))


@main.group(cls=FriendlyGroup)
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (SQLite or PostgreSQL, from HUISHOUDBOEKJE_DATABASE_URL)."""
    from backend.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    click.echo(f"database at revision {revision}")


@main.group(cls=FriendlyGroup)
def demo() -> None:
    """Demo data (only with HUISHOUDBOEKJE_DEMO=1)."""


@demo.command("seed")
@click.option("--today", callback=_parse_date, help="Pretend today is this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def demo_seed(today: dt.date | None, as_json: bool) -> None:
    """Create a small demo municipality; running it again changes nothing."""
    from backend.demo.seed import seed_demo

    settings = get_settings()
    if not settings.demo:
        raise ConfigurationError(
            "demo seed creates public demo accounts; set HUISHOUDBOEKJE_DEMO=1 to use it"
        )
    with unit_of_work(settings, write=True) as session:
        result = seed_demo(session, settings.field_cipher(), today=today or today_amsterdam())
    payload = {
        "participants_created": result.participants_created,
        "journal_entries_created": result.journal_entries_created,
    }
    if as_json:
        _echo_json(payload)
    else:
        click.echo(
            f"demo seeded: {result.participants_created} participants, "
            f"{result.users_created} demo accounts (password 'demo') and "
            f"{result.journal_entries_created} journal entries created"
        )


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API and the apps."""
    import uvicorn

    get_settings().check_for_serving()
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
    )


@main.group(cls=FriendlyGroup)
def ledger() -> None:
    """The ledger."""


@ledger.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def ledger_check(as_json: bool) -> None:
    """Run every ledger invariant; exit 1 and list violations when one is broken."""
    from backend.ledger_store.service import check_ledger, ledger_summary

    with unit_of_work(get_settings()) as session:
        violations = check_ledger(session)
        summary = ledger_summary(session)
    if as_json:
        _echo_json(
            {"ok": not violations, **summary, "violations": [v.as_dict() for v in violations]}
        )
    else:
        click.echo(
            f"checked {summary['journal_entries']} journal entries, {summary['postings']} postings"
        )
        for violation in violations:
            where = violation.entry_key or violation.account or "ledger"
            click.echo(f"VIOLATION {violation.code} at {where}: {violation.message}")
        click.echo("ledger OK" if not violations else f"{len(violations)} violation(s)")
    sys.exit(1 if violations else 0)


@ledger.command("rebuild-balances")
def ledger_rebuild_balances() -> None:
    """Recompute the participants' kept balances from their postings (after reconcile
    reported kept_balances_vs_postings); postings are not touched."""
    from backend.ledger_store.balances import balance_mismatches, rebuild

    with unit_of_work(get_settings(), write=True) as session:
        wrong = rebuild(session)
        session.flush()
        left = balance_mismatches(session, limit=1)
    click.echo(f"{wrong} account(s) differed from their postings; all match now")
    sys.exit(1 if left else 0)


@main.group(cls=FriendlyGroup)
def users() -> None:
    """Accounts, roles and caseloads (for real deployments; the demo has its own)."""


@users.command("add")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="Repeat for more than one role.",
)
@click.option("--display-name", default="", help="The name people see (default: the username).")
@click.option("--participant-id", type=int, help="For a participant account: whose it is.")
@click.option(
    "--external-subject",
    help="Log in through OpenID Connect as ISSUER#SUBJECT (then no password is asked).",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(
    username: str,
    roles: tuple[str, ...],
    display_name: str,
    participant_id: int | None,
    external_subject: str | None,
    password_stdin: bool,
) -> None:
    """Create an account; asks for its password (at least 12 characters)."""
    from backend.access.users import create_user
    from backend.auth.passwords import check_new_password, hash_password

    password: str | None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif external_subject:
        password = None
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    password_hash = hash_password(check_new_password(password)) if password is not None else None
    with unit_of_work(get_settings(), write=True) as session:
        account = create_user(
            session,
            username=username,
            display_name=display_name,
            roles=[Role(role) for role in roles],
            password_hash=password_hash,
            participant_id=participant_id,
            external_subject=external_subject,
        )
        click.echo(f"account {account.username!r} created with role(s) {', '.join(account.roles)}")


@users.command("assign-caseload")
@click.argument("caseworker")
@click.argument("participant_id", type=int)
def users_assign_caseload(caseworker: str, participant_id: int) -> None:
    """Put a participant on a caseworker's caseload."""
    from backend.access.users import assign_caseload, require_user

    with unit_of_work(get_settings(), write=True) as session:
        account = require_user(session, caseworker)
        _, created = assign_caseload(
            session, caseworker=account, participant_id=participant_id, assigned_by="cli"
        )
    state = "is now" if created else "was already"
    click.echo(f"participant {participant_id} {state} on the caseload of {account.username!r}")


@users.command("unlock")
@click.argument("username")
def users_unlock(username: str) -> None:
    """Lift a login lockout."""
    from backend.access.users import require_user, unlock_user

    with unit_of_work(get_settings(), write=True) as session:
        account = require_user(session, username)
        unlock_user(session, account)
    click.echo(f"account {account.username!r} unlocked")


@users.command("activation-code")
@click.argument("username")
@click.option("--by", "caseworker", required=True, help="The caseworker who hands the code over.")
@click.option(
    "--reset",
    is_flag=True,
    help="The account is already activated: a deliberate password reset with a new code.",
)
def users_activation_code(username: str, caseworker: str, reset: bool) -> None:
    """A new one-time activation code for a participant account (onboarding): the old
    code stops working. Printed once; hand it to the participant with the username.
    Refused for an activated account unless --reset: whoever holds the code can then
    set a new password."""
    from sqlalchemy import select

    from backend.access.users import require_user
    from backend.errors import InvalidInput
    from backend.models import AccountActivation, CaseloadAssignment
    from backend.models.base import utcnow
    from backend.onboarding.service import create_activation

    with unit_of_work(get_settings(), write=True) as session:
        account = require_user(session, username)
        issuer = require_user(session, caseworker)
        if account.participant_id is None or str(Role.CASEWORKER) not in (issuer.roles or []):
            raise InvalidInput("a code is for a participant account, issued by a caseworker")
        on_caseload = session.scalar(
            select(CaseloadAssignment.id).where(
                CaseloadAssignment.caseworker_id == issuer.id,
                CaseloadAssignment.participant_id == account.participant_id,
            )
        )
        if on_caseload is None:
            raise InvalidInput(
                f"participant {account.participant_id} is not on the caseload of "
                f"{issuer.username!r}"
            )
        activation = session.scalar(
            select(AccountActivation).where(AccountActivation.user_id == account.id)
        )
        activated = activation is None or activation.used_at is not None
        if activated and not reset:
            raise InvalidInput(
                f"the account {account.username!r} is already activated (the participant has "
                "their own password); use --reset for a deliberate password reset"
            )
        code, expires_at = create_activation(
            session, user_id=account.id, created_by=issuer.id, now=utcnow()
        )
    until = f"{expires_at:%Y-%m-%d}"
    if activated:
        click.echo(
            f"PASSWORD RESET for {account.username!r}: whoever holds this code can set a new "
            "password; hand it to the participant in person only"
        )
    click.echo(f"activation code for {account.username!r}: {code} (valid until {until})")


@main.command("bench")
@click.option("--participants", default=1000, show_default=True, type=int)
@click.option(
    "--database",
    "database_url",
    help="Also run against this database (PostgreSQL: ITS PUBLIC SCHEMA IS DROPPED).",
)
@click.option("--no-sqlite", is_flag=True, help="With --database: skip the SQLite run.")
@click.option("--import-participants", type=int, help="Whose year of statements to import.")
@click.option("--max-import-entries", type=int, help="Cut the statement to this many entries.")
@click.option("--clients", default=50, show_default=True, type=int)
@click.option("--requests", default=3000, show_default=True, type=int)
@click.option("--seconds", default=30.0, show_default=True, type=float)
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn workers (SQLite).")
@click.option(
    "--pg-workers", default=2, show_default=True, type=int, help="uvicorn workers (--database)."
)
@click.option(
    "--think-ms",
    multiple=True,
    type=float,
    help="Pause of each client between page requests; once per value [default: 0 and 1000].",
)
@click.option(
    "--cycle-workers",
    default="auto",
    show_default=True,
    help="Processes of the daily cycle (as `cycle run --workers`).",
)
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--only", multiple=True, type=click.Choice(["import", "cycle", "pages"]))
@click.option("--json", "as_json", is_flag=True)
def bench(
    participants: int,
    database_url: str | None,
    no_sqlite: bool,
    import_participants: int | None,
    max_import_entries: int | None,
    clients: int,
    requests: int,
    seconds: float,
    workers: int,
    pg_workers: int,
    cycle_workers: str,
    think_ms: tuple[float, ...],
    seed: int,
    only: tuple[str, ...],
    as_json: bool,
) -> None:
    """Benchmark import, daily cycle and pages of a synthetic municipality (docs/performance.md)."""
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/ is not installed
    from benchmarks.bench import run_bench

    results = run_bench(
        participants=participants,
        database_url=database_url,
        import_participants=import_participants,
        max_import_entries=max_import_entries,
        clients=clients,
        requests=requests,
        seconds=seconds,
        workers=workers,
        postgres_workers=pg_workers,
        cycle_workers=None if cycle_workers == "auto" else int(cycle_workers),
        think_ms=think_ms or (0.0, 1000.0),
        seed=seed,
        sqlite=not (no_sqlite and database_url),
        parts=only or ("import", "cycle", "pages"),
        echo=(lambda line: click.echo(line, err=True)) if as_json else click.echo,
    )
    if as_json:
        _echo_json(results)


def register(group: click.Group, command: Callable[..., Any]) -> None:
    """For feature packages that add their own commands."""
    group.add_command(command)  # type: ignore[arg-type]


def _register_feature_commands() -> None:
    from backend.bank_import.cli import bank
    from backend.cycle.cli import cycle
    from backend.payments.cli import payments, reconcile
    from backend.privacy_store.cli import audit, privacy
    from backend.simulation.cli import simulate

    register(main, bank)
    register(main, payments)
    register(main, reconcile)
    register(main, cycle)
    register(main, privacy)
    register(main, audit)
    register(main, simulate)


_register_feature_commands()
