"""build_teams_endpoint(...): an AgentApplication whose thin handlers hand questions to the engine."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

from aiohttp import web

from bot import experts
from bot.answering import APOLOGY, Engine
from bot.audiences import teams_place
from bot.chat import Chat
from bot.errors import ConfigError, EmptyQuestion
from bot.feedback import VOTES, FeedbackStore
from bot.reindex import Reindexer
from bot.server import LogLimiter, refuse
from bot.settings import TEAMS_CLIENT_ID, Settings
from bot.teams import cards
from bot.types import Question, Turn

log = logging.getLogger(__name__)
HISTORY_TURNS = 6
COMMANDS = ("reindex", "status", "help")
SERVICE_URLS = "ADOPTBOT_TEAMS_SERVICE_URLS"
_REACHED = "adoptbot_token_checked"  # set on the request once the SDK's token check has let it through


def teams_sdk_config(settings: Settings) -> dict[str, Any]:
    """The Agents SDK configuration from its own CONNECTIONS__... variables; fail fast when incomplete."""
    from microsoft_agents.activity import load_configuration_from_env

    env = dict(settings.teams_sdk_env)
    prefix = TEAMS_CLIENT_ID.rsplit("__", 1)[0] + "__"
    if env.get(TEAMS_CLIENT_ID):
        if not env.get(prefix + "AUTHTYPE"):  # client secret, the default
            missing = [prefix + k for k in ("CLIENTSECRET", "TENANTID") if not env.get(prefix + k)]
            if missing:
                raise ConfigError(
                    f"{' and '.join(missing)} must be set with {TEAMS_CLIENT_ID}: find them in the Azure portal "
                    "under your Azure Bot -> Configuration -> Manage Password (client secret, tenant id)."
                )
    elif settings.teams_allow_anonymous:
        env = {prefix + "ANONYMOUS_ALLOWED": "true"}
    else:
        raise ConfigError(
            f"Teams needs {TEAMS_CLIENT_ID} (the Azure Bot's Microsoft App ID) with "
            f"{prefix}CLIENTSECRET and {prefix}TENANTID; see the README, 'Connect to Teams'. "
            "For local development only, ADOPTBOT_TEAMS_ALLOW_ANONYMOUS=true accepts unauthenticated requests."
        )
    return load_configuration_from_env(env)


class Recent:
    """A bounded map of the most recent items (replies sent, by feedback id)."""

    def __init__(self, size: int = 2_000) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: str) -> Any:
        with self._lock:
            return self._items.get(key)


class Conversations:
    """Earlier turns per conversation (a 1:1 chat, or one reply chain of a channel)."""

    def __init__(self, size: int = 5_000) -> None:
        self._turns: OrderedDict[str, list[Turn]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def history(self, conversation_id: str) -> tuple[Turn, ...]:
        with self._lock:
            return tuple(self._turns.get(conversation_id, ()))

    def add(self, conversation_id: str, question: str, answer: str) -> None:
        with self._lock:
            turns = self._turns.setdefault(conversation_id, [])
            turns += [Turn("user", question), Turn("assistant", answer)]
            del turns[: -HISTORY_TURNS * 2]
            self._turns.move_to_end(conversation_id)
            while len(self._turns) > self._size:
                self._turns.popitem(last=False)


@dataclass
class TeamsAssistant:
    """What the handlers need; answers run on a bounded pool, off the event loop."""

    engine: Engine
    feedback: FeedbackStore
    reindexer: Reindexer
    index_info: Any
    settings: Settings
    pool: ThreadPoolExecutor
    conversations: Conversations
    adapter: Any = None
    pending: set[asyncio.Task] = field(default_factory=set)
    sent: Recent = field(default_factory=Recent)

    async def on_message(self, context: Any) -> None:
        activity = context.activity
        if isinstance(activity.value, dict) and activity.value.get("adoptbot") == cards.FEEDBACK:
            await self._vote(context, activity.value)
            return
        personal = (activity.conversation.conversation_type or "personal") == "personal"
        if not personal and not activity.is_recipient_mentioned():
            return  # in channels and group chats, only messages that @mention the assistant
        text = (activity.remove_recipient_mention() or "").strip()
        command = text.lower().strip(" .!?")
        if command in COMMANDS:
            await self._command(context, command)
            return
        await context.send_activity(_typing())
        await self._answer(context, text)

    async def _answer(self, context: Any, text: str) -> None:
        activity = context.activity
        conversation_id = activity.conversation.id
        question = Question(
            text,
            history=self.conversations.history(conversation_id),
            user=activity.from_property.aad_object_id or activity.from_property.id or "",
            place=teams_place(activity.conversation.conversation_type, activity.channel_data),
        )
        loop = asyncio.get_running_loop()
        link = _message_link(activity) if self.settings.teams_experts_channel else ""
        future = loop.run_in_executor(
            self.pool, self._compute, question, conversation_id, _channel_kind(activity), link
        )
        expect_replies = activity.delivery_mode == "expectReplies"
        reference = (context.identity, activity.get_conversation_reference())
        try:
            reply = await (
                future if expect_replies else asyncio.wait_for(asyncio.shield(future), self.settings.teams_inline_s)
            )
        except TimeoutError:
            # Teams drops a turn after 15 s: acknowledge now, send the answer when it is ready.
            await context.send_activity("Still working on that; the answer will follow shortly.")
            task = asyncio.create_task(self._reply_later(reference, future))
            self.pending.add(task)  # keep a reference until it is done
            task.add_done_callback(self.pending.discard)
            return
        await context.send_activity(reply.activity)
        await self._tell_experts(reference, reply.forward)

    def _compute(self, question: Question, conversation_id: str, channel_kind: str, link: str = "") -> Reply:
        """The reply activity for a question, and what to tell the experts (runs on the pool)."""
        from microsoft_agents.activity import Activity

        try:
            answer = self.engine.answer(question)
        except EmptyQuestion:
            return Reply(Activity(type="message", text=cards.help_text()))
        except Exception:
            log.exception("answering a Teams message failed")
            return Reply(Activity(type="message", text=APOLOGY))
        self.conversations.add(conversation_id, question.text, answer.text)
        feedback_id = self.feedback.record_answer("teams", answer, channel_kind=channel_kind, user=question.user)
        if answer.status == "smalltalk":
            return Reply(Activity(type="message", text=answer.text))  # no sources, no feedback buttons
        reply = cards.answer_activity(answer, feedback_id)
        self.sent.put(feedback_id, reply)
        forward = ""
        if answer.status == "no_answer":
            forward = experts.declined(answer.question, [c.title for c in answer.related], link)
        return Reply(Activity.model_validate(reply), forward)

    async def _reply_later(self, reference: tuple[Any, Any], future: asyncio.Future) -> None:
        reply = await future
        await self._send_later(reference, reply.activity)
        await self._tell_experts(reference, reply.forward)

    async def _tell_experts(self, reference: tuple[Any, Any], text: str) -> None:
        """Post to the experts' channel, if one is set, in the same tenant as the conversation."""
        channel = self.settings.teams_experts_channel
        if not channel or not text:
            return
        from microsoft_agents.activity import ConversationAccount

        identity, conversation = reference
        there = conversation.model_copy(
            update={"conversation": ConversationAccount(id=channel, conversation_type="channel"), "activity_id": None}
        )
        await self._send_later((identity, there), text)

    async def _send_later(self, reference: tuple[Any, Any], reply: Any) -> None:
        """Send outside the original turn (proactively), to the same conversation, as the same identity."""
        identity, conversation = reference

        async def send(context: Any) -> None:
            await context.send_activity(reply)

        try:
            await self.adapter.continue_conversation_with_claims(
                identity, conversation.get_continuation_activity(), send
            )
        except Exception:
            log.exception("could not deliver a message proactively to %s", conversation.conversation.id)

    async def _command(self, context: Any, command: str) -> None:
        if command == "help":
            await context.send_activity(cards.help_text())
        elif command == "status":
            info = await asyncio.get_running_loop().run_in_executor(None, self.index_info)
            await context.send_activity(cards.status_text(info, self.engine.describe_backend()))
        else:
            await self._reindex(context)

    async def _reindex(self, context: Any) -> None:
        user = context.activity.from_property
        if (user.aad_object_id or "") not in self.settings.teams_admin_ids:
            log.warning("reindex refused for non-admin Teams user %s (%s)", user.aad_object_id, user.name)
            await context.send_activity(
                "Sorry, only knowledge base editors can reindex. Ask an editor, or an "
                "admin to add you to ADOPTBOT_TEAMS_ADMINS."
            )
            return
        loop = asyncio.get_running_loop()
        reference = (context.identity, context.activity.get_conversation_reference())

        def done(summary: Any, error: Exception | None) -> None:
            asyncio.run_coroutine_threadsafe(self._send_later(reference, cards.reindex_text(summary, error)), loop)

        if not self.reindexer.start(done, requested_by=f"teams:{user.aad_object_id}"):
            await context.send_activity("A reindex is already running; its summary will follow here.")
            return
        await context.send_activity("Reindexing the knowledge base; I'll post a summary here.")

    async def _vote(self, context: Any, value: dict[str, Any]) -> None:
        vote, answer_id = value.get("vote"), str(value.get("answer_id", ""))
        user = context.activity.from_property
        if vote not in VOTES or not self.feedback.record_vote(answer_id, user.aad_object_id or user.id or "", vote):
            log.warning("ignored feedback %r for answer %r", vote, answer_id)
            return
        from microsoft_agents.activity import Activity

        answered = self.feedback.answer(answer_id) if vote == "not_helpful" else None
        if answered is not None:
            sources = [f"{s['title']} - {s['section']}" for s in answered["sources"]]
            link = _message_link(context.activity, context.activity.reply_to_id)
            text = experts.not_helpful(answered["question"], answered["answer"], sources, link)
            await self._tell_experts((context.identity, context.activity.get_conversation_reference()), text)
        original, message_id = self.sent.get(answer_id), context.activity.reply_to_id
        if original is not None and message_id:
            # Like Slack: the answer stays, its buttons give way to a thank-you.
            updated = Activity.model_validate({**cards.thanked(original, vote), "id": message_id})
            try:
                await context.update_activity(updated)
                return
            except Exception as e:  # noqa: BLE001 - a thank-you message does as well
                log.info("could not update the answer card (%s); thanking in a message", e)
        await context.send_activity(cards.thanks(vote))


