"""Humans in the loop: declined questions and "not helpful" votes reach the experts' channel."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from adoptbot.runtime import Runtime
from bot import experts
from bot.types import Answer
from bot.web.server import build_web_app
from tests.fake_connector import feedback_invoke, teams_activity
from tests.fake_slack import FakeSlackApi, action_body, event_body, feedback_value
from tests.hr_kb import HIDDEN, HR_TITLE, SALARY, scoped  # noqa: F401 - fixture
from tests.slack_harness import FORM, SECRET, Slack, fresh_ts, mention, post, settle, slacks
from tests.stub_engine import PIECES, SOURCE, StubEngine
from tests.teams_harness import live, make_bot, replies, served  # noqa: F401 - fixture
from tests.teams_harness import post as post_teams
from tests.web import BackgroundServer

EXPERTS = "C0EXPERTS"
TEAMS_EXPERTS = "19:experts@thread.tacv2"


def test_the_forwarded_text_quotes_redacted_and_says_where_to_answer():
    text = experts.declined(
        "Can I email jane@example.com our roadmap?", [("Governance", frozenset())], "https://x/p1", scope=None
    )
    assert "> Can I email \\[email\\] our roadmap?" in text and "jane@example.com" not in text  # as written
    assert "Nearest topics it covers: Governance." in text and "https://x/p1" in text
    dm = experts.not_helpful("Q?", "A long answer. " * 200, [("Risks - Bias", frozenset())], "", scope=None)
    assert "a direct message" in dm and len(dm) < 1600 and "Risks - Bias" in dm


@pytest.fixture
def slack_with_experts(tmp_path):
    with slacks(tmp_path) as make:
        yield make(StubEngine(streams=False), slack_experts_channel=EXPERTS)


def to_experts(s: Slack) -> list[dict]:
    """What the experts' channel was told, once everything Slack sent has been handled."""
    settle(s)
    return [p for p in s.api.called("chat.postMessage") if p["channel"] == EXPERTS]


def test_a_declined_question_is_forwarded_to_the_experts_with_a_link(slack_with_experts):
    s = slack_with_experts
    ts = s.mention("Is booking an uncovered meeting room in the guidance?")
    reply, forward = s.api.wait_for("chat.postMessage", 2)  # the asker hears first
    assert (reply["channel"], reply["thread_ts"]) == ("C1", ts)
    assert to_experts(s) == [forward]
    assert "could not answer" in forward["text"]
    assert "> Is booking an uncovered meeting room in the guidance?" in forward["text"]
    assert "Nearest topics it covers: Stub guidance." in forward["text"]
    assert f"https://example.slack.com/archives/C1/p{ts.replace('.', '')}" in forward["text"]


def test_a_question_declined_in_a_direct_message_is_forwarded_without_a_link(slack_with_experts):
    s = slack_with_experts
    s.dm("Is the uncovered topic in the guidance?")
    [forward] = to_experts(s)
    assert "> Is the uncovered topic in the guidance?" in forward["text"]
    assert "a direct message (no link can be shared)" in forward["text"] and "https://" not in forward["text"]
    assert s.api.called("chat.getPermalink") == []  # an expert could not open someone else's DM


def test_an_answered_question_is_not_forwarded(slack_with_experts):
    s = slack_with_experts
    s.mention("What is a GAN?")
    [reply] = s.api.wait_for("chat.postMessage")
    assert reply["channel"] == "C1" and to_experts(s) == [] and s.api.called("chat.getPermalink") == []


