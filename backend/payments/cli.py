"""`huishoudboekje payments ...` and `huishoudboekje reconcile`: the finance routine.

Every payments command names the acting finance user with `--user NAME`, checked
by `resolve_finance_user` like a login would be.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from backend.cli import FriendlyGroup, _echo_json, _parse_date, unit_of_work
from backend.clock import today_amsterdam
from backend.config import get_settings
from backend.models import PaymentBatch
from backend.payments import batches as batch_service
from backend.payments.finance_users import resolve_finance_user
from backend.payments.instructions import cancel_instruction
from backend.payments.reconcile import reconcile as reconcile_ledger
from backend.payments.sepa_file import DEFAULT_FORMAT, FORMATS
from backend.payments.status_report import apply_status_report
from backend.payments.views import batch_summary, instruction_summary
from ledger import Money

_user_option = click.option(
    "--user", "user_name", required=True, help="The acting finance user (checked like a login)."
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
_today_option = click.option(
    "--today", callback=_parse_date, hidden=True, help="Pretend today is this date."
)


def _batch_line(batch: PaymentBatch) -> str:
    people = " ".join(
        f"{role} {name}"
        for role, name in (
            ("prepared by", batch.prepared_by),
            ("approved by", batch.approved_by),
            ("exported by", batch.exported_by),
        )
        if name
    )
    return (
        f"batch {batch.id:>5}  {batch.status:<15} {batch.execution_date}  "
        f"{batch.instruction_count:>6} payments  {Money(batch.control_sum_cents).format_nl():>16}"
        + (f"  {people}" if people else "")
    )


def _act(session: Session, user_name: str) -> str:
    return resolve_finance_user(session, user_name).username


@click.group(cls=FriendlyGroup)
def payments() -> None:
    """Payment batches: propose, prepare, approve (four eyes), export SEPA, cancel."""


@payments.command("propose")
@_user_option
@_json_option
@_today_option
def propose(user_name: str, as_json: bool, today: dt.date | None) -> None:
    """Group payable payments into proposed batches (per execution date and account)."""
    with unit_of_work(get_settings(), write=True) as session:
        actor = _act(session, user_name)
        proposed = batch_service.propose_batches(session, actor=actor, today=today)
        payload = [batch_summary(batch) for batch in proposed]
    if as_json:
        _echo_json(payload)
    else:
        for batch in proposed:
            click.echo(_batch_line(batch))
        click.echo(f"{len(proposed)} proposed batch(es)")


@payments.command("list")
@click.option("--status", "statuses", multiple=True, help="Only batches with this status.")
@click.option("--batch", "batch_id", type=int, help="Show one batch with its payments.")
@_user_option
@_json_option
@_today_option
def list_command(
    statuses: tuple[str, ...],
    batch_id: int | None,
    user_name: str,
    as_json: bool,
    today: dt.date | None,
) -> None:
    """List batches (payable payments are proposed into batches first)."""
    with unit_of_work(get_settings(), write=True) as session:
        actor = _act(session, user_name)
        batch_service.propose_batches(session, actor=actor, today=today)
        if batch_id is not None:
            batch = batch_service.get_batch(session, batch_id)
            payload: Any = {
                **batch_summary(batch),
                "instructions": [
                    instruction_summary(i)
                    for i in batch_service.batch_instructions(session, batch_id)
                ],
                "events": [
                    {
                        "action": event.action,
                        "actor": event.actor,
                        "at": event.at.isoformat(),
                        "from": event.from_status,
                        "to": event.to_status,
                    }
                    for event in batch_service.batch_events(session, batch_id)
                ],
            }
            lines = [_batch_line(batch)]
            if batch.file_sha256:
                lines += [f"  SHA-256 {batch.file_sha256}", f"  SHA-1   {batch.file_sha1}"]
            lines += [
                f"  {i['id']:>6} {i['end_to_end_id']:<28} {i['status']:<10} "
                f"{Money(i['amount_cents']).format_nl():>14}  {i['creditor_name']}"
                for i in payload["instructions"]
            ]
            lines += [
                f"  {e['at']} {e['actor']}: {e['action']} ({e['from']} -> {e['to']})"
                for e in payload["events"]
            ]
        else:
            found = batch_service.list_batches(session, statuses=statuses or None)
            payload = [batch_summary(batch) for batch in found]
            lines = [_batch_line(batch) for batch in found] or ["no batches"]
    if as_json:
        _echo_json(payload)
    else:
        click.echo("\n".join(lines))


@payments.command("prepare")
@click.option("--batch", "batch_id", type=int, required=True)
@click.option("--version", "expected_version", type=int, help="Refuse if the batch changed.")
@_user_option
@_json_option
@_today_option
def prepare(
    batch_id: int,
    expected_version: int | None,
    user_name: str,
    as_json: bool,
    today: dt.date | None,
) -> None:
    """Prepare a proposed batch (finance user A): its payments are frozen."""
    with unit_of_work(get_settings(), write=True) as session:
        actor = _act(session, user_name)
        batch = batch_service.prepare_batch(
            session, batch_id, actor=actor, expected_version=expected_version, today=today
        )
        payload = batch_summary(batch)
    if as_json:
        _echo_json(payload)
    else:
        click.echo(_batch_line(batch))
        click.echo(f"prepared by {actor}; another finance user must approve it")


@payments.command("approve")
@click.option("--batch", "batch_id", type=int, required=True)
@click.option("--version", "expected_version", type=int, help="Refuse if the batch changed.")
@_user_option
@_json_option
def approve(batch_id: int, expected_version: int | None, user_name: str, as_json: bool) -> None:
    """Approve a prepared batch (finance user B, never the one who prepared it)."""
    with unit_of_work(get_settings(), write=True) as session:
        actor = _act(session, user_name)
        batch = batch_service.approve_batch(
            session, batch_id, actor=actor, expected_version=expected_version
        )
        payload = batch_summary(batch)
    if as_json:
        _echo_json(payload)
    else:
        click.echo(_batch_line(batch))


@payments.command("export")
@click.option("--batch", "batch_id", type=int, required=True)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS),
    help=f"SEPA version (first export: default {DEFAULT_FORMAT}; later: must match).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@_user_option
@_json_option
@_today_option
def export(
    batch_id: int,
    file_format: str | None,
    output: Path,
    user_name: str,
    as_json: bool,
    today: dt.date | None,
) -> None:
    """Write an approved batch's pain.001 file; exporting again gives the same bytes."""
    with unit_of_work(get_settings(), write=True) as session:
        actor = _act(session, user_name)
        exported = batch_service.export_batch(
            session, batch_id, actor=actor, file_format=file_format, today=today
        )
    _write_atomically(output, exported.content)
    payload = {
        "batch_id": exported.batch_id,
        "format": exported.file_format,
        "file": str(output),
        "bytes": len(exported.content),
        "sha256": exported.sha256,
        "sha1": exported.sha1,
        "message_id": exported.message_id,
        "payments": exported.transaction_count,
        "control_sum_cents": exported.control_sum_cents,
        "first_export": exported.first_export,
    }
    if as_json:
        _echo_json(payload)
    else:
        again = "" if exported.first_export else " (the file as first exported)"
        click.echo(
            f"batch {exported.batch_id}: {exported.transaction_count} payments, "
            f"{Money(exported.control_sum_cents).format_nl()}, {exported.file_format}{again}"
        )
        click.echo(f"SHA-256 {exported.sha256}")
        click.echo(f"SHA-1   {exported.sha1}")
        click.echo(f"written to {output}")


