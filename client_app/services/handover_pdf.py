"""The handover letter (overdrachtsbrief) and the final statement (eindafrekening) as PDF,
in the style of the statement PDF (fpdf2, DejaVu Sans). Both are made from the
snapshot stored with the settlement (`participation_end.handover`), so they read the
same every time they are downloaded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fpdf import FPDF

from client_app.formatting import date_long, money
from client_app.i18n import translate
from client_app.services.pdf import _FONT, FONT_DIR

_AMOUNT_WIDTH = 40


def _day(value: str | None, lang: str) -> str:
    return date_long(dt.date.fromisoformat(value), lang) if value else "—"


class _Document:
    def __init__(self, title: str, municipality: str, lang: str, *, compress: bool) -> None:
        self.lang = lang
        pdf = FPDF(format="A4")
        pdf.set_compression(compress)
        pdf.set_title(title)
        pdf.set_author(municipality)
        pdf.set_creator("Huishoudboekje")
        pdf.set_lang(lang)
        pdf.add_font(_FONT, "", str(FONT_DIR / "DejaVuSans-latin.ttf"))
        pdf.add_font(_FONT, "B", str(FONT_DIR / "DejaVuSans-Bold-latin.ttf"))
        pdf.set_auto_page_break(auto=True, margin=18)
        pdf.add_page()
        self.pdf = pdf
        self.width = pdf.epw
        pdf.set_font(_FONT, "", 9)
        pdf.cell(self.width, 5, municipality, new_x="LMARGIN", new_y="NEXT")
        self.heading(title, 15)

    def t(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)

    def heading(self, text: str, size: int = 12) -> None:
        self.pdf.ln(3)
        self.pdf.set_font(_FONT, "B", size)
        self.pdf.multi_cell(self.width, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font(_FONT, "", 10)

    def text(self, value: str, *, bold: bool = False) -> None:
        self.pdf.set_font(_FONT, "B" if bold else "", 10)
        self.pdf.multi_cell(self.width, 6, value, new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font(_FONT, "", 10)

    def row(self, label: str, cents: int | None, *, bold: bool = False) -> None:
        pdf = self.pdf
        pdf.set_font(_FONT, "B" if bold else "", 10)
        y = pdf.get_y()
        pdf.multi_cell(self.width - _AMOUNT_WIDTH, 6, label, new_x="RIGHT", new_y="TOP")
        after = pdf.get_y()
        pdf.set_xy(pdf.l_margin + self.width - _AMOUNT_WIDTH, y)
        pdf.cell(_AMOUNT_WIDTH, 6, "" if cents is None else money(cents, self.lang), align="R")
        pdf.set_y(max(after, y + 6))
        pdf.set_x(pdf.l_margin)

    def finish(self, made_on: dt.date) -> bytes:
        self.pdf.ln(4)
        self.pdf.set_font(_FONT, "", 8)
        self.pdf.multi_cell(
            self.width,
            5,
            self.t("ending.pdf.made_on", date=date_long(made_on, self.lang)),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        return bytes(self.pdf.output())


def handover_letter_pdf(
    handover: dict[str, Any],
    *,
    name: str,
    lang: str,
    municipality: str,
    made_on: dt.date,
    compress: bool = True,
) -> bytes:
    """Overdrachtsbrief: what the participant pays and receives themselves from when."""
    doc = _Document(translate(lang, "ending.letter.title"), municipality, lang, compress=compress)
    t = doc.t
    doc.text(t("ending.letter.dear", name=name))
    doc.text(t("ending.letter.intro", date=_day(handover.get("end_date"), lang)))
    doc.heading(t("ending.letter.fixed_costs"))
    costs = handover.get("fixed_costs") or []
    if not costs:
        doc.text(t("ending.letter.no_fixed_costs"))
    for cost in costs:
        doc.text(
            t(
                "ending.letter.fixed_cost",
                what=cost["description"],
                creditor=cost["creditor_name"],
                amount=money(cost["amount_cents"], lang),
                often=t(f"ending.frequency.{cost['frequency']}"),
            ),
            bold=True,
        )
        doc.text(
            t(
                "ending.letter.fixed_cost_how",
                iban=cost["creditor_iban"],
                reference=cost["reference"],
                date=_day(cost.get("you_pay_from"), lang),
            )
        )
    doc.heading(t("ending.letter.incomes"))
    incomes = handover.get("incomes") or []
    if not incomes:
        doc.text(t("ending.letter.no_incomes"))
    for income in incomes:
        doc.text(
            t(
                "ending.letter.income",
                what=income["description"],
                payer=income["payer_name"],
                amount=money(income["amount_cents"], lang),
                often=t(f"ending.frequency.{income['frequency']}"),
            ),
            bold=True,
        )
        doc.text(
            t(
                "ending.letter.income_how",
                payer=income["payer_name"],
                date=_day(income.get("to_own_account_from"), lang),
                iban=handover.get("own_iban") or "—",
            )
        )
    doc.heading(t("ending.letter.money"))
    for payout in handover.get("payouts") or []:
        doc.row(
            t(
                f"ending.letter.payout.{payout['source']}",
                date=_day(payout["execution_date"], lang),
                iban=payout["iban"],
            ),
            payout["amount_cents"],
        )
    if not handover.get("payouts"):
        doc.text(t("ending.letter.no_payout"))
    if handover.get("savings_cents"):
        doc.text(t("ending.letter.savings", amount=money(handover["savings_cents"], lang)))
    doc.heading(t("ending.letter.advance"))
    debt = int(handover.get("advance_debt_cents") or 0)
    remaining = int(handover.get("remaining_debt_cents") or 0)
    if debt == 0:
        doc.text(t("ending.letter.no_advance"))
    else:
        doc.text(
            t(
                "ending.letter.advance_settled",
                debt=money(debt, lang),
                settled=money(int(handover.get("advance_settled_cents") or 0), lang),
            )
        )
    if remaining:
        doc.text(t("ending.letter.remaining_debt", amount=money(remaining, lang)), bold=True)
    elif debt:
        doc.text(t("ending.letter.no_debt_left"))
    doc.heading(t("ending.letter.after"))
    doc.text(t("ending.letter.after_text"))
    return doc.finish(made_on)


def final_statement_pdf(
    handover: dict[str, Any],
    *,
    name: str,
    lang: str,
    municipality: str,
    made_on: dt.date,
    compress: bool = True,
) -> bytes:
    """Eindafrekening: what each account held, every closing entry, the payouts."""
    doc = _Document(
        translate(lang, "ending.statement.title"), municipality, lang, compress=compress
    )
    t = doc.t
    doc.text(
        t(
            "ending.statement.for",
            name=name,
            end=_day(handover.get("end_date"), lang),
            settled=_day(handover.get("settled_on"), lang),
        )
    )
    doc.heading(t("ending.statement.start"))
    for kind, cents in sorted((handover.get("start_holdings") or {}).items()):
        doc.row(t(f"ending.account.{kind}"), int(cents))
    doc.heading(t("ending.statement.entries"))
    for line in handover.get("closing_entries") or []:
        doc.row(
            f"{_day(line['booking_date'], lang)} — {line['explanation']}",
            int(line["amount_cents"]),
        )
    doc.heading(t("ending.statement.payouts"))
    total = 0
    for payout in handover.get("payouts") or []:
        total += int(payout["amount_cents"])
        doc.row(
            t(
                f"ending.letter.payout.{payout['source']}",
                date=_day(payout["execution_date"], lang),
                iban=payout["iban"],
            ),
            int(payout["amount_cents"]),
        )
    doc.row(t("ending.statement.paid_total"), total, bold=True)
    remaining = int(handover.get("remaining_debt_cents") or 0)
    if remaining:
        doc.row(t("ending.statement.remaining_debt"), remaining, bold=True)
    doc.heading(t("ending.statement.closed"))
    doc.text(t("ending.statement.closed_text"))
    return doc.finish(made_on)
