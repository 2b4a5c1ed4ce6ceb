"""Slack's mrkdwn read as plain text at the edge, before the engine sees a question."""

from __future__ import annotations

from bot.slack.text import mentioned, plain
from common.text import clean_question


def test_chat_markup_is_reduced_to_plain_text():
    text, notes = clean_question(
        plain("<@U123ABC> what about <https://example.com/gdpr|GDPR> and <#C999|ai-help> &amp; HIPAA?"), limit=2000
    )
    assert text == "what about GDPR (example.com/gdpr) and #ai-help & HIPAA?"
    assert notes == []


def test_a_link_keeps_its_label_and_the_words_of_where_it_points():
    # A label like "this" alone would leave retrieval nothing to go on.
    assert (
        plain("what does <https://www.intranet.example.com/ai/model-risk-policy/?utm=x#top|this> say?")
        == "what does this (intranet.example.com/ai/model-risk-policy) say?"
    )
    assert plain("mail <mailto:coe@example.com|the CoE>") == "mail the CoE (coe@example.com)"


def test_a_link_whose_label_is_its_address_appears_once():
    assert plain("see <http://example.com|example.com>") == "see example.com"
    assert plain("see <https://example.com/a|https://example.com/a>") == "see https://example.com/a"
    assert plain("see <https://example.com/a>") == "see https://example.com/a"


def test_the_people_a_message_mentions_are_read_from_its_markup():
    assert mentioned("<@U1> and <@U2|dana> please look") == {"U1", "U2"}
    assert mentioned("no one here <#C1|general>") == frozenset()
