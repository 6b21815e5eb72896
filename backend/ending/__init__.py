"""Ending participation (issues 8 and 12): the agreed end, the final settlement that
closes every account of the participant to zero, the handover letter, read-only after.

- `guard`: refuses changes for a participant whose participation has ended;
- `settlement`: the closing entries and payouts (pure bookkeeping, one transaction);
- `handover`: what moves to the participant (fixed costs, incomes), as a snapshot;
- `service`: the co-decision applier and the daily cycle's hook.
"""
