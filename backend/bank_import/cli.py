"""`huishoudboekje bank ...`: the municipality's accounts, statement import, suspense.

    bank accounts add IBAN [--name NAME] [--bic BIC]
    bank accounts list [--json]
    bank import FILE... [--json] [--user NAME]
    bank suspense list [--json] [--limit N] [--offset N]
    bank suspense assign ENTRY_ID PARTICIPANT_ID --reason TEXT --user NAME [--agreement ID]

`bank import` imports each file in its own transaction: a refused file writes nothing
and does not stop the others; the command exits with 1 when any file was refused,
naming file, line and element.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from backend.bank import StatementError
from backend.bank_import.texts import euro_nl
from backend.cli import FriendlyGroup, _echo_json, unit_of_work
from backend.config import get_settings
from backend.payments.finance_users import resolve_finance_user

_json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
CLI_ACTOR = "cli"


@click.group(cls=FriendlyGroup)
def bank() -> None:
    """Bank accounts, statement import (CAMT.053, MT940) and the suspense queue."""


@bank.group(cls=FriendlyGroup)
def accounts() -> None:
    """The municipality's own bank accounts (beheerrekeningen)."""


@accounts.command("add")
@click.argument("iban")
@click.option("--name", default="", help="What the account is called (default: the IBAN).")
@click.option("--bic", default=None, help="The bank's BIC, e.g. BNGHNL2G.")
@_json_option
def accounts_add(iban: str, name: str, bic: str | None, as_json: bool) -> None:
    """Register an account; statements of other accounts are refused. Idempotent."""
    from backend.municipality.service import add_bank_account, ensure_system_accounts

    with unit_of_work(get_settings(), write=True) as session:
        compact = "".join(iban.split()).upper()
        account, created = add_bank_account(session, iban=iban, name=name or compact, bic=bic)
        ensure_system_accounts(session)
        payload = {"iban": account.iban, "name": account.name, "bic": account.bic}
    if as_json:
        _echo_json({**payload, "created": created})
    else:
        state = "registered" if created else "was already registered"
        click.echo(f"account {payload['iban']} ({payload['name']}) {state}")


@accounts.command("list")
@_json_option
def accounts_list(as_json: bool) -> None:
    """The registered accounts."""
    from backend.municipality.service import list_bank_accounts

    with unit_of_work(get_settings()) as session:
        payload = [
            {"iban": account.iban, "name": account.name, "bic": account.bic}
            for account in list_bank_accounts(session)
        ]
    if as_json:
        _echo_json(payload)
        return
    for item in payload:
        click.echo(f"{item['iban']:<34} {item['bic'] or '':<11} {item['name']}")
    if not payload:
        click.echo("no accounts; add one with `huishoudboekje bank accounts add IBAN`")


def _refusal(path: Path, error: StatementError) -> dict[str, Any]:
    return {
        "file": str(path),
        "status": "refused",
        "error": str(error),
        "error_type": type(error).__name__,
        "filename": error.filename,
        "line": error.line,
        "element": error.element,
        "details": list(error.details),
    }


def _summary_line(statement: dict[str, Any]) -> str:
    gap = statement["gap_cents"]
    parts = [
        f"  statement {statement['statement_id']} account {statement['account']}"
        + ("  (imported before: duplicate statement)" if statement["duplicate_statement"] else ""),
        f"    new {statement['new_entries']}, duplicate {statement['duplicate_entries']}, "
        f"skipped pending {statement['skipped_pending_entries']}, "
        f"matched {statement['matched_entries']}, settled {statement['settled_entries']}, "
        f"returned {statement['returned_entries']}, suspense {statement['suspense_entries']}",
    ]
    if gap:
        parts.append(
            f"    GAP: opening balance differs from the previous closing balance by "
            f"{euro_nl(gap)}; a statement is missing (alert raised)"
        )
    if statement["opening_balance_booked_cents"]:
        parts.append(
            "    first statement of this account: opening balance "
            f"{euro_nl(statement['opening_balance_booked_cents'])} booked to suspense"
        )
    return "\n".join(parts)


