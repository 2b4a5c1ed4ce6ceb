"""Audience scoping: a document marked for an audience is cited only where that audience is allowed."""

# The tests take the fixture `scoped` (imported below) as a parameter of the same name.
# ruff: noqa: F811

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from adoptbot.cli import main
from adoptbot.runtime import Runtime
from bot.audiences import Audiences, parse
from bot.teams import cards
from bot.tools.assessment import Assessor, load_table
from bot.tools.checklists import load_checklists
from bot.types import Answer, Question
from bot.web.server import build_web_app
from common.settings import Settings
from tests.conftest import REPO
from tests.fake_connector import card_submit
from tests.fake_slack import FakeSlackApi, action_body, command_body, event_body
from tests.hr_kb import HIDDEN, HR_CHECKLIST, HR_TITLE, PUBLIC, SALARY, scoped  # noqa: F401 - fixture
from tests.slack_harness import FORM, mention, post
from tests.teams_harness import post as post_teams
from tests.teams_harness import replies, served, turn
from tests.web import BackgroundServer

PAY_CHECKLIST = "What is on the pay review checklist?"


def everything(answer: Answer) -> str:
    """All a person sees of an answer besides their own question: its text, sources and related documents."""
    return json.dumps({k: v for k, v in answer.to_dict().items() if k != "question"})


def test_without_an_audiences_file_every_document_is_cited_everywhere(scoped, tmp_path):
    # The default path (audiences.yaml in the data directory) does not exist here.
    runtime = Runtime(Settings(data_dir=tmp_path), embedder=scoped.embedder, store=scoped.store)
    answer = runtime.engine.answer(Question(SALARY, place="slack:CGENERAL"))
    assert answer.answered and answer.sources[0].title == HR_TITLE


@pytest.mark.parametrize("place", ["slack:CHR", "teams:19:hr-team@thread.tacv2", ""], ids=["slack", "teams", "cli"])
def test_a_place_mapped_to_the_audience_gets_the_hidden_document_cited(scoped, place):
    answer = scoped.engine.answer(Question(SALARY, place=place))
    assert answer.answered and answer.sources[0].title == HR_TITLE
    assert "people team each spring" in answer.text


@pytest.mark.parametrize(
    "place", ["slack:CGENERAL", "slack:D0DM", "slack:", "teams:19:other@thread.tacv2", "teams:personal", "teams:"]
)
def test_elsewhere_a_question_only_hidden_documents_answer_is_declined_without_naming_them(scoped, place):
    answer = scoped.engine.answer(Question(SALARY, place=place))
    assert answer.status == "no_answer" and not answer.sources
    assert "does not cover" in answer.text and "nearest topics" in answer.text  # public ones are still named
    assert not any(hidden.lower() in everything(answer).lower() for hidden in HIDDEN)


@pytest.mark.parametrize("place", ["slack:CGENERAL", "teams:personal"])
def test_elsewhere_asking_for_a_hidden_checklist_by_name_gets_only_public_documents(scoped, place):
    answer = scoped.engine.answer(Question(PAY_CHECKLIST, place=place))
    assert {c.title for c in (*answer.sources, *answer.related)} <= {"Launch checklist", "Privacy", "Hallucinations"}
    assert not any(hidden.lower() in everything(answer).lower() for hidden in HIDDEN)


def test_elsewhere_public_answers_never_list_a_hidden_document_as_related(scoped):
    answer = scoped.engine.answer(Question(f"{PUBLIC} And what about salary bands?", place="slack:CGENERAL"))
    assert answer.answered and answer.sources[0].title == "Privacy"
    assert not any(hidden.lower() in everything(answer).lower() for hidden in HIDDEN)


def test_a_mapped_place_gets_a_hidden_checklist_whole(scoped):
    answer = scoped.engine.answer(Question(PAY_CHECKLIST, place="slack:CHR"))
    assert answer.answered and answer.sources[0].title == HR_CHECKLIST
    assert "Compare every salary with its band" in answer.text and "market survey" in answer.text