def test_a_not_helpful_vote_is_forwarded_with_the_question_the_answer_and_a_link(slack_with_experts):
    s = slack_with_experts
    s.mention("What is a hallucination?")
    [reply] = s.api.wait_for("chat.postMessage")
    message = {"ts": "1700000203.000200", "text": reply["text"], "blocks": reply["blocks"]}
    body = action_body(
        action_id="feedback", value=feedback_value(reply, "not_helpful"), user="U9", message=message,
        response_url=s.api.url + "/r/1", kind="feedback_buttons",
    )  # fmt: skip
    assert s.post(body, FORM) == 200
    [forward] = to_experts(s)
    assert "not helpful" in forward["text"] and "> What is a hallucination?" in forward["text"]
    assert f"> {PIECES[0].strip()}" in forward["text"] and "Sources: Stub guidance - Stub section." in forward["text"]
    assert "https://example.slack.com/archives/C1/p1700000203000200" in forward["text"]


def test_a_helpful_vote_is_not_forwarded(slack_with_experts):
    s = slack_with_experts
    s.mention("What is a hallucination?")
    [reply] = s.api.wait_for("chat.postMessage")
    message = {"ts": "1700000204.000200", "text": reply["text"], "blocks": reply["blocks"]}
    body = action_body(action_id="feedback", value=feedback_value(reply, "helpful"), user="U9", message=message,
                       response_url=s.api.url + "/r/1", kind="feedback_buttons")  # fmt: skip
    assert s.post(body, FORM) == 200
    s.api.wait_for("r/1")
    assert to_experts(s) == []


@pytest.fixture
def teams_with_experts(make_bot):  # noqa: F811
    return make_bot(teams_experts_channel=TEAMS_EXPERTS)


def test_teams_forwards_a_declined_question_to_the_experts_channel(teams_with_experts):
    bot = teams_with_experts
    _, body = bot.ask("An uncovered question: how do I book a meeting room?", expect_replies=True)
    assert "does not cover" in replies(body)[0]["text"]
    [(path, forward)] = bot.connector.wait_for_messages()
    assert path.startswith(f"/v3/conversations/{TEAMS_EXPERTS}/activities")
    assert "how do I book a meeting room?" in forward["text"] and "direct message" in forward["text"]


def test_teams_answered_questions_and_thumbs_up_are_not_forwarded(teams_with_experts):
    bot = teams_with_experts
    bot.ask("What is RLHF?")
    [(_, answer)] = bot.connector.messages()
    bot.send(feedback_invoke("like", reply_to_id=answer_id(bot, answer), service_url=bot.connector.url))
    assert [v["vote"] for v in bot.feedback.votes()] == ["helpful"]
    assert [p for p, _ in bot.connector.messages() if TEAMS_EXPERTS in p] == []


def test_teams_forwards_thumbs_down_from_a_channel_thread_with_a_link(teams_with_experts):
    bot = teams_with_experts
    thread = "19:general@thread.tacv2;messageid=1700000007777"
    in_thread = {"conversation_type": "channel", "conversation_id": thread}
    bot.ask("What is RLHF?", mention=True, activity_id="1700000007777", **in_thread)
    [(_, answer)] = bot.connector.messages()
    message_id = answer_id(bot, answer)
    status, _ = bot.send(feedback_invoke("dislike", reply_to_id=message_id, service_url=bot.connector.url, **in_thread))
    assert status == 200
    forwards = [b for p, b in bot.connector.wait_for_messages(2) if p.startswith(f"/v3/conversations/{TEAMS_EXPERTS}/")]
    [forward] = forwards
    assert "not helpful" in forward["text"] and "> What is RLHF?" in forward["text"]
    assert f"https://teams.microsoft.com/l/message/19%3Ageneral%40thread.tacv2/{message_id}" in forward["text"]


def answer_id(bot, answer: dict) -> str:
    """The Teams message id of an answer: a stream's id, or the id the connector gave the message."""
    info = [e for e in answer.get("entities") or [] if e.get("type") == "streaminfo"]
    return info[0]["streamId"] if info else bot.connector.id_of(answer)


# -- documents the experts' channel may not see (audiences) ---------------------------------------------


