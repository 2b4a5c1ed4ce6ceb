"""Slack's behaviour: which messages get an answer and how it is delivered (streamed, private, in a thread).

The listeners translate Slack events into `Message`s and hand them here; what to answer and what
every reply says comes from the chat core (bot.chat); this module only speaks Slack's Web API.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from bot.answering.conversation import addressed_to_bot, smalltalk
from bot.answering.engine import APOLOGY
from bot.audiences import slack_place
from bot.chat import Chat, Reply
from bot.fairuse import Refusal, Ticket, in_line
from bot.slack import blocks
from bot.slack.channels import ChannelModesFile
from bot.state.claims import Claims
from bot.state.kv import State
from bot.tools.checklists import ChecklistError
from bot.tools.core import CHECKLISTS_UNAVAILABLE, assessment_markdown
from bot.types import Question, Turn
from common.errors import DatabaseUnavailable
from common.settings import Settings
from common.text import strip_markup

log = logging.getLogger(__name__)
HISTORY_TURNS = 6
THANKS_REACTION = "pray"
STREAM_BUFFER = 40  # characters gathered before a chat.appendStream call (a sentence arrives at a time anyway)
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
DEFAULT_PROMPTS = (
    "Should our use case use an LLM, an image model or both?",
    "What is on the pre-deployment checklist?",
    "What are the main risks of generative AI?",
    "What are diffusion models good for?",
)
STATUS = "is looking in the knowledge base..."
LOADING = ("Searching the guidance...", "Reading the checklists...", "Writing the answer...")
Kind = Literal["mention", "dm", "follow-up"]
STALE_CHOICE = (
    "This choice is no longer offered (the assessment changed while the form was open): pick another, "
    "or cancel and start again with {how}."
)


@dataclass(frozen=True)
class Message:
    """A person's message that may be for the assistant, as the listeners saw it."""

    kind: Kind
    channel: str
    ts: str
    thread_ts: str | None  # the thread it is in, or None for a top-level direct message
    text: str
    user: str
    team: str = ""
    keys: tuple[str, ...] = ()  # what its event is claimed under (bot.state.claims): one delivery answers it

    @property
    def direct(self) -> bool:
        return self.channel.startswith("D")

    @property
    def channel_kind(self) -> str:
        """The audit log's kind of place."""
        if self.direct:
            return "dm"
        return "thread" if self.thread_ts and self.thread_ts != self.ts else "channel"


class Recent:
    """A bounded map of recent private answers (feedback id -> message), for "Share in channel"."""

    def __init__(self, size: int = 2_000) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def pop(self, key: str) -> Any:
        with self._lock:
            return self._items.pop(key, None)


class PrivateAnswers:
    """Private answers kept for "Share in channel", in the shared-state database when there is one.

    Any replica, or this one after a restart, can then share them; without a database (or while it is
    down) they are kept in this process.
    """

    PREFIX = "slack/private/"

    def __init__(self, state: State | None) -> None:
        self.state = state
        self.local = Recent()

    def put(self, feedback_id: str, rendered: dict[str, Any]) -> None:
        if self.state is not None:
            try:
                self.state.put(self.PREFIX + feedback_id, rendered)
                return
            except DatabaseUnavailable as e:
                log.warning("private answer kept in this process only: %s", e)
        self.local.put(feedback_id, rendered)

    def pop(self, feedback_id: str) -> dict[str, Any] | None:
        if self.state is not None:
            try:
                rendered = self.state.get(self.PREFIX + feedback_id)
                if rendered is not None:
                    self.state.delete(self.PREFIX + feedback_id)
                    return rendered
            except DatabaseUnavailable as e:
                log.warning("looking for a private answer in this process only: %s", e)
        return self.local.pop(feedback_id)


