"""Every route in the OpenAPI schema, called by every demo user and anonymously.

The schema is generated at test time, so a route someone adds later is walked
too, and the test fails until ACCESS below says who may use it. One table,
one place to read who may do what over HTTP.

Outcomes per caller:
    allowed    GET -> 200; a route with a request body gets a deliberately invalid
               body (a JSON list) and must answer 422: authorisation passed, and
               nothing changed; a POST without a body -> 2xx.
    anonymous  401 problem+json with WWW-Authenticate: Bearer (unless allowed).
    hidden     404 problem+json: outside the caller's scope, as if it did not exist.
    otherwise  403 problem+json.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.access.conftest import DEMO_USERNAMES, Demo

ANONYMOUS = "anonymous"
CALLERS = (ANONYMOUS, *DEMO_USERNAMES)
LOGGED_IN = frozenset(DEMO_USERNAMES)
FINANCE = frozenset({"fenna", "frank"})


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    hidden: frozenset[str] = frozenset()  # get 404; every other logged-in caller gets 403
    query: dict[str, str] = field(default_factory=dict)  # for routes with required query
    # For routes whose resource the walk cannot create (e.g. a payment batch): an
    # allowed caller only has to get past authorisation (not 401 or 403).
    loose: bool = False

    def expected(self, caller: str) -> str:
        if caller in self.allowed:
            return "allowed"
        if caller == ANONYMOUS:
            return "401"
        return "404" if caller in self.hidden else "403"


def public() -> Rule:
    return Rule(allowed=frozenset(CALLERS))


def logged_in() -> Rule:
    return Rule(allowed=LOGGED_IN)


def only(*callers: str) -> Rule:
    return Rule(allowed=frozenset(callers))


def finance(*, loose: bool = False) -> Rule:
    return Rule(allowed=FINANCE, loose=loose)


def anna_scope(*allowed: str, forbidden: tuple[str, ...] = ()) -> Rule:
    """A route about anna (participant): those in `allowed` pass, `forbidden` are in
    scope but the wrong party (403), everyone else is out of scope (404)."""
    return Rule(allowed=frozenset(allowed), hidden=LOGGED_IN - set(allowed) - set(forbidden))


# The one table: (method, path template) -> who may use it.
ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): public(),
    # Accounts
    ("POST", "/api/auth/token"): public(),
    ("POST", "/api/auth/refresh"): public(),
    ("POST", "/api/auth/logout"): public(),
    ("POST", "/api/auth/oidc"): public(),
    ("GET", "/api/me"): logged_in(),
    # The participant's own pages: anna herself and carla (her caseworker)
    ("GET", "/api/participants/{participant_id}"): anna_scope("anna", "carla"),
    ("GET", "/api/participants/{participant_id}/balances"): anna_scope("anna", "carla"),
    ("GET", "/api/participants/{participant_id}/transactions"): anna_scope("anna", "carla"),
    ("GET", "/api/participants/{participant_id}/life-events"): anna_scope("anna", "carla"),
    ("POST", "/api/participants/{participant_id}/life-events"): anna_scope("anna", "carla"),
    ("POST", "/api/participants/{participant_id}/life-events/{event_id}/acknowledge"): anna_scope(
        "carla", forbidden=("anna",)
    ),
    ("GET", "/api/participants/{participant_id}/emergency"): anna_scope("anna", "carla"),
    ("POST", "/api/participants/{participant_id}/emergency"): anna_scope(
        "anna", forbidden=("carla",)
    ),
    ("POST", "/api/participants/{participant_id}/emergency/{request_id}/acknowledge"): anna_scope(
        "carla", forbidden=("anna",)
    ),
    ("GET", "/api/participants/{participant_id}/proposals"): anna_scope("anna", "carla"),
    ("POST", "/api/participants/{participant_id}/proposals"): anna_scope("anna", "carla"),
    # Deciding on anna's proposal (who may approve is the state machine's business)
    ("GET", "/api/proposals/{proposal_id}"): anna_scope("anna", "carla"),
    ("POST", "/api/proposals/{proposal_id}/approve"): anna_scope("anna", "carla"),
    ("POST", "/api/proposals/{proposal_id}/reject"): anna_scope("anna", "carla"),
    ("POST", "/api/proposals/{proposal_id}/withdraw"): anna_scope("anna", "carla"),
    ("GET", "/api/proposals/pending-checks"): only(*FINANCE),
    # Finance (backend/payments): batches, four eyes, SEPA files, reconciliation
    ("GET", "/api/finance/batches"): finance(),
    ("POST", "/api/finance/batches/propose"): finance(loose=True),
    ("GET", "/api/finance/batches/{batch_id}"): finance(loose=True),
    ("POST", "/api/finance/batches/{batch_id}/prepare"): finance(),
    ("POST", "/api/finance/batches/{batch_id}/approve"): finance(),
    ("POST", "/api/finance/batches/{batch_id}/export"): finance(loose=True),
    ("GET", "/api/finance/batches/{batch_id}/file"): finance(loose=True),
    ("POST", "/api/finance/batches/{batch_id}/cancel"): finance(),
    ("GET", "/api/finance/reconciliation"): finance(),
    # Finance (backend/bank_import): statements in, entries, the suspense queue
    ("POST", "/api/finance/bank/statements"): finance(),
    ("GET", "/api/finance/bank/statements"): finance(),
    ("GET", "/api/finance/bank/entries"): finance(),
    ("GET", "/api/finance/bank/suspense"): finance(),
    ("POST", "/api/finance/bank/suspense/{entry_id}/assign"): finance(),
    # Caseworkers
    ("GET", "/api/caseload"): only("carla", "chris"),
    # Administration
    ("GET", "/api/admin/users"): only("admin"),
    ("POST", "/api/admin/users/{user_id}/unlock"): only("admin"),
    # Privacy (backend/privacy_store): the inzage is anna's own and the privacy officer's
    # (who handles inzage requests); her caseworker is in scope but refused (403).
    ("GET", "/api/participants/{participant_id}/inzage"): anna_scope(
        "anna", "priya", forbidden=("carla",)
    ),
    ("GET", "/api/participants/{participant_id}/inzage.pdf"): anna_scope(
        "anna", "priya", forbidden=("carla",)
    ),
    ("GET", "/api/privacy/access-log"): only("priya", "admin"),
}


@dataclass
class World:
    path_values: dict[str, int]


@pytest.fixture
def world(client: TestClient, demo: Demo, as_user: Callable[[str], dict[str, str]]) -> World:
    anna = demo.participants["anna"]
    headers = as_user("anna")
    proposal = client.post(
        f"/api/participants/{anna}/proposals",
        json={
            "change": {"kind": "living_money_amount", "amount_cents_per_month": 45000},
            "reason": "Mijn boodschappen zijn duurder geworden.",
        },
        headers=headers,
    )
    assert proposal.status_code == 201, proposal.text
    event = client.post(
        f"/api/participants/{anna}/life-events",
        json={"kind": "new_job", "note": "Ik begin 1 januari bij de bakker."},
        headers=headers,
    )
    assert event.status_code == 201, event.text
    emergency = client.post(
        f"/api/participants/{anna}/emergency",
        json={"kind": "no_money_for_food"},
        headers=headers,
    )
    assert emergency.status_code == 201, emergency.text
    # Path parameters: always something of anna's (or, for users, anna's account).
    return World(
        path_values={
            "participant_id": anna,
            "proposal_id": proposal.json()["id"],
            "event_id": event.json()["id"],
            "request_id": emergency.json()["id"],
            "user_id": demo.users["anna"],
            "batch_id": 1,  # no such batch: finance routes are walked with loose rules
            "entry_id": 1,  # a bank entry; the invalid body is refused first (422)
        }
    )


def _routes(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    schema = client.get("/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


def test_every_route_has_an_access_rule(client: TestClient) -> None:
    routes = {(method, path) for method, path, _ in _routes(client)}
    unknown = sorted(routes - set(ACCESS))
    stale = sorted(set(ACCESS) - routes)
    assert not unknown, (
        f"routes without an access rule: {unknown}; add them to ACCESS in {__file__}"
    )
    assert not stale, f"ACCESS names routes that no longer exist: {stale}"


def _check(
    client: TestClient,
    world: World,
    caller: str,
    headers: dict[str, str],
    method: str,
    path: str,
    operation: dict[str, Any],
) -> str | None:
    """None when the outcome is what ACCESS says, else a line describing the mismatch."""
    rule = ACCESS[(method, path)]
    values: dict[str, Any] = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            name = parameter["name"]
            if name not in world.path_values:
                return f"{method} {path}: no test value for path parameter {name!r}"
            values[name] = world.path_values[name]
    url = path.format(**values)
    has_body = "requestBody" in operation
    response = client.request(
        method,
        url,
        params=rule.query,
        headers=headers,
        json=[] if has_body else None,
    )
    expected = rule.expected(caller)
    status = response.status_code
    if expected == "allowed":
        if rule.loose:
            ok = status not in (401, 403)
        elif method == "GET":
            ok = status == 200
        elif has_body:
            ok = status == 422
        else:
            ok = 200 <= status < 300
    else:
        ok = status == int(expected) and (
            response.headers.get("content-type") == "application/problem+json"
        )
        if ok and status == 401:
            ok = response.headers.get("www-authenticate") == "Bearer"
    if ok:
        return None
    return f"{caller:9} {method:6} {path}: expected {expected}, got {status} {response.text[:160]}"


def test_every_route_with_every_role(
    client: TestClient, world: World, as_user: Callable[[str], dict[str, str]]
) -> None:
    routes = [route for route in _routes(client) if (route[0], route[1]) in ACCESS]
    mismatches = []
    for caller in CALLERS:
        headers = {} if caller == ANONYMOUS else as_user(caller)
        for method, path, operation in routes:
            problem = _check(client, world, caller, headers, method, path, operation)
            if problem:
                mismatches.append(problem)
    assert not mismatches, "\n".join(mismatches)
