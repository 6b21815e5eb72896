"""A simple message catalogue: JSON files per language, flat keys.

`nl.json` holds the shared texts; a feature may keep its own texts in
`nl.<feature>.json` (and `en.<feature>.json`). They are merged, and a key defined
in two files is refused so one file never silently overrides another.

Dutch (`nl.json`, language level B1) is the default; English (`en.json`) is the
switch. A municipality can change wording by editing the files; a test checks
that both files have the same keys and that every key a template uses exists.

Values use `str.format` fields: "Je krijgt {amount} op {date}."
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
CATALOGUE_DIR = Path(__file__).parent


@functools.lru_cache(maxsize=len(LANGUAGES))
def catalogue(lang: str) -> dict[str, str]:
    """The messages of one language (`lang` must be one of LANGUAGES)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}")
    merged: dict[str, str] = {}
    for path in sorted(CATALOGUE_DIR.glob(f"{lang}.*json")):
        if path.name != f"{lang}.json" and not path.name.startswith(f"{lang}."):
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"{path.name}: expected an object of strings")
        twice = sorted(set(merged) & set(data))
        if twice:
            raise ValueError(f"{path.name}: keys already defined in another file: {twice}")
        merged.update(data)
    return merged


def language(value: str | None) -> str:
    """A supported language, or the default."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def translate(lang: str, key: str, **values: Any) -> str:
    """The message for `key`, filled in; the Dutch text when English lacks it, and
    the key itself when neither has it (visible, never an error page)."""
    text = catalogue(language(lang)).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    return text.format(**values) if values else text
