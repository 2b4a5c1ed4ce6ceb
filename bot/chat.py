"""The chat core that Slack, Teams and the terminal call: ask, command, vote, and what each reply says.

Platforms translate their events into calls here and render what comes back (Block Kit, Adaptive
Cards, text); the wording, the audit log, who may reindex and what the experts are told live here
once. Reply text is Markdown; each platform converts it to its own markup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from bot import experts
from bot.answering.engine import APOLOGY
from bot.audiences import TERMINAL, Audiences, Scope, labels, slack_place
from bot.fairuse import FairUse, Refusal, Ticket
from bot.reindex import Reindexer
from bot.state.feedback import VOTES, FeedbackStore
from bot.tools.core import Tools
from bot.types import Answer, Choice, Question
from bot.web.metrics import Metrics
from bot.wording import ASK_IN_CHAT, help_text, reindex_text, status_text
from common.errors import BackendUnavailable, ConfigError, DatabaseUnavailable, EmptyQuestion
from common.settings import Settings
from kb.store import IndexInfo
from kb.summary import IngestSummary

log = logging.getLogger(__name__)
COMMANDS = ("help", "status", "reindex")
TOOLS = ("assess", "checklist")  # routed only when the core has tools (bot/tools/core.py)
Platform = Literal["slack", "teams", "terminal", "mcp"]
ADMINS_VARIABLE = {"slack": "ADOPTBOT_SLACK_ADMINS", "teams": "ADOPTBOT_TEAMS_ADMINS"}
THANKS = {
    "helpful": "Thanks, glad it helped!",
    "not_helpful": "Thanks for telling us; the editors will look at it.",
}


T = TypeVar("T")
# Posts a forward (Markdown) to a platform's experts' channel; `origin` is what the platform passed to ask/vote.
ExpertsNotifier = Callable[[str, Any], None]


class Answering(Protocol):
    """What the core needs of the engine (bot.answering.engine.Engine, or a stub in platform tests)."""

    def answer(
        self, question: Question, *, backend: str | None = None, on_text: Callable[[str], None] | None = None
    ) -> Answer: ...

    def describe_backend(self) -> str: ...


@dataclass(frozen=True)
class Reply:
    """What answering produced: the answer (None for help or an apology), its audit id, a note for the experts."""

    text: str
    answer: Answer | None = None
    feedback_id: str = ""  # empty: nothing to vote on (small talk, help, an apology)
    forward: str = ""  # for the experts' channel, when the question was declined
    kind: Literal["answer", "clarify", "smalltalk", "help", "error"] = "answer"

    @property
    def choices(self) -> tuple[Choice, ...]:
        """A clarifying question's topics: each platform offers them (buttons, numbers); choosing one asks it."""
        return self.answer.choices if self.answer is not None else ()


@dataclass(frozen=True)
class Voted:
    """A vote taken: the thank-you to show, and what the experts' channel is told (or nothing)."""

    recorded: bool
    thanks: str
    forward: str = ""


@dataclass(frozen=True)
class Routed:
    """What a person typed is for: a tool or a command (`name`, with the words after it), or a question."""

    kind: Literal["tool", "command", "question"]
    name: str = ""  # the tool or command; empty for a question
    rest: str = ""  # a tool's arguments, or the question's text


