"""The small web layer every server-rendered page shares (participant, caseworker
and finance pages alike): cookie login, CSRF, rendering, errors as pages."""
