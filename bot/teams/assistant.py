"""Teams activities translated into chat-core calls, and the core's replies rendered for Teams.

A question in a 1:1 chat is streamed (bot/teams/streaming.py); in channels and group chats the answer
is one message, sent proactively after a holding reply when it is slow. What each reply says, who may
reindex and what the experts hear come from the chat core (bot/chat.py); the assessment and the
checklists (`assess`, `checklist`) from the tools core (bot/tools/core.py), as Adaptive Cards whose
Action.Submit comes back as a message with the card's inputs in its value.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

from bot.answering.engine import APOLOGY
from bot.audiences import teams_place
from bot.chat import COMMANDS, Chat, Reply, Voted
from bot.fairuse import Refusal, Ticket, in_line
from bot.teams import cards
from bot.teams.conversations import Conversations
from bot.teams.streaming import StreamedReply, can_stream
from bot.tools.assessment import Session
from bot.tools.checklists import ChecklistError
from bot.tools.core import CHECKLISTS_UNAVAILABLE, Tools
from bot.types import Question
from common.errors import DatabaseUnavailable
from common.settings import Settings

log = logging.getLogger(__name__)
SEARCHING = "Searching the knowledge base..."
HOLDING = "Still working on that; the answer will follow shortly."
REACTIONS = {"like": "helpful", "dislike": "not_helpful"}  # the feedback loop's thumbs, as our votes
TOOLS = ("assess", "checklist")
ASSESSING = "Working out the assessment; the result will follow shortly."
PREPARING = "Preparing the assessment form; it will follow shortly."
Reference = tuple[Any, Any]  # (claims identity, conversation reference): enough to send outside the turn


@dataclass
class TeamsAssistant:
    """The handlers' logic: questions, commands and votes, over one chat core."""

    chat: Chat
    settings: Settings
    conversations: Conversations
    adapter: Any = None
    pending: set[asyncio.Task] = field(default_factory=set)
    # One save of a checklist card at a time (tick, then update), so the last update shows every tick.
    _saving: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary, init=False
    )

    # -- messages -------------------------------------------------------------------------------
    async def on_message(self, context: Any) -> None:
        """A message: an older card's vote, a command, or a question."""
        activity = context.activity
        if isinstance(activity.value, dict) and activity.value.get("adoptbot") == cards.FEEDBACK:
            await self._card_vote(context, activity.value)
            return
        personal = (activity.conversation.conversation_type or "personal") == "personal"
        if not personal and not activity.is_recipient_mentioned():
            return  # in channels and group chats, only messages that @mention the assistant
        text = (activity.remove_recipient_mention() or "").strip()
        verb = text.lower().strip(" .!?")
        word, _, rest = text.partition(" ")
        if word.lower() in TOOLS and self.chat.tools is not None:
            await self._tool(context, word.lower(), rest.strip())
            return
        if verb in COMMANDS:
            await self._command(context, verb)
            return
        admitted = self.chat.admit(_user(activity))
        if isinstance(admitted, Refusal):
            await context.send_activity(_message(cards.text_activity(admitted.text)))
            return
        if can_stream(context):
            await self._stream(context, text, admitted)
        else:
            await self._answer(context, text, admitted)

    async def _stream(self, context: Any, text: str, ticket: Ticket) -> None:
        """1:1 chats: the place in line or what is happening, the text as it is written, the final message."""
        stream = StreamedReply(context)
        stream.inform(in_line(ticket.position) if ticket.position else SEARCHING)
        loop = asyncio.get_running_loop()

        def started() -> None:
            if ticket.position:  # it waited in line; now it is being answered
                loop.call_soon_threadsafe(stream.inform, SEARCHING)

        question = await self._question(context.activity, text)
        reply = await self._run(question, context.activity, ticket, on_text=stream.writer(loop), started=started)
        activity = _rendered(reply)
        message_id = await stream.finish(activity, reply.answer if reply.kind == "answer" else None)
        await self._remember(context.activity, question, reply, activity, message_id)
        await self._tell_experts(_reference(context), reply.forward)

    async def _answer(self, context: Any, text: str, ticket: Ticket) -> None:
        """Channels and group chats (and turns answered in the response): the answer as one message."""
        from microsoft_agents.activity import Activity

        # Nothing between taking a place in line and handing the question to the pool may raise.
        await _say(context, Activity(type="typing"))
        if ticket.position:
            await _say(context, _message(cards.text_activity(in_line(ticket.position))))
        question = await self._question(context.activity, text)
        future = asyncio.ensure_future(self._run(question, context.activity, ticket))
        reference = _reference(context)
        try:
            if context.activity.delivery_mode == "expectReplies":
                reply = await future  # everything goes back in the response to this request
            else:
                reply = await asyncio.wait_for(asyncio.shield(future), self.settings.teams_inline_s)
        except TimeoutError:
            # Teams drops a turn after 15 s: send the answer later, and say so (unless the place in line did).
            self._in_background(self._deliver_later(reference, context.activity, question, future))
            if not ticket.position:
                await _say(context, _message(cards.text_activity(HOLDING)))
            return
        await self._deliver(context.send_activity, context.activity, question, reply, reference)

    async def _deliver_later(
        self, reference: Reference, asked: Any, question: Question, future: asyncio.Future[Reply]
    ) -> None:
        reply = await future
        await self._deliver(partial(self._send_later, reference), asked, question, reply, reference)

    async def _deliver(
        self,
        send: Callable[[Any], Awaitable[Any]],
        asked: Any,
        question: Question,
        reply: Reply,
        reference: Reference,
    ) -> None:
        """Send the reply as one message, remember it, and tell the experts what they should hear."""
        activity = _rendered(reply)
        response = await send(_message(activity))
        await self._remember(asked, question, reply, activity, (getattr(response, "id", "") or "") if response else "")
        await self._tell_experts(reference, reply.forward)

    async def _run(
        self,
        question: Question,
        asked: Any,
        ticket: Ticket,
        *,
        on_text: Callable[[str], None] | None = None,
        started: Callable[[], None] | None = None,
    ) -> Reply:
        """Answer on the core's worker pool; the place in line is given up when the answer is done."""

        def work() -> Reply:
            try:
                if started is not None:
                    started()
                return self.chat.ask(
                    question,
                    platform="teams",
                    channel_kind=_channel_kind(asked),
                    link=partial(_message_link, asked),
                    on_text=on_text,
                )
            finally:
                ticket.release()

        try:
            future = asyncio.get_running_loop().run_in_executor(self.chat.pool, work)
        except BaseException:
            ticket.release()  # the pool would not take it (shutting down)
            raise
        return await future

    async def _question(self, activity: Any, text: str) -> Question:
        try:
            history = await self.conversations.history(activity.conversation.id)
        except Exception:  # an unreadable history costs the follow-up its context, not its answer
            log.exception("could not read the Teams conversation history of %s", activity.conversation.id)
            history = ()
        return Question(
            text,
            history=history,
            user=_user(activity),
            place=_place(activity),
        )

    async def _remember(
        self, asked: Any, question: Question, reply: Reply, activity: dict[str, Any], message_id: str
    ) -> None:
        """Keep the turn for follow-ups, and the answer for votes (survives a restart)."""
        try:
            if reply.answer is not None:
                await self.conversations.add_turn(asked.conversation.id, question.text, reply.text)
            await self.conversations.add_answer(asked.conversation.id, message_id, reply.feedback_id, activity)
        except Exception:
            log.exception("could not store the Teams conversation state of %s", asked.conversation.id)

    # -- commands -------------------------------------------------------------------------------
    async def _command(self, context: Any, verb: str) -> None:
        loop = asyncio.get_running_loop()
        reference = _reference(context)
        replied = asyncio.Event()  # a quick reindex must not report before "Reindexing..." is shown

        async def send_report(text: str) -> None:
            await replied.wait()
            await self._send_later(reference, _message(cards.text_activity(text)))

        def report(text: str) -> None:  # a reindex's summary, from its thread
            asyncio.run_coroutine_threadsafe(send_report(text), loop)

        extra = TOOLS_HELP if self.chat.tools is not None else ()
        command = partial(
            self.chat.command, verb, platform="teams", user=_user(context.activity), report=report, how=_how,
            extra=extra,
        )  # fmt: skip
        try:
            text = await loop.run_in_executor(None, command)  # status reads the index: off the event loop
            await context.send_activity(_message(cards.text_activity(text)))
        finally:
            replied.set()

    # -- adoption tools -------------------------------------------------------------------------
    async def _tool(self, context: Any, tool: str, rest: str) -> None:
        """`assess [idea]` replies with the form; `checklist ...` with a checklist card, or Markdown."""
        tools = self.chat.tools
        assert tools is not None
        activity = context.activity
        if tool == "assess":
            form = partial(_assess_form, tools, rest)
            await self._reply_in_time(context, form, "assessment form", pool=self.chat.pool, holding=PREPARING)
            return

        def checklist() -> dict[str, Any]:
            reply = tools.checklist(rest.split(), channel=_channel(activity), place=_place(activity),
                                    user=_person(activity), how=_how)  # fmt: skip
            if reply.progress is None:
                return cards.text_activity(reply.text)
            return cards.checklist_activity(reply.progress)

        await self._reply_in_time(context, checklist, "checklist")  # SQLite: quick, off the answers' pool

    async def assessment_submitted(self, context: Any, value: Mapping[str, Any]) -> None:
        """The form's Assess: the card marked where the output is still unknown, else the result with sources."""
        tools = self.chat.tools
        if tools is None:
            return
        idea, chosen = cards.form_answers(value)
        loop = asyncio.get_running_loop()

        def read() -> tuple[Session, list[str]]:
            session, _ = tools.fill(idea, chosen)  # a choice the editors have since removed: the question stays open
            return session, tools.missing(session)

        session, missing = await loop.run_in_executor(self.chat.pool, read)
        if missing:
            marked = cards.assess_form_activity(session, missing=missing)
            if not await self._update_card(context, marked):
                await context.send_activity(_message(marked))
            return
        place = _place(context.activity)

        def assessed() -> dict[str, Any]:
            result = tools.assess(session, place=place)
            return cards.text_activity(result) if isinstance(result, str) else cards.assessment_activity(result)

        await self._reply_in_time(context, assessed, "assessment", pool=self.chat.pool, holding=ASSESSING)

    async def checklist_saved(self, context: Any, value: Mapping[str, Any]) -> None:
        """A checklist card's Save: apply what this copy changed, then show everyone the new state in place."""
        tools = self.chat.tools
        if tools is None:
            return
        activity = context.activity
        checklist, project, shown, selected = cards.checklist_changes(value)
        tick = partial(
            tools.tick, channel=_channel(activity), place=_place(activity), project=project, checklist=checklist,
            shown_done=shown, selected=selected, user=_person(activity), how=_how,
        )  # fmt: skip
        key = f"{_channel(activity)}/{activity.reply_to_id or ''}"
        lock = self._saving.setdefault(key, asyncio.Lock())
        async with lock:
            try:
                progress = await asyncio.get_running_loop().run_in_executor(None, tick)
            except ChecklistError as e:  # a checklist or item the editors have since removed: what to do
                await context.send_activity(_message(cards.text_activity(str(e))))
                return
            except DatabaseUnavailable as e:
                log.warning("checklist save in %s not stored: %s", _channel(activity), e)
                await context.send_activity(_message(cards.text_activity(CHECKLISTS_UNAVAILABLE)))
                return
            updated = cards.checklist_activity(progress)
            if not await self._update_card(context, updated):
                await context.send_activity(_message(updated))

    async def _update_card(self, context: Any, activity: dict[str, Any]) -> bool:
        """Replace the card a submit came from, for everyone in the conversation; False when it cannot be."""
        from microsoft_agents.activity import Activity

        card_id = context.activity.reply_to_id
        if not card_id:
            return False
        try:
            await context.update_activity(Activity.model_validate({**activity, "id": card_id}))
        except Exception as e:  # noqa: BLE001 - the caller sends the card as a new message instead
            log.info("could not update the Teams card %s (%s)", card_id, e)
            return False
        return True

    async def _reply_in_time(
        self,
        context: Any,
        work: Callable[[], dict[str, Any]],
        what: str,
        *,
        pool: Executor | None = None,
        holding: str = "",
    ) -> None:
        """Run a tool off the event loop and reply in this turn (if Teams would give up first: `holding`, then it)."""

        def guarded() -> dict[str, Any]:
            try:
                return work()
            except Exception:
                log.exception("the Teams %s failed", what)
                return cards.text_activity(APOLOGY)

        future = asyncio.get_running_loop().run_in_executor(pool, guarded)
        try:
            if context.activity.delivery_mode == "expectReplies" or not holding:
                reply = await future
            else:
                reply = await asyncio.wait_for(asyncio.shield(future), self.settings.teams_inline_s)
        except TimeoutError:
            reference = _reference(context)

            async def later() -> None:
                await self._send_later(reference, _message(await future))

            self._in_background(later())
            await _say(context, _message(cards.text_activity(holding)))
            return
        await context.send_activity(_message(reply))

    # -- votes ----------------------------------------------------------------------------------
    async def on_submit_action(self, context: Any) -> None:
        """The feedback loop's thumbs (an invoke naming the answer's message); always answered with 200."""
        from microsoft_agents.activity import Activity, InvokeResponse

        activity = context.activity
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("actionValue") if isinstance(value.get("actionValue"), dict) else {}
        vote = REACTIONS.get(str(action.get("reaction", "")))
        message_id = activity.reply_to_id or ""
        try:
            feedback_id = await self.conversations.feedback_id(activity.conversation.id, message_id)
            if value.get("actionName") == "feedback" and vote and feedback_id:
                voted = await self._vote(context, feedback_id, vote, message_id, _comment(action))
                thanked = await self._thank_in_place(context, feedback_id, message_id, voted.thanks)
                if not (thanked or voted.recorded):  # Teams says thanks itself; an apology is ours to say
                    await context.send_activity(_message(cards.text_activity(voted.thanks)))
            else:
                log.warning("ignored Teams feedback %r on message %r", action.get("reaction"), message_id)
        except Exception:  # Teams shows an error for anything but 200; the vote is lost either way
            log.exception("Teams feedback on message %r failed", message_id)
        await context.send_activity(Activity(type="invokeResponse", value=InvokeResponse(status=200)))

    async def _card_vote(self, context: Any, value: dict[str, Any]) -> None:
        """A button on the card of an answer sent before the feedback loop; a message when it cannot be updated."""
        message_id = context.activity.reply_to_id or ""
        voted = await self._vote(context, str(value.get("answer_id", "")), str(value.get("vote")), message_id)
        if not await self._thank_in_place(context, str(value.get("answer_id", "")), message_id, voted.thanks):
            await context.send_activity(_message(cards.text_activity(voted.thanks)))

    async def _vote(self, context: Any, feedback_id: str, vote: str, message_id: str, comment: str = "") -> Voted:
        """Store a vote through the core and tell the experts what they should hear."""
        activity = context.activity
        link = partial(_message_link, activity, message_id)
        vote_call = partial(
            self.chat.vote, feedback_id, _user(activity), vote, platform="teams", link=link, comment=comment
        )
        voted = await asyncio.get_running_loop().run_in_executor(None, vote_call)
        await self._tell_experts(_reference(context), voted.forward)
        return voted

    async def _thank_in_place(self, context: Any, feedback_id: str, message_id: str, thanks: str) -> bool:
        """Like Slack: the answer stays, its ways to vote give way to a thank-you."""
        from microsoft_agents.activity import Activity

        if not message_id:
            return False
        try:
            original = await self.conversations.answer(feedback_id)
            if original is None:
                return False
            await context.update_activity(
                Activity.model_validate({**cards.thanked(original, thanks), "id": message_id})
            )
        except Exception as e:  # noqa: BLE001 - a thank-you message does as well
            log.info("could not update the Teams answer %s (%s)", message_id, e)
            return False
        return True

    # -- sending outside the turn ---------------------------------------------------------------
    async def _tell_experts(self, reference: Reference, text: str) -> None:
        """Post to the experts' channel, if one is set, in the same tenant as the conversation."""
        channel = self.settings.teams_experts_channel
        if not channel or not text:
            return
        from microsoft_agents.activity import ConversationAccount

        identity, conversation = reference
        there = conversation.model_copy(
            update={"conversation": ConversationAccount(id=channel, conversation_type="channel"), "activity_id": None}
        )
        await self._send_later((identity, there), _message(cards.text_activity(text)))

    async def _send_later(self, reference: Reference, reply: Any) -> Any:
        """Send outside the original turn (proactively), to the same conversation; the resource response."""
        identity, conversation = reference
        sent: list[Any] = []

        async def send(context: Any) -> None:
            sent.append(await context.send_activity(reply))

        try:
            await self.adapter.continue_conversation_with_claims(
                identity, conversation.get_continuation_activity(), send
            )
        except Exception:
            log.exception("could not deliver a message proactively to %s", conversation.conversation.id)
        return sent[0] if sent else None

    def _in_background(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.pending.add(task)  # keep a reference until it is done
        task.add_done_callback(self.pending.discard)


def _assess_form(tools: Tools, idea: str) -> dict[str, Any]:
    """The assessment form with what the idea already answers."""
    return cards.assess_form_activity(tools.start(idea))


def _rendered(reply: Reply) -> dict[str, Any]:
    """An answer with its citations, card and thumbs; small talk, help and apologies as text."""
    if reply.kind == "answer" and reply.answer is not None:
        return cards.answer_activity(reply.answer, reply.feedback_id)
    return cards.text_activity(reply.text)


async def _say(context: Any, activity: Any) -> None:
    """Send a progress message (typing, place in line, holding reply); its failure must not cost the answer."""
    try:
        await context.send_activity(activity)
    except Exception:
        log.exception("could not send a progress message to Teams conversation %s", context.activity.conversation.id)


def _message(activity: dict[str, Any]) -> Any:
    from microsoft_agents.activity import Activity

    return Activity.model_validate(activity)


def _reference(context: Any) -> Reference:
    return context.identity, context.activity.get_conversation_reference()


def _user(activity: Any) -> str:
    sender = activity.from_property
    return (sender.aad_object_id or sender.id or "") if sender else ""


def _person(activity: Any) -> str:
    """Who a checklist shows as having ticked: the person's name in Teams, else their id."""
    sender = activity.from_property
    return (sender.name if sender else "") or _user(activity)


def _channel(activity: Any) -> str:
    """Where a project's checklists belong: the chat, or the channel (all its reply chains)."""
    return (activity.conversation.id or "").split(";messageid=")[0]


def _place(activity: Any) -> str:
    """Where the activity comes from, for audiences: the team of a channel, a group chat or a personal chat."""
    return teams_place(activity.conversation.conversation_type, activity.channel_data)


def _how(verb: str) -> str:
    """How a command is typed in Teams: the word itself (after an @mention in channels)."""
    return f"**{verb}**"


TOOLS_HELP = (
    f"{_how('assess [your idea]')}: LLM, image model or both? A short form, then the recommendation with reasons",
    f"{_how('checklist [name] [project]')}: work through a checklist as a team "
    f"({_how('checklist status')}, {_how('checklist export PROJECT')})",
)


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


def _comment(action: dict[str, Any]) -> str:
    """What the person wrote after a thumb: Teams sends it as JSON text, {"feedbackText": ...}."""
    raw = action.get("feedback")
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return ""
    text = data.get("feedbackText") if isinstance(data, dict) else None
    return text if isinstance(text, str) else ""
