"""build_teams_endpoint(...): the Agents SDK app whose thin handlers hand activities to the Teams assistant."""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

from aiohttp import web

from bot.answering.engine import APOLOGY
from bot.chat import Chat
from bot.teams import cards
from bot.teams.assistant import TeamsAssistant
from bot.teams.conversations import Conversations
from bot.web.refusals import LogLimiter, refuse
from common.errors import ConfigError
from common.settings import TEAMS_CLIENT_ID, Settings

if TYPE_CHECKING:
    from microsoft_agents.hosting.core import Storage

log = logging.getLogger(__name__)
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


def database_storage(chat: Chat) -> Storage:
    """The Agents SDK Storage in the chat core's database (the data directory's SQLite file, or PostgreSQL)."""
    from microsoft_agents.hosting.core import MemoryStorage

    from bot.state.kv import DatabaseState
    from bot.teams.storage import DatabaseStorage

    database = getattr(chat.feedback, "database", None)
    if database is None:  # the feedback store could not open the data directory, and said so
        log.warning("Teams conversation state is kept in memory: follow-ups and votes on answers end with a restart.")
        return MemoryStorage()
    return DatabaseStorage(DatabaseState(database), prefix="teams/")


def build_teams_endpoint(*, settings: Settings, chat: Chat, storage: Storage | None = None) -> TeamsEndpoint:
    """The Agents SDK app (CloudAdapter, AgentApplication) with thin handlers, behind a JWT check.

    `storage` keeps the SDK's turn state and the assistant's conversation state, so follow-ups and votes on
    earlier answers survive a restart (default: `database_storage(chat)`).
    """
    from microsoft_agents.activity import Activity
    from microsoft_agents.authentication.msal import MsalConnectionManager
    from microsoft_agents.hosting.aiohttp import CloudAdapter, jwt_authorization_decorator, start_agent_process
    from microsoft_agents.hosting.core import AgentApplication, Authorization, RouteRank, TurnState
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
    if storage is None:
        storage = database_storage(chat)
    adapter = CloudAdapter(connection_manager=connections)
    agent = AgentApplication[TurnState](
        storage=storage, adapter=adapter, authorization=Authorization(storage, connections, **config), **config
    )
    assistant = TeamsAssistant(chat=chat, settings=settings, conversations=Conversations(storage), adapter=adapter)
    refusals = LogLimiter(log)

    @agent.activity("message")
    async def handle_message(context: Any, _state: Any) -> None:
        await assistant.on_message(context)

    # The adoption tools' cards and the buttons that ask a question (clarifying choices, suggestions outside
    # personal chats) use Action.Submit: Teams sends it as a message (no text, the inputs in its value, replyToId
    # naming the card), so the card can be updated in place for everyone. These routes come before the message
    # route: a submit in a channel carries no @mention.
    @agent.adaptive_card.action_submit(cards.ASSESS, submit_filter=cards.SUBMIT, rank=RouteRank.FIRST)
    async def handle_assessment(context: Any, _state: Any, value: Any) -> None:
        await assistant.assessment_submitted(context, value)

    @agent.adaptive_card.action_submit(cards.CHECKLIST, submit_filter=cards.SUBMIT, rank=RouteRank.FIRST)
    async def handle_checklist_save(context: Any, _state: Any, value: Any) -> None:
        await assistant.checklist_saved(context, value)

    @agent.adaptive_card.action_submit(cards.ASK, submit_filter=cards.SUBMIT, rank=RouteRank.FIRST)
    async def handle_choice(context: Any, _state: Any, value: Any) -> None:
        await assistant.choice_submitted(context, value)

    @agent.invoke("message/submitAction")
    async def handle_submit_action(context: Any, _state: Any) -> None:
        await assistant.on_submit_action(context)

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