def _write_atomically(path: Path, content: bytes) -> None:
    directory = path.resolve().parent
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@payments.command("cancel")
@click.option("--batch", "batch_id", type=int, help="Cancel a batch that is not exported.")
@click.option("--instruction", "instruction_id", type=int, help="Cancel one payment.")
@click.option("--reason", required=True, help="Why; kept with the cancellation.")
@click.option(
    "--release",
    is_flag=True,
    help="Keep the batch's payments: they go back to payable for a new batch.",
)
@_user_option
@_json_option
@_today_option
def cancel(
    batch_id: int | None,
    instruction_id: int | None,
    reason: str,
    release: bool,
    user_name: str,
    as_json: bool,
    today: dt.date | None,
) -> None:
    """Cancel before export: the money goes back where it came from (a ledger entry)."""
    if (batch_id is None) == (instruction_id is None):
        raise click.UsageError("give either --batch or --instruction")
    with unit_of_work(get_settings(), write=True) as session:
        actor = _act(session, user_name)
        if batch_id is not None:
            batch = batch_service.cancel_batch(
                session, batch_id, actor=actor, reason=reason, release=release, today=today
            )
            payload: dict[str, Any] = batch_summary(batch)
            line = _batch_line(batch)
        else:
            assert instruction_id is not None
            if release:
                raise click.UsageError("--release is for batches")
            instruction = cancel_instruction(
                session, instruction_id=instruction_id, actor=actor, reason=reason, today=today
            )
            payload = instruction_summary(instruction)
            line = f"payment {instruction.id} cancelled; the money is back"
    if as_json:
        _echo_json(payload)
    else:
        click.echo(line)


