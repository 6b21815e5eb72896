"""Reading bank statement files: CAMT.053 (.001.02 and .001.08) and MT940, safely.

The one way in is `read_statement_file`; it returns `Statement` records with `BankEntry`
lines (integer cents, booked entries only, balances checked) or raises `StatementError`.
Storing, de-duplicating (`BankEntry.dedup_key`) and matching are the importer's job.

`generate_camt053` makes large valid statements for benchmarks; `backend.bank.generate`
also has the small writer (`write_camt053` and its specs) the fixtures are made with.
"""

from backend.bank.errors import (
    BalanceMismatchError,
    FileTooLargeError,
    SchemaViolationError,
    StatementError,
    UnsafeXmlError,
    UnsupportedFormatError,
)
from backend.bank.generate import generate_camt053
from backend.bank.reader import read_statement_file
from backend.bank.statement import (
    BOOKED,
    BankEntry,
    CreditDebit,
    Statement,
    StatementFormat,
    TransactionDetails,
)
from backend.bank.xml_safety import DEFAULT_MAX_BYTES

__all__ = [
    "BOOKED",
    "DEFAULT_MAX_BYTES",
    "BalanceMismatchError",
    "BankEntry",
    "CreditDebit",
    "FileTooLargeError",
    "SchemaViolationError",
    "Statement",
    "StatementError",
    "StatementFormat",
    "TransactionDetails",
    "UnsafeXmlError",
    "UnsupportedFormatError",
    "generate_camt053",
    "read_statement_file",
]
