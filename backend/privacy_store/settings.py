"""Privacy configuration, from the same HUISHOUDBOEKJE_* environment as backend.config.

    HUISHOUDBOEKJE_RETENTION_IDENTITY_YEARS=7        name, BSN, IBAN, account (after ending)
    HUISHOUDBOEKJE_RETENTION_CASE_NOTES_YEARS=2      free-text notes and reasons
    HUISHOUDBOEKJE_RETENTION_PAYMENT_FILES_YEARS=7   SEPA files (after execution date)
    HUISHOUDBOEKJE_EXPORT_KEYS='{"2026-raad": "<32 random bytes, url-safe base64>"}'

The financial records themselves (ledger, payments, plan versions) are kept; the
identity term decides when they stop pointing at a person. The archivist decides
the numbers; docs/privacy.md explains the defaults.
"""

from __future__ import annotations

import json

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.config import ConfigurationError
from privacy.fields import decode_key
from privacy.retention import YEARS_MAX, RetentionTerms

DEMO_EXPORT_KEY_ID = "demo"
# Publicly known; accepted only in demo mode.
DEMO_EXPORT_KEY = "ZGVtby1leHBvcnQta2V5LW5vdC1mb3ItcHJvZHVjdGk"


class PrivacySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUISHOUDBOEKJE_", extra="ignore")

    demo: bool = False
    retention_identity_years: int = Field(default=7, ge=0, le=YEARS_MAX)
    retention_case_notes_years: int = Field(default=2, ge=0, le=YEARS_MAX)
    retention_payment_files_years: int = Field(default=7, ge=0, le=YEARS_MAX)
    export_keys: SecretStr | None = Field(
        default=None, description='JSON object {"key id": "base64 key"} for pseudonymised exports'
    )

    def terms(self) -> RetentionTerms:
        return RetentionTerms(
            identity_years=self.retention_identity_years,
            case_notes_years=self.retention_case_notes_years,
            payment_files_years=self.retention_payment_files_years,
        )

    def export_key(self, key_id: str) -> bytes:
        keys: dict[str, str] = {}
        if self.export_keys is not None:
            try:
                loaded = json.loads(self.export_keys.get_secret_value())
            except json.JSONDecodeError as error:
                raise ConfigurationError(
                    "HUISHOUDBOEKJE_EXPORT_KEYS must be a JSON object of key id to key"
                ) from error
            if not isinstance(loaded, dict):
                raise ConfigurationError(
                    "HUISHOUDBOEKJE_EXPORT_KEYS must be a JSON object of key id to key"
                )
            keys = {str(name): str(value) for name, value in loaded.items()}
        if self.demo:
            keys.setdefault(DEMO_EXPORT_KEY_ID, DEMO_EXPORT_KEY)
        if key_id not in keys:
            known = ", ".join(sorted(keys)) or "none"
            raise ConfigurationError(
                f"export key {key_id!r} is not configured in HUISHOUDBOEKJE_EXPORT_KEYS "
                f"(configured: {known})"
            )
        if keys[key_id] == DEMO_EXPORT_KEY and not self.demo:
            raise ConfigurationError("the public demo export key is refused outside demo mode")
        return decode_key(keys[key_id])