@dataclass(frozen=True)
class Reply:
    """What answering a message produced: the reply, and a note for the experts' channel (or nothing)."""

    activity: Any
    forward: str = ""


def _message_link(activity: Any, message_id: str | None = None) -> str:
    """A Teams link to a message in a channel thread; nothing for chats (experts cannot open them)."""
    conversation = activity.conversation.id or ""
    if (activity.conversation.conversation_type or "personal") != "channel":
        return ""
    thread = conversation.split(";messageid=")[0]
    message = message_id or activity.id or ""
    return f"https://teams.microsoft.com/l/message/{quote(thread, safe='')}/{quote(message, safe='')}"


def _channel_kind(activity: Any) -> str:
    """The audit log's channel kind: a 1:1 chat, a reply chain of a channel, or a channel or group chat."""
    kind = activity.conversation.conversation_type or "personal"
    if kind == "personal":
        return "dm"
    return "thread" if ";messageid=" in (activity.conversation.id or "") else "channel"


def _typing() -> Any:
    from microsoft_agents.activity import Activity

    return Activity(type="typing")


def token_problem(authorization: str | None) -> str | None:
    """Why a bearer token cannot be a Bot Framework token, judged from its header alone (None: let the SDK check it).

    The SDK fails with a KeyError on a token without a key id, and fetches Microsoft's signing keys for any other;
    a token that can never verify is refused here, without a network call.
    """
    from jwt import PyJWTError, get_unverified_header

    scheme, _, token = (authorization or "").strip().partition(" ")
    if authorization is None or scheme.lower() != "bearer" or not token.strip():
        return None  # no token, or not a bearer one: the SDK answers (anonymous mode, or 401)
    try:
        header = get_unverified_header(token.strip())
    except PyJWTError:
        return "not a JWT"
    if header.get("alg") != "RS256":
        return "not signed with RS256"
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        return "no key id (kid)"
    return None


