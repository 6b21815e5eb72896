"""The inzage as a readable PDF (fpdf2, pure Python): short sentences, one section per
kind of record, amounts in euros, the access log as "who looked, when and why".

The built-in Helvetica font covers Latin-1 (Dutch names with diacritics included);
other characters are transliterated, and the euro sign is written as "EUR".
"""

from __future__ import annotations

import json
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from unidecode import unidecode

from ledger import Money

VALUE_LENGTH_MAX = 400
LINE_HEIGHT = 5.0


def _latin1(text: str) -> str:
    text = text.replace("€", "EUR")
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return "".join(
            character if ord(character) < 256 else unidecode(character) for character in text
        )
    return text


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    if len(text) > VALUE_LENGTH_MAX:
        text = text[:VALUE_LENGTH_MAX] + " ..."
    return text


def _euro(cents: int) -> str:
    return _latin1(Money(cents).format_nl())


class _Document(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 8, f"Pagina {self.page_no()}", align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", style="B", size=13)
    pdf.multi_cell(0, 7, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)


def _line(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(
        0, LINE_HEIGHT, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.CHAR
    )


def render_inzage_pdf(document: dict[str, Any], *, compress: bool = True) -> bytes:
    pdf = _Document(format="A4")
    pdf.set_compression(compress)
    pdf.set_title("Inzage in uw gegevens")
    pdf.set_author("Huishoudboekje")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.multi_cell(0, 9, "Inzage in uw gegevens", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    _line(pdf, document["about"])
    _line(pdf, f"Gemaakt op: {document['generated_at']}")

    person = document["person"]
    _heading(pdf, "Uw gegevens")
    bsn = person["bsn"]
    bsn_text = bsn["value"] or (bsn["note"] if bsn["note"] else "-")
    for label, value in (
        ("Naam", person["name"]),
        ("BSN", bsn_text),
        ("Eigen rekening (IBAN)", person["own_iban"]),
        ("Huishouden", person["household"]["name"]),
        ("Status", person["status"]),
        ("Deelname gestart", person["started_on"]),
        ("Deelname beëindigd", person["ended_on"]),
    ):
        _line(pdf, f"{label}: {_value(value)}")
    account = person["account"]
    if account is not None:
        _line(pdf, f"Account: {account['username']} (inloggen met {account['login_with']})")
        _line(pdf, f"Laatst ingelogd: {_value(account['last_login_at'])}")

    ledger = document["ledger"]
    _heading(pdf, "Uw geld: wat wij voor u bewaren")
    for kind, cents in ledger["balances_cents"].items():
        _line(pdf, f"{kind}: {_euro(cents)}")
    _heading(pdf, f"Alle boekingen ({len(ledger['movements'])})")
    for movement in ledger["movements"]:
        changes = ", ".join(f"{kind} {_euro(cents)}" for kind, cents in movement["changes"].items())
        _line(pdf, f"{movement['booking_date']}  {movement['explanation']}  ({changes})")
    if ledger["truncated"]:
        _line(pdf, "Dit zijn de nieuwste boekingen; vraag ons om de rest.")

    for section in document["records"]:
        _heading(pdf, f"{section['title']} ({len(section['rows'])})")
        if not section["rows"]:
            _line(pdf, "Niets vastgelegd.")
        for row in section["rows"]:
            _line(pdf, "; ".join(f"{key}: {_value(value)}" for key, value in row.items()))
            pdf.ln(1)
        if section["internal_rows_left_out"]:
            _line(pdf, f"{section['internal_rows_left_out']} interne notitie(s) niet getoond.")

    log = document["access_log"]
    _heading(pdf, "Wie heeft uw gegevens bekeken of gewijzigd, en waarom")
    if not log["entries"]:
        _line(pdf, "Nog niemand.")
    for entry in log["entries"]:
        action = "bekeken" if entry["operation"] == "read" else "gewijzigd"
        _line(
            pdf,
            f"{entry['when']}: {entry['who']} ({entry['role_name']}) heeft {action}: "
            f"{entry['what']}. Waarom: {entry['why']}.",
        )
    return bytes(pdf.output())
