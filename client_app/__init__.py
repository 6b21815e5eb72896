"""The participant app: server-rendered pages residents use on a phone."""
