"""The processing activities (verwerkingsactiviteiten) this system performs: the
"why" of every access-log record, with its purpose and legal basis, as in the
municipality's register of processing activities (AVG art. 30).

An access-log record names an activity by its id; the inzage shows the Dutch name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProcessingActivity:
    id: str
    name_nl: str  # what a resident reads in their inzage
    purpose: str
    legal_basis: str


BUDGET_MANAGEMENT = ProcessingActivity(
    "budgetbeheer",
    "budgetbeheer uitvoeren",
    "Inkomen ontvangen, vaste lasten en leefgeld betalen, buffer aanhouden, samen beslissen.",
    "AVG art. 6(1)(e): publieke taak op grond van de Participatiewet en de Wet "
    "gemeentelijke schuldhulpverlening; deelname is vrijwillig, maar toestemming is niet "
    "de grondslag",
)
PAYMENTS = ProcessingActivity(
    "betalingen",
    "betalingen uitvoeren en afletteren",
    "Betaalopdrachten maken, laten goedkeuren en met de bank afstemmen.",
    "AVG art. 6(1)(e): uitvoering van het budgetbeheer; Gemeentewet art. 212 (financiën)",
)
SUBJECT_ACCESS = ProcessingActivity(
    "inzageverzoek",
    "inzageverzoek",
    "De inwoner ziet alle gegevens die over hem of haar zijn vastgelegd.",
    "AVG art. 15 (recht op inzage)",
)
PRIVACY_SUPERVISION = ProcessingActivity(
    "toezicht",
    "toezicht op de verwerking van persoonsgegevens",
    "De functionaris gegevensbescherming controleert wie welke gegevens heeft ingezien.",
    "AVG art. 5(2), 32 en 39",
)
RETENTION = ProcessingActivity(
    "bewaartermijn",
    "bewaartermijn uitvoeren",
    "Gegevens na afloop van de bewaartermijn pseudonimiseren of verwijderen.",
    "AVG art. 5(1)(e); Archiefwet 1995 en de selectielijst van de gemeente",
)
POLICY_REPORTING = ProcessingActivity(
    "beleidsinformatie",
    "beleidsinformatie (gepseudonimiseerd)",
    "Gepseudonimiseerde cijfers voor beleid en verantwoording aan de gemeenteraad.",
    "AVG art. 6(1)(e) en art. 89 (statistiek), Gemeentewet art. 213a (doelmatigheid)",
)

ACTIVITIES: dict[str, ProcessingActivity] = {
    activity.id: activity
    for activity in (
        BUDGET_MANAGEMENT,
        PAYMENTS,
        SUBJECT_ACCESS,
        PRIVACY_SUPERVISION,
        RETENTION,
        POLICY_REPORTING,
    )
}


def activity_name(activity_id: str) -> str:
    """The Dutch name of an activity; an id this version does not know is shown as is."""
    activity = ACTIVITIES.get(activity_id)
    return activity.name_nl if activity is not None else activity_id
