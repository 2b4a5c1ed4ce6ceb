"""The adoption tools every platform offers: the use-case assessment and checklists teams tick through.

Platforms translate their modal, card or command into these calls and render what comes back;
the wording and the rules (bot/tools/assessment.py, bot/tools/checklists.py) live here and there, once.
Text is Markdown, like the chat core's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from bot.tools.assessment import Assessment, Assessor, Incomplete, Session
from bot.tools.checklists import Board, ChecklistError, Progress, project_name, toggled
from common.errors import DatabaseUnavailable
from common.text import literal

log = logging.getLogger(__name__)

RECOMMENDATIONS = {"llm": "an LLM", "generative": "a broader generative model", "hybrid": "a hybrid"}
CHECKLISTS_UNAVAILABLE = "Sorry, I can't reach the checklists just now. Please try again in a minute."


@dataclass(frozen=True)
class ChecklistReply:
    """What a checklist command produced: a checklist to show with its boxes, or Markdown."""

    text: str = ""
    progress: Progress | None = None


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
        try:
            return self.assessor.assess(session, place=place)
        except Incomplete as e:
            return str(e)

    # -- checklists ----------------------------------------------------------------------------
    def checklist(
        self, words: Sequence[str], *, channel: str, place: str, user: str, how: Callable[[str], str]
    ) -> ChecklistReply:
        """`checklist`, `checklist NAME`, `checklist NAME PROJECT`, `checklist status`, `checklist export PROJECT`.

        Only the checklists place may see (bot.audiences) are listed, shown, posted and exported;
        `how(args)` says how the command is typed on the platform, for the hints.
        """
        try:
            return self._checklist(words, channel=channel, place=place, user=user, how=how)
        except DatabaseUnavailable as e:
            log.warning("checklist command not carried out: %s", e)
            return ChecklistReply(CHECKLISTS_UNAVAILABLE)

    def _checklist(
        self, words: Sequence[str], *, channel: str, place: str, user: str, how: Callable[[str], str]
    ) -> ChecklistReply:
        board = self.board
        try:
            if not words:
                lines = [
                    f"- **{literal(c.id)}**: {literal(c.title)} ({len(c.items)} items)" for c in board.names(place)
                ]
                lines.append(f"Work through one for a project: {how('checklist NAME PROJECT')}.")
                return ChecklistReply("\n".join(lines))
            if [w.lower() for w in words] == ["status"]:
                return ChecklistReply(status_markdown(board.status(channel, place=place), how))
            if words[0].lower() == "export":
                if len(words) < 2:
                    return ChecklistReply(f"Name the project: {how('checklist export PROJECT')}.")
                return ChecklistReply(f"```\n{board.export(channel, ' '.join(words[1:]), place=place)}```")
            if len(words) == 1:
                c = board.find(words[0], place)
                items = "\n".join(f"{n}. {literal(item.text)}" for n, item in enumerate(c.items, start=1))
                hint = how(f"checklist {c.id} PROJECT")
                return ChecklistReply(f"**{literal(c.title)}**\n{items}\n\nWork through it: {hint}.")
            return ChecklistReply(progress=board.post(channel, " ".join(words[1:]), words[0], user, place=place))
        except ChecklistError as e:  # plain text (the terminal prints it too), naming what the person typed
            return ChecklistReply(literal(str(e)))

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
    family = f" ({result.family})" if result.family else ""
    lines = [f"**Recommendation: {RECOMMENDATIONS[result.recommendation]}{family}**", ""]
    for n, step in enumerate(result.steps, start=1):
        marks = "".join(f"[{k}]" for k in step.sources)
        lines.append(f"{n}. **{step.title}**: {step.finding} {marks}".rstrip())
    if result.checklist_risks:
        lines += ["", "**Checklist items at risk**"]
        for risk in result.checklist_risks:
            marks = "".join(f"[{k}]" for k in risk.sources)
            lines.append(f"- {risk.text} {marks} (because: {'; '.join(risk.because)})".replace("  ", " "))
    if result.open_questions:
        lines += ["", "**Open questions**"]
        lines += [f"- {q.ask}" + (f" (assumed: {q.assumed})" if q.assumed else "") for q in result.open_questions]
    return "\n".join(lines)
