"""Settings of the pages a municipality may change without touching code
(HUISHOUDBOEKJE_APP_* environment variables).

    HUISHOUDBOEKJE_APP_MUNICIPALITY_NAME   shown in the page header and statements
    HUISHOUDBOEKJE_APP_THEME_DIRECTORY     a folder with the municipality's own
                                           theme.css (served instead of ours)
    HUISHOUDBOEKJE_APP_SERVICE_NAME        the name of the service in the header
"""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ClientAppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUISHOUDBOEKJE_APP_", extra="ignore")

    municipality_name: str = "Gemeente Voorbeeld"
    service_name: str = "Huishoudboekje"
    theme_directory: Path | None = None


@functools.lru_cache(maxsize=1)
def client_settings() -> ClientAppSettings:
    return ClientAppSettings()