class RealSlack:
    """Slack over a real runtime's engine and index (one per test module), with an experts' channel."""

    def __init__(self, runtime: Runtime, **changes: object) -> None:
        self.api = FakeSlackApi()
        settings = dataclasses.replace(
            runtime.settings, slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
            slack_api_base_url=self.api.api_url, slack_experts_channel=EXPERTS, **changes,
        )  # fmt: skip
        self.runtime = Runtime(settings, embedder=runtime.embedder, store=runtime.store, answerers=runtime.answerers)
        app = self.runtime.slack_app(http=True)
        self.server = BackgroundServer(build_web_app(index_info=self.runtime.index_info, slack=app))

    def ask(self, text: str, channel: str = "C1") -> dict:
        """A mention as Slack sends it (what the person typed: `&`, `<` and `>` as entities); the reply."""
        ts = fresh_ts(1700000400)  # the claims live in the shared data directory: every event is new
        assert post(self.server, event_body(mention(text, channel=channel, ts=ts), f"Ev{ts}"))[0] == 200
        [reply] = self.api.wait_for("chat.postMessage")
        return reply

    def vote_down(self, reply: dict) -> None:
        message = {"ts": fresh_ts(1700000400), "text": reply["text"], "blocks": reply["blocks"]}
        body = action_body(action_id="feedback", value=feedback_value(reply, "not_helpful"), user="U9",
                           message=message, response_url=self.api.url + "/r/1", kind="feedback_buttons")  # fmt: skip
        assert post(self.server, body, content_type=FORM)[0] == 200

    def forward(self) -> dict:
        """What the experts' channel was told (after the reply)."""
        [forward] = [p for p in self.api.wait_for("chat.postMessage", 2) if p["channel"] == EXPERTS]
        return forward

    def answer_and_vote_down(self, question: str, channel: str) -> dict:
        """Ask in channel, vote the answer down: what the experts' channel was told."""
        self.vote_down(self.ask(question, channel))
        return self.forward()

    def close(self) -> None:
        self.server.close()
        self.api.close()


@pytest.fixture
def hr_slack(scoped):  # noqa: F811
    made: list[RealSlack] = []

    def make(**changes: object) -> RealSlack:
        made.append(RealSlack(scoped, **changes))
        return made[-1]

    yield make
    for s in made:
        s.close()


@pytest.fixture
def starter_slack(starter_runtime):
    s = RealSlack(starter_runtime)
    yield s
    s.close()


def test_a_down_vote_on_an_answer_from_a_restricted_document_does_not_copy_it_to_the_experts(hr_slack):
    forward = hr_slack().answer_and_vote_down(SALARY, "CHR")
    question = f"> {SALARY}\n"  # the person's own words are forwarded as ever
    assert "not helpful" in forward["text"] and question in forward["text"]
    rest = forward["text"].replace(question, "")
    assert "may not see" in rest and "Sources: 1 restricted document (not named here)." in rest
    assert not any(hidden.lower() in rest.lower() for hidden in HIDDEN)


def test_an_experts_channel_allowed_to_see_the_document_gets_the_answer_quoted(hr_slack, tmp_path):
    allowed = tmp_path / "audiences.yaml"
    allowed.write_text("slack:\n  CHR: [hr]\n  C0EXPERTS: [hr]\n", encoding="utf-8")
    forward = hr_slack(audiences_file=str(allowed)).answer_and_vote_down(SALARY, "CHR")
    assert "people team each spring" in forward["text"] and HR_TITLE in forward["text"]
    assert "restricted" not in forward["text"]


def test_nearest_topics_the_experts_may_not_see_are_counted_not_named(tmp_path):
    hr = dataclasses.replace(SOURCE, title="Salary bands", audience=("hr",))
    audiences = tmp_path / "audiences.yaml"
    audiences.write_text("slack:\n  CHR: [hr]\n", encoding="utf-8")
    with slacks(tmp_path) as make:
        s = make(NearestEngine(related=(hr, SOURCE)), slack_experts_channel=EXPERTS, audiences_file=str(audiences))
        s.mention("Is booking an uncovered meeting room in the guidance?", channel="CHR")
        [forward] = to_experts(s)
    assert "Nearest topics it covers: Stub guidance; and 1 restricted document (not named here)." in forward["text"]
    assert "Salary bands" not in forward["text"]


