from __future__ import annotations

import pytest

from backend.config import DEMO_SECRET_KEY, ConfigurationError, Settings


def test_outside_demo_mode_a_missing_secret_names_its_variable() -> None:
    settings = Settings(database_url="sqlite://", demo=False)
    with pytest.raises(ConfigurationError, match="HUISHOUDBOEKJE_SECRET_KEY is not set"):
        settings.check_for_serving()


def test_outside_demo_mode_the_public_demo_secret_is_refused() -> None:
    settings = Settings(database_url="sqlite://", demo=False, secret_key=DEMO_SECRET_KEY)
    with pytest.raises(ConfigurationError, match="public demo value"):
        settings.jwt_secret()


def test_missing_field_key_is_named() -> None:
    settings = Settings(database_url="sqlite://", demo=False, secret_key="x" * 40)
    with pytest.raises(ConfigurationError, match="HUISHOUDBOEKJE_FIELD_KEY"):
        settings.check_for_serving()


def test_demo_mode_starts_with_demo_keys() -> None:
    Settings(database_url="sqlite://", demo=True).check_for_serving()


def test_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUISHOUDBOEKJE_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("HUISHOUDBOEKJE_DEMO", "1")
    settings = Settings()
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert settings.demo is True
