"""The daily cycle: turns the rules engine's actions into journal entries, payment
instructions and alerts, for every participant, idempotently."""

from backend.cycle.service import CycleSummary, ParticipantFailure, run_daily_cycle

__all__ = ["CycleSummary", "ParticipantFailure", "run_daily_cycle"]
