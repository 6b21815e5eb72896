"""Aanmelden: the caseworker's onboarding wizard, and the participant's activation.

    GET  /hulpverlener/aanmelden?stap=persoon   one step (default: the first)
    POST /hulpverlener/aanmelden                save the step (stap, actie), go on or back
    POST /hulpverlener/aanmelden/versturen      the summary's "Voorstel versturen"
    POST /hulpverlener/aanmelden/opnieuw        throw the draft away
    GET/POST /activeren                         the participant sets a password with the code

Works without JavaScript: every step is a plain form; lists (incomes, fixed costs)
grow one item per "Toevoegen". Progress is a server-side draft, encrypted
(backend.onboarding.service.save_draft); the step name is the only thing in the
URL, so a BSN never reaches a URL or an access log. Each step is validated on its
own (backend.onboarding.steps); errors are listed at the top, each linking to its
field. The activation code is shown once, on the page that answers the submit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from backend.access.policy import Principal, ensure_can_read_participant, require_role
from backend.access.roles import Role
from backend.api.deps import DbSession
from backend.auth.passwords import PASSWORD_LENGTH_MAX
from backend.codecision.matrix import REASON_LENGTH_MAX
from backend.errors import InvalidInput
from backend.models.base import utcnow
from backend.onboarding import service
from backend.onboarding.steps import (
    BankStep,
    BufferStep,
    FixedCostItem,
    HouseholdStep,
    IncomeItem,
    InvalidStep,
    LivingMoneyStep,
    Onboarding,
    PersonStep,
    validate_step,
)
from client_app.formatting import month_name, weekday_name
from client_app.i18n import translate
from client_app.pages.auth import home_for
from client_app.pages.caseworker import NAVIGATION, ItemId
from client_app.web.auth import cookie_log_in
from client_app.web.rendering import page_today, redirect, render, request_language
from client_app.web.routing import CsrfProtected, PageRoute, PageUser

router = APIRouter(route_class=PageRoute, include_in_schema=False)

BASE = "/hulpverlener/aanmelden"
FIELD_LENGTH_MAX = 200


@dataclass(frozen=True)
class Step:
    slug: str  # in the URL: ?stap=...
    key: str  # in the draft
    fields: tuple[str, ...]


STEPS = (
    Step("persoon", "person", ("display_name", "bsn", "username")),
    Step("huishouden", "household", ("household_name", "adults", "children")),
    Step("rekening", "bank", ("own_iban", "account_holder")),
    Step(
        "inkomsten",
        "incomes",
        (
            "payer_name",
            "payer_iban",
            "description",
            "kind",
            "amount_cents",
            "tolerance_cents",
            "day_of_month",
            "search_terms",
        ),
    ),
    Step(
        "vaste-lasten",
        "fixed_costs",
        (
            "creditor_name",
            "creditor_iban",
            "description",
            "category",
            "amount_cents",
            "frequency",
            "day_of_month",
            "month",
            "reference",
            "structured_reference",
        ),
    ),
    Step("leefgeld", "living_money", ("frequency", "weekday", "day_of_month", "cap_cents")),
    Step(
        "buffer",
        "buffer",
        ("build_up_cents", "advance_cents", "repayment_cents", "start_date"),
    ),
    Step("controleren", "summary", ()),
)
BY_SLUG = {step.slug: step for step in STEPS}
MODELS: dict[str, Any] = {
    "person": PersonStep,
    "household": HouseholdStep,
    "bank": BankStep,
    "living_money": LivingMoneyStep,
    "buffer": BufferStep,
}
LIST_MODELS: dict[str, Any] = {"incomes": IncomeItem, "fixed_costs": FixedCostItem}
LIST_MAX = {"incomes": 20, "fixed_costs": 40}
ALL_FIELDS = sorted({name for step in STEPS for name in step.fields})


def caseworker(user: PageUser) -> Principal:
    require_role(user, Role.CASEWORKER)
    return user


Caseworker = Annotated[Principal, Depends(caseworker)]


def _cipher(request: Request) -> Any:
    return request.app.state.settings.field_cipher()


def _error_texts(lang: str, errors: dict[str, str]) -> dict[str, str]:
    """{field: sentence}; a step's slug as field names the step."""
    texts = {}
    for field, kind in errors.items():
        label_key = f"onboarding.step.{field}" if field in BY_SLUG else f"onboarding.field.{field}"
        texts[field] = translate(lang, f"onboarding.error.{kind}", field=translate(lang, label_key))
    return texts