@dataclass
class Chat:
    """One core for every platform; answers run on `pool`, admitted by `fair`."""

    engine: Answering
    feedback: FeedbackStore
    reindexer: Reindexer
    index_info: Callable[[], IndexInfo | None]
    settings: Settings
    pool: ThreadPoolExecutor
    fair: FairUse
    metrics: Metrics = field(default_factory=lambda: Metrics(process=False))
    tools: Tools | None = None  # the assessment and checklists (bot/tools/core.py), where configured
    audiences: Audiences = field(default_factory=Audiences)  # what the experts' channels may see of forwards
    _experts: dict[str, ExpertsNotifier] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def build(
        cls,
        *,
        engine: Answering,
        feedback: FeedbackStore,
        reindexer: Reindexer,
        index_info: Callable[[], IndexInfo | None],
        settings: Settings,
        metrics: Metrics | None = None,
        tools: Tools | None = None,
        audiences: Audiences | None = None,
    ) -> Chat:
        """The core with its worker pool and fair-use limits from settings."""
        fair = FairUse(
            per_minute=settings.questions_per_minute, max_waiting=settings.max_waiting, workers=settings.workers
        )
        metrics = metrics or Metrics(process=False)
        metrics.watch_queue(lambda: fair.waiting)
        return cls(
            engine=engine,
            feedback=feedback,
            reindexer=reindexer,
            index_info=index_info,
            settings=settings,
            pool=ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="answer"),
            fair=fair,
            metrics=metrics,
            tools=tools,
            audiences=audiences or Audiences(),
        )

    # -- routing --------------------------------------------------------------------------------
    def route(self, text: str, *, slash: bool = False, prefix: str = "") -> Routed:
        """Whether text is a tool (when configured), a command or a question.

        A message (Teams) is a command when it is the command word alone ("Status?"), a tool when its
        first word names one. `slash` (Slack's slash command): everything but a tool or `ask <question>`
        is a command, an unknown one or none at all being help. `prefix` (the terminal's "/"): only text
        that starts with it is a tool or command; the command is then help unless it is the word alone.
        """
        text = text.strip()
        if prefix:
            if not text.startswith(prefix):
                return Routed("question", rest=text)
            text = text[len(prefix) :]
        word, _, rest = text.partition(" ")
        word = word.lower()
        if word in TOOLS and self.tools is not None:
            return Routed("tool", word, rest.strip())
        if slash:
            if word == "ask" and rest.strip():
                return Routed("question", rest=rest.strip())
            return Routed("command", word if word in COMMANDS else "help")
        if prefix:
            if word in COMMANDS:
                whole = text.strip().lower()
                return Routed("command", whole if whole in COMMANDS else "help")
            return Routed("question", rest=prefix + text)
        verb = text.lower().strip(" .!?")
        if verb in COMMANDS:
            return Routed("command", verb)
        return Routed("question", rest=text)

    # -- questions ------------------------------------------------------------------------------
    def admit(self, user: str) -> Ticket | Refusal:
        """A place in line for this person's question, or a polite refusal saying when to try again."""
        return self.fair.admit(user)

    def submit(self, ticket: Ticket, work: Callable[..., T], *args: Any) -> Future[T]:
        """Run `work(*args)` on the pool; the ticket is released when it ends, or at once if the pool refuses it."""

        def run() -> T:
            try:
                return work(*args)
            finally:
                ticket.release()

        try:
            return self.pool.submit(run)
        except BaseException:
            ticket.release()  # shutting down: the place in line is given back
            raise

    # -- humans in the loop -----------------------------------------------------------------------
    def connect_experts(self, platform: Platform, notify: ExpertsNotifier) -> None:
        """The platform's way to post to its experts' channel; the core calls it for every forward."""
        self._experts[platform] = notify

    def _tell_experts(self, platform: Platform, forward: str, origin: Any) -> None:
        notify = self._experts.get(platform)
        if not forward or notify is None:
            return
        try:
            notify(forward, origin)
        except Exception:  # the person already has their reply: a failure costs the forward only
            log.exception("could not tell the %s experts' channel", platform)

    def ask(
        self,
        question: Question,
        *,
        platform: Platform,
        channel_kind: str,
        link: Callable[[], str] = str,
        on_text: Callable[[str], None] | None = None,
        backend: str | None = None,
        deliver: Callable[[Reply], None] | None = None,
        origin: Any = None,
    ) -> Reply:
        """Answer, record it in the audit log, and tell the experts (after `deliver`) what they should hear.

        `link()` gives a link to the conversation for the experts, asked for only when they are told.
        `deliver(reply)` posts the reply on the platform, so the asker hears before the experts; a failure
        to deliver is raised (and the experts are not told); answering itself never raises.
        `origin` is handed to the platform's experts notifier.
        """
        reply = self._answer(question, platform, channel_kind, link, on_text, backend)
        if deliver is not None:
            deliver(reply)
        self._tell_experts(platform, reply.forward, origin)
        return reply

    def _answer(
        self,
        question: Question,
        platform: Platform,
        channel_kind: str,
        link: Callable[[], str],
        on_text: Callable[[str], None] | None,
        backend: str | None,
    ) -> Reply:
        try:
            answer = self.engine.answer(question, backend=backend, on_text=on_text)
        except EmptyQuestion:
            return Reply("Ask me a question.", kind="help")
        except Exception as e:
            if backend and isinstance(e, BackendUnavailable | ConfigError):
                raise  # a backend asked for by name (the terminal's --backend): the person needs the reason
            log.exception("answering a %s question failed", platform)
            self.metrics.observe_error(platform)
            return Reply(APOLOGY, kind="error")
        self.metrics.observe_answer(platform, answer)
        feedback_id = self.record(answer, platform=platform, channel_kind=channel_kind, user=question.user)
        if answer.status == "smalltalk":
            return Reply(answer.text, answer, kind="smalltalk")  # audited, but nothing to vote on
        if answer.status == "clarify":
            return Reply(answer.text, answer, kind="clarify")  # audited; the answer to vote on comes with the choice
        forward = ""
        if answer.status == "no_answer":
            nearest = [(c.title, labels(c.audience)) for c in answer.related]
            forward = experts.declined(answer.question, nearest, link(), scope=self.experts_scope(platform))
        return Reply(answer.text, answer, feedback_id, forward)

    def record(self, answer: Answer, *, platform: Platform, channel_kind: str, user: str) -> str:
        """Put an answer in the audit log; its id is what votes refer to."""
        return self.feedback.record_answer(platform, answer, channel_kind=channel_kind, user=user)

    # -- commands -------------------------------------------------------------------------------
    def command(
        self,
        verb: str,
        *,
        platform: Platform,
        user: str,
        report: Callable[[str], None],
        how: Callable[[str], str],
        extra: Sequence[str] = (),
        ask: str = ASK_IN_CHAT,
    ) -> str:
        """The immediate reply to help, status or reindex; a reindex's summary goes to `report` when it ends.

        `how(verb)` says how a command is typed on the platform (Slack: `/adoptbot status`).
        """
        verb = verb.strip().lower()
        if verb == "status":
            return status_text(self.index_info(), self.engine.describe_backend())
        if verb == "reindex":
            return self._reindex(platform, user, report)
        return help_text(how, extra, ask=ask)

    def may_reindex(self, platform: Platform, user: str) -> bool:
        """Editors named in the platform's admins setting; whoever runs the terminal."""
        if platform == "terminal":
            return True
        admins = self.settings.slack_admin_ids if platform == "slack" else self.settings.teams_admin_ids
        return bool(user) and user in admins

    def _reindex(self, platform: Platform, user: str, report: Callable[[str], None]) -> str:
        if not self.may_reindex(platform, user):
            log.warning("reindex refused for non-admin %s user %s", platform, user)
            return (
                "Sorry, only knowledge base editors can reindex. Ask an editor, or an admin to add you to "
                f"{ADMINS_VARIABLE.get(platform, 'the admins setting')}."
            )

        def done(summary: IngestSummary | None, error: Exception | None) -> None:
            report(reindex_text(summary, error))

        if not self.reindexer.start(done, requested_by=f"{platform}:{user}"):
            return "A reindex is already running; you'll see its summary here when it finishes."
        return "🔄 Reindexing the knowledge base; I'll post a summary here when it's done."

    # -- feedback -------------------------------------------------------------------------------
    def vote(
        self,
        feedback_id: str,
        user: str,
        vote: str,
        *,
        platform: Platform,
        link: Callable[[], str] = str,
        comment: str = "",
        origin: Any = None,
    ) -> Voted:
        """Store a vote (with what the voter wrote, if anything); a "not helpful" is forwarded to the experts.

        `origin` is handed to the platform's experts notifier.
        """
        try:
            voted = self._vote(feedback_id, user, vote, platform, link, comment)
        except DatabaseUnavailable as e:
            log.warning("vote for %s not recorded: %s", feedback_id, e)
            return Voted(False, "Sorry, I couldn't record your vote just now. Please try again in a minute.")
        self._tell_experts(platform, voted.forward, origin)
        return voted

    def _vote(
        self, feedback_id: str, user: str, vote: str, platform: Platform, link: Callable[[], str], comment: str
    ) -> Voted:
        if vote not in VOTES or not self.feedback.record_vote(feedback_id, user, vote, comment):
            log.warning("ignored feedback %r for answer %r", vote, feedback_id)
            return Voted(False, THANKS.get(vote, THANKS["helpful"]))
        self.metrics.observe_vote(vote)
        forward = ""
        answered = self.feedback.answer(feedback_id) if vote == "not_helpful" else None
        if answered is not None:
            # Answers recorded before sources kept their audiences: not known, so shown only where everything is.
            sources = [
                (f"{s['title']} - {s['section']}", labels(s["audience"]) if "audience" in s else None)
                for s in answered["sources"]
            ]
            forward = experts.not_helpful(
                answered["question"], answered["answer"], sources, link(), comment=comment,
                scope=self.experts_scope(platform),
            )  # fmt: skip
        return Voted(True, THANKS[vote], forward)

    def experts_scope(self, platform: Platform) -> Scope:
        """What the platform's experts' channel may see (bot/audiences.py).

        In Teams the audiences file names teams; the experts' channel is looked up by its own id, which is
        its team's id when it is the team's General channel.
        """
        if platform == "slack":
            return self.audiences.scope(slack_place(self.settings.slack_experts_channel))
        if platform == "teams":
            return self.audiences.scope(f"teams:{self.settings.teams_experts_channel}")
        return self.audiences.scope(TERMINAL)