def parse_service_urls(value: str) -> tuple[SplitResult, ...]:
    """ADOPTBOT_TEAMS_SERVICE_URLS: comma-separated http(s) URL prefixes; a ConfigError for anything else."""
    prefixes = []
    for raw in (x.strip() for x in value.split(",")):
        if not raw:
            continue
        try:
            url = urlsplit(raw)
            _ = url.port  # raises ValueError for a port that is not a number
        except ValueError:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.hostname or url.query or url.fragment:
            raise ConfigError(
                f"{SERVICE_URLS} holds {raw!r}, which is not a URL prefix such as https://relay.example.com/teams/ "
                "(comma-separated, http or https, no query)."
            )
        prefixes.append(url)
    return tuple(prefixes)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def service_url_allowed(service_url: str | None, prefixes: Sequence[SplitResult]) -> bool:
    """In anonymous mode replies may go only to this machine (loopback) or to an allowed prefix."""
    try:
        url = urlsplit(service_url or "")
        host, port = (url.hostname or "").lower(), url.port
    except ValueError:  # an unparseable host or port
        return False
    if url.scheme not in ("http", "https") or not host or url.username is not None:
        return False
    if host == "localhost" or _is_loopback(host):
        return True
    for prefix in prefixes:
        path = prefix.path if prefix.path.endswith("/") else prefix.path + "/"
        if (
            url.scheme == prefix.scheme
            and host == prefix.hostname
            and (port or _DEFAULT_PORTS[url.scheme]) == (prefix.port or _DEFAULT_PORTS[prefix.scheme])
            and (url.path + "/").startswith(path)
        ):
            return True
    return False


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TeamsEndpoint:
    """POST /api/messages and the authentication configuration its JWT check uses."""

    handler: Any
    auth_config: Any


