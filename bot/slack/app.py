"""build_slack_app(...): a slack-bolt App whose thin listeners hand questions to the engine."""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot import experts
from bot.answering import APOLOGY, Engine
from bot.audiences import slack_place
from bot.chat import Chat
from bot.conversation import addressed_to_bot, smalltalk
from bot.errors import ConfigError, EmptyQuestion
from bot.feedback import FeedbackStore
from bot.reindex import Reindexer
from bot.settings import Settings
from bot.slack import blocks
from bot.store import IndexInfo
from bot.text import strip_markup
from bot.types import Question, Turn

log = logging.getLogger(__name__)
HISTORY_TURNS = 6
THANKS_REACTION = "pray"
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
# auth.test errors that mean the token itself is wrong, not the address or the network.
TOKEN_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


def check_slack_settings(settings: Settings, *, http: bool) -> None:
    """Fail fast, naming the variable and where to find its value."""
    where = "api.slack.com/apps -> your app"
    if not settings.slack_bot_token.startswith("xoxb-"):
        raise ConfigError(
            "SLACK_BOT_TOKEN must be the bot token (xoxb-...): find it at "
            f"{where} -> OAuth & Permissions -> Bot User OAuth Token."
        )
    if http and not settings.slack_signing_secret:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is needed to verify requests in HTTP mode: find it at "
            f"{where} -> Basic Information -> App Credentials -> Signing Secret. Or set SLACK_APP_TOKEN "
            "(xapp-...) to use Socket Mode, which needs no public URL."
        )
    if not http and not settings.slack_app_token.startswith("xapp-"):
        raise ConfigError(
            "SLACK_APP_TOKEN must be an app-level token (xapp-...) with connections:write for Socket Mode: "
            f"create one at {where} -> Basic Information -> App-Level Tokens, or use HTTP mode (--slack-http)."
        )
    if settings.slack_api_base_url and not settings.slack_api_base_url.startswith(("http://", "https://")):
        raise ConfigError("SLACK_API_BASE_URL must be a URL such as https://slack.com/api/")


