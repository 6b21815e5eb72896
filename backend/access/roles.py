"""Roles and what each one may do, in one table.

Routes ask for a permission (or a role), never for a list of roles they
assembled themselves, so who-may-what is read and changed here only.
Participant data is not a permission: it is scope (own household, caseload),
decided per participant by backend.access.policy.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    PARTICIPANT = "participant"
    CASEWORKER = "caseworker"
    FINANCE = "finance"
    PRIVACY_OFFICER = "privacy_officer"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    # Participant side
    OWN_HOUSEHOLD = "own_household"  # read own household, act for self
    CASELOAD = "caseload"  # read and act for participants on one's caseload
    # Finance
    BANK_DATA = "bank_data"  # statements, bank entries, imports
    SUSPENSE = "suspense"  # the queue of unattributed money
    PAYMENT_BATCHES = "payment_batches"  # prepare, approve (four eyes), export SEPA
    RECONCILIATION = "reconciliation"  # ledger versus bank
    CREDITOR_CHECK = "creditor_check"  # second check on a creditor's IBAN correction
    # Privacy and administration
    ACCESS_LOG = "access_log"  # who read whose data
    RETENTION = "retention"  # retention runs
    PSEUDONYMISED_EXPORT = "pseudonymised_export"
    SUBJECT_ACCESS_REQUESTS = "subject_access_requests"  # any participant's inzage (AVG 15)
    USER_ADMIN = "user_admin"  # accounts, roles, caseloads, unlocking


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PARTICIPANT: frozenset({Permission.OWN_HOUSEHOLD}),
    Role.CASEWORKER: frozenset({Permission.CASELOAD}),
    Role.FINANCE: frozenset(
        {
            Permission.BANK_DATA,
            Permission.SUSPENSE,
            Permission.PAYMENT_BATCHES,
            Permission.RECONCILIATION,
            Permission.CREDITOR_CHECK,
        }
    ),
    Role.PRIVACY_OFFICER: frozenset(
        {
            Permission.ACCESS_LOG,
            Permission.RETENTION,
            Permission.PSEUDONYMISED_EXPORT,
            Permission.SUBJECT_ACCESS_REQUESTS,
        }
    ),
    Role.ADMIN: frozenset({Permission.ACCESS_LOG, Permission.RETENTION, Permission.USER_ADMIN}),
}


def parse_roles(names: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Known roles only; an unknown name stored in the database grants nothing."""
    known = {role.value for role in Role}
    return frozenset(Role(name) for name in names if name in known)
