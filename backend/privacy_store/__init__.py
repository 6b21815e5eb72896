"""Privacy storage and services: the access log, inzage, retention, pseudonymised
export and key rotation. The pure parts live in the `privacy` package.

Import the modules you need (`backend.privacy_store.access_log`, ...); this package
imports nothing itself, so the policy layer can use the access log without cycles.
"""