class Deduper:
    """Remembers recent deliveries so each message gets exactly one reply."""

    def __init__(self, size: int = 10_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first(self, *keys: str) -> bool:
        """True the first time any of keys is seen; all of them are remembered."""
        keys = tuple(k for k in keys if k)
        with self._lock:
            fresh = not any(k in self._seen for k in keys)
            for k in keys:
                self._seen[k] = None
                self._seen.move_to_end(k)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return fresh


@dataclass
class SlackAssistant:
    """What the listeners need; the work they hand off runs on a bounded pool."""

    engine: Engine
    feedback: FeedbackStore
    reindexer: Reindexer
    index_info: Callable[[], IndexInfo | None]
    settings: Settings
    pool: ThreadPoolExecutor
    seen: Deduper
    bot_user_id: str = ""
    bot_id: str = ""

    # -- questions ------------------------------------------------------------------------------
    def submit_question(
        self,
        client: Any,
        *,
        channel: str,
        ts: str,
        thread_ts: str | None,
        text: str,
        user: str,
        in_thread: bool,
        only_if_joined: bool = False,
    ) -> None:
        """Queue an answer; Slack has already been acknowledged.

        With only_if_joined, the question is answered only if the assistant already answered in its thread.
        """
        self.pool.submit(self._answer, client, channel, ts, thread_ts, text, user, in_thread, only_if_joined)

    def _answer(
        self,
        client: Any,
        channel: str,
        ts: str,
        thread_ts: str | None,
        text: str,
        user: str,
        in_thread: bool,
        only_if_joined: bool,
    ) -> None:
        reply_ts = thread_ts if in_thread else None
        if only_if_joined and not self._for_me(text):
            return  # chatter between people in the thread, or a message for someone else
        earlier = self._earlier_messages(client, channel, ts, thread_ts)  # one API call serves both uses
        if only_if_joined and not any(m.get("user") == self.bot_user_id for m in earlier):
            return  # a thread the assistant is not part of
        if only_if_joined and smalltalk(strip_markup(text)):
            self._react(client, "reactions_add", channel, ts, name=THANKS_REACTION)  # thanks: a nod, no message
            return
        self._react(client, "reactions_add", channel, ts)
        try:
            history = self._history(earlier, ts)
            answer = self.engine.answer(Question(text, history=history, user=user, place=slack_place(channel)))
            kind = "dm" if channel.startswith("D") else "thread" if thread_ts and thread_ts != ts else "channel"
            feedback_id = self.feedback.record_answer("slack", answer, channel_kind=kind, user=user)
            if answer.status == "smalltalk":
                feedback_id = ""  # audited, but nothing to vote on
            client.chat_postMessage(
                channel=channel,
                thread_ts=reply_ts,
                text=blocks.answer_text(answer),
                blocks=blocks.answer_blocks(answer, feedback_id),
                unfurl_links=False,
            )
            if answer.status == "no_answer":
                nearest = [c.title for c in answer.related]
                self._tell_experts(client, experts.declined(answer.question, nearest, self._link(client, channel, ts)))
        except EmptyQuestion:
            client.chat_postMessage(
                channel=channel,
                thread_ts=reply_ts,
                text="Ask me a question.",
                blocks=blocks.help_blocks(self.settings.slack_command),
            )
        except Exception:
            log.exception("answering %s/%s failed", channel, ts)
            try:
                client.chat_postMessage(channel=channel, thread_ts=reply_ts, text=APOLOGY)
            except Exception:
                log.exception("could not post the apology either")
        finally:
            self._react(client, "reactions_remove", channel, ts)

    def _for_me(self, text: str) -> bool:
        """An un-mentioned thread reply is for the assistant when it asks something or thanks it."""
        others = {m for m in _MENTION.findall(text) if m != self.bot_user_id}
        if others:
            return False  # "@dana can you check this?" is for Dana
        plain = strip_markup(text)
        return bool(smalltalk(plain) == "thanks" or addressed_to_bot(plain))

    def _react(self, client: Any, method: str, channel: str, ts: str, *, name: str = "eyes") -> None:
        try:
            getattr(client, method)(channel=channel, timestamp=ts, name=name)
        except Exception as e:  # noqa: BLE001 - a missing reaction must not cost the answer
            log.debug("%s failed: %s", method, e)

    def _earlier_messages(self, client: Any, channel: str, ts: str, thread_ts: str | None) -> list[dict[str, Any]]:
        """The thread's messages (or the DM's latest), oldest first; none for a new channel message."""
        if thread_ts and thread_ts != ts:
            return client.conversations_replies(channel=channel, ts=thread_ts, limit=50)["messages"]
        if channel.startswith("D"):
            latest = client.conversations_history(channel=channel, latest=ts, limit=HISTORY_TURNS)["messages"]
            return list(reversed(latest))
        return []

    def _history(self, messages: list[dict[str, Any]], ts: str) -> tuple[Turn, ...]:
        """Earlier turns as Question history, without the current message."""
        turns = [
            Turn("assistant" if self._is_me(m) else "user", strip_markup(m.get("text", "")))
            for m in messages
            if m.get("ts") != ts and m.get("text")
        ]
        return tuple(turns[-HISTORY_TURNS:])

    def _is_me(self, message: dict[str, Any]) -> bool:
        return message.get("user") == self.bot_user_id or (bool(self.bot_id) and message.get("bot_id") == self.bot_id)

    # -- slash command --------------------------------------------------------------------------
    def command(self, text: str, user: str, respond: Callable[..., Any], *, channel: str = "") -> dict[str, Any]:
        """The immediate (ephemeral) reply to the slash command; slow work reports through respond."""
        verb, _, rest = text.strip().partition(" ")
        verb = verb.lower()
        if verb == "ask" and rest.strip():
            self.pool.submit(self._ask_ephemeral, rest, user, respond, channel)
            return {"text": f":eyes: Looking into: {blocks.escape(rest.strip()[:200])}"}
        if verb == "reindex":
            return self._reindex(user, respond)
        if verb == "status":
            return {"text": blocks.status_text(self.index_info(), self.engine.describe_backend())}
        return {"text": "adoptbot help", "blocks": blocks.help_blocks(self.settings.slack_command)}

    def _ask_ephemeral(self, text: str, user: str, respond: Callable[..., Any], channel: str = "") -> None:
        try:
            answer = self.engine.answer(Question(text, user=user, place=slack_place(channel)))
            feedback_id = self.feedback.record_answer("slack", answer, channel_kind="channel", user=user)
            if answer.status == "smalltalk":
                feedback_id = ""
            respond(
                text=blocks.answer_text(answer),
                blocks=blocks.answer_blocks(answer, feedback_id),
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception:
            log.exception("slash-command answer failed")
            respond(text=APOLOGY, response_type="ephemeral", replace_original=False)

    def _reindex(self, user: str, respond: Callable[..., Any]) -> dict[str, Any]:
        if user not in self.settings.slack_admin_ids:
            log.warning("reindex refused for non-admin Slack user %s", user)
            return {
                "text": "Sorry, only knowledge base editors can reindex. Ask an editor, or an admin "
                "to add you to ADOPTBOT_SLACK_ADMINS."
            }

        def done(summary: Any, error: Exception | None) -> None:
            respond(text=blocks.reindex_text(summary, error), response_type="ephemeral", replace_original=False)

        if not self.reindexer.start(done, requested_by=f"slack:{user}"):
            return {"text": "A reindex is already running; you'll see its summary when it finishes."}
        return {"text": ":arrows_counterclockwise: Reindexing the knowledge base; I'll post a summary here."}

    # -- feedback -------------------------------------------------------------------------------
    def vote(
        self,
        feedback_id: str,
        user: str,
        action_id: str,
        message_blocks: list[dict],
        respond: Callable[..., Any],
        *,
        client: Any = None,
        channel: str = "",
        message_ts: str = "",
    ) -> None:
        """Store the vote, thank the voter, and forward a "not helpful" to the experts' channel."""
        vote = "helpful" if action_id == blocks.FEEDBACK_ACTIONS[0] else "not_helpful"
        if not self.feedback.record_vote(feedback_id, user, vote):
            log.warning("feedback for unknown answer %s", feedback_id)
        respond(blocks=blocks.thanked(message_blocks, vote), replace_original=True, text="Thanks for your feedback!")
        answered = self.feedback.answer(feedback_id) if vote == "not_helpful" else None
        if answered is not None and client is not None:
            sources = [f"{s['title']} - {s['section']}" for s in answered["sources"]]
            link = self._link(client, channel, message_ts)
            self._tell_experts(client, experts.not_helpful(answered["question"], answered["answer"], sources, link))

    # -- humans in the loop ---------------------------------------------------------------------
    def _tell_experts(self, client: Any, text: str) -> None:
        """Post to the experts' channel, if one is set; a failure costs the forward, not the answer."""
        if not self.settings.slack_experts_channel:
            return
        try:
            client.chat_postMessage(channel=self.settings.slack_experts_channel, text=text, unfurl_links=False)
        except Exception as e:  # noqa: BLE001 - the person asking already has their reply
            log.warning("could not forward to the experts' channel %s: %s", self.settings.slack_experts_channel, e)

    def _link(self, client: Any, channel: str, ts: str) -> str:
        """A permalink to the message, or nothing for a DM (experts cannot open someone else's DM)."""
        if not self.settings.slack_experts_channel or not channel or not ts or channel.startswith("D"):
            return ""
        try:
            return client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
        except Exception as e:  # noqa: BLE001 - a forward without a link still helps
            log.info("no permalink for %s/%s: %s", channel, ts, e)
            return ""


def build_slack_app(*, settings: Settings, chat: Chat, http: bool, client: Any = None) -> Any:
    """A slack-bolt App with every listener registered; `client` defaults to one built from settings."""
    from slack_bolt import App
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    from bot.slack.listeners import register

    check_slack_settings(settings, http=http)
    if client is None:
        kwargs = {"base_url": settings.slack_api_base_url} if settings.slack_api_base_url else {}
        client = WebClient(token=settings.slack_bot_token, **kwargs)
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    identity = check_slack_token(client)  # before App(), which repeats the call but maps no errors
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or None,
        request_verification_enabled=http,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    assistant = SlackAssistant(
        engine=chat.engine,
        feedback=chat.feedback,
        reindexer=chat.reindexer,
        index_info=chat.index_info,
        settings=settings,
        pool=ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="slack-answer"),
        seen=Deduper(),
        bot_user_id=identity["user_id"],
        bot_id=identity.get("bot_id", ""),
    )
    register(app, assistant)
    return app


def check_slack_token(client: Any) -> Any:
    """auth.test with the bot token: its identity, or a ConfigError naming what to fix."""
    from slack_sdk.errors import SlackApiError

    try:
        return client.auth_test()
    except SlackApiError as e:
        error = _slack_error(e)
        if error in TOKEN_ERRORS:
            raise ConfigError(
                f"Slack refused SLACK_BOT_TOKEN ({error}): copy the Bot User OAuth Token (xoxb-...) again from "
                "api.slack.com/apps -> your app -> OAuth & Permissions; reinstalling the app issues a new one."
            ) from None
        raise ConfigError(
            f"Slack's auth.test failed at {_api_url(client)} ({error}): check SLACK_API_BASE_URL (leave it unset "
            "for Slack itself) and SLACK_BOT_TOKEN."
        ) from None
    except OSError as e:  # refused, unresolvable, timed out (urllib's URLError is an OSError)
        raise ConfigError(
            f"Could not reach the Slack Web API at {_api_url(client)} ({getattr(e, 'reason', e)}): check "
            "SLACK_API_BASE_URL (leave it unset for Slack itself), the network, and any proxy (HTTPS_PROXY) "
            "or firewall between here and Slack."
        ) from None


def connect_socket_mode(app: Any, app_token: str) -> Any:
    """Receive events over Slack's Socket Mode (no public URL); returns the connected handler."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk.errors import SlackApiError

    handler = SocketModeHandler(app, app_token)
    try:
        handler.connect()
    except SlackApiError as e:
        handler.close()
        error = _slack_error(e)
        raise ConfigError(
            f"Slack refused SLACK_APP_TOKEN ({error}) when opening Socket Mode: create an app-level token (xapp-...) "
            "with connections:write at api.slack.com/apps -> your app -> Basic Information -> App-Level Tokens, "
            "and check Socket Mode is enabled for the app."
        ) from None
    except OSError as e:  # apps.connections.open did not get through
        handler.close()
        raise ConfigError(
            f"Could not reach the Slack Web API at {_api_url(app.client)} ({getattr(e, 'reason', e)}) to open "
            "Socket Mode: check SLACK_API_BASE_URL, the network, and any proxy or firewall between here and Slack."
        ) from None
    if not handler.client.is_connected():  # the client logs why and keeps retrying in the background
        handler.close()
        raise ConfigError(
            "Could not open Slack's Socket Mode connection (the reason is logged above): check that the network "
            "and any proxy allow outgoing WebSocket (wss://) connections to Slack, or use HTTP mode (--slack-http)."
        )
    return handler


def _slack_error(e: Any) -> str:
    """Slack's error code from a SlackApiError (a non-JSON answer has none)."""
    data = getattr(e.response, "data", None)
    return str(data.get("error", "no error code"))[:120] if isinstance(data, dict) else "not a Slack API answer"


def _api_url(client: Any) -> str:
    return getattr(client, "base_url", "") or "https://slack.com/api/"