def test_audiences_resolve_per_place_with_defaults_and_any_case():
    from bot.audiences import parse

    audiences = parse('slack: {CHR: [" HR  Staff "], default: [everyone]}\nteams: {"19:t": ["*"]}\ndm: [managers]\n')
    assert audiences.scope("slack:CHR") == {"hr staff"}
    assert audiences.scope("slack:COTHER") == {"everyone"}
    assert audiences.scope("slack:D123") == audiences.scope("teams:personal") == {"managers"}
    assert audiences.scope("teams:19:t") == {"*"} and audiences.scope("teams:19:u") == frozenset()
    assert audiences.scope("") is None  # the terminal
    assert Audiences().scope("slack:COTHER") is None  # no file: everything everywhere


# -- Slack and Teams over real HTTP --------------------------------------------------------------


@pytest.fixture
def slack(scoped):
    api = FakeSlackApi()
    runtime = Runtime(
        dataclasses.replace(scoped.settings, slack_api_base_url=api.api_url),
        embedder=scoped.embedder,
        store=scoped.store,
        answerers=scoped.answerers,
    )
    server = BackgroundServer(build_web_app(index_info=runtime.index_info, slack=runtime.slack_app(http=True)))
    yield api, server
    server.close()
    api.close()


def slack_visible(reply: dict) -> str:
    """Everything a Slack user sees of a reply: the notification text and every block."""
    return json.dumps({"text": reply["text"], "blocks": reply["blocks"]})


def test_slack_cites_the_hr_document_only_in_the_hr_channel(slack):
    api, server = slack
    assert post(server, event_body(mention(SALARY, channel="CHR", ts="1700000001.000100"), "EvHR"))[0] == 200
    [hr] = api.wait_for("chat.postMessage")
    assert hr["channel"] == "CHR" and HR_TITLE in slack_visible(hr) and "does not cover" not in hr["text"]

    for n, channel in enumerate(["CGENERAL", "CHR2"], start=2):
        assert post(server, event_body(mention(SALARY, channel=channel, ts=f"170000000{n}.000100"), f"Ev{n}"))[0] == 200
    replies = api.wait_for("chat.postMessage", 3)[1:]
    assert sorted(r["channel"] for r in replies) == ["CGENERAL", "CHR2"]
    for reply in replies:
        assert "does not cover" in reply["text"]
        assert not any(hidden.lower() in slack_visible(reply).lower() for hidden in HIDDEN)


def test_slack_direct_messages_see_what_dm_allows(slack):
    api, server = slack
    dm = {
        "type": "message",
        "channel_type": "im",
        "user": "U1",
        "text": SALARY,
        "ts": "1700000009.000100",
        "channel": "D1",
    }
    assert post(server, event_body(dm, "EvDM"))[0] == 200
    [reply] = api.wait_for("chat.postMessage")
    assert reply["channel"] == "D1" and "does not cover" in reply["text"]
    assert not any(hidden.lower() in slack_visible(reply).lower() for hidden in HIDDEN)


@pytest.fixture
def teams(scoped):
    with served(scoped) as (connector, server):
        yield connector, server


def ask_teams(server, connector, text: str, *, team: str | None, n: int) -> dict:
    """One question in a team's channel (or, without a team, a personal chat); the message reply."""
    if not team:
        return turn(server, connector, text, conversation_id=f"a:personal-{n}", activity_id=f"17000001{n:05d}")
    in_team = {"conversation_type": "channel", "conversation_id": f"19:c{n}@thread.tacv2;messageid=17000001{n:05d}"}
    return turn(server, connector, text, mention=True, team=team, activity_id=f"17000001{n:05d}", **in_team)


def test_teams_cites_the_hr_document_only_in_the_mapped_team(teams):
    connector, server = teams
    hr = ask_teams(server, connector, SALARY, team="19:hr-team@thread.tacv2", n=1)
    assert HR_TITLE in json.dumps(hr) and "does not cover" not in hr["text"]
    for n, team in enumerate(["19:other-team@thread.tacv2", None], start=2):
        reply = ask_teams(server, connector, SALARY, team=team, n=n)
        assert "does not cover" in reply["text"]
        assert not any(hidden.lower() in json.dumps(reply).lower() for hidden in HIDDEN)