@bank.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--user", "user_name", help="The finance user importing (checked like a login).")
@_json_option
def import_command(files: tuple[Path, ...], user_name: str | None, as_json: bool) -> None:
    """Import CAMT.053 (.001.02 / .001.08) or MT940 statement files, each exactly once."""
    from backend.bank_import.service import import_statement_file

    settings = get_settings()
    results: list[dict[str, Any]] = []
    refused = 0
    for path in files:
        try:
            with unit_of_work(settings, write=True) as session:
                actor = (
                    resolve_finance_user(session, user_name).username
                    if user_name
                    else f"{CLI_ACTOR}:{_os_user()}"
                )
                # A large year's file is read in a second process while it is booked
                # (HUISHOUDBOEKJE_IMPORT_PIPELINE_MIN_BYTES=off to read it here).
                report = import_statement_file(
                    session, path, filename=path.name, imported_by=actor, reading_process="auto"
                )
                result = report.as_dict()
                result["file"] = str(path)
        except StatementError as error:
            refused += 1
            result = _refusal(path, error)
        results.append(result)
        if not as_json:
            if result["status"] == "refused":
                click.echo(f"REFUSED {result['error']}", err=True)
                for detail in result["details"]:
                    click.echo(f"  {detail}", err=True)
                click.echo("  nothing was imported from this file", err=True)
            else:
                click.echo(f"{path}: imported")
                for statement in result["statements"]:
                    click.echo(_summary_line(statement))
    if as_json:
        _echo_json(results)
    if refused:
        if not as_json:
            click.echo(f"{refused} of {len(files)} file(s) refused", err=True)
        raise SystemExit(1)


def _os_user() -> str:
    try:
        return os.getlogin()[:60]
    except OSError:
        return os.environ.get("USER", "unknown")[:60]


@bank.group(cls=FriendlyGroup)
def suspense() -> None:
    """Money the import could not attribute: the finance queue."""


@suspense.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 200))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0))
@_json_option
def suspense_list(limit: int, offset: int, as_json: bool) -> None:
    """Entries in suspense, oldest first, with ranked suggestions."""
    from backend.bank_import.suspense import list_suspense
    from backend.bank_import.views import suspense_item_view

    with unit_of_work(get_settings()) as session:
        page = list_suspense(session, limit=limit, offset=offset)
        items = [suspense_item_view(item) for item in page.items]
    if as_json:
        _echo_json({"total": page.total, "total_cents": page.total_cents, "items": items})
        return
    for item in items:
        sign = 1 if item["credit_debit"] == "CRDT" else -1
        click.echo(
            f"entry {item['id']:>7}  {item['booking_date']}  "
            f"{euro_nl(sign * item['amount_cents']):>16}  "
            f"{item['counterparty_name'] or item['counterparty_iban'] or '?'}"
        )
        click.echo(f"    {item['remittance'] or ''}".rstrip())
        click.echo(f"    why: {item['status_reason'] or '-'}")
        for suggestion in item["suggestions"]:
            click.echo(
                f"    suggestion {suggestion['score']:>3}/100: participant "
                f"{suggestion['participant_id']} {suggestion['participant_name']}, "
                f"agreement {suggestion['agreement_id']} "
                f"({euro_nl(suggestion['expected_amount_cents'])})"
            )
    click.echo(
        f"{page.total} entr{'y' if page.total == 1 else 'ies'} in suspense, net "
        f"{euro_nl(page.total_cents)}"
    )


@suspense.command("assign")
@click.argument("entry_id", type=int)
@click.argument("participant_id", type=int)
@click.option("--reason", required=True, help="Why this money is theirs (kept with the entry).")
@click.option("--agreement", "agreement_id", help="Book it as this income agreement.")
@click.option("--user", "user_name", required=True, help="The acting finance user.")
@_json_option
def suspense_assign(
    entry_id: int,
    participant_id: int,
    reason: str,
    agreement_id: str | None,
    user_name: str,
    as_json: bool,
) -> None:
    """Assign an entry in suspense to a participant (suspense → available)."""
    from backend.bank_import.suspense import assign_suspense_entry

    with unit_of_work(get_settings(), write=True) as session:
        actor = resolve_finance_user(session, user_name).username
        result = assign_suspense_entry(
            session,
            bank_entry_id=entry_id,
            participant_id=participant_id,
            assigned_by=actor,
            reason=reason,
            agreement_id=agreement_id,
        )
    payload = {
        "assignment_id": result.assignment_id,
        "bank_entry_id": result.bank_entry_id,
        "participant_id": result.participant_id,
        "agreement_id": result.agreement_id,
        "expected_date": result.expected_date.isoformat() if result.expected_date else None,
        "amount_cents": result.amount_cents,
        "journal_entry_key": result.journal_entry_key,
        "assigned_by": result.assigned_by,
        "created": result.created,
    }
    if as_json:
        _echo_json(payload)
    else:
        state = "assigned" if result.created else "was already assigned"
        click.echo(
            f"entry {entry_id} {state} to participant {participant_id} "
            f"({euro_nl(result.amount_cents)}); ledger entry {result.journal_entry_key}"
        )