def field_step(field: str) -> str:
    """The step where a field (or a whole-step problem) is fixed."""
    if field in BY_SLUG:
        return field
    if field in ("bsn", "username", "display_name"):
        return "persoon"
    if field == "own_iban":
        return "rekening"
    if field == "start_date":
        return "buffer"
    return "controleren"


def _step_index(slug: str) -> int:
    return next((index for index, step in enumerate(STEPS) if step.slug == slug), 0)


def _list_view(session: Session, key: str, items: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The items added so far, with a creditor's known name when its IBAN is known."""
    model = LIST_MODELS[key]
    valid = []
    for raw in items:
        try:
            valid.append(model.model_validate(raw))
        except ValueError:
            continue
    known = {}
    if key == "fixed_costs":
        known = service.known_counterparty_names(session, [item.creditor_iban for item in valid])
    return [
        {"item": item, "known_name": known.get(getattr(item, "creditor_iban", ""), None)}
        for item in valid
    ]


def _whole(draft: dict[str, Any]) -> Onboarding:
    """The draft as one Onboarding, or InvalidStep naming the first step to fix."""
    errors: dict[str, str] = {}
    for step in STEPS[:-1]:
        value = draft.get(step.key)
        if step.key in LIST_MODELS:
            if step.key == "incomes" and not value:
                errors[step.slug] = "incomes_required"
            continue
        try:
            validate_step(MODELS[step.key], value or {})
        except InvalidStep:
            errors[step.slug] = "step_incomplete"
    if errors:
        raise InvalidStep(errors)
    return Onboarding.model_validate({step.key: draft.get(step.key, []) for step in STEPS[:-1]})


def _page(
    request: Request,
    session: Session,
    user: Principal,
    step: Step,
    draft: dict[str, Any],
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    lang = request_language(request)
    index = _step_index(step.slug)
    context: dict[str, Any] = {
        "page_title": translate(lang, "onboarding.title")
        + " — "
        + translate(lang, f"onboarding.step.{step.slug}"),
        "steps": STEPS,
        "step": step,
        "index": index,
        "form": form
        if form is not None
        else dict(draft.get(step.key) or {})
        if step.key not in LIST_MODELS
        else (form or {}),
        "errors": _error_texts(lang, errors or {}),
        "navigation": NAVIGATION,
        "active": "onboarding",
        "flash": None,
        "weekdays": range(7),
        "field_step": field_step,
        "month_choices": [(str(n), month_name(n, lang)) for n in range(1, 13)],
        "weekday_choices": [(str(n), weekday_name(n, lang)) for n in range(7)],
        "day_choices": [(str(n), str(n)) for n in range(1, 29)],
    }
    if step.key in LIST_MODELS:
        context["items"] = _list_view(session, step.key, draft.get(step.key) or [])
    if step.slug == "controleren":
        try:
            whole = _whole(draft)
            context["onboarding"] = whole
            context["preview"] = service.preview(session, whole)
        except InvalidStep as refused:
            context["problems"] = refused.errors
    return render(
        request, "caseworker/onboarding.html", context, principal=user, status_code=status_code
    )


@router.get(BASE)
def wizard(request: Request, user: Caseworker, session: DbSession) -> Response:
    slug = request.query_params.get("stap", STEPS[0].slug)
    step = BY_SLUG.get(slug, STEPS[0])
    draft = service.load_draft(session, _cipher(request), user.user_id)
    return _page(request, session, user, step, draft)


@router.post(BASE, dependencies=[CsrfProtected])
async def save_step(request: Request, user: Caseworker, session: DbSession) -> Response:
    submitted = await request.form()
    raw = {
        name: str(submitted.get(name, ""))[:FIELD_LENGTH_MAX]
        for name in ALL_FIELDS
        if isinstance(submitted.get(name, ""), str)
    }
    step = BY_SLUG.get(str(submitted.get("stap", "")), STEPS[0])
    action = str(submitted.get("actie", "volgende"))[:40]
    cipher = _cipher(request)
    draft = service.load_draft(session, cipher, user.user_id)
    form = {name: raw.get(name, "") for name in step.fields}
    index = _step_index(step.slug)
    errors: dict[str, str] = {}
    if step.key in LIST_MODELS:
        items: list[dict[str, str]] = list(draft.get(step.key) or [])
        filled = any(value.strip() for name, value in form.items() if name not in _DEFAULTS)
        if action.startswith("verwijderen-") and action[12:].isdigit():
            position = int(action[12:])
            if position < len(items):
                items.pop(position)
            draft[step.key] = items
            service.save_draft(session, cipher, user.user_id, draft, now=utcnow())
            return redirect(f"{BASE}?stap={step.slug}")
        if action == "toevoegen" or (action == "volgende" and filled):
            try:
                validate_step(LIST_MODELS[step.key], form)
            except InvalidStep as refused:
                errors = refused.errors
            else:
                if len(items) >= LIST_MAX[step.key]:
                    errors = {"description": "list_too_long"}
                else:
                    items.append(form)
                    draft[step.key] = items
            if errors:
                session.rollback()
                return _page(
                    request, session, user, step, draft, form=form, errors=errors, status_code=422
                )
            service.save_draft(session, cipher, user.user_id, draft, now=utcnow())
            if action == "toevoegen":
                return redirect(f"{BASE}?stap={step.slug}#toegevoegd")
        if action == "terug":
            return redirect(f"{BASE}?stap={STEPS[max(0, index - 1)].slug}")
        if step.key == "incomes" and not draft.get("incomes"):
            return _page(
                request,
                session,
                user,
                step,
                draft,
                form=form,
                errors={"payer_name": "incomes_required"},
                status_code=422,
            )
        return redirect(f"{BASE}?stap={STEPS[index + 1].slug}")
    if step.slug == "controleren":
        return redirect(f"{BASE}?stap={STEPS[max(0, index - 1)].slug}")
    draft[step.key] = form
    if action == "terug":
        # Going back keeps what was typed, checked or not.
        service.save_draft(session, cipher, user.user_id, draft, now=utcnow())
        return redirect(f"{BASE}?stap={STEPS[max(0, index - 1)].slug}")
    try:
        validated = validate_step(MODELS[step.key], form)
        if isinstance(validated, PersonStep):
            service.check_person(session, cipher, validated)
        elif isinstance(validated, BankStep):
            service.check_bank(session, validated)
        elif isinstance(validated, BufferStep):
            validated.check_start(page_today(request))
    except InvalidStep as refused:
        session.rollback()
        return _page(
            request, session, user, step, draft, form=form, errors=refused.errors, status_code=422
        )
    service.save_draft(session, cipher, user.user_id, draft, now=utcnow())
    return redirect(f"{BASE}?stap={STEPS[index + 1].slug}")


# Form fields with a default value: they do not count as "something typed in".
_DEFAULTS = frozenset({"kind", "category", "frequency", "structured_reference"})


@router.post(BASE + "/versturen", dependencies=[CsrfProtected])
def submit(request: Request, user: Caseworker, session: DbSession) -> Response:
    lang = request_language(request)
    cipher = _cipher(request)
    draft = service.load_draft(session, cipher, user.user_id)
    summary = BY_SLUG["controleren"]
    try:
        whole = _whole(draft)
        result = service.submit_onboarding(
            session,
            cipher,
            user,
            whole,
            today=page_today(request),
            now=utcnow(),
            proposal_expiry_days=request.app.state.settings.proposal_expiry_days,
        )
    except InvalidStep as refused:
        session.rollback()
        return _page(request, session, user, summary, draft, errors=refused.errors, status_code=422)
    return render(
        request,
        "caseworker/onboarding_done.html",
        {
            "page_title": translate(lang, "onboarding.done.title"),
            "result": result,
            "name": whole.person.display_name,
            "navigation": NAVIGATION,
            "active": "onboarding",
            "flash": None,
        },
        principal=user,
    )


@router.post(BASE + "/opnieuw", dependencies=[CsrfProtected])
def start_again(user: Caseworker, session: DbSession) -> Response:
    service.discard_draft(session, user.user_id)
    return redirect(BASE)


# ---------------------------------------------------------------------- activation


def _activation_page(
    request: Request,
    *,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    username: str = "",
    status_code: int = 200,
) -> Response:
    lang = request_language(request)
    return render(
        request,
        "activate.html",
        {
            "page_title": translate(lang, "activate.title"),
            "error": error,
            "errors": errors or {},
            "username": username,
        },
        status_code=status_code,
    )


@router.get("/activeren")
def activation_form(request: Request) -> Response:
    return _activation_page(request)


@router.post("/activeren", dependencies=[CsrfProtected])
def activate(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=FIELD_LENGTH_MAX)] = "",
    code: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=PASSWORD_LENGTH_MAX)] = "",
    password_again: Annotated[str, Form(max_length=PASSWORD_LENGTH_MAX)] = "",
) -> Response:
    lang = request_language(request)
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = translate(lang, "activate.error.username")
    if not code.strip():
        errors["code"] = translate(lang, "activate.error.code")
    if len(password) < 12:
        errors["password"] = translate(lang, "activate.error.password")
    elif password != password_again:
        errors["password_again"] = translate(lang, "activate.error.again")
    if errors:
        return _activation_page(request, errors=errors, username=username, status_code=422)
    throttles = request.app.state.login_throttles
    address = f"address:{request.client.host if request.client else 'unknown'}"
    now = utcnow()
    if throttles.by_address.blocked_for(address, now) is not None:
        return _activation_page(
            request, error=translate(lang, "login.locked"), username=username, status_code=429
        )
    try:
        service.activate_account(
            session, username=username, code=code, new_password=password, now=now
        )
    except service.ActivationFailed:
        throttles.by_address.record_failure(address, now)
        session.commit()  # the wrong try counts, although the request fails
        return _activation_page(
            request, error=translate(lang, "activate.failed"), username=username, status_code=400
        )
    except InvalidInput:
        return _activation_page(
            request,
            errors={"password": translate(lang, "activate.error.password")},
            username=username,
            status_code=422,
        )
    session.commit()
    principal = cookie_log_in(request, session, username=username, password=password)
    return redirect(home_for(principal))


