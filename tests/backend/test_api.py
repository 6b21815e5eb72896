from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.config import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_openapi_is_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"] == "Huishoudboekje"
    assert "/health" in schema["paths"]


def test_errors_are_problem_details(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["instance"] == "/no-such-page"


def test_app_refuses_to_start_without_secrets(database_url: str) -> None:
    from backend.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="HUISHOUDBOEKJE_SECRET_KEY"):
        create_app(Settings(database_url=database_url, demo=False))
