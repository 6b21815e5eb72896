"""The decision matrix: for each kind of plan change, who may propose it, who
must agree before it takes effect, and whether a caseworker may apply it alone
in an emergency. docs/co-decision.md is the readable version of this table;
tests check the two agree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from backend.access.policy import Party

EMERGENCY_REASON_LENGTH_MIN = 20
EMERGENCY_EXTRA_PAYOUT_CENTS_MAX = 25_000  # € 250,00
REASON_LENGTH_MAX = 1000


class ChangeKind(enum.StrEnum):
    LIVING_MONEY_AMOUNT = "living_money_amount"
    LIVING_MONEY_SCHEDULE = "living_money_schedule"
    FIXED_COST_ADD = "fixed_cost_add"
    FIXED_COST_REMOVE = "fixed_cost_remove"
    FIXED_COST_AMOUNT = "fixed_cost_amount"
    BUFFER_POLICY = "buffer_policy"
    EXTRA_PAYOUT = "extra_payout"
    CREDITOR_IBAN_CORRECTION = "creditor_iban_correction"
    AUTONOMY_STEP = "autonomy_step"
    END_PARTICIPATION = "end_participation"  # ending participation (backend.ending)
    INITIAL_PLAN = "initial_plan"  # onboarding (backend.onboarding)
    AGREEMENT_FOLLOW_UP = "agreement_follow_up"
    AGREEMENT_COPY = "agreement_copy"
    AGREEMENT_END = "agreement_end"
    FIXED_COST_PAID_BY_PARTICIPANT = "fixed_cost_paid_by_participant"  # zelfregie step 3


class Decision(enum.StrEnum):
    OTHER_PARTY = "other_party"  # participant and caseworker decide together
    FINANCE_CHECK = "finance_check"  # the caseworker proposes, a finance user checks


@dataclass(frozen=True, slots=True)
class ChangeRule:
    kind: ChangeKind
    description: str
    proposers: frozenset[Party]
    decision: Decision
    emergency: bool  # a caseworker may apply it alone, with a written reason
    one_open_at_a_time: bool  # a second open proposal of this kind is refused

    def approvers(self, proposer: Party) -> frozenset[Party]:
        """Who may approve (or reject) a proposal made by `proposer`; never the proposer's side."""
        if self.decision is Decision.FINANCE_CHECK:
            return frozenset({Party.FINANCE})
        return frozenset({Party.PARTICIPANT, Party.CASEWORKER} - {proposer})


_BOTH = frozenset({Party.PARTICIPANT, Party.CASEWORKER})

MATRIX: dict[ChangeKind, ChangeRule] = {
    rule.kind: rule
    for rule in (
        ChangeRule(
            ChangeKind.LIVING_MONEY_AMOUNT,
            "how much living money is paid per month",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=True,
            one_open_at_a_time=True,
        ),
        ChangeRule(
            ChangeKind.LIVING_MONEY_SCHEDULE,
            "when living money is paid (weekly, every two weeks, monthly; which day)",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=False,
            one_open_at_a_time=True,
        ),
        ChangeRule(
            ChangeKind.FIXED_COST_ADD,
            "start paying a new fixed cost",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=True,
            one_open_at_a_time=False,
        ),
        ChangeRule(
            ChangeKind.FIXED_COST_REMOVE,
            "stop paying a fixed cost",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=False,
            one_open_at_a_time=False,
        ),
        ChangeRule(
            ChangeKind.FIXED_COST_AMOUNT,
            "change the amount of a fixed cost",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=True,
            one_open_at_a_time=False,
        ),
        ChangeRule(
            ChangeKind.BUFFER_POLICY,
            "the buffer target and how fast it is built up",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=False,
            one_open_at_a_time=True,
        ),
        ChangeRule(
            ChangeKind.EXTRA_PAYOUT,
            "a one-off extra payout to the participant",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=True,
            one_open_at_a_time=False,
        ),
        ChangeRule(
            ChangeKind.CREDITOR_IBAN_CORRECTION,
            "correct the IBAN a creditor is paid on",
            frozenset({Party.CASEWORKER}),
            Decision.FINANCE_CHECK,
            emergency=False,
            one_open_at_a_time=False,
        ),
        ChangeRule(
            ChangeKind.AUTONOMY_STEP,
            "the participant's step of autonomy (1 everything managed to 4 preparing to leave)",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=False,
            one_open_at_a_time=True,
        ),
        # Onboarding (issue 8, Aanmelden): the caseworker proposes the first plan;
        # the participant approves it in the app. Nothing runs until then.
        ChangeRule(
            ChangeKind.INITIAL_PLAN,
            "the first plan of a new participant (onboarding)",
            frozenset({Party.CASEWORKER}),
            Decision.OTHER_PARTY,
            emergency=False,
            one_open_at_a_time=True,
        ),
        # Agreement changes from the caseworker's Deelnemer page (issue 8).
        ChangeRule(
            ChangeKind.AGREEMENT_FOLLOW_UP,
            "follow up an agreement: a new amount from a date",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=False,
            one_open_at_a_time=False,
        ),
        ChangeRule(
            ChangeKind.AGREEMENT_COPY,
            "copy an agreement with its own amount from a date",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=False,
            one_open_at_a_time=False,
        ),
        ChangeRule(
            ChangeKind.AGREEMENT_END,
            "end an agreement on a date",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=False,
            one_open_at_a_time=False,
        ),
        # Zelfregie step 3 (issue 12): the participant pays a fixed cost themselves. On only
        # from step 3; the emergency path (and the daily cycle after a missed payment) only
        # switches it off (backend.zelfregie.self_payment).
        ChangeRule(
            ChangeKind.FIXED_COST_PAID_BY_PARTICIPANT,
            "whether the participant pays a fixed cost themselves (from step 3)",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=True,
            one_open_at_a_time=False,
        ),
        # Ending participation (issues 8 and 12): either party asks, the other agrees.
        ChangeRule(
            ChangeKind.END_PARTICIPATION,
            "end participation: final settlement, handover letter, then read-only",
            _BOTH,
            Decision.OTHER_PARTY,
            emergency=False,
            one_open_at_a_time=True,
        ),
    )
}
assert set(MATRIX) == set(ChangeKind), "every change kind has a rule"
