"""Waar ging mijn leefgeld heen? /deelnemer/{participant_id}/inzicht (issue 12, Insight).

Per month: the living money received (ledger), what the participant noted per
category, what is not noted, next to the reference budget for their household
type. The participant notes what they spent (their own notes: no money moves),
changes or removes notes, makes own categories, chooses their household type and
whether their caseworker may see this page (default: no).

Access (backend.zelfregie.insight.ensure_insight_access): the participant reads
and changes; their caseworker reads only while shared (403 otherwise) and never
changes; a household member or anyone else gets 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from backend.api.deps import DbSession
from backend.errors import Conflict, InvalidInput, NotFound
from backend.models import SpendingNote
from backend.models.insight import CATEGORY_NAME_LENGTH_MAX, NOTE_TEXT_LENGTH_MAX
from backend.zelfregie import insight
from client_app.formatting import parse_amount
from client_app.i18n import translate
from client_app.pages.participant import ParticipantId, Viewer, _page
from client_app.web.rendering import page_today, redirect, request_language
from client_app.web.routing import CsrfProtected, PageRoute, PageUser
from rules.insight import HouseholdType, ReferenceBudgets, month_start, next_month, previous_month

router = APIRouter(
    prefix="/deelnemer/{participant_id}/inzicht", route_class=PageRoute, include_in_schema=False
)

MONTHS_BACK_MAX = 24
# Flash messages after a form (?gedaan=...): only these keys, never free text.
FLASHES = frozenset(
    {
        "note_saved",
        "note_deleted",
        "household_saved",
        "shared",
        "unshared",
        "category_added",
        "category_removed",
    }
)


def insight_viewer(participant_id: ParticipantId, user: PageUser, session: DbSession) -> Viewer:
    access = insight.ensure_insight_access(session, user, participant_id)
    return Viewer(access.participant, user, access.party)


InsightViewer = Annotated[Viewer, Depends(insight_viewer)]


def _budgets(request: Request) -> ReferenceBudgets:
    budgets: ReferenceBudgets = request.app.state.settings.reference_budgets()
    return budgets


def _month(value: str | None, today: dt.date) -> dt.date:
    """The month asked for (?maand=2026-11), within the last MONTHS_BACK_MAX months;
    this month otherwise."""
    this_month = month_start(today)
    if value and len(value) == 7:
        try:
            first = dt.date.fromisoformat(f"{value}-01")
        except ValueError:
            return this_month
        oldest = this_month
        for _ in range(MONTHS_BACK_MAX):
            oldest = previous_month(oldest)
        if oldest <= first <= this_month:
            return first
    return this_month


def _key(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _insight_page(
    request: Request,
    session: Session,
    who: Viewer,
    *,
    month: dt.date | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    lang = request_language(request)
    today = page_today(request)
    month = month or _month(request.query_params.get("maand"), today)
    budgets = _budgets(request)
    view = insight.month_view(
        session,
        who.participant.id,
        month,
        budgets,
        lang,
        other_label=translate(lang, "insight.category_other"),
    )
    editing: SpendingNote | None = None
    edit = request.query_params.get("bewerk", "")
    if who.is_self and edit.isdigit() and 0 < int(edit) < 2**63 and form is None:
        try:
            editing = insight.own_note(session, who.participant.id, int(edit))
        except NotFound:
            editing = None
    if form is None:
        if editing is not None:
            form = {
                "id": str(editing.id),
                "day": editing.spent_on.isoformat(),
                "amount": f"{editing.amount_cents // 100},{editing.amount_cents % 100:02d}",
                "category": insight.category_key(editing),
                "note": editing.note or "",
            }
        else:
            form = {}
    if not form.get("day"):
        last_day = next_month(month) - dt.timedelta(days=1)
        form = {**form, "day": min(today, last_day).isoformat()}
    this_month = month_start(today)
    oldest = this_month
    for _ in range(MONTHS_BACK_MAX):
        oldest = previous_month(oldest)
    flash_key = request.query_params.get("gedaan")
    context: dict[str, Any] = {
        "page_title": translate(lang, "insight.heading"),
        "month": month,
        "month_key": _key(month),
        "previous_key": _key(previous_month(month)) if month > oldest else None,
        "next_key": _key(next_month(month)) if month < this_month else None,
        "view": view,
        "budgets": budgets,
        "reference_categories": [
            (code, budgets.label(code, lang) or code) for code in budgets.category_codes()
        ],
        "household_types": [kind.value for kind in HouseholdType],
        "can_act": who.is_self,
        "errors": errors or {},
        "form": form,
        "editing": form.get("id", ""),
        "note_max": NOTE_TEXT_LENGTH_MAX,
        "category_max": CATEGORY_NAME_LENGTH_MAX,
        "used_categories": {insight.category_key(note) for note in view.notes},
    }
    if flash_key in FLASHES:
        context["flash"] = translate(lang, f"insight.flash.{flash_key}")
    return _page(
        request,
        session,
        who,
        "participant/insight.html",
        "zelfregie",
        context,
        status_code=status_code,
    )


def _done(who: Viewer, flash: str, month: str = "") -> Response:
    query = f"?gedaan={flash}"
    if len(month) == 7 and month[:4].isdigit() and month[4] == "-" and month[5:].isdigit():
        query += f"&maand={month}"
    return redirect(f"{who.base}/inzicht{query}")


@router.get("")
def insight_page(request: Request, who: InsightViewer, session: DbSession) -> Response:
    return _insight_page(request, session, who)


@router.post("/uitgave", dependencies=[CsrfProtected])
def save_note(
    request: Request,
    who: InsightViewer,
    session: DbSession,
    id: Annotated[str, Form(max_length=20)] = "",
    day: Annotated[str, Form(max_length=10)] = "",
    amount: Annotated[str, Form(max_length=30)] = "",
    category: Annotated[str, Form(max_length=60)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    lang = request_language(request)
    today = page_today(request)
    # The participant only: the caseworker (403) and others (404) stop here, before any check.
    insight.ensure_insight_access(session, who.user, who.participant.id, change=True)
    errors: dict[str, str] = {}
    note_id: int | None = None
    if id:
        if not id.isdigit() or not 0 < int(id) < 2**63:
            raise InvalidInput("which note? (id)")
        note_id = int(id)
    spent_on: dt.date | None = None
    try:
        spent_on = dt.date.fromisoformat(day)
    except ValueError:
        errors["day"] = translate(lang, "form.date_invalid")
    else:
        if spent_on > today or (today - spent_on).days > insight.NOTE_DAYS_BACK_MAX:
            errors["day"] = translate(lang, "insight.error.day")
    cents = parse_amount(amount)
    if cents is None or cents <= 0:
        errors["amount"] = translate(lang, "form.amount_invalid")
    if not category:
        errors["category"] = translate(lang, "insight.error.category")
    if len(" ".join(note.split())) > NOTE_TEXT_LENGTH_MAX:
        errors["note"] = translate(lang, "insight.error.note", max=NOTE_TEXT_LENGTH_MAX)
    if not errors and spent_on is not None and cents is not None:
        try:
            saved = insight.save_note(
                session,
                who.user,
                who.participant.id,
                note_id=note_id,
                spent_on=spent_on,
                amount_cents=cents,
                category=category,
                text=note,
                today=today,
                budgets=_budgets(request),
            )
        except (InvalidInput, Conflict) as error:
            key = "insight.error.too_many" if isinstance(error, Conflict) else None
            errors["category" if key is None else "amount"] = translate(
                lang, key or "insight.error.category"
            )
        else:
            return _done(who, "note_saved", _key(saved.spent_on))
    form = {"id": id, "day": day, "amount": amount, "category": category, "note": note}
    month = month_start(spent_on) if spent_on and "day" not in errors else None
    return _insight_page(
        request, session, who, month=month, errors=errors, form=form, status_code=422
    )


@router.post("/uitgave/verwijderen", dependencies=[CsrfProtected])
def delete_note(
    request: Request,
    who: InsightViewer,
    session: DbSession,
    id: Annotated[str, Form(max_length=20)] = "",
    maand: Annotated[str, Form(max_length=7)] = "",
) -> Response:
    insight.ensure_insight_access(session, who.user, who.participant.id, change=True)
    if not id.isdigit() or not 0 < int(id) < 2**63:
        raise InvalidInput("which note? (id)")
    insight.delete_note(session, who.user, who.participant.id, int(id))
    return _done(who, "note_deleted", maand)


@router.post("/huishouden", dependencies=[CsrfProtected])
def set_household(
    request: Request,
    who: InsightViewer,
    session: DbSession,
    household_type: Annotated[str, Form(max_length=30)] = "",
    maand: Annotated[str, Form(max_length=7)] = "",
) -> Response:
    insight.ensure_insight_access(session, who.user, who.participant.id, change=True)
    try:
        kind = HouseholdType(household_type) if household_type else None
    except ValueError:
        lang = request_language(request)
        errors = {"household_type": translate(lang, "insight.error.household")}
        return _insight_page(request, session, who, errors=errors, status_code=422)
    insight.set_household_type(session, who.user, who.participant.id, kind)
    return _done(who, "household_saved", maand)


@router.post("/delen", dependencies=[CsrfProtected])
def set_sharing(
    request: Request,
    who: InsightViewer,
    session: DbSession,
    share: Annotated[str, Form(max_length=1)] = "",
    maand: Annotated[str, Form(max_length=7)] = "",
) -> Response:
    insight.ensure_insight_access(session, who.user, who.participant.id, change=True)
    on = share == "1"
    insight.set_sharing(session, who.user, who.participant.id, on)
    return _done(who, "shared" if on else "unshared", maand)


@router.post("/categorie", dependencies=[CsrfProtected])
def add_category(
    request: Request,
    who: InsightViewer,
    session: DbSession,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    lang = request_language(request)
    insight.ensure_insight_access(session, who.user, who.participant.id, change=True)
    errors: dict[str, str] = {}
    try:
        insight.add_category(session, who.user, who.participant.id, name)
    except InvalidInput:
        errors["name"] = translate(lang, "insight.error.name", max=CATEGORY_NAME_LENGTH_MAX)
    except Conflict:
        errors["name"] = translate(lang, "insight.error.name_taken")
    if errors:
        return _insight_page(
            request, session, who, errors=errors, form={"name": name}, status_code=422
        )
    return _done(who, "category_added")


@router.post("/categorie/verwijderen", dependencies=[CsrfProtected])
def remove_category(
    request: Request,
    who: InsightViewer,
    session: DbSession,
    id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    lang = request_language(request)
    insight.ensure_insight_access(session, who.user, who.participant.id, change=True)
    if not id.isdigit() or not 0 < int(id) < 2**63:
        raise InvalidInput("which category? (id)")
    try:
        insight.remove_category(session, who.user, who.participant.id, int(id))
    except Conflict:
        errors = {"category_remove": translate(lang, "insight.error.category_used")}
        return _insight_page(request, session, who, errors=errors, status_code=422)
    return _done(who, "category_removed")
