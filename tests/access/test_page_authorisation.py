"""Every server-rendered page, called by every demo user and anonymously.

The pages (routes made with client_app.web.routing.PageRoute) are not in the
OpenAPI document, so test_route_authorisation does not walk them; this test
does, from the app's own route list, so a page someone adds later is walked too
and the test fails until PAGES below says who may use it.

Outcomes per caller (logged in through the login form, with cookies):
    GET   allowed   200 (or the redirect the page is: 303)
          anonymous 303 to the login form, with `next`
          hidden    404 page: outside the caller's scope, as if it did not exist
          otherwise 403 page
    POST  (sent with a valid CSRF token and an empty form; the forms' own checks
          are tested in tests/client_app)
          allowed   neither 403 nor 404: authorisation passed
          in scope  not 404 (the wrong party gets 403, a decided proposal 409)
          anonymous 403 (no valid CSRF token without a login) or 303 to the login
          hidden    404
          otherwise 403
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from client_app.web.routing import page_routes
from tests.access.conftest import DEMO_USERNAMES, Demo

ANONYMOUS = "anonymous"
CALLERS = (ANONYMOUS, *DEMO_USERNAMES)
LOGGED_IN = frozenset(DEMO_USERNAMES)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    hidden: frozenset[str] = frozenset()
    # In scope but the wrong party: 403 for a GET; a POST only has to pass scope (the
    # co-decision state machine answers 403 or 409 depending on the proposal's state).
    forbidden: frozenset[str] = frozenset()
    status: int = 200  # what an allowed GET answers
    anonymous_status: int = 303  # what an anonymous GET answers

    def expected(self, caller: str, method: str) -> str:
        if caller in self.allowed:
            return "allowed"
        if method == "POST" and caller in self.forbidden:
            return "in_scope"
        if caller == ANONYMOUS:
            return "anonymous"
        return "404" if caller in self.hidden else "403"


def public(status: int = 200) -> Rule:
    return Rule(allowed=frozenset(CALLERS), status=status)


def logged_in(status: int = 200) -> Rule:
    return Rule(allowed=LOGGED_IN, status=status)


def anna_pages(*allowed: str, forbidden: tuple[str, ...] = ()) -> Rule:
    """A page about anna: `allowed` pass, `forbidden` are in scope but the wrong party
    (403), every other logged-in caller is out of scope (404)."""
    return Rule(
        allowed=frozenset(allowed),
        hidden=LOGGED_IN - set(allowed) - set(forbidden),
        forbidden=frozenset(forbidden),
    )


CASEWORKERS = frozenset({"carla", "chris"})
FINANCE = frozenset({"fenna", "frank"})
# Finance pages about one entry or batch: the world has none with the test's ids, so
# finance users get the 404 page (they passed authorisation); everyone else 403.
FINANCE_NOT_FOUND: frozenset[str] = frozenset()
ANNA_AND_CARLA = ("anna", "carla")

# Deciding on a proposal: both are in scope; which of them may decide is the
# co-decision state machine's business (tested in tests/access/test_proposals.py).
DECIDING = anna_pages(forbidden=ANNA_AND_CARLA)

# The one table: (method, path template) -> who may use it.
PAGES: dict[tuple[str, str], Rule] = {
    ("GET", "/"): Rule(allowed=LOGGED_IN, status=303, anonymous_status=200),
    ("POST", "/"): public(),
    ("POST", "/uitloggen"): Rule(allowed=LOGGED_IN | {ANONYMOUS}),
    ("POST", "/taal"): public(),
    ("GET", "/start"): logged_in(status=303),
    ("GET", "/start/geen-scherm"): logged_in(),
    # The participant's pages: anna herself and carla (her caseworker)
    ("GET", "/deelnemer/{participant_id}/overzicht"): anna_pages(*ANNA_AND_CARLA),
    ("GET", "/deelnemer/{participant_id}/transacties"): anna_pages(*ANNA_AND_CARLA),
    ("GET", "/deelnemer/{participant_id}/wat-komt-eraan"): anna_pages(*ANNA_AND_CARLA),
    ("GET", "/deelnemer/{participant_id}/afspraken"): anna_pages(*ANNA_AND_CARLA),
    ("POST", "/deelnemer/{participant_id}/afspraken/voorstel"): anna_pages(*ANNA_AND_CARLA),
    ("POST", "/deelnemer/{participant_id}/voorstellen/{proposal_id}/goedkeuren"): DECIDING,
    ("POST", "/deelnemer/{participant_id}/voorstellen/{proposal_id}/afwijzen"): DECIDING,
    ("POST", "/deelnemer/{participant_id}/voorstellen/{proposal_id}/intrekken"): DECIDING,
    ("GET", "/deelnemer/{participant_id}/iets-veranderd"): anna_pages(*ANNA_AND_CARLA),
    ("POST", "/deelnemer/{participant_id}/iets-veranderd"): anna_pages(*ANNA_AND_CARLA),
    ("GET", "/deelnemer/{participant_id}/noodknop"): anna_pages(*ANNA_AND_CARLA),
    ("POST", "/deelnemer/{participant_id}/noodknop"): anna_pages("anna", forbidden=("carla",)),
    ("GET", "/deelnemer/{participant_id}/gegevens"): anna_pages(*ANNA_AND_CARLA),
    ("GET", "/deelnemer/{participant_id}/gegevens/download"): anna_pages("anna"),
    ("GET", "/deelnemer/{participant_id}/gegevens/download.pdf"): anna_pages("anna"),
    ("GET", "/deelnemer/{participant_id}/berichten"): anna_pages(*ANNA_AND_CARLA),
    ("GET", "/deelnemer/{participant_id}/overzichten"): anna_pages(*ANNA_AND_CARLA),
    ("GET", "/deelnemer/{participant_id}/overzichten/{period}"): anna_pages(*ANNA_AND_CARLA),
    ("GET", "/deelnemer/{participant_id}/overzichten/{period}.pdf"): anna_pages(*ANNA_AND_CARLA),
    # Op weg naar zelf doen (issue 12): both see it; setting aside and taking back are
    # anna's own acts (her money); asking for the next step is a co-decision proposal
    ("GET", "/deelnemer/{participant_id}/zelf-doen"): anna_pages(*ANNA_AND_CARLA),
    ("POST", "/deelnemer/{participant_id}/zelf-doen/spaardoel"): anna_pages(
        "anna", forbidden=("carla",)
    ),
    ("POST", "/deelnemer/{participant_id}/zelf-doen/opzij"): anna_pages(
        "anna", forbidden=("carla",)
    ),
    ("POST", "/deelnemer/{participant_id}/zelf-doen/terug"): anna_pages(
        "anna", forbidden=("carla",)
    ),
    ("POST", "/deelnemer/{participant_id}/zelf-doen/volgende-stap"): DECIDING,
    # Waar ging mijn leefgeld heen? (issue 12, Insight): anna's own notes. carla only reads,
    # and only when anna shares (not in this world: 403); never changes (403)
    ("GET", "/deelnemer/{participant_id}/inzicht"): anna_pages("anna", forbidden=("carla",)),
    ("POST", "/deelnemer/{participant_id}/inzicht/uitgave"): anna_pages(
        "anna", forbidden=("carla",)
    ),
    ("POST", "/deelnemer/{participant_id}/inzicht/uitgave/verwijderen"): anna_pages(
        "anna", forbidden=("carla",)
    ),
    ("POST", "/deelnemer/{participant_id}/inzicht/huishouden"): anna_pages(
        "anna", forbidden=("carla",)
    ),
    ("POST", "/deelnemer/{participant_id}/inzicht/delen"): anna_pages("anna", forbidden=("carla",)),
    ("POST", "/deelnemer/{participant_id}/inzicht/categorie"): anna_pages(
        "anna", forbidden=("carla",)
    ),
    ("POST", "/deelnemer/{participant_id}/inzicht/categorie/verwijderen"): anna_pages(
        "anna", forbidden=("carla",)
    ),
    # Zelfregie step 3 (issue 12): "Ik heb betaald" (anna) / "Bevestig betaald" (carla);
    # proposing to pay a bill yourself is a co-decision proposal either may make
    ("POST", "/deelnemer/{participant_id}/zelf-doen/betaald"): anna_pages(*ANNA_AND_CARLA),
    ("POST", "/deelnemer/{participant_id}/zelf-doen/zelf-betalen"): anna_pages(*ANNA_AND_CARLA),
    # Stoppen met Huishoudboekje (ending participation, issues 8 and 12): both see the page
    # and either may ask for the end (a co-decision proposal); the two documents exist
    # only once the end is settled (not in this world: 404 for anna and carla too)
    ("GET", "/deelnemer/{participant_id}/einde"): anna_pages(*ANNA_AND_CARLA),
    ("POST", "/deelnemer/{participant_id}/einde"): anna_pages(*ANNA_AND_CARLA),
    ("GET", "/deelnemer/{participant_id}/einde/overdrachtsbrief.pdf"): Rule(
        allowed=frozenset(ANNA_AND_CARLA), hidden=LOGGED_IN - set(ANNA_AND_CARLA), status=404
    ),
    ("GET", "/deelnemer/{participant_id}/einde/eindafrekening.pdf"): Rule(
        allowed=frozenset(ANNA_AND_CARLA), hidden=LOGGED_IN - set(ANNA_AND_CARLA), status=404
    ),
    ("GET", "/hulpverlener/deelnemer/{participant_id}/beeindigen"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
    ("POST", "/hulpverlener/deelnemer/{participant_id}/beeindigen"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
    # The minimal caseworker page
    ("GET", "/hulpverlener"): Rule(allowed=CASEWORKERS),
    ("POST", "/hulpverlener/deelnemer/{participant_id}/noodmelding/{request_id}/gezien"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
    ("POST", "/hulpverlener/deelnemer/{participant_id}/gebeurtenis/{event_id}/gezien"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
    # One-off extra payout after the emergency button (backend.plans.one_off): the
    # participant's own caseworker only.
    ("POST", "/hulpverlener/deelnemer/{participant_id}/noodmelding/{request_id}/noodbetaling"): (
        Rule(allowed=frozenset({"carla"}), hidden=frozenset({"chris"}))
    ),
    ("POST", "/hulpverlener/deelnemer/{participant_id}/bericht"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
    # The caseworker dashboard (issue 8): carla's caseload; chris has none (404)
    ("GET", "/hulpverlener/deelnemer/{participant_id}"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
    ("POST", "/hulpverlener/deelnemer/{participant_id}/notitie"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
    ("POST", "/hulpverlener/deelnemer/{participant_id}/kantelgesprek"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
    # (no such review/alert in this world: carla passes authorisation and gets 404)
    ("POST", "/hulpverlener/deelnemer/{participant_id}/kantelgesprek/{review_id}/uitkomst"): Rule(
        allowed=frozenset(), hidden=frozenset({"carla", "chris"})
    ),
    # (no such review/alert in this world: carla passes authorisation and gets 404)
    ("POST", "/hulpverlener/deelnemer/{participant_id}/signaal/{alert_id}/afgehandeld"): Rule(
        allowed=frozenset(), hidden=frozenset({"carla", "chris"})
    ),
    # Follow up / copy / end an agreement (issue 8, client_app/pages/casework_agreements.py):
    # no such agreement in this world, so carla passes authorisation and gets 404
    ("GET", "/hulpverlener/deelnemer/{participant_id}/afspraak/{agreement_id}"): Rule(
        allowed=frozenset(), hidden=frozenset({"carla", "chris"})
    ),
    ("POST", "/hulpverlener/deelnemer/{participant_id}/afspraak/{agreement_id}"): Rule(
        allowed=frozenset(), hidden=frozenset({"carla", "chris"})
    ),
    # The finance console: finance users only (fenna, frank); everyone else 403
    ("GET", "/financien/afschriften"): Rule(allowed=FINANCE),
    ("POST", "/financien/afschriften"): Rule(allowed=FINANCE),
    ("GET", "/financien/te-verdelen"): Rule(allowed=FINANCE),
    ("GET", "/financien/te-verdelen/{entry_id}"): Rule(allowed=FINANCE_NOT_FOUND, hidden=FINANCE),
    ("POST", "/financien/te-verdelen/{entry_id}"): Rule(allowed=FINANCE_NOT_FOUND, hidden=FINANCE),
    ("GET", "/financien/betaalbatches"): Rule(allowed=FINANCE),
    ("POST", "/financien/betaalbatches/voorstellen"): Rule(allowed=FINANCE),
    ("GET", "/financien/betaalbatches/{batch_id}"): Rule(allowed=FINANCE_NOT_FOUND, hidden=FINANCE),
    ("POST", "/financien/betaalbatches/{batch_id}/klaarzetten"): Rule(
        allowed=FINANCE_NOT_FOUND, hidden=FINANCE
    ),
    ("POST", "/financien/betaalbatches/{batch_id}/goedkeuren"): Rule(
        allowed=FINANCE_NOT_FOUND, hidden=FINANCE
    ),
    ("POST", "/financien/betaalbatches/{batch_id}/exporteren"): Rule(
        allowed=FINANCE_NOT_FOUND, hidden=FINANCE
    ),
    ("GET", "/financien/betaalbatches/{batch_id}/pain001.xml"): Rule(
        allowed=FINANCE_NOT_FOUND, hidden=FINANCE
    ),
    ("GET", "/financien/aansluiting"): Rule(allowed=FINANCE),
    # Aanmelden (issue 8, onboarding): caseworkers only; participants and finance 403.
    # Activating an account with its one-time code is public, like the login form.
    ("GET", "/hulpverlener/aanmelden"): Rule(allowed=CASEWORKERS),
    ("POST", "/hulpverlener/aanmelden"): Rule(allowed=CASEWORKERS),
    ("POST", "/hulpverlener/aanmelden/versturen"): Rule(allowed=CASEWORKERS),
    ("POST", "/hulpverlener/aanmelden/opnieuw"): Rule(allowed=CASEWORKERS),
    ("GET", "/activeren"): public(),
    ("POST", "/activeren"): public(),
    # Onboarding loose ends (new activation code, first plan proposed again): the
    # participant's own caseworker only (anna has neither: carla gets 409, passing).
    ("POST", "/hulpverlener/deelnemer/{participant_id}/activatiecode"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
    ("POST", "/hulpverlener/deelnemer/{participant_id}/eerste-plan"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
    # Money after the end: the ended participant's new own account (anna has not
    # ended: carla gets 409, passing).
    ("POST", "/hulpverlener/deelnemer/{participant_id}/nabetaling-rekening"): Rule(
        allowed=frozenset({"carla"}), hidden=frozenset({"chris"})
    ),
}


def test_every_page_has_an_access_rule(client: TestClient) -> None:
    routes = set(page_routes(client.app))
    unknown = sorted(routes - set(PAGES))
    stale = sorted(set(PAGES) - routes)
    assert not unknown, f"pages without an access rule: {unknown}; add them to PAGES in {__file__}"
    assert not stale, f"PAGES names pages that no longer exist: {stale}"


@dataclass
class World:
    values: dict[str, str]


@pytest.fixture
def page_world(client: TestClient, demo: Demo, as_user: Callable[[str], dict[str, str]]) -> World:
    anna = demo.participants["anna"]
    proposal = client.post(
        f"/api/participants/{anna}/proposals",
        json={
            "change": {"kind": "extra_payout", "amount_cents": 2500},
            "reason": "Voor de verjaardag van mijn zoon.",
        },
        headers=as_user("anna"),
    )
    assert proposal.status_code == 201, proposal.text
    event = client.post(
        f"/api/participants/{anna}/life-events",
        json={"kind": "moving"},
        headers=as_user("anna"),
    )
    emergency = client.post(
        f"/api/participants/{anna}/emergency",
        json={"kind": "other"},
        headers=as_user("anna"),
    )
    return World(
        values={
            "participant_id": str(anna),
            "proposal_id": str(proposal.json()["id"]),
            "event_id": str(event.json()["id"]),
            "request_id": str(emergency.json()["id"]),
            "period": "2026-11",
            "review_id": "999999",
            "alert_id": "999999",
            "entry_id": "999999",
            "batch_id": "999999",
            "agreement_id": "999999",  # follow up / copy / end (casework_agreements)
        }
    )


def _log_in(client: TestClient, caller: str) -> str:
    """Log the caller in (or out, for anonymous); a CSRF token for their next form."""
    client.cookies.clear()
    token = CSRF.search(client.get("/").text)
    assert token
    if caller != ANONYMOUS:
        response = client.post(
            "/",
            data={"username": caller, "password": "demo", "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        token = CSRF.search(client.get("/start", follow_redirects=True).text)
        assert token, caller
    return token.group(1)


def _outcome_ok(rule: Rule, expected: str, method: str, status: int, location: str) -> bool:
    if expected == "in_scope":
        return status != 404
    if expected == "allowed":
        if method == "GET":
            return status == rule.status
        return status not in (403, 404)
    if expected == "anonymous":
        if method == "GET":
            redirect_ok = status != 303 or location.startswith("/?next=")
            return status == rule.anonymous_status and redirect_ok
        return status == 403 or (status == 303 and location.startswith("/?next="))
    return status == int(expected)


def test_every_page_with_every_role(
    client: TestClient, page_world: World, fast_password_hashing: None
) -> None:
    mismatches = []
    for caller in CALLERS:
        for method, path in sorted(PAGES):
            if (method, path) in (("POST", "/"), ("POST", "/uitloggen")):
                continue  # logging in and out are tested on their own
            token = _log_in(client, caller)
            rule = PAGES[(method, path)]
            url = path.format(**page_world.values)
            if method == "GET":
                response = client.get(url, follow_redirects=False)
            else:
                response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
            expected = rule.expected(caller, method)
            location = response.headers.get("location", "")
            if not _outcome_ok(rule, expected, method, response.status_code, location):
                mismatches.append(
                    f"{caller:9} {method:4} {path}: expected {expected}, "
                    f"got {response.status_code} {location}"
                )
    assert not mismatches, "\n".join(mismatches)