@payments.command("status-report")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_user_option
@_json_option
@_today_option
def status_report(path: Path, user_name: str, as_json: bool, today: dt.date | None) -> None:
    """Import a pain.002 status report: rejected payments go back to the participant."""
    content = path.read_bytes()
    with unit_of_work(get_settings(), write=True) as session:
        actor = _act(session, user_name)
        result = apply_status_report(
            session, content, actor=actor, received_on=today or today_amsterdam()
        )
    payload = {
        "report": result.report_message_id,
        "rejected": result.rejected,
        "already_rejected": result.already_rejected,
        "not_rejectable": result.not_rejectable,
        "unknown": result.unknown,
    }
    if as_json:
        _echo_json(payload)
    else:
        click.echo(
            f"{len(result.rejected)} payment(s) rejected and reversed, "
            f"{len(result.already_rejected)} already done, "
            f"{len(result.not_rejectable)} not rejectable, {len(result.unknown)} unknown"
        )


@click.command("reconcile")
@click.option("--date", "as_of", callback=_parse_date, help="Reconcile as of this date.")
@_json_option
def reconcile(as_of: dt.date | None, as_json: bool) -> None:
    """Ledger against bank statements and payments; exit 1 when anything differs."""
    with unit_of_work(get_settings()) as session:
        report = reconcile_ledger(session, as_of=as_of)
    if as_json:
        _echo_json(report.as_dict())
    else:
        for account in report.accounts:
            if account.status == "no_statement":
                state = "no statement imported yet"
            else:
                assert account.statement_closing_cents is not None
                state = (
                    f"statement {account.statement_id} of {account.statement_date} closes at "
                    f"{Money(account.statement_closing_cents).format_nl()}: {account.status}"
                )
            click.echo(
                f"{account.iban} {account.name}: ledger "
                f"{Money(account.ledger_balance_cents).format_nl()}; {state}"
            )
        totals = report.totals
        click.echo(
            "participants {} + suspense {} + in transit {} + advance claims {} = {}; "
            "bank {}".format(
                *(
                    Money(totals[name]).format_nl()
                    for name in (
                        "participants_cents",
                        "suspense_cents",
                        "in_transit_cents",
                        "advance_claims_cents",
                        "held_cents",
                        "bank_cents",
                    )
                )
            )
        )
        for note in report.notes:
            click.echo(f"note: {note}")
        for difference in report.differences:
            click.echo(f"DIFFERENCE {difference.check}: {difference.message}")
            for entry in difference.entries:
                click.echo(f"  entry {entry}")
            for payment in difference.payments:
                click.echo(f"  payment {payment}")
            for kept in difference.accounts:
                click.echo(f"  account {kept}")
        click.echo("reconciled" if report.ok else f"{len(report.differences)} difference(s)")
    sys.exit(0 if report.ok else 1)
