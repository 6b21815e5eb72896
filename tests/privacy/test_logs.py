"""Logs hold no personal data. The demo flow runs (seed, the daily cycle when present,
API calls as every demo user, the privacy commands) with every log line captured, and
no line may contain a BSN, an IBAN or a participant's name."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.config import Settings
from backend.db import transaction
from backend.demo.seed import DEMO_PARTICIPANTS, DEMO_USERS, seed_demo
from backend.logging import KNOWN_NAMES, configure_logging, get_logger
from backend.models import UserAccount
from privacy.bsn import BsnError, validate_bsn
from privacy.redaction import iban_checksum_ok, name_tokens
from tests.privacy.conftest import SEED_TODAY, Cli, sqlite_database_url

DEMO_NAMES = [seeded.display_name for seeded in DEMO_PARTICIPANTS] + [
    seeded.username for seeded in DEMO_PARTICIPANTS
]
NAME_WORDS = name_tokens(DEMO_NAMES)
_NINE_DIGITS = re.compile(r"(?<!\d)\d{3}[. ]?\d{3}[. ]?\d{3}(?!\d)")
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}"
    r"(?: ?[A-Za-z0-9]{1,3})?(?![A-Za-z0-9])"
)
# Random hex that may pass an IBAN checksum by chance; ours, never personal data.
RANDOM_KEYS = ("trace_id", "timestamp")
_WORDS = re.compile(r"[^\W\d_]+", re.UNICODE)

# Nothing here depends on the database kind: SQLite only, for speed.
database_url = pytest.fixture(sqlite_database_url)


def personal_data_in(line: str) -> list[str]:
    """What in this log line looks like a BSN, an IBAN or a demo participant's name."""
    found = []
    for match in _NINE_DIGITS.finditer(line):
        digits = re.sub(r"\D", "", match.group(0))
        try:
            validate_bsn(digits)
            found.append(f"BSN-like number at {match.start()}")
        except BsnError:
            pass
    for match in _IBAN.finditer(line):
        if iban_checksum_ok(match.group(0)):
            found.append(f"IBAN at {match.start()}")
    for word in _WORDS.findall(line):
        if word.casefold() in NAME_WORDS:
            found.append(f"name word {word!r}")
    for seeded in DEMO_PARTICIPANTS:
        for value in (seeded.bsn, seeded.own_iban):
            if value in line:
                found.append("a demo BSN or IBAN")
    return found


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every log line the service writes, as the production handler renders it."""
    stream = io.StringIO()
    configure_logging(level="DEBUG", stream=stream)
    yield stream
    configure_logging()


def test_the_redactor_removes_what_a_careless_log_call_puts_in(captured: io.StringIO) -> None:
    KNOWN_NAMES.add(DEMO_NAMES)
    log = get_logger("tests.careless")
    log.error(
        "payment failed for Anna de Vries",
        bsn="111222333",
        iban="NL32 INGB 0007 7777 77",
        detail={"payee": "Bram Jansen", "numbers": ["123456782"]},
    )
    try:
        raise ValueError("cannot pay Zoë IJzerman at NL79INGB0002468024 (bsn 100000009)")
    except ValueError:
        logging.getLogger("tests.stdlib").exception("unexpected error for %s", "Anna de Vries")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 2
    for line in lines:
        json.loads(line)
        assert personal_data_in(line) == [], line
    assert "[BSN]" in lines[0] and "[IBAN]" in lines[0] and "[NAAM]" in lines[0]
    assert "Traceback" in lines[1] and "[NAAM]" in lines[1]


def _tokens(settings: Settings, session_factory: sessionmaker[Session]) -> dict[str, str]:
    with session_factory() as session:
        ids = {account.username: account.id for account in session.query(UserAccount)}
    return {
        user.username: issue_access_token(
            settings, subject=str(ids[user.username]), roles=(), now=dt.datetime.now(dt.UTC)
        ).token
        for user in DEMO_USERS
    }


def test_the_demo_flow_logs_no_bsn_iban_or_name(
    captured: io.StringIO,
    settings: Settings,
    session_factory: sessionmaker[Session],
    fast_password_hashing: None,
    cli: Cli,
    tmp_path: Path,
) -> None:
    with transaction(session_factory, write=True) as session:
        seed_demo(session, settings.field_cipher(), today=SEED_TODAY)
    if importlib.util.find_spec("backend.cycle.service") is not None:
        from backend.cycle.service import run_daily_cycle

        for days in range(1, 4):
            run_daily_cycle(session_factory, today=SEED_TODAY + dt.timedelta(days=days))
    tokens = _tokens(settings, session_factory)
    app = create_app(settings)
    configure_logging(level="DEBUG", stream=captured)  # create_app configured its own
    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()
        gets = [
            path
            for path, operations in schema["paths"].items()
            if "get" in operations and "{" not in path.replace("{participant_id}", "")
        ]
        anna = 1
        for token in tokens.values():
            headers = {"Authorization": f"Bearer {token}"}
            for path in gets:
                client.get(path.format(participant_id=anna), headers=headers)
            client.post(
                f"/api/participants/{anna}/life-events",
                json={"kind": "moving", "note": "Anna de Vries, NL32INGB0007777777, 111222333"},
                headers=headers,
            )
            client.get("/api/participants/not-a-number", headers=headers)
        client.post("/api/auth/token", data={"username": "anna", "password": "wrong"})
        client.post("/api/auth/token", data={"username": "111222333", "password": "x"})
    for command in (
        ("privacy", "export", "--key-id", "demo", "-o", str(tmp_path / "export.csv")),
        ("privacy", "retention", "--dry-run", "--today", "2040-01-01"),
        ("audit", "verify"),
        ("ledger", "check"),
    ):
        result = cli(*command, env={"HUISHOUDBOEKJE_LOG_LEVEL": "DEBUG"})
        captured.write(result.output)  # the CLI's own log lines went to its stderr
    lines = []
    for line in captured.getvalue().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a command's own output (stdout), not a log line
        for key in RANDOM_KEYS:
            record.pop(key, None)
        lines.append(json.dumps(record, ensure_ascii=False))
    assert len(lines) > 50, "the flow should have logged a request line per call"
    assert any('"route": "/api/participants/{participant_id}/inzage"' in line for line in lines)
    leaks = {line: found for line in lines if (found := personal_data_in(line))}
    assert leaks == {}
