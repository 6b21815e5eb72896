"""Statements as PDF (fpdf2, DejaVu Sans so "€" and "−" print as they should)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fpdf import FPDF

from client_app.formatting import date_medium, money, month_label
from client_app.i18n import translate
from client_app.services.statements import Statement

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts" / "dejavu-2.37"
_FONT = "DejaVu"
_AMOUNT_WIDTH = 45


def period_title(statement: Statement, lang: str) -> str:
    period = statement.period
    if period.monthly:
        return translate(lang, "statement.title_month", period=month_label(period.start, lang))
    return translate(lang, "statement.title_year", year=period.start.year)


def statement_pdf(statement: Statement, lang: str, *, municipality: str, made_on: dt.date) -> bytes:
    def t(key: str, **values: object) -> str:
        return translate(lang, key, **values)

    pdf = FPDF(format="A4")
    pdf.set_title(period_title(statement, lang))
    pdf.set_author(municipality)
    pdf.set_creator("Huishoudboekje")
    pdf.set_lang(lang)
    pdf.add_font(_FONT, "", str(FONT_DIR / "DejaVuSans-latin.ttf"))
    pdf.add_font(_FONT, "B", str(FONT_DIR / "DejaVuSans-Bold-latin.ttf"))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    width = pdf.epw

    def heading(text: str, size: int = 12) -> None:
        pdf.ln(3)
        pdf.set_font(_FONT, "B", size)
        pdf.multi_cell(width, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(_FONT, "", 10)

    def row(label: str, cents: int | None, *, bold: bool = False) -> None:
        pdf.set_font(_FONT, "B" if bold else "", 10)
        y = pdf.get_y()
        pdf.multi_cell(width - _AMOUNT_WIDTH, 6, label, new_x="RIGHT", new_y="TOP")
        after_label = pdf.get_y()
        pdf.set_xy(pdf.l_margin + width - _AMOUNT_WIDTH, y)
        pdf.cell(_AMOUNT_WIDTH, 6, "" if cents is None else money(cents, lang), align="R")
        pdf.set_y(max(after_label, y + 6))
        pdf.set_x(pdf.l_margin)

    pdf.set_font(_FONT, "", 9)
    pdf.cell(width, 5, municipality, new_x="LMARGIN", new_y="NEXT")
    heading(period_title(statement, lang), 15)
    pdf.set_font(_FONT, "", 10)
    pdf.multi_cell(
        width,
        6,
        t(
            "statement.for",
            household=statement.household_name,
            names=", ".join(statement.participant_names),
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    end = statement.period.end - dt.timedelta(days=1)
    pdf.multi_cell(
        width,
        6,
        t(
            "statement.range",
            start=date_medium(statement.period.start, lang),
            end=date_medium(end, lang),
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    heading(t("statement.income"))
    for line in statement.incomes:
        row(line.label, line.amount_cents)
    row(t("statement.income_total"), statement.income_total_cents, bold=True)
    heading(t("statement.fixed_costs"))
    for line in statement.fixed_costs:
        row(line.label, line.amount_cents)
    row(t("statement.fixed_costs_total"), statement.fixed_costs_total_cents, bold=True)
    heading(t("statement.living_money"))
    row(t("statement.living_money_paid"), statement.living_money_cents, bold=True)
    heading(t("statement.buffer"))
    row(t("statement.buffer_start"), statement.buffer_start_cents)
    row(t("statement.buffer_end"), statement.buffer_end_cents, bold=True)
    if statement.debt_end_cents:
        row(t("statement.advance_owed"), statement.debt_end_cents)
    heading(t("statement.check"))
    row(t("statement.own_start"), statement.own_start_cents)
    row(t("statement.check_income"), statement.income_total_cents)
    row(t("statement.check_fixed_costs"), -statement.fixed_costs_total_cents)
    row(t("statement.check_living_money"), -statement.living_money_cents)
    if statement.returned_cents:
        row(t("statement.returned"), statement.returned_cents)
    if statement.advance_received_cents:
        row(t("statement.advance_received"), statement.advance_received_cents)
    if statement.advance_repaid_cents:
        row(t("statement.advance_repaid"), -statement.advance_repaid_cents)
    if statement.other_cents:
        row(t("statement.other"), statement.other_cents)
    row(t("statement.own_end"), statement.own_end_cents, bold=True)
    pdf.ln(4)
    pdf.set_font(_FONT, "", 8)
    pdf.multi_cell(
        width,
        5,
        t("statement.made_on", date=date_medium(made_on, lang)),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
