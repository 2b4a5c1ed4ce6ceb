"""The adoption tools every platform offers: the use-case assessment and checklists teams tick through.

Platforms translate their modal, card or command into these calls and render what comes back;
the wording and the rules (bot/tools/assessment/, bot/tools/checklists/) live here and there, once.
Text is Markdown, like the chat core's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from bot.tools.assessment import Assessment, Assessor, Incomplete, Session
from bot.tools.checklists import Board, Checklist, ChecklistError, Progress, project_name, toggled
from common.errors import AdoptbotError, DatabaseUnavailable
from common.text import literal

log = logging.getLogger(__name__)

RECOMMENDATIONS = {"llm": "an LLM", "generative": "a broader generative model", "hybrid": "a hybrid"}
CHECKLISTS_UNAVAILABLE = "Sorry, I can't reach the checklists just now. Please try again in a minute."


@dataclass(frozen=True)
class ChecklistReply:
    """What a checklist command produced: a checklist to show with its boxes, or Markdown.

    The rest is what the command found, for a surface that lays it out itself (the terminal):
    the checklists listed, the one shown, the projects of `status`, the text of `export`, and the
    error behind a refusal (`text` says it in Markdown).
    """

    text: str = ""
    progress: Progress | None = None
    listed: tuple[Checklist, ...] = ()
    shown: Checklist | None = None
    projects: tuple[Progress, ...] = ()
    export: str = ""
    error: AdoptbotError | None = None


class Tools:
    """The assessment and the checklist board, built lazily (the assessment needs the index)."""

    def __init__(self, *, assessor: Callable[[], Assessor], board: Callable[[], Board]) -> None:
        self._assessor = assessor
        self._board = board

    @cached_property
    def assessor(self) -> Assessor:
        return self._assessor()

    @cached_property
    def board(self) -> Board:
        return self._board()

    # -- the assessment ------------------------------------------------------------------------
    def start(self, idea: str = "") -> Session:
        """An assessment with what the idea's words already answer."""
        return self.assessor.session(idea)

    def fill(self, idea: str, chosen: Mapping[str, str]) -> tuple[Session, list[str]]:
        """An assessment from a submitted form: the idea, then each question's chosen choice id.

        Also the questions whose choice the editors have since removed (the form was stale): they stay
        open, never read as free text, so a removed choice cannot pass for another one.
        """
        session = self.start(idea.strip())
        stale: list[str] = []
        for question, choice in chosen.items():
            read = session.answers.get(question)
            if not choice or (read and read.choice == choice and not session.suggested(question)):
                continue  # kept as read from the idea: its words stay cited
            asked = session.table.question(question)
            if asked is None or asked.choice(choice) is None:
                log.info("assessment form: %r is no longer a choice of %r", choice, question)
                stale.append(question)
                continue
            session.answer(asked.id, choice)  # a choice's id
        return session, stale

    def missing(self, session: Session) -> list[str]:
        """Required questions nobody answered yet (the result cannot be given without them)."""
        return [q.id for q in session.table.questions if q.required and q.id not in session.answers]

    def assess(self, session: Session, *, place: str = "") -> Assessment | str:
        """The recommendation, or Markdown saying what is still needed."""
        result = self.result(session, place=place)
        return str(result) if isinstance(result, Incomplete) else result

    def result(self, session: Session, *, place: str = "") -> Assessment | Incomplete:
        """The recommendation, or what is still needed with the questions it needs (to ask them again)."""
        try:
            return self.assessor.assess(session, place=place)
        except Incomplete as e:
            return e

    # -- checklists ----------------------------------------------------------------------------
    def checklist(
        self,
        words: Sequence[str],
        *,
        channel: str,
        place: str,
        user: str,
        how: Callable[[str], str],
        tick: Sequence[str] = (),
        untick: Sequence[str] = (),
    ) -> ChecklistReply:
        """`checklist`, `checklist NAME`, `checklist NAME PROJECT`, `checklist status`, `checklist export PROJECT`.

        Only the checklists place may see (bot.audiences) are listed, shown, posted and exported;
        `how(args)` says how the command is typed on the platform, for the hints. With a project,
        tick and untick name items (number, id or text) to change once it is posted: every one must
        exist, or nothing is posted or changed.
        """
        try:
            board = self.board
            if not words:
                listed = board.names(place)
                lines = [f"- **{literal(c.id)}**: {literal(c.title)} ({len(c.items)} items)" for c in listed]
                lines.append(f"Work through one for a project: {how('checklist NAME PROJECT')}.")
                return ChecklistReply("\n".join(lines), listed=tuple(listed))
            if [w.lower() for w in words] == ["status"]:
                every = board.status(channel, place=place)
                return ChecklistReply(status_markdown(every, how), projects=tuple(every))
            if words[0].lower() == "export":
                if len(words) < 2:
                    return ChecklistReply(f"Name the project: {how('checklist export PROJECT')}.")
                text = board.export(channel, " ".join(words[1:]), place=place)
                return ChecklistReply(f"```\n{text}```", export=text)
            if len(words) == 1:
                c = board.find(words[0], place)
                items = "\n".join(f"{n}. {literal(item.text)}" for n, item in enumerate(c.items, start=1))
                hint = how(f"checklist {c.id} PROJECT")
                return ChecklistReply(f"**{literal(c.title)}**\n{items}\n\nWork through it: {hint}.", shown=c)
            project = " ".join(words[1:])
            if tick or untick:
                found = board.find(words[0], place)
                for ref in [*tick, *untick]:
                    found.item(ref)  # every item must exist before anything is posted or ticked
            progress = board.post(channel, project, words[0], user, place=place)
            for ref, done in [*((i, True) for i in tick), *((i, False) for i in untick)]:
                progress = board.tick(channel, project, words[0], ref, user, done=done, place=place)
            return ChecklistReply(progress=progress)
        except ChecklistError as e:  # plain text (the terminal prints it too), naming what the person typed
            return ChecklistReply(literal(str(e)), error=e)
        except DatabaseUnavailable as e:
            log.warning("checklist command not carried out: %s", e)
            return ChecklistReply(CHECKLISTS_UNAVAILABLE, error=e)

    def tick(
        self,
        *,
        channel: str,
        place: str,
        project: str,
        checklist: str,
        shown_done: Iterable[str],
        selected: Iterable[str],
        user: str,
        how: Callable[[str], str],
    ) -> Progress:
        """Apply what a person changed in a group of boxes (against what their copy showed); the state after.

        ChecklistError, saying what to do, when their copy no longer matches the checklists place may
        see (editors removed the checklist or the item); nothing is changed then. DatabaseUnavailable
        when the ticks cannot be reached: the platform apologises (CHECKLISTS_UNAVAILABLE).
        """
        changes = toggled(shown_done, selected)
        project = project_name(project)  # a name no checklist could have been posted for costs no work
        found = self.board.offered(place).get(checklist)
        if found is None:
            raise ChecklistError(
                f"That checklist is no longer offered here (the editors may have removed or renamed it): "
                f"see {how('checklist')} for the checklists there are."
            )
        if any(i not in {item.id for item in found.items} for i in changes):
            raise ChecklistError(
                f"This copy of {literal(found.title)} is out of date (its items have changed) and nothing was changed: "
                f"reopen it with {how(f'checklist {found.id} {project}')} and tick again."
            )
        if not changes:
            return self.board.progress(channel, project, found.id, place=place)
        return self.board.change(channel, project, found.id, changes, user, place=place)


