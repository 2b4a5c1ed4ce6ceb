"""Teams over real HTTP: activities posted to /api/messages as Teams sends them."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import urllib.error
import urllib.request

import pytest

from bot.runtime import Runtime
from bot.server import build_web_app
from bot.settings import TEAMS_CLIENT_ID
from tests.conftest import REPO
from tests.fake_connector import FakeConnector, teams_activity
from tests.web import BackgroundServer

ADMIN = "aad-admin"


@pytest.fixture(scope="module")
def teams_runtime(tmp_path_factory, real_embedder, starter_runtime):
    tmp = tmp_path_factory.mktemp("teams")
    shutil.copytree(REPO / "knowledge", tmp / "knowledge")
    settings = dataclasses.replace(
        starter_runtime.settings,
        data_dir=tmp / "data",
        knowledge_dir=tmp / "knowledge",
        teams_allow_anonymous=True,
        teams_admins=ADMIN,
        workers=2,
    )
    runtime = Runtime(settings, embedder=real_embedder, answerers=starter_runtime.answerers)
    runtime.ingest(progress=False)
    return runtime


@pytest.fixture
def teams(teams_runtime):
    connector = FakeConnector()
    server = BackgroundServer(build_web_app(index_info=teams_runtime.index_info, teams=teams_runtime.teams_endpoint()))
    yield connector, server, teams_runtime
    server.close()
    connector.close()


def post(server, payload, headers: dict | None = None) -> tuple[int, dict | None]:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(
        server.url + "/api/messages", data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, None


def replies(body: dict) -> list[dict]:
    return [a for a in body["activities"] if a["type"] == "message"]


def test_personal_question_is_answered_with_citations_and_a_sources_card(teams):
    connector, server, _ = teams
    status, body = post(server, teams_activity("How does a GAN work?", service_url=connector.url, expect_replies=True))
    assert status == 200
    assert body["activities"][0]["type"] == "typing"
    [reply] = replies(body)
    assert "discriminator" in reply["text"]
    [entity] = [e for e in reply["entities"] if e.get("@type") == "Message"]
    assert entity["additionalType"] == ["AIGeneratedContent"]
    positions = {c["position"] for c in entity["citation"]}
    assert positions == {int(n) for n in re.findall(r"\[(\d+)\]", reply["text"])}
    claim = entity["citation"][0]
    assert claim["@type"] == "Claim" and claim["appearance"]["name"] == "Generative model architectures"
    assert "reviewed 2026-11-20" in claim["appearance"]["abstract"]
    [card] = reply["attachments"]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [b["text"] for b in card["content"]["body"]]
    assert texts[0] == "Sources" and "Generative adversarial networks (GANs)" in texts[1]
    assert [a["data"]["vote"] for a in card["content"]["actions"]] == ["helpful", "not_helpful"]
    assert connector.posts == []  # expectReplies: everything came back in the response


def test_channel_mention_is_stripped_and_answered_through_the_connector(teams):
    connector, server, _ = teams
    conversation = "19:channel@thread.tacv2;messageid=1700000000002"
    status, _ = post(
        server,
        teams_activity(
            "What is on the pre-deployment checklist?",
            service_url=connector.url,
            conversation_type="channel",
            conversation_id=conversation,
            mention=True,
            activity_id="1700000000002",
        ),
    )
    assert status in (200, 202)
    [(path, reply)] = connector.wait_for_messages()
    assert path.startswith("/v3/conversations/19:channel@thread.tacv2;messageid=1700000000002/activities")
    assert reply["replyToId"] == "1700000000002"
    assert "has 7 items" in reply["text"] and "<at>" not in reply["text"]
    assert connector.posts[0][1]["type"] == "typing"  # the typing indicator came first


def test_channel_message_without_a_mention_is_ignored(teams):
    connector, server, _ = teams
    status, _ = post(
        server,
        teams_activity(
            "What is a GAN?", service_url=connector.url, conversation_type="channel", conversation_id="19:c;messageid=9"
        ),
    )
    assert status in (200, 202)
    assert connector.posts == []


def test_follow_up_in_a_personal_chat_uses_earlier_turns(teams):
    connector, server, _ = teams
    post(
        server,
        teams_activity(
            "Can generative models be biased?",
            service_url=connector.url,
            conversation_id="a:follow-up",
            expect_replies=True,
        ),
    )
    _, body = post(
        server,
        teams_activity(
            "and for images?", service_url=connector.url, conversation_id="a:follow-up", expect_replies=True
        ),
    )
    assert "visual stereotypes" in replies(body)[0]["text"]


def test_uncovered_question_says_so_and_names_a_person(teams):
    connector, server, _ = teams
    _, body = post(
        server, teams_activity("How do I reset my VPN password?", service_url=connector.url, expect_replies=True)
    )
    [reply] = replies(body)
    assert "does not cover" in reply["text"] and "#ai-coe" in reply["text"]
    card = reply["attachments"][0]["content"]
    assert any(b["text"] == "Nearest topics" for b in card["body"])


def test_reindex_is_refused_for_a_non_admin_and_runs_for_an_admin(teams, caplog):
    connector, server, runtime = teams
    _, body = post(server, teams_activity("reindex", service_url=connector.url, expect_replies=True))
    assert "only knowledge base editors" in replies(body)[0]["text"]
    assert any("reindex refused" in r.getMessage() for r in caplog.records)

    (runtime.settings.knowledge_dir / "guidance/teams-note.md").write_text(
        "---\ntitle: Teams rollout notes\nowner: IT\nlast_reviewed: 2026-11-27\n---\n\n## Pilot\n\nPilot first.\n"
    )
    status, _ = post(server, teams_activity("reindex", service_url=connector.url, aad_object_id=ADMIN))
    assert status in (200, 202)
    messages = connector.wait_for_messages(2)
    assert "Reindexing" in messages[0][1]["text"]
    assert "Reindex finished" in messages[1][1]["text"] and "teams-note.md" in messages[1][1]["text"]


def test_status_and_help(teams):
    connector, server, _ = teams
    _, body = post(server, teams_activity("status", service_url=connector.url, expect_replies=True))
    assert "documents" in replies(body)[0]["text"]
    _, body = post(server, teams_activity("help", service_url=connector.url, expect_replies=True))
    assert "reindex" in replies(body)[0]["text"]


def test_feedback_is_recorded_in_the_shared_store(teams):
    connector, server, runtime = teams
    _, body = post(server, teams_activity("What is RLHF?", service_url=connector.url, expect_replies=True))
    action = replies(body)[0]["attachments"][0]["content"]["actions"][1]
    submit = teams_activity("", service_url=connector.url, value=action["data"])  # a card click: normal delivery
    submit["replyToId"] = "reply-card-1"
    post(server, submit)
    [(path, card_update)] = [(p, b) for p, b in connector.posts if p.startswith("PUT ")]
    assert path.endswith("/activities/reply-card-1")
    card = card_update["attachments"][0]["content"]
    assert "actions" not in card and "editors will look" in card["body"][-1]["text"]
    assert card_update["entities"][0]["additionalType"] == ["AIGeneratedContent"]  # the answer itself stays
    # Where the card cannot be updated (no message id, or no connector under expectReplies): a message.
    _, body = post(
        server,
        teams_activity("", service_url=connector.url, expect_replies=True, value={**action["data"], "vote": "helpful"}),
    )
    assert "Thanks" in replies(body)[0]["text"]
    [vote] = [v for v in runtime.feedback.votes() if v["answer_id"] == action["data"]["answer_id"]]
    user = runtime.feedback.user_hash("aad-user-1")
    assert vote["vote"] == "helpful" and vote["user"] == user and vote["platform"] == "teams"  # changed mind
    assert vote["question"] == "What is RLHF?" and vote["sources"]


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[]",
        json.dumps({"type": "message"}).encode(),
        json.dumps({"type": 5, "conversation": "x"}).encode(),
    ],
    ids=["not-json", "not-an-object", "no-conversation", "wrong-types"],
)
def test_malformed_activities_get_400_and_the_server_keeps_working(teams, payload):
    connector, server, _ = teams
    assert post(server, payload)[0] == 400
    status, body = post(server, teams_activity("What is a VAE?", service_url=connector.url, expect_replies=True))
    assert status == 200 and "latent" in replies(body)[0]["text"]


def test_unauthenticated_requests_are_rejected_when_credentials_are_configured(teams_runtime):
    prefix = TEAMS_CLIENT_ID.rsplit("__", 1)[0] + "__"
    settings = dataclasses.replace(
        teams_runtime.settings,
        teams_allow_anonymous=False,
        teams_sdk_env=(
            (TEAMS_CLIENT_ID, "00000000-0000-0000-0000-000000000001"),
            (prefix + "CLIENTSECRET", "secret"),
            (prefix + "TENANTID", "tenant-1"),
        ),
    )
    runtime = Runtime(
        settings, embedder=teams_runtime.embedder, store=teams_runtime.store, answerers=teams_runtime.answerers
    )
    connector = FakeConnector()
    server = BackgroundServer(build_web_app(index_info=runtime.index_info, teams=runtime.teams_endpoint()))
    try:
        activity = teams_activity("What is a GAN?", service_url=connector.url, expect_replies=True)
        assert post(server, activity)[0] == 401
        assert post(server, activity, headers={"Authorization": "Basic abc"})[0] == 401
        assert connector.posts == []
    finally:
        server.close()
        connector.close()


def test_missing_teams_configuration_names_the_variable(teams_runtime):
    from bot.errors import ConfigError

    settings = dataclasses.replace(teams_runtime.settings, teams_allow_anonymous=False, teams_sdk_env=())
    with pytest.raises(ConfigError, match=TEAMS_CLIENT_ID):
        Runtime(settings, embedder=teams_runtime.embedder, store=teams_runtime.store).teams_endpoint()
    settings = dataclasses.replace(settings, teams_sdk_env=((TEAMS_CLIENT_ID, "abc"),))
    with pytest.raises(ConfigError, match="CLIENTSECRET"):
        Runtime(settings, embedder=teams_runtime.embedder, store=teams_runtime.store).teams_endpoint()


def test_a_slow_answer_is_delivered_proactively_after_a_holding_reply(teams_runtime):
    settings = dataclasses.replace(teams_runtime.settings, teams_inline_s=0.0)
    runtime = Runtime(
        settings, embedder=teams_runtime.embedder, store=teams_runtime.store, answerers=teams_runtime.answerers
    )
    connector = FakeConnector()
    server = BackgroundServer(build_web_app(index_info=runtime.index_info, teams=runtime.teams_endpoint()))
    try:
        status, _ = post(server, teams_activity("How does a GAN work?", service_url=connector.url))
        assert status in (200, 202)
        holding, (path, answer) = connector.wait_for_messages(2)
        assert "Still working" in holding[1]["text"]
        assert path.startswith("/v3/conversations/a:1on1-conversation/activities")
        assert "discriminator" in answer["text"] and answer["entities"]
    finally:
        server.close()
        connector.close()


def test_teams_package_holds_the_filled_manifest_and_icons(tmp_path, capsys):
    import zipfile

    from bot.cli import main

    out = tmp_path / "app.zip"
    app_id = "0e6f3c2a-1b2c-4d5e-8f90-123456789abc"
    assert main(["teams-package", "--app-id", app_id, "--out", str(out)], runtime=None) == 0
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(zf.read("manifest.json"))
        assert zf.read("color.png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert manifest["id"] == app_id and manifest["bots"][0]["botId"] == app_id
    assert "{{" not in json.dumps(manifest)
    assert {c["title"] for c in manifest["bots"][0]["commandLists"][0]["commands"]} == {"help", "status", "reindex"}
    assert main(["teams-package", "--app-id", "not-a-guid", "--out", str(out)], runtime=None) == 2
    assert "Microsoft App ID" in capsys.readouterr().err