def guard_token_check(checked: Callable[[web.Request], Any], refusals: LogLimiter) -> Callable[[web.Request], Any]:
    """Wrap the SDK's token check so that any failure of it is a 401 with a short body, never a 500."""

    async def endpoint(request: web.Request) -> web.StreamResponse:
        problem = token_problem(request.headers.get("Authorization"))
        if problem:
            refusals.warning("Teams request from %s refused (401): %s", request.remote, problem)
            return refuse(401, f"invalid token: {problem}")
        try:
            return await checked(request)
        except Exception as e:
            if request.get(_REACHED):
                raise  # past the token check: not an authentication failure
            refusals.warning(
                "Teams request from %s refused (401): token check failed (%s)", request.remote, type(e).__name__
            )
            return refuse(401, "invalid token")

    return endpoint


def build_teams_endpoint(*, settings: Settings, chat: Chat) -> TeamsEndpoint:
    """The Agents SDK app (CloudAdapter, AgentApplication) with thin handlers, behind a JWT check."""
    from microsoft_agents.activity import Activity
    from microsoft_agents.authentication.msal import MsalConnectionManager
    from microsoft_agents.hosting.aiohttp import CloudAdapter, jwt_authorization_decorator, start_agent_process
    from microsoft_agents.hosting.core import AgentApplication, Authorization, MemoryStorage, TurnState
    from pydantic import ValidationError

    config = teams_sdk_config(settings)
    anonymous = not settings.teams_client_id
    allowed_prefixes = parse_service_urls(settings.teams_service_urls)
    if anonymous:
        log.warning("!" * 72)
        log.warning("Teams: ANONYMOUS requests are accepted (ADOPTBOT_TEAMS_ALLOW_ANONYMOUS=true).")
        log.warning("Never run like this where the endpoint is reachable from outside this machine.")
        log.warning("Replies go only to loopback service URLs%s.", f" and {SERVICE_URLS}" if allowed_prefixes else "")
        log.warning("!" * 72)
    connections = MsalConnectionManager(**config)
    storage = MemoryStorage()
    adapter = CloudAdapter(connection_manager=connections)
    agent = AgentApplication[TurnState](
        storage=storage, adapter=adapter, authorization=Authorization(storage, connections, **config), **config
    )
    assistant = TeamsAssistant(
        engine=chat.engine,
        feedback=chat.feedback,
        reindexer=chat.reindexer,
        index_info=chat.index_info,
        settings=settings,
        pool=ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="teams-answer"),
        conversations=Conversations(),
        adapter=adapter,
    )
    refusals = LogLimiter(log)

    @agent.activity("message")
    async def handle_message(context: Any, _state: Any) -> None:
        await assistant.on_message(context)

    @agent.error
    async def handle_error(context: Any, error: Exception) -> None:
        log.error("Teams turn failed: %s", error, exc_info=error)
        await context.send_activity(APOLOGY)

    async def messages(request: web.Request) -> web.StreamResponse:
        request[_REACHED] = True
        # A malformed activity is the sender's mistake: 400, not a crash.
        try:
            activity = Activity.model_validate(json.loads(await request.read()))
        except (ValueError, ValidationError) as e:
            refusals.warning("Teams request from %s refused (400): not a valid activity", request.remote)
            return refuse(400, f"not a valid activity: {type(e).__name__}")
        if not (activity.type and activity.conversation and activity.conversation.id):
            return refuse(400, "not a valid activity: it needs a type and a conversation.id")
        if anonymous and not service_url_allowed(activity.service_url, allowed_prefixes):
            # Unauthenticated, the request could name any address for the replies to go to.
            refusals.warning(
                "Teams request from %s refused (403): serviceUrl %.200r", request.remote, activity.service_url
            )
            return refuse(
                403,
                f"serviceUrl not allowed in anonymous mode: only loopback addresses, or the prefixes in {SERVICE_URLS}",
            )
        return await start_agent_process(request, agent, adapter)

    return TeamsEndpoint(
        handler=guard_token_check(jwt_authorization_decorator(messages), refusals),
        auth_config=connections.get_default_connection_configuration(),
    )
