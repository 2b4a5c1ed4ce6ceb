"""One person's assessment in progress: what is answered, what is still to ask, and in which order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.tools.assessment.errors import AnswerError
from bot.tools.assessment.idea import Given, Meaning, infer
from common.text import visible
from kb.decisions import DecisionTable, Question


def relevant(question: Question, answers: Mapping[str, Given]) -> bool:
    """Whether the question applies, given the answers so far (its `when` holds)."""
    return all(qid in answers and answers[qid].choice in accepted for qid, accepted in question.when)


class Session:
    """One person's assessment in progress: asks only what is still unknown, in the table's order.

    Platforms keep it between turns as `to_dict()` (a Slack modal's private_metadata, a Teams card's
    data) and rebuild it with `Session.from_dict`.
    """

    def __init__(
        self,
        table: DecisionTable,
        *,
        idea: str = "",
        answers: Mapping[str, Given] | None = None,
        meaning: Meaning | None = None,
    ) -> None:
        self.table = table
        self.idea = idea
        self.answers: dict[str, Given] = dict(answers or {})
        self.skipped: set[str] = set()
        self.meaning = meaning

    @classmethod
    def start(cls, table: DecisionTable, idea: str = "", *, meaning: Meaning | None = None) -> Session:
        """A session with what the idea's words answer already filled in."""
        answers = infer(table, idea, meaning=meaning) if idea.strip() else {}
        return cls(table, idea=idea, answers=answers, meaning=meaning)

    def pending(self) -> list[Question]:
        """The questions still to ask now, in order (a question whose `when` is unknown waits for it)."""
        known = dict(self.answers)
        for q in self.table.questions:  # a skipped question counts as its default, as in the result
            if q.id in self.skipped and q.default and q.id not in known:
                known[q.id] = Given(q.id, q.default, "assumed")
        return [
            q
            for q in self.table.questions
            if (q.id not in self.answers or self.suggested(q.id)) and q.id not in self.skipped and relevant(q, known)
        ]

    def suggested(self, question_id: str) -> str:
        """The choice meaning suggests for a question, still to be confirmed (a platform pre-selects it), or ''."""
        given = self.answers.get(question_id)
        return given.choice if given is not None and given.meaning and given.how == "inferred" else ""

    def next_question(self) -> Question | None:
        """The next question to ask, or None when everything that applies is answered or skipped."""
        pending = self.pending()
        return pending[0] if pending else None

    def answer(self, question_id: str, reply: str) -> Given:
        """Record a reply: a choice's number, id or label, or free text; AnswerError when it matches none.

        Free text also fills in other questions its words answer, when nobody has answered them yet.
        """
        q = self._question(question_id)
        reply = " ".join(reply.split())
        choice = _choice_named(q, reply)
        if choice:
            given = Given(q.id, choice, "chosen")
        else:
            found = infer(self.table, reply, only=q.id, meaning=self.meaning).get(q.id)
            if found is None:
                raise AnswerError(
                    f"Not sure which answer {visible(reply[:80])!r} means for: {q.ask} Reply with a number from 1 "
                    f"to {len(q.choices)}, or one of: {', '.join(c.id for c in q.choices)}; or skip the question."
                )
            given = Given(q.id, found.choice, "chosen", found.evidence, found.meaning)
            for qid, other in infer(self.table, reply).items():
                if qid != q.id and qid not in self.answers:
                    self.answers[qid] = other
        self.answers[q.id] = given
        self.skipped.discard(q.id)
        return given

    def skip(self, question_id: str) -> None:
        """Leave a question unanswered: a suggestion or its default is assumed, or it is listed as open."""
        self.skipped.add(self._question(question_id).id)

    def to_dict(self) -> dict[str, Any]:
        """The session as plain JSON data."""
        return {
            "idea": self.idea,
            "answers": [[g.question, g.choice, g.how, g.evidence, g.meaning] for g in self.answers.values()],
            "skipped": sorted(self.skipped),
        }

    @classmethod
    def from_dict(cls, table: DecisionTable, data: Mapping[str, Any], *, meaning: Meaning | None = None) -> Session:
        """Rebuild a session; answers to questions or choices the table no longer has are dropped."""
        session = cls(table, idea=str(data.get("idea") or ""), meaning=meaning)
        for row in data.get("answers") or []:
            qid, cid, how, evidence, by_meaning = [*row, "", "", "chosen", "", False][:5]
            q = table.question(str(qid))
            if q and q.choice(str(cid)) and how in ("chosen", "inferred", "assumed"):
                session.answers[q.id] = Given(q.id, str(cid), how, str(evidence), by_meaning is True)
        session.skipped = {str(s) for s in data.get("skipped") or [] if table.question(str(s))}
        return session

    def _question(self, question_id: str) -> Question:
        q = self.table.question(question_id)
        if q is None:
            known = ", ".join(x.id for x in self.table.questions)
            raise AnswerError(f"There is no question {visible(question_id)!r}: use one of {known}")
        return q


def _choice_named(q: Question, reply: str) -> str:
    """The choice a reply names by number, id or label, or ''."""
    if reply.isdigit() and 1 <= int(reply) <= len(q.choices):
        return q.choices[int(reply) - 1].id
    wanted = reply.casefold()
    for c in q.choices:
        if wanted in (c.id.casefold(), c.label.casefold()):
            return c.id
    return ""
