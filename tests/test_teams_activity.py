"""A Teams message's HTML read as plain text at the edge, before the engine sees a question."""

from __future__ import annotations

from bot.teams.activity import plain
from common.text import clean_question


def test_teams_markup_is_reduced_to_plain_text():
    raw = "<at>adoptbot</at> what about <b>GDPR</b> &amp; <at>Dana</at> HIPAA?"
    text, notes = clean_question(plain(raw), limit=2000)
    assert text == "what about GDPR & HIPAA?"
    assert notes == []
