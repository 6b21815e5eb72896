"""Finance sees who an unknown payment may be for (the suspense suggestions name the
participant): that is a read of the participant's data, in the access log like any
other, through the API and the finance console alike."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.models import AccessLogRecord, UserAccount
from client_app.web.auth import ACCESS_COOKIE
from tests.bank_import.test_api import FRIDAY_02, Api, api  # noqa: F401  (fixture)


def _reads(session: Session, participant_id: int, username: str) -> set[str]:
    session.rollback()  # see what the requests committed
    user_id = session.scalar(select(UserAccount.id).where(UserAccount.username == username))
    return set(
        session.scalars(
            select(AccessLogRecord.resource).where(
                AccessLogRecord.participant_id == participant_id,
                AccessLogRecord.actor_user_id == user_id,
            )
        )
    )


def test_the_suggestions_finance_sees_are_logged_as_reads(api: Api, session: Session) -> None:  # noqa: F811
    assert api.upload("fenna", FRIDAY_02).status_code == 201
    zoe, jan = api.persona.zoe, api.persona.jan
    assert _reads(session, zoe, "fenna") == set()

    queue = api.client.get("/api/finance/bank/suspense", headers=api.headers("fenna")).json()
    names = {s["participant_name"] for item in queue["items"] for s in item["suggestions"]}
    assert "Zoë Ĳzerman" in names
    assert _reads(session, zoe, "fenna") == {"/api/finance/bank/suspense"}
    assert _reads(session, jan, "fenna") == set()  # not suggested: not read

    api.client.cookies.set(ACCESS_COOKIE, api.tokens["fenna"])
    page = api.client.get("/financien/te-verdelen")
    assert page.status_code == 200 and "Zoë Ĳzerman" in page.text
    entry = next(i for i in queue["items"] if i["suggestions"])
    form = api.client.get(f"/financien/te-verdelen/{entry['id']}")
    assert form.status_code == 200 and "Zoë Ĳzerman" in form.text
    assert _reads(session, zoe, "fenna") >= {
        "/api/finance/bank/suspense",
        "/financien/te-verdelen",
        "/financien/te-verdelen/{entry_id}",
    }
