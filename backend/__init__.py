"""Web, database and jobs around the pure cores (`ledger`, `rules`, `privacy`)."""
