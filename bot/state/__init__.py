"""Shared state: the database (SQLite or PostgreSQL, with its migrations), de-duplication claims, the audit
log and feedback, conversation state, redaction of personal data, and the insight report built from them.

Imports common and bot.types; never a platform or the answering path.
"""