def test_answers_recorded_before_sources_kept_audiences_are_quoted_only_where_every_audience_is_seen():
    unknown = [("Old guidance - Risks", None)]  # an audit record from before citations had audiences
    for scope in (None, frozenset({"*"})):
        assert "> The old answer." in experts.not_helpful("Q?", "The old answer.", unknown, "", scope=scope)
    withheld = experts.not_helpful("Q?", "The old answer.", unknown, "", scope=frozenset({"hr"}))
    assert "The old answer" not in withheld and "Old guidance" not in withheld and "may not see" in withheld


class NearestEngine(StubEngine):
    """The stub engine, declining with these nearest topics."""

    def __init__(self, *, related: tuple) -> None:
        super().__init__(streams=False)
        self.related = related

    def answer(self, question, *, backend=None, on_text=None):
        answer = super().answer(question, backend=backend, on_text=on_text)
        return dataclasses.replace(answer, related=self.related) if answer.status == "no_answer" else answer


@pytest.fixture
def hr_teams(scoped):  # noqa: F811
    settings = dataclasses.replace(scoped.settings, teams_experts_channel=TEAMS_EXPERTS)
    with served(Runtime(settings, embedder=scoped.embedder, store=scoped.store, answerers=scoped.answerers)) as both:
        yield both


def test_teams_forwards_a_down_vote_on_a_restricted_answer_without_its_text(hr_teams):
    connector, server = hr_teams
    thread = "19:hr-general@thread.tacv2;messageid=1700000008888"
    in_thread = {"conversation_type": "channel", "conversation_id": thread}
    hr_team = "19:hr-team@thread.tacv2"  # the team the audiences file lets see hr
    asked = teams_activity(SALARY, service_url=connector.url, mention=True, activity_id="1700000008888", team=hr_team,
                           **in_thread)  # fmt: skip
    send_to_teams(server, asked)
    [(_, answer)] = connector.wait_for_messages()
    assert HR_TITLE in json.dumps(answer)  # the hr team sees it
    send_to_teams(server, feedback_invoke("dislike", reply_to_id=connector.id_of(answer), service_url=connector.url,
                                          **in_thread))  # fmt: skip
    [forward] = [b for p, b in connector.wait_for_messages(2) if p.startswith(f"/v3/conversations/{TEAMS_EXPERTS}/")]
    assert "not helpful" in forward["text"] and "may not see" in forward["text"]
    assert "people team each" not in forward["text"] and HR_TITLE not in forward["text"]


def send_to_teams(server: BackgroundServer, activity: dict) -> None:
    assert post_teams(server, activity)[0] in (200, 201, 202)


# -- what people and documents wrote reaches the experts as text -------------------------------------------
LIVE = re.compile(r"<[!@#]|<(?:https?|mailto):")  # a mention, a channel link or a link, as Slack reads mrkdwn
TYPED = "&lt;!channel&gt; can I book the big meeting room for Friday? &lt;https://evil.example|click&gt;"


def test_a_mass_mention_and_a_disguised_link_typed_in_a_question_reach_the_experts_as_text(starter_slack):
    reply = starter_slack.ask(TYPED)
    assert "does not cover" in reply["text"]
    text = starter_slack.forward()["text"]
    assert "> &lt;!channel&gt; can I book the big meeting room for Friday? &lt;https://evil.example|click&gt;" in text
    assert not LIVE.search(text)