class SlackAssistant:
    """Decides, answers and delivers; everything slow runs on the chat core's pool."""

    def __init__(
        self,
        *,
        chat: Chat,
        settings: Settings,
        modes: ChannelModesFile,
        claims: Claims,
        bot_user_id: str,
        bot_id: str = "",
        state: State | None = None,
    ) -> None:
        self.chat = chat
        self.settings = settings
        self.modes = modes
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.seen = claims  # which replica (and which of Slack's redeliveries) answers an event
        self.private_answers = PrivateAnswers(state)

    # -- questions ------------------------------------------------------------------------------
    def take(self, client: Any, message: Message) -> None:
        """Claim the message's event, decide whether it is for the assistant and queue its answer.

        Slack is already acknowledged. The claim is finished once the answer is posted, or at once
        when there is none to give, so that only a delivery whose answer was lost in a crash is retried.
        """
        mode = self.modes.current().of(message.channel)
        if message.kind == "follow-up" and (mode != "normal" or not self._for_me(message.text)):
            return  # chatter, a message for someone else, or follow-ups off here: every replica drops it alike
        if not self.seen.claim(*message.keys):
            return  # another replica, or an earlier delivery of the event, has it
        queued = False
        try:
            queued = self._queue(client, message, mode)
        finally:
            if not queued:
                self.seen.finish(*message.keys)

    def _queue(self, client: Any, message: Message, mode: str) -> bool:
        """Queue the answer, or say why there is none: whether an answer was queued."""
        if mode == "off":
            self._note(client, message, "I'm turned off in this channel. Send me a direct message instead.")
            return False
        admission = self.chat.admit(message.user)
        if isinstance(admission, Refusal):
            self._note(client, message, admission.text)
            return False
        if admission.position:
            self._waiting(client, message, admission.position)
        self.chat.pool.submit(self._answer, client, message, admission, mode == "private")
        return True

    def _answer(self, client: Any, message: Message, ticket: Ticket, private: bool) -> None:
        status, replied = None, False
        try:
            earlier = self._earlier_messages(client, message)  # one API call serves both uses
            if message.kind == "follow-up":
                if not any(m.get("user") == self.bot_user_id for m in earlier):
                    return  # a thread the assistant is not part of
                if smalltalk(strip_markup(message.text)):
                    self._react(client, "reactions_add", message, name=THANKS_REACTION)  # a nod, no message
                    return
            status = self._working(client, message, earlier)
            question = Question(
                message.text, history=self._history(earlier, message.ts), user=message.user,
                place=slack_place(message.channel),
            )  # fmt: skip
            delivery = Delivery(client, message, stream=not private and bool(message.thread_ts))
            reply = self.chat.ask(
                question,
                platform="slack",
                channel_kind=message.channel_kind,
                link=lambda: self._link(client, message.channel, message.ts),
                on_text=delivery.write,
            )
            if private:
                self._post_privately(client, message, reply)
            else:
                delivery.finish(reply, self.settings.slack_command)
            replied = True
            if reply.forward:
                self._tell_experts(client, reply.forward)
        except Exception:
            log.exception("answering %s/%s failed", message.channel, message.ts)
            if not replied:  # reading the thread or posting failed: an apology, not silence
                self._note(client, message, APOLOGY)
        finally:
            ticket.release()
            self.seen.finish(*message.keys)
            if status == "eyes":
                self._react(client, "reactions_remove", message)

    def _for_me(self, text: str) -> bool:
        """An un-mentioned thread reply is for the assistant when it asks something or thanks it."""
        others = {m for m in _MENTION.findall(text) if m != self.bot_user_id}
        if others:
            return False  # "@dana can you check this?" is for Dana
        plain = strip_markup(text)
        return bool(smalltalk(plain) == "thanks" or addressed_to_bot(plain))

    def _working(self, client: Any, message: Message, earlier: list[dict[str, Any]]) -> str:
        """Show that an answer is coming: the assistant status in a DM thread, else :eyes:."""
        if message.direct and message.thread_ts:
            try:
                client.assistant_threads_setStatus(
                    channel_id=message.channel,
                    thread_ts=message.thread_ts,
                    status=STATUS,
                    loading_messages=list(LOADING),
                )
                if not any(m.get("ts") != message.ts and not self._is_me(m) for m in earlier):
                    title = strip_markup(message.text).strip()
                    client.assistant_threads_setTitle(
                        channel_id=message.channel, thread_ts=message.thread_ts, title=title[:60] or "Question"
                    )
                return "status"
            except Exception as e:  # noqa: BLE001 - not an assistant thread (or an older workspace): :eyes: will do
                log.debug("assistant status unavailable: %s", e)
        self._react(client, "reactions_add", message)
        return "eyes"

    def _waiting(self, client: Any, message: Message, position: int) -> None:
        """Tell someone waiting their place in line."""
        if message.direct and message.thread_ts:
            try:
                client.assistant_threads_setStatus(
                    channel_id=message.channel,
                    thread_ts=message.thread_ts,
                    status=f"is answering others first: you're #{position} in line",
                )
                return
            except Exception as e:  # noqa: BLE001 - say it in a note instead
                log.debug("assistant status unavailable: %s", e)
        self._note(client, message, in_line(position))

    def _note(self, client: Any, message: Message, text: str) -> None:
        """A short word for the person only (in a DM, a message: only they see it anyway)."""
        try:
            if message.direct:
                client.chat_postMessage(channel=message.channel, thread_ts=message.thread_ts, text=text)
            else:
                client.chat_postEphemeral(
                    channel=message.channel, user=message.user, thread_ts=message.thread_ts, text=text
                )
        except Exception as e:  # noqa: BLE001 - nothing more can be done for a note
            log.warning("could not tell %s in %s: %s", message.user, message.channel, e)

    def _post_privately(self, client: Any, message: Message, reply: Reply) -> None:
        """An answer only the asker sees, with "Share in channel"."""
        rendered = render(reply, self.settings.slack_command)
        if reply.feedback_id:
            self.private_answers.put(reply.feedback_id, rendered)
        client.chat_postEphemeral(
            channel=message.channel,
            user=message.user,
            thread_ts=message.thread_ts if message.thread_ts != message.ts else None,
            text=rendered["text"],
            blocks=blocks.private(rendered["blocks"], reply.feedback_id),
        )

    def _react(self, client: Any, method: str, message: Message, *, name: str = "eyes") -> None:
        try:
            getattr(client, method)(channel=message.channel, timestamp=message.ts, name=name)
        except Exception as e:  # noqa: BLE001 - a missing reaction must not cost the answer
            log.debug("%s failed: %s", method, e)

    def _earlier_messages(self, client: Any, message: Message) -> list[dict[str, Any]]:
        """The thread's messages (or the DM's latest), oldest first; none for a new channel message."""
        if message.thread_ts and message.thread_ts != message.ts:
            return client.conversations_replies(channel=message.channel, ts=message.thread_ts, limit=50)["messages"]
        if message.direct:
            latest = client.conversations_history(channel=message.channel, latest=message.ts, limit=HISTORY_TURNS)
            return list(reversed(latest["messages"]))
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

    # -- the assistant pane ---------------------------------------------------------------------
    def thread_started(self, client: Any, channel: str, thread_ts: str) -> None:
        """A new assistant thread: a greeting and up to four suggested prompts."""
        prompts = [p.strip() for p in self.settings.slack_suggested_prompts.split("|") if p.strip()][:4]
        client.assistant_threads_setSuggestedPrompts(
            channel_id=channel,
            thread_ts=thread_ts,
            title="Try one of these:",
            prompts=[{"title": _title(p), "message": p} for p in prompts or DEFAULT_PROMPTS],
        )
        client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text="Hi! I answer questions about adopting generative AI from our guidance, with sources. "
            "Pick a suggestion or ask your own question.",
        )

    # -- slash command --------------------------------------------------------------------------
    def command(
        self,
        text: str,
        user: str,
        respond: Callable[..., Any],
        *,
        channel: str = "",
        client: Any = None,
        trigger_id: str = "",
    ) -> dict[str, Any]:
        """The immediate (ephemeral) reply to the slash command; slow work reports through respond."""
        verb, _, rest = text.strip().partition(" ")
        if verb.lower() == "assess" and self.chat.tools is not None:
            return self._assess(client, trigger_id, rest, channel)
        if verb.lower() == "checklist" and self.chat.tools is not None:
            return self._checklist(client, rest.split(), user, channel)
        if verb.lower() == "ask" and rest.strip():
            admission = self.chat.admit(user)
            if isinstance(admission, Refusal):
                return {"text": admission.text}
            self.chat.pool.submit(self._ask_privately, rest, user, respond, channel, admission)
            waiting = f" {in_line(admission.position)}" if admission.position else ""
            return {"text": f":eyes: Looking into: {blocks.escape(rest.strip()[:200])}{waiting}"}

        def report(markdown: str) -> None:
            respond(**blocks.markdown_message(markdown), response_type="ephemeral", replace_original=False)

        how, extra = blocks.command_usage(self.settings.slack_command)
        reply = self.chat.command(verb, platform="slack", user=user, report=report, how=how, extra=extra)
        return blocks.markdown_message(reply)

    # -- adoption tools ---------------------------------------------------------------------------
    def _assess(self, client: Any, trigger_id: str, idea: str, channel: str) -> dict[str, Any]:
        """Open the assessment form, with what the idea already answers filled in."""
        assert self.chat.tools is not None
        try:
            session = self.chat.tools.start(idea.strip())
            client.views_open(trigger_id=trigger_id, view=blocks.assess_modal(session, channel))
        except Exception:
            log.exception("could not open the assessment form")
            return {"text": "Sorry, I couldn't open the assessment form. Please try again in a minute."}
        return {"text": "Fill in what you know; anything you leave open is listed in the result."}

    def assessment_submitted(self, client: Any, view: dict[str, Any], user: str) -> dict[str, Any] | None:
        """The form was submitted: errors to show in it (a dict for ack), or None and the result follows."""
        assert self.chat.tools is not None
        tools = self.chat.tools
        values = view.get("state", {}).get("values", {})
        idea = ((values.get("idea") or {}).get("idea") or {}).get("value") or ""
        chosen = {
            question: str(((field_value or {}).get("selected_option") or {}).get("value") or "")
            for block_id, fields in values.items()
            if block_id.startswith("q_")
            for question, field_value in fields.items()
        }
        session, stale = tools.fill(idea, chosen)  # the editors may have changed a choice while the form was open
        errors = {f"q_{q}": STALE_CHOICE.format(how=f"{self.settings.slack_command} assess") for q in stale}
        if errors:
            return {"response_action": "errors", "errors": errors}
        missing = tools.missing(session)
        if missing:
            return {
                "response_action": "errors",
                "errors": {f"q_{q}": "Pick one, or describe it in the idea above." for q in missing},
            }
        channel = view.get("private_metadata") or user  # a DM with the person when the channel is unknown
        self.chat.pool.submit(self._post_assessment, client, session, channel, user)
        return None

    def _post_assessment(self, client: Any, session: Any, channel: str, user: str) -> None:
        assert self.chat.tools is not None
        try:
            result = self.chat.tools.assess(session, place=slack_place(channel))
            if isinstance(result, str):
                client.chat_postEphemeral(channel=channel, user=user, text=blocks.markdown_text(result))
                return
            client.chat_postEphemeral(
                channel=channel, user=user, text=blocks.markdown_text(assessment_markdown(result)),
                blocks=blocks.assessment_blocks(result),
            )  # fmt: skip
        except Exception:
            log.exception("assessment failed")
            client.chat_postEphemeral(channel=channel, user=user, text=APOLOGY)

    def _checklist(self, client: Any, words: list[str], user: str, channel: str) -> dict[str, Any]:
        """A checklist posted for the channel to tick, or the list, status or export (only for the asker)."""
        assert self.chat.tools is not None
        reply = self.chat.tools.checklist(words, channel=channel, place=slack_place(channel), user=user,
                                          how=self._how)  # fmt: skip
        if reply.progress is None:
            return blocks.markdown_message(reply.text)
        client.chat_postMessage(
            channel=channel, text=blocks.checklist_text(reply.progress),
            blocks=blocks.checklist_blocks(reply.progress),
        )  # fmt: skip
        return {"text": f"Posted the checklist for {blocks.escape(reply.progress.project.project)} here."}

    def checklist_ticked(
        self, client: Any, action: dict[str, Any], message: dict[str, Any], user: str, channel: str
    ) -> None:
        """Someone changed boxes in a checklist message: store the change, show everyone the new state.

        When the message no longer matches the checklists (editors changed them while it was open),
        or the ticks cannot be stored, the person is told what to do instead of the boxes springing back.
        """
        assert self.chat.tools is not None
        belongs = blocks.checklist_of(action.get("block_id", ""))
        if belongs is None:
            return
        checklist, project = belongs
        shown = next((b for b in message.get("blocks", []) if b.get("block_id") == action["block_id"]), {})
        element = (shown.get("elements") or [{}])[0]
        shown_done = [o.get("value", "") for o in element.get("initial_options", [])]
        selected = [o.get("value", "") for o in action.get("selected_options", [])]
        try:
            progress = self.chat.tools.tick(
                channel=channel, place=slack_place(channel), project=project, checklist=checklist,
                shown_done=shown_done, selected=selected, user=user, how=self._how,
            )  # fmt: skip
        except ChecklistError as e:  # a stale copy, or not a checklist this channel may see: said to the person only
            self._tell_privately(client, channel, user, str(e))
            return
        except DatabaseUnavailable as e:  # the boxes they clicked would otherwise just spring back, unexplained
            log.warning("checklist tick in %s not stored: %s", channel, e)
            self._tell_privately(client, channel, user, CHECKLISTS_UNAVAILABLE)
            return
        try:
            client.chat_update(
                channel=channel, ts=message["ts"], text=blocks.checklist_text(progress),
                blocks=blocks.checklist_blocks(progress),
            )  # fmt: skip
        except Exception:  # stored, but not shown: clicking again on this copy stores the same state again
            log.exception("could not update the checklist message in %s", channel)
            self._tell_privately(client, channel, user, APOLOGY)

    def _tell_privately(self, client: Any, channel: str, user: str, markdown: str) -> None:
        """A note only the person sees, in the channel they clicked in."""
        client.chat_postEphemeral(channel=channel, user=user, **blocks.markdown_message(markdown))

    def _how(self, args: str) -> str:
        """How a command is typed in Slack, for hints."""
        return blocks.command_usage(self.settings.slack_command)[0](args)

    def _ask_privately(self, text: str, user: str, respond: Callable[..., Any], channel: str, ticket: Ticket) -> None:
        try:
            reply = self.chat.ask(
                Question(text, user=user, place=slack_place(channel)), platform="slack", channel_kind="channel"
            )
            rendered = render(reply, self.settings.slack_command)
            if reply.feedback_id:
                self.private_answers.put(reply.feedback_id, rendered)
            respond(
                text=rendered["text"],
                blocks=blocks.private(rendered["blocks"], reply.feedback_id),
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception:
            log.exception("slash-command answer failed")
        finally:
            ticket.release()

    def share(self, client: Any, feedback_id: str, user: str, channel: str, respond: Callable[..., Any]) -> None:
        """Post a private answer to the channel for everyone, and remove the private copy."""
        rendered = self.private_answers.pop(feedback_id)
        if rendered is None:
            respond(
                text="That answer is no longer available to share (answers are kept for 7 days). Ask again, please.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        shared = [*rendered["blocks"], blocks.asked_by(user)]
        client.chat_postMessage(channel=channel, text=rendered["text"], blocks=shared, unfurl_links=False)
        respond(delete_original=True)

    # -- feedback -------------------------------------------------------------------------------
    def vote(
        self,
        client: Any,
        value: str,
        user: str,
        message_blocks: list[dict],
        respond: Callable[..., Any],
        *,
        channel: str = "",
        message_ts: str = "",
    ) -> None:
        """Store the vote, thank the voter in place of the buttons, and forward a "not helpful"."""
        vote, _, feedback_id = value.partition(":")
        voted = self.chat.vote(
            feedback_id, user, vote, platform="slack", link=lambda: self._link(client, channel, message_ts)
        )
        respond(blocks=blocks.thanked(message_blocks, voted.thanks), replace_original=True, text=voted.thanks)
        if voted.forward:
            self._tell_experts(client, voted.forward)

    # -- humans in the loop ---------------------------------------------------------------------
    def _tell_experts(self, client: Any, text: str) -> None:
        """Post to the experts' channel, if one is set; a failure costs the forward, not the answer."""
        if not self.settings.slack_experts_channel:
            return
        try:
            client.chat_postMessage(
                channel=self.settings.slack_experts_channel, text=blocks.to_mrkdwn(text), unfurl_links=False
            )
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


def render(reply: Reply, command: str) -> dict[str, Any]:
    """A reply as Slack message arguments: plain text for notifications, and Block Kit."""
    if reply.answer is not None:
        return {
            "text": blocks.answer_text(reply.answer),
            "blocks": blocks.answer_blocks(reply.answer, reply.feedback_id),
        }
    if reply.kind == "help":
        return {"text": blocks.markdown_text(reply.text), "blocks": blocks.help_blocks(command)}
    return blocks.markdown_message(reply.text)


class Delivery:
    """One reply to one message: streamed while the backend writes, else posted once; never twice."""

    def __init__(self, client: Any, message: Message, *, stream: bool) -> None:
        self.client = client
        self.message = message
        self.stream = stream
        self.streamer: Any = None
        self.broken = False  # the stream started, then failed: the message is fixed in place at the end

    def write(self, piece: str) -> None:
        """A piece of the answer as the backend writes it (called on the worker thread)."""
        if not self.stream or self.broken:
            return
        try:
            if self.streamer is None:
                self.streamer = self.client.chat_stream(
                    channel=self.message.channel,
                    thread_ts=self.message.thread_ts,
                    recipient_user_id=None if self.message.direct else self.message.user,
                    recipient_team_id=None if self.message.direct else self.message.team or None,
                    buffer_size=STREAM_BUFFER,
                )
            self.streamer.append(markdown_text=blocks.streamed(piece))
        except Exception as e:  # noqa: BLE001 - streaming refused (older workspace, rate limit): post at the end
            log.info("streaming to %s stopped (%s); the answer will be posted whole", self.message.channel, e)
            if self.streamer is None or self.streamer.ts is None:
                self.stream = False
            else:
                self.broken = True

    def finish(self, reply: Reply, command: str) -> None:
        """Close the stream with the sources and feedback buttons, or post the reply as one message."""
        rendered = render(reply, command)
        started = self.streamer is not None and self.streamer.ts is not None
        if self.streamer is not None and not self.broken:
            tail = blocks.tail_blocks(reply.answer, reply.feedback_id) if reply.answer else None
            try:
                # An apology after a partial answer is appended; a whole answer gets its sources and buttons.
                self.streamer.stop(blocks=tail or None, markdown_text=None if reply.answer else f"\n\n{reply.text}")
                return
            except Exception as e:  # noqa: BLE001 - fix the message in place, or post it once
                log.info("could not finish the stream in %s (%s)", self.message.channel, e)
                started = self.streamer.ts is not None
        if started:
            self.client.chat_update(channel=self.message.channel, ts=self.streamer.ts, unfurl_links=False, **rendered)
            return
        self.client.chat_postMessage(
            channel=self.message.channel,
            thread_ts=self.message.thread_ts,
            unfurl_links=False,
            **rendered,
        )


def _title(prompt: str) -> str:
    return prompt if len(prompt) <= 40 else prompt[:39].rsplit(" ", 1)[0] + "…"
