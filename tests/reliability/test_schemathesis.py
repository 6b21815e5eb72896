"""schemathesis against the app's own OpenAPI schema, in-process (ASGI, no network), for
every role: zero server errors and responses that match the schema. Every generated
input is also an attack on the API's input models: a refusal must be a clean 4xx.

Short form: 3 examples per operation and role; long form: 50.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.config import Settings
from backend.db import make_engine, make_session_factory, transaction
from backend.demo.seed import seed_demo
from backend.models import UserAccount
from tests.reliability import report
from tests.reliability.conftest import LONG

ROLES_USERS = ("anna", "carla", "fenna", "priya", "admin")
EXAMPLES = 50 if LONG else 3


@pytest.fixture(scope="module")
def seeded(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    path = tmp_path_factory.mktemp("schemathesis") / "demo.db"
    shutil.copyfile(sqlite_template, path)
    app_settings = Settings(database_url=f"sqlite:///{path}", demo=True)
    engine = make_engine(app_settings.database_url)
    with transaction(make_session_factory(engine), write=True) as session:
        seed_demo(session, app_settings.field_cipher(), today=dt.date(2026, 11, 28))
    engine.dispose()
    yield app_settings


@pytest.fixture(scope="module")
def tokens(seeded: Settings) -> dict[str, str]:
    engine = make_engine(seeded.database_url)
    from sqlalchemy import select

    with transaction(make_session_factory(engine)) as session:
        ids = dict(session.execute(select(UserAccount.username, UserAccount.id)).all())
    engine.dispose()
    now = dt.datetime.now(dt.UTC)
    return {
        name: issue_access_token(seeded, subject=str(ids[name]), roles=(), now=now).token
        for name in ROLES_USERS
    }


def _check(case: schemathesis.Case, tokens: dict[str, str]) -> None:
    for name, token in tokens.items():
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        report.record("schemathesis", requests=1, violations=int(response.status_code >= 500))
        where = f"{name}: {case.method} {case.formatted_path}"
        assert response.status_code < 500, (
            f"{where} -> {response.status_code}: {response.text[:500]}"
        )
        if response.status_code >= 400:
            content_type = response.headers.get("content-type", [""])
            if isinstance(content_type, list):
                content_type = content_type[0] if content_type else ""
            assert content_type.startswith(("application/problem+json", "application/json")), (
                f"{where}: refusal is not problem+json"
            )
            assert "Traceback" not in response.text, where
        case.validate_response(response, checks=[response_schema_conformance])


def test_no_server_error_and_responses_match_the_schema(
    seeded: Settings, tokens: dict[str, str]
) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", create_app(seeded))
    operations = 0
    failures: list[str] = []
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            _check(case, tokens)

        try:
            run()
        except Exception as error:  # schemathesis failures are not always AssertionErrors
            failures.append(f"{operation.method.upper()} {operation.path}: {str(error)[:800]}")
    report.record("schemathesis", operations=operations, roles=len(tokens))
    assert operations > 10
    assert failures == [], "\n\n".join(failures)