def test_a_question_voted_down_reaches_the_experts_with_its_mention_and_link_as_text(starter_slack):
    reply = starter_slack.ask("&lt;!here&gt; What are GANs good for? [click](https://evil.example)")
    assert "GAN" in reply["text"]
    starter_slack.vote_down(reply)
    text = starter_slack.forward()["text"]
    assert "> &lt;!here&gt; What are GANs good for? [click](https://evil.example)" in text
    assert not LIVE.search(text) and "Sources: " in text


class MentioningEngine(StubEngine):
    """The stub engine, answering with guidance that mentions @here, @channel and a person, under such a title."""

    def answer(self, question, *, backend=None, on_text=None):
        answer = super().answer(question, backend=backend, on_text=on_text)
        source = dataclasses.replace(SOURCE, title="<!channel> rota", section="Ask <@U0123ABCD>")
        text = "Post it with <!here> or <!channel>, or ask <@U0123ABCD> [1]."
        return dataclasses.replace(answer, text=text, sources=(source,))


def test_guidance_that_mentions_everyone_is_text_in_the_answer_its_fallback_and_the_forward(tmp_path):
    with slacks(tmp_path) as make:
        s = make(MentioningEngine(streams=False), slack_experts_channel=EXPERTS)
        s.mention("Who covers the rota?")
        [reply] = s.api.wait_for("chat.postMessage")
        assert "&lt;!here&gt;" in reply["text"] and "&lt;!channel&gt; rota" in reply["text"]
        assert not LIVE.search(json.dumps([reply["text"], reply["blocks"]]).replace("<https://intranet.example", ""))
        message = {"ts": "1700000205.000200", "text": reply["text"], "blocks": reply["blocks"]}
        body = action_body(action_id="feedback", value=feedback_value(reply, "not_helpful"), user="U9",
                           message=message, response_url=s.api.url + "/r/1", kind="feedback_buttons")  # fmt: skip
        assert s.post(body, FORM) == 200
        [forward] = to_experts(s)
    assert "> Post it with &lt;!here&gt; or &lt;!channel&gt;" in forward["text"]
    assert "Sources: &lt;!channel&gt; rota - Ask &lt;@U0123ABCD&gt;." in forward["text"]
    assert not LIVE.search(forward["text"])


def test_teams_forwards_html_and_markdown_links_typed_in_a_question_as_text(hr_teams):
    connector, server = hr_teams
    typed = 'Can I book the big meeting room? &lt;a href="https://evil.example"&gt;click&lt;/a&gt; [click me](https://evil.example)'
    send_to_teams(server, teams_activity(typed, service_url=connector.url, conversation_id="a:personal-links"))
    [forward] = connector.wait_until(
        lambda: [b for p, b in connector.messages() if p.startswith(f"/v3/conversations/{TEAMS_EXPERTS}/")]
    )
    assert "could not answer" in forward["text"] and forward["textFormat"] == "markdown"
    as_text = r'\<a href="https://evil.example"\>click\</a\> \[click me\]\(https://evil.example\)'
    assert as_text in forward["text"]
    assert not live(forward["text"])


class StreamingMentions(StubEngine):
    """The stub engine, streaming guidance that mentions @here and a person."""

    def answer(self, question, *, backend=None, on_text=None):
        text = "Post it with <!here>, or ask <@U0123ABCD> [1]."
        if on_text is not None:
            on_text(text)
        return Answer(question=question.text, status="answered", text=text, backend="stub", sources=(SOURCE,))


def test_guidance_that_mentions_everyone_is_text_in_a_streamed_answer(tmp_path):
    with slacks(tmp_path) as make:
        s = make(StreamingMentions())
        s.mention("Who covers the rota?")  # answered in its thread, streamed
        [stop] = s.api.wait_for("chat.stopStream")
    streamed = s.api.streams[stop["ts"]]
    assert streamed == "Post it with \\<!here>, or ask \\<@U0123ABCD> [1]."  # Markdown: "<" as text
    assert not re.search(r"(?<!\\)<[!@#]", streamed)