# -- the terminal -------------------------------------------------------------------------------


def test_the_terminal_sees_everything_and_place_answers_as_a_channel_would(scoped, monkeypatch, capsys):
    assert main(["ask", "--json", SALARY], runtime=scoped) == 0
    assert json.loads(capsys.readouterr().out)["sources"][0]["title"] == HR_TITLE
    assert main(["ask", "--json", "--place", "slack:CGENERAL", SALARY], runtime=scoped) == 0
    declined = json.loads(capsys.readouterr().out)
    assert declined["status"] == "no_answer" and HR_TITLE not in json.dumps(declined)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{SALARY}\n"))
    assert main(["ask", "--json", "--place", "slack:CHR", "-"], runtime=scoped) == 0
    assert json.loads(capsys.readouterr().out)["sources"][0]["title"] == HR_TITLE


def test_chat_with_a_place_sees_what_that_place_sees(scoped, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{SALARY}\n"))  # then end of input: the chat ends
    assert main(["chat", "--place", "teams:personal"], runtime=scoped) == 0
    out = capsys.readouterr().out
    assert "does not cover" in out and HR_TITLE not in out


def test_a_place_that_is_not_one_is_a_usage_error(scoped, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["ask", "--place", "CHR", SALARY], runtime=scoped)
    assert exit_.value.code == 2 and "slack:CHANNEL_ID" in capsys.readouterr().err


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("slack: [CHR, hr]\n", "'slack' must map ids"),
        ("slack:\n  CHR: [hr\n", "not valid YAML"),
        ("slcak:\n  CHR: [hr]\n", "unknown key 'slcak'"),
        ("teams:\n  19:team: {hr: yes}\n", "must be a list of audiences"),
        (None, "does not exist"),
    ],
    ids=["not-a-mapping", "bad-yaml", "typo", "not-a-list", "missing"],
)
def test_a_broken_audiences_file_stops_with_exit_2_naming_the_file(
    scoped, tmp_path, monkeypatch, capsys, content, problem
):
    path = tmp_path / "audiences.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    monkeypatch.setenv("ADOPTBOT_AUDIENCES_FILE", str(path))
    monkeypatch.setenv("ADOPTBOT_DATA_DIR", str(scoped.settings.data_dir))
    if content is None:  # a missing file is a bad setting: refused with the others at start-up, before any work
        assert main(["ask", SALARY]) == 2
    else:
        runtime = Runtime(Settings.from_env(), embedder=scoped.embedder, store=scoped.store)
        assert main(["ask", SALARY], runtime=runtime) == 2
    err = capsys.readouterr().err
    assert str(path) in err and problem in err


def test_a_broken_audiences_file_stops_serve_before_it_listens(scoped, tmp_path, capsys):
    path = tmp_path / "audiences.yaml"
    path.write_text("dm: {hr: true}\n", encoding="utf-8")
    settings = dataclasses.replace(scoped.settings, audiences_file=str(path))
    runtime = Runtime(settings, embedder=scoped.embedder, store=scoped.store)
    assert main(["serve", "--teams"], runtime=runtime) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "'dm' must be a list" in err


def test_the_default_audiences_file_lives_in_the_data_directory(tmp_path: Path):
    assert Settings(data_dir=tmp_path).audiences_path == tmp_path / "audiences.yaml"