def status_markdown(every: Sequence[Progress], how: Callable[[str], str]) -> str:
    """Progress of each project in a channel."""
    if not every:
        return f"No projects here yet: start one with {how('checklist NAME PROJECT')}."
    return "\n".join(
        f"- **{literal(p.project.project)}**: {literal(p.checklist.title)}, {p.done} of {p.total} done" for p in every
    )


def assessment_markdown(result: Assessment) -> str:
    """An assessment for a chat: the recommendation, the reasons step by step, risks, open questions, sources."""
    return _assessment(result, bold="**", family=" ({})", heading="**{}**")


def assessment_plain(result: Assessment) -> str:
    """The same assessment as plain lines for a terminal (which lists the sources itself); text as written."""
    return _assessment(result, bold="", family=" (family: {})", heading="{}:")


def _assessment(result: Assessment, *, bold: str, family: str, heading: str) -> str:
    """An assessment's lines, with bold markers, the family's wording and section headings as given."""
    named = family.format(result.family) if result.family else ""
    lines = [f"{bold}Recommendation: {RECOMMENDATIONS[result.recommendation]}{named}{bold}", ""]
    for n, step in enumerate(result.steps, start=1):
        marks = "".join(f"[{k}]" for k in step.sources)
        lines.append(f"{n}. {bold}{step.title}{bold}: {step.finding} {marks}".rstrip())
    if result.checklist_risks:
        lines += ["", heading.format("Checklist items at risk")]
        for risk in result.checklist_risks:
            marks = "".join(f"[{k}]" for k in risk.sources)
            lines.append(f"- {risk.text} {marks} (because: {'; '.join(risk.because)})".replace("  ", " "))
    if result.open_questions:
        lines += ["", heading.format("Open questions")]
        lines += [f"- {q.ask}" + (f" (assumed: {q.assumed})" if q.assumed else "") for q in result.open_questions]
    return "\n".join(lines)