# ---------------------------------------------------------------------- after onboarding
# On the caseworker's Deelnemer page (caseworker/_onboarding_followup.html):
#   POST /hulpverlener/deelnemer/{id}/activatiecode  a new one-time code, shown once
#   POST /hulpverlener/deelnemer/{id}/eerste-plan    "Nieuw voorstel" for the first plan

FOLLOWUP_BASE = "/hulpverlener/deelnemer/{participant_id}"


def followup_context(session: Session, participant_id: int, today: dt.date) -> dict[str, Any]:
    """What the Deelnemer page offers: a new code while not activated; a new first-plan
    proposal when the earlier one expired or was rejected (pre-filled from it)."""
    earlier = service.earlier_initial_plan(session, participant_id)
    return {
        "activation_pending": service.activation_pending(session, participant_id),
        "earlier_plan": earlier,
        "earlier_start": max(earlier.effective_from, today) if earlier is not None else None,
    }


@router.post(FOLLOWUP_BASE + "/activatiecode", dependencies=[CsrfProtected])
def new_activation_code(
    request: Request, user: Caseworker, session: DbSession, participant_id: ItemId
) -> Response:
    lang = request_language(request)
    participant = ensure_can_read_participant(session, user, participant_id)
    issued = service.issue_activation_code(session, user, participant_id, now=utcnow())
    # The code is in this answer only (a POST: not in a URL, history or cache).
    response = render(
        request,
        "caseworker/activation_code.html",
        {
            "page_title": translate(lang, "onboarding.new_code.title"),
            "participant": participant,
            "issued": issued,
            "navigation": NAVIGATION,
            "active": "queue",
            "flash": None,
        },
        principal=user,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post(FOLLOWUP_BASE + "/eerste-plan", dependencies=[CsrfProtected])
def propose_first_plan_again(
    request: Request,
    user: Caseworker,
    session: DbSession,
    participant_id: ItemId,
    reason: Annotated[str, Form(max_length=REASON_LENGTH_MAX)] = "",
    start: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    today = page_today(request)
    try:
        start_date = dt.date.fromisoformat(start) if start.strip() else None
    except ValueError:
        raise InvalidInput("the start date is not a date (yyyy-mm-dd)") from None
    service.repropose_initial_plan(
        session,
        user,
        participant_id,
        reason=reason,
        start=start_date,
        today=today,
        now=utcnow(),
        proposal_expiry_days=request.app.state.settings.proposal_expiry_days,
    )
    return redirect(
        f"/hulpverlener/deelnemer/{participant_id}?gedaan=initial_plan_proposed#voorstellen"
    )
