"""Configuration from HUISHOUDBOEKJE_* environment variables.

Outside demo mode the service refuses to start without real secrets and says
which variable to set; demo mode (`HUISHOUDBOEKJE_DEMO=1`, what `make run` sets)
fills in fixed, publicly known demo values that must never guard real data.
"""

from __future__ import annotations

import functools
import json

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from privacy.fields import FieldCipher, decode_key
from rules.insight import ReferenceBudgets

# Publicly known; accepted only in demo mode.
DEMO_SECRET_KEY = "demo-secret-key-not-for-production-use-000000000000"  # noqa: S105
DEMO_FIELD_KEY = "ZGVtby1maWVsZC1rZXktbm90LWZvci1wcm9kdWN0aW8"
DEMO_INDEX_KEY = "ZGVtby1pbmRleC1rZXktbm90LWZvci1wcm9kdWN0aW8"


class ConfigurationError(RuntimeError):
    """The service cannot start with this configuration; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUISHOUDBOEKJE_", extra="ignore")

    database_url: str = "sqlite:///./huishoudboekje.db"
    demo: bool = False
    secret_key: SecretStr | None = None
    field_key: SecretStr | None = Field(
        default=None, description="32 random bytes, url-safe base64: encrypts BSNs at rest"
    )
    field_key_id: str = "k1"
    field_old_keys: SecretStr | None = Field(
        default=None, description='JSON object {"key id": "base64 key"} of retired keys'
    )
    index_key: SecretStr | None = Field(
        default=None, description="32 random bytes, url-safe base64: blind index for lookups"
    )
    access_token_minutes: int = 15
    refresh_token_hours: int = 12
    # Login throttling: per account in the database, per client address in each process.
    login_failures_max: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    login_address_failures_max: int = Field(default=30, ge=1)
    login_address_window_minutes: int = Field(default=15, ge=1)
    # Co-decision: an undecided proposal expires after this many days.
    proposal_expiry_days: int = Field(default=14, ge=1)
    # The most a caseworker may pay out alone on the emergency path (backend.plans.one_off).
    emergency_payout_cap_cents: int = Field(default=25_000, ge=0, le=25_000)
    # OpenID Connect (optional): staff through the municipal identity provider,
    # residents through a DigiD broker. Off unless issuer and client id are set.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_audience: str | None = Field(default=None, description="defaults to the client id")
    oidc_jwks_url: str | None = Field(
        default=None, description="defaults to the issuer's discovery document's jwks_uri"
    )
    oidc_bsn_claim: str | None = Field(
        default=None, description="ID-token claim holding the BSN (DigiD broker), e.g. 'bsn'"
    )
    pool_size: int = 10
    # Insight (issue 12): a municipality's own reference-budget file (JSON); the
    # package's example figures when unset. Validated at startup.
    reference_budgets_path: str | None = None

    def _secret(self, name: str, demo_value: str) -> str:
        value: SecretStr | None = getattr(self, name)
        variable = f"HUISHOUDBOEKJE_{name.upper()}"
        if value is None or not value.get_secret_value():
            if self.demo:
                return demo_value
            raise ConfigurationError(
                f"{variable} is not set; set it to a random secret "
                "(or set HUISHOUDBOEKJE_DEMO=1 for a demo with public demo keys)"
            )
        text = value.get_secret_value()
        if text == demo_value and not self.demo:
            raise ConfigurationError(
                f"{variable} holds the public demo value; set a real secret outside demo mode"
            )
        return text

    def jwt_secret(self) -> str:
        secret = self._secret("secret_key", DEMO_SECRET_KEY)
        if len(secret) < 32:
            raise ConfigurationError("HUISHOUDBOEKJE_SECRET_KEY must be at least 32 characters")
        return secret

    def field_cipher(self) -> FieldCipher:
        keys = {self.field_key_id: decode_key(self._secret("field_key", DEMO_FIELD_KEY))}
        if self.field_old_keys is not None:
            try:
                old = json.loads(self.field_old_keys.get_secret_value())
            except json.JSONDecodeError as error:
                raise ConfigurationError(
                    "HUISHOUDBOEKJE_FIELD_OLD_KEYS must be a JSON object of key id to key"
                ) from error
            for key_id, key_text in old.items():
                keys.setdefault(key_id, decode_key(key_text))
        index_key = decode_key(self._secret("index_key", DEMO_INDEX_KEY))
        return FieldCipher(keys, self.field_key_id, index_key)

    def check_for_serving(self) -> None:
        """Fail fast, before accepting requests, on any missing secret."""
        self.jwt_secret()
        self.field_cipher()
        self.reference_budgets()

    def reference_budgets(self) -> ReferenceBudgets:
        """The reference budgets (Insight); ConfigurationError names what is wrong."""
        from backend.zelfregie.reference_budgets import load_reference_budgets

        return load_reference_budgets(self.reference_budgets_path)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
