"""Shared state: the database (SQLite or PostgreSQL, with its migrations), de-duplication claims, the audit
log and feedback, conversation state, redaction of personal data, and what is built from them: the
insight report and the editors' suggestions (gaps.py).

Imports common, kb and bot.types; never a platform or the answering path (the nearest section is passed in).
"""