def test_the_readme_example_is_a_valid_audiences_file():
    from bot.audiences import parse

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = readme.split("### Audiences", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    audiences = parse(example)
    assert audiences.scope("slack:C0123ABCD") == {"hr", "managers"}
    assert audiences.scope("teams:19:abc123@thread.tacv2") == {"hr"}
    assert audiences.scope("slack:D042") == audiences.scope("teams:personal") == {"managers"}
    assert audiences.scope("slack:COTHER") == audiences.scope("teams:") == frozenset()


def test_the_ask_slash_command_sees_what_its_channel_sees(slack):
    api, server = slack
    for n, channel in enumerate(["CHR", "CGENERAL"], start=1):
        body = command_body(f"ask {SALARY}", user="U1", response_url=f"{api.url}/response/{n}", channel=channel)
        assert post(server, body, content_type=FORM)[0] == 200
    [hr] = api.wait_for("response/1")
    [general] = api.wait_for("response/2")
    assert HR_TITLE in slack_visible(hr) and "does not cover" not in hr["text"]
    assert "does not cover" in general["text"]
    assert not any(hidden.lower() in slack_visible(general).lower() for hidden in HIDDEN)


# -- checklists follow the same rule ------------------------------------------------------------

HR_ITEM = "Compare every salary with its band"


def slash(server, api, text: str, *, channel: str, n: int) -> dict:
    """A signed /adoptbot command from U1 in channel: its immediate reply."""
    body = command_body(text, user="U1", response_url=f"{api.url}/response/cl{n}", channel=channel)
    status, _, answer = post(server, body, content_type=FORM)
    assert status == 200
    return json.loads(answer)


def test_slack_offers_an_hr_checklist_only_in_the_hr_channel(slack, scoped):
    api, server = slack
    # A project of the HR checklist in C1 (posted from the terminal, or before the audiences file changed).
    assert main(["checklist", "pay-review", "pay round", "--channel", "C1", "--tick", "1"], runtime=scoped) == 0
    listed = slash(server, api, "checklist", channel="C1", n=1)
    assert "launch" in listed["text"]
    shown = slash(server, api, "checklist pay-review", channel="C1", n=2)
    posted = slash(server, api, "checklist pay-review pay round", channel="C1", n=3)
    status = slash(server, api, "checklist status", channel="C1", n=4)
    export = slash(server, api, "checklist export pay round", channel="C1", n=5)
    for reply in (listed, shown, posted, status, export):  # (what was typed is said back: 'pay-review' is not...)
        assert not any(hidden.lower() in slack_visible(reply).lower() for hidden in (*HIDDEN, HR_ITEM))
    assert "pay-review" not in listed["text"]
    assert "is not a checklist: use one of launch" in shown["text"] and "is not a checklist" in posted["text"]
    assert "No projects here yet" in status["text"] and "No project 'pay round' in this channel" in export["text"]
    assert api.called("chat.postMessage") == []  # nothing posted for the channel to see

    assert "pay-review" in slash(server, api, "checklist", channel="CHR", n=6)["text"]
    slash(server, api, "checklist pay-review pay round", channel="CHR", n=7)
    [hr] = api.wait_for("chat.postMessage")
    assert hr["channel"] == "CHR" and HR_ITEM in json.dumps(hr["blocks"])


def test_slack_refuses_a_tick_on_an_hr_checklist_from_another_channel(slack, scoped):
    api, server = slack
    before = len(scoped.tools.board.store.ticks("C1", "bonus round", "pay-review"))
    message = {"ts": "1700000000.000077", "blocks": []}  # a message posted before the audiences file changed
    body = action_body(action_id="checklist_tick", value="", user="U7", message=message,
                       response_url=api.url + "/r/t", kind="checkboxes",
                       block_id="cl|pay-review|0|bonus round",
                       selected=[{"value": "item-1", "text": {"type": "mrkdwn", "text": "1."}}])  # fmt: skip
    assert post(server, body, content_type=FORM)[0] == 200
    [told] = api.wait_for("chat.postEphemeral")
    assert (told["channel"], told["user"]) == ("C1", "U7") and "no longer offered here" in told["text"]
    assert "`/adoptbot checklist`" in told["text"]
    assert api.called("chat.update") == []  # the HR items are not shown to the channel
    assert len(scoped.tools.board.store.ticks("C1", "bonus round", "pay-review")) == before


def test_teams_offers_an_hr_checklist_only_where_hr_is_allowed(teams, scoped):
    connector, server = teams
    for n, team in ((41, "19:hr-team@thread.tacv2"), (44, None)):  # managers, and a personal chat
        listed = ask_teams(server, connector, "checklist", team=team, n=n)
        shown = ask_teams(server, connector, "checklist pay-review", team=team, n=n + 1)
        posted = ask_teams(server, connector, "checklist pay-review pay round", team=team, n=n + 2)
        for reply in (listed, shown, posted):
            assert not any(h.lower() in json.dumps(reply).lower() for h in (*HIDDEN, HR_ITEM))
        assert "launch" in listed["text"] and "pay-review" not in listed["text"]
        assert "is not a checklist" in posted["text"]
        assert "attachments" not in posted  # no checklist card


def test_teams_refuses_a_save_on_an_hr_checklist_where_hr_is_not_allowed(teams, scoped):
    connector, server = teams
    conversation = "19:c50@thread.tacv2;messageid=1700000150000"
    save = {"adoptbot": cards.CHECKLIST, "checklist": "pay-review", "project": "bonus round", "shown": [],
            f"{cards.ITEM_INPUT}item-1": "true"}  # fmt: skip
    activity = card_submit(save, reply_to_id="1700000150000", service_url=connector.url, conversation_type="channel",
                           conversation_id=conversation, expect_replies=True,
                           team="19:other-team@thread.tacv2")  # fmt: skip
    _, body = post_teams(server, activity)
    assert body is not None, "the Teams endpoint refused the save"
    [reply] = replies(body)
    assert "no longer offered here" in reply["text"] and "**checklist**" in reply["text"]
    assert connector.updates() == []
    assert scoped.tools.board.store.ticks("19:c50@thread.tacv2", "bonus round", "pay-review") == []


def test_the_terminal_sees_every_checklist_and_place_sees_what_that_place_sees(scoped, capsys):
    assert main(["checklist"], runtime=scoped) == 0
    assert "pay-review" in capsys.readouterr().out
    assert main(["checklist", "pay-review", "appraisal", "--channel", "CT", "--tick", "2"], runtime=scoped) == 0
    capsys.readouterr()
    assert main(["checklist", "--place", "slack:CT"], runtime=scoped) == 0
    assert "pay-review" not in capsys.readouterr().out
    assert main(["checklist", "pay-review", "--place", "teams:personal"], runtime=scoped) == 2
    assert "'pay-review' is not a checklist: use one of launch" in capsys.readouterr().err
    assert main(["checklist", "status", "--channel", "CT", "--place", "slack:CT"], runtime=scoped) == 0
    assert "appraisal" not in capsys.readouterr().out
    assert main(["checklist", "export", "appraisal", "--channel", "CT", "--place", "slack:CT"], runtime=scoped) == 2
    assert "No project 'appraisal'" in capsys.readouterr().err
    assert main(["checklist", "export", "appraisal", "--channel", "CT", "--place", "slack:CHR"], runtime=scoped) == 0
    assert "- [x] Record the market survey" in capsys.readouterr().out


def test_an_assessment_names_no_item_of_a_checklist_its_place_may_not_see(starter_runtime):
    checklists = {
        k: dataclasses.replace(c, audience=frozenset({"hr"})) if k == "pre-deployment" else c
        for k, c in load_checklists(REPO / "knowledge")[0].items()
    }
    assessor = Assessor(
        table=lambda: load_table(REPO / "knowledge/assessment.yaml"),
        retriever=starter_runtime.retriever,
        checklists=lambda: checklists,
        audiences=parse("slack: {CHR: [hr]}\n"),
    )
    session = assessor.session("We want product photos in twenty backgrounds for the web shop")
    hr = {r.checklist for r in assessor.assess(session, place="slack:CHR").checklist_risks}
    elsewhere = {r.checklist for r in assessor.assess(session, place="slack:C1").checklist_risks}
    assert "pre-deployment" in hr and elsewhere == hr - {"pre-deployment"}
