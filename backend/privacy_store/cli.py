"""`huishoudboekje privacy ...` and `huishoudboekje audit verify`.

    privacy rotate-keys [--batch-size N] [--json]
    privacy retention [--dry-run] [--json] [--today D] [--user NAME]
    privacy export --key-id K -o FILE [--format csv|json] [--json] [--user NAME]
    audit verify [--anchor SEQ:HASH ...] [--json]

`--user` names the privacy officer who runs the command; the access log records
them (without it: "system"). Failures exit 2 with one sentence; `audit verify`
exits 1 naming the first broken record, `privacy retention` exits 1 when a
participant's identifiers remain somewhere after pseudonymisation.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from backend.cli import FriendlyGroup, _echo_json, _parse_date, unit_of_work
from backend.clock import today_amsterdam
from backend.config import ConfigurationError, Settings, get_settings
from backend.db import make_engine, make_session_factory
from backend.logging import bind_job_trace
from privacy.audit_chain import Anchor, ChainError

_json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
_user_option = click.option(
    "--user", "user_name", help="The privacy officer running this (recorded in the access log)."
)


@contextmanager
def _work(settings: Settings, *, commit: bool) -> Iterator[Session]:
    """One transaction; committed, or rolled back (a dry run)."""
    engine = make_engine(settings.database_url)
    session = make_session_factory(engine)()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    try:
        yield session
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        engine.dispose()


def _actor(session: Session, user_name: str | None, permission: str) -> int | None:
    if user_name is None:
        return None
    from backend.access.policy import Principal, require_permission
    from backend.access.roles import Permission
    from backend.access.users import require_user

    account = require_user(session, user_name)
    if not account.active:
        raise ConfigurationError(f"account {account.username!r} is disabled")
    require_permission(Principal.from_account(account), Permission(permission))
    return account.id


@click.group(cls=FriendlyGroup)
def privacy() -> None:
    """Privacy: key rotation, retention, pseudonymised export."""


@privacy.command("rotate-keys")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@_json_option
def rotate_keys(batch_size: int, as_json: bool) -> None:
    """Re-encrypt every protected value still under an old key id (batch by batch)."""
    from backend.privacy_store.rotation import PROTECTED_COLUMNS, rotate_batch, values_by_key_id

    settings = get_settings()
    cipher = settings.field_cipher()
    totals: dict[str, Any] = {"rotated": 0, "changed_meanwhile": 0, "batches": 0, "failed": []}
    with bind_job_trace("cli:privacy rotate-keys"):
        for protected in PROTECTED_COLUMNS:
            after = 0
            while True:
                with _work(settings, commit=True) as session:
                    result = rotate_batch(
                        session, cipher, protected, after_id=after, batch_rows=batch_size
                    )
                if result.last_id is None:
                    break
                after = result.last_id
                totals["batches"] += 1
                totals["rotated"] += result.rotated
                totals["changed_meanwhile"] += result.changed_meanwhile
                totals["failed"] += result.failed
        with unit_of_work(settings) as session:
            remaining = values_by_key_id(session, cipher)
    old_left = {
        column: {
            key_id: count
            for key_id, count in per_key.items()
            if key_id != cipher.current_key_id and key_id != "tombstone" and count
        }
        for column, per_key in remaining.items()
    }
    payload = {
        "current_key_id": cipher.current_key_id,
        **totals,
        "values_by_key_id": remaining,
        "ok": not totals["failed"] and not any(old_left.values()),
    }
    if as_json:
        _echo_json(payload)
    else:
        click.echo(
            f"re-encrypted {totals['rotated']} value(s) in {totals['batches']} batch(es) "
            f"under key {cipher.current_key_id!r}"
        )
        for failure in totals["failed"]:
            click.echo(f"FAILED {failure['table']} id {failure['id']}: {failure['reason']}")
        for column, per_key in old_left.items():
            for key_id, count in per_key.items():
                click.echo(f"{column}: {count} value(s) still under key {key_id!r}")
        if payload["ok"]:
            click.echo("every protected value uses the current key; old keys can be removed")
    sys.exit(0 if payload["ok"] else 1)


@privacy.command("retention")
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
@click.option("--today", callback=_parse_date, help="Pretend today is this date (YYYY-MM-DD).")
@_user_option
@_json_option
def retention(dry_run: bool, today: dt.date | None, user_name: str | None, as_json: bool) -> None:
    """Apply the retention terms: clear case notes, pseudonymise, remove old SEPA files."""
    from backend.privacy_store import retention as service
    from backend.privacy_store.settings import PrivacySettings

    settings = get_settings()
    cipher = settings.field_cipher()
    terms = PrivacySettings().terms()
    today = today or today_amsterdam()
    commit = not dry_run
    with bind_job_trace("cli:privacy retention"):
        with unit_of_work(settings) as session:
            actor = _actor(session, user_name, "retention")
            done_before = service.pseudonymised_ids(session)
            identity_due = service.due_participants(
                session, years=terms.identity_years, today=today, skip=done_before
            )
            notes_due = [
                candidate
                for candidate in service.due_participants(
                    session, years=terms.case_notes_years, today=today, skip=done_before
                )
                if candidate.participant_id not in {c.participant_id for c in identity_due}
            ]
            files_due = service.due_payment_files(
                session, years=terms.payment_files_years, today=today
            )
        done = done_before | {candidate.participant_id for candidate in identity_due}
        notes_cleared = []
        for candidate in notes_due:
            with _work(settings, commit=commit) as session:
                outcome = service.clear_case_notes(session, candidate, actor_user_id=actor)
            if outcome.changed:
                notes_cleared.append(outcome.as_dict())
        pseudonymised = []
        for candidate in identity_due:
            with _work(settings, commit=commit) as session:
                outcome = service.pseudonymise(
                    session, cipher, candidate, terms=terms, done=done, actor_user_id=actor
                )
            pseudonymised.append(outcome.as_dict())
        with _work(settings, commit=commit) as session:
            files_removed = service.remove_payment_files(session, files_due)
        if commit and (notes_cleared or pseudonymised or files_removed):
            _erase_freed_pages(settings)
    residual = [item for done_item in pseudonymised for item in done_item["residual"]]
    payload = {
        "today": today.isoformat(),
        "dry_run": dry_run,
        "terms_years": {
            "identity": terms.identity_years,
            "case_notes": terms.case_notes_years,
            "payment_files": terms.payment_files_years,
        },
        "case_notes_cleared": notes_cleared,
        "pseudonymised": pseudonymised,
        "payment_files_removed": {"batches": files_due, "count": files_removed},
        "residual": residual,
        "ok": not residual,
    }
    if as_json:
        _echo_json(payload)
    else:
        verb = "would be" if dry_run else "were"
        click.echo(f"retention as of {today} ({'dry run' if dry_run else 'applied'})")
        click.echo(f"case notes of {len(notes_cleared)} participant(s) {verb} cleared")
        for done_item in pseudonymised:
            click.echo(
                f"participant {done_item['participant_id']} (ended {done_item['ended_on']}, "
                f"due {done_item['due_on']}) {verb} pseudonymised"
            )
        click.echo(f"{len(files_due)} payment file(s) {verb} removed")
        for item in residual:
            click.echo(
                f"RESIDUAL participant {item['participant_id']}: {item['table']}.{item['column']} "
                f"in {item['rows']} row(s) ({item['why']})"
            )
    sys.exit(0 if payload["ok"] else 1)


def _erase_freed_pages(settings: Settings) -> None:
    """SQLite keeps old row contents in free pages and the WAL until they are reused:
    rewrite the file so removed identifiers are gone from the disk too. (PostgreSQL:
    VACUUM and backup retention are the database administrator's; see docs/privacy.md.)"""
    if not settings.database_url.startswith("sqlite"):
        return
    engine = make_engine(settings.database_url)
    connection = engine.raw_connection()  # autocommit: VACUUM cannot run in a transaction
    try:
        cursor = connection.cursor()
        cursor.execute("VACUUM")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        connection.close()
        engine.dispose()


@privacy.command("export")
@click.option("--key-id", required=True, help="Which HUISHOUDBOEKJE_EXPORT_KEYS key to use.")
@click.option(
    "-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "json"]),
    help="Default: from the file name (.json), else csv.",
)
@_user_option
@_json_option
def export(
    key_id: str,
    output: Path,
    file_format: str | None,
    user_name: str | None,
    as_json: bool,
) -> None:
    """Write a pseudonymised export for policy reporting (no names, BSNs or IBANs)."""
    from backend.privacy_store.export import export_pseudonymised
    from backend.privacy_store.settings import PrivacySettings

    settings = get_settings()
    key = PrivacySettings().export_key(key_id)
    chosen = file_format or ("json" if output.suffix.lower() == ".json" else "csv")
    with bind_job_trace("cli:privacy export"), unit_of_work(settings, write=True) as session:
        actor = _actor(session, user_name, "pseudonymised_export")
        summary = export_pseudonymised(
            session, key=key, key_id=key_id, path=output, file_format=chosen, actor_user_id=actor
        )
    if as_json:
        _echo_json(summary.as_dict())
    else:
        click.echo(
            f"{summary.rows} row(s) about {summary.participants} participant(s) written to "
            f"{summary.file} ({summary.file_format}, key {summary.key_id!r}, "
            f"sha256 {summary.sha256})"
        )


@click.group(cls=FriendlyGroup)
def audit() -> None:
    """The access log's hash chain."""


def _anchors(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> tuple[Anchor, ...]:
    try:
        return tuple(Anchor.parse(value) for value in values)
    except ChainError as error:
        raise click.BadParameter(str(error)) from error


@audit.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    callback=_anchors,
    help="SEQ:HASH of a record kept outside the database (repeatable), e.g. yesterday's head.",
)
@_json_option
def verify(anchors: tuple[Anchor, ...], as_json: bool) -> None:
    """Check the access log's hash chain; exit 1 naming the first broken record."""
    from backend.privacy_store.access_log import verify_chain

    with unit_of_work(get_settings()) as session:
        result = verify_chain(session, anchors=anchors)
    if as_json:
        _echo_json(result.as_dict())
    else:
        click.echo(f"checked {result.checked} access-log record(s)")
        if result.broken is not None:
            click.echo(f"BROKEN at {result.broken.describe()}")
        else:
            head = str(result.head) if result.head is not None else "(empty)"
            click.echo(f"access log OK; head {head} (keep it outside the database as an anchor)")
    sys.exit(0 if result.ok else 1)
