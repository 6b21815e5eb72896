"""Errors raised for bad input to the rules engine. Programmer errors are assertions instead."""


class RulesError(ValueError):
    """Input the rules engine refuses (inconsistent balances, a plan not yet in effect, ...).

    The message says what is wrong and where, so the daily cycle can report the
    participant as failed and carry on with the others.
    """
