"""What another assistant may do with the knowledge base: ask, search, assess, checklist, read documents.

Each call is the core's (bot/chat.py, bot/tools/core.py, the Retriever) seen from one `Caller`: audience
rules apply to its place, and every call is recorded in the audit log with platform `mcp`, redacted, as
any other question is. Results are plain data (Markdown text and its JSON); bot/mcp/server.py puts them
into the protocol. Calls block (models, the database): the server runs them off its event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote, unquote

from bot.answering.retrieval import Retriever
from bot.audiences import visible
from bot.chat import Chat
from bot.fairuse import Refusal
from bot.tools.assessment import Incomplete
from bot.tools.checklists import ChecklistError, Progress
from bot.tools.core import assessment_markdown
from bot.types import Answer, Citation, Passage, Question, Turn
from common.errors import AdoptbotError, IndexEmpty

log = logging.getLogger(__name__)
DOCUMENTS = "adoptbot://documents/"  # a document's resource URI: this, then its path in the knowledge folder
NOT_INDEXED = "The knowledge base has not been indexed yet: ask its editors to run `adoptbot ingest`."
NO_TOOLS = "The adoption tools are not available on this server."


@dataclass(frozen=True)
class Caller:
    """Who calls, from where: audience rules apply to `place` ("" is the terminal, which sees everything).

    `user` is who the audit log records (as a keyed hash); `channel_kind` is what it records as the
    conversation's kind.
    """

    place: str
    user: str
    channel_kind: str = "unknown"

    @property
    def channel(self) -> str:
        """Whose checklist projects the caller sees: the channel or team its place names; the terminal's."""
        return self.place.partition(":")[2] or "terminal"


@dataclass(frozen=True)
class Result:
    """What a call produced: Markdown for the calling assistant, the same as JSON, and whether it failed."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    error: bool = False


@dataclass(frozen=True)
class Document:
    """One document of the index, as the caller may see it: its passages in order, as Markdown."""

    uri: str
    source: str
    title: str
    url: str
    last_reviewed: str
    audience: tuple[str, ...]
    text: str


def failed(text: str) -> Result:
    return Result(text, {"status": "error", "error": text}, error=True)


class Knowledge:
    """The core, as the MCP edge calls it."""

    def __init__(self, *, chat: Chat, retriever: Retriever) -> None:
        self.chat = chat
        self.retriever = retriever

    # -- ask ------------------------------------------------------------------------------------
    def ask(self, caller: Caller, question: str, history: Sequence[Turn] = ()) -> Result:
        """The chat core's answer with numbered sources, or its decline; fair use applies as in chat."""
        ticket = self.chat.admit(caller.user)
        if isinstance(ticket, Refusal):
            return Result(ticket.text, {"status": "refused", "retry_after_s": ticket.retry_after_s}, error=True)
        asked = Question(question, history=tuple(history), user=caller.user, place=caller.place)
        work = partial(self.chat.ask, asked, platform="mcp", channel_kind=caller.channel_kind)
        reply = self.chat.submit(ticket, work).result()
        if reply.answer is None:
            return Result(reply.text, {"status": reply.kind, "answer": reply.text}, error=reply.kind == "error")
        answer = reply.answer
        return Result(with_sources(answer.text, answer.sources), answer.to_dict())

    # -- search ---------------------------------------------------------------------------------
    def search(self, caller: Caller, query: str, limit: int) -> Result:
        """The passages retrieval finds for query that the caller may see, each with its source."""
        started = time.perf_counter()
        try:
            found = self.retriever.retrieve(query, k=limit, scope=self.chat.audiences.scope(caller.place)).passages
        except IndexEmpty:
            return failed(NOT_INDEXED)
        cited = [self._cite(n, p) for n, p in enumerate(found, start=1)]
        blocks = [f"[{c.n}] {source_line(c)}\n\n{p.text}" for c, p in zip(cited, found, strict=True)]
        text = "\n\n".join(blocks) or "Nothing in the knowledge base matches that."
        timings = {"total": round((time.perf_counter() - started) * 1000, 1)}
        self._record(caller, query, "\n".join(f"[{c.n}] {source_line(c)}" for c in cited), "search", cited, timings)
        passages = [asdict(c) | {"text": p.text} for c, p in zip(cited, found, strict=True)]
        return Result(text, {"query": query, "passages": passages})

    # -- the adoption tools ---------------------------------------------------------------------
    def assess(self, caller: Caller, idea: str, answers: Mapping[str, str]) -> Result:
        """The use-case assessment of idea with the answers given; or which questions it still needs."""
        tools = self.chat.tools
        if tools is None:
            return failed(NO_TOOLS)
        try:
            session = tools.start(idea)
            for question, reply in answers.items():
                session.answer(question, reply)
            result = tools.result(session, place=caller.place)
        except IndexEmpty:
            return failed(NOT_INDEXED)
        except AdoptbotError as e:  # a reply that answers nothing (AnswerError); a decision table that is broken
            return failed(str(e))
        if isinstance(result, Incomplete):
            needed = [
                {"id": q.id, "question": q.ask, "choices": [{"id": c.id, "label": c.label} for c in q.choices]}
                for q in result.questions
            ]
            lines = [str(result), *(f"- {q['id']}: {q['question']} ({choices(q)})" for q in needed)]
            text = "\n".join([*lines, "Call assess again with answers, e.g. {question id: choice id}."])
            self._record(caller, idea, text, "assessment")
            return Result(text, {"status": "incomplete", "message": str(result), "questions": needed})
        text = with_sources(assessment_markdown(result), result.sources)
        self._record(caller, idea, text, "assessment", result.sources)
        return Result(text, {"status": "assessed", **result.to_dict()})

    def checklist(self, caller: Caller, name: str, project: str) -> Result:
        """The checklists, one checklist's items, or a project's progress on one (nothing is ticked)."""
        tools = self.chat.tools
        if tools is None:
            return failed(NO_TOOLS)
        asked = " ".join(["checklist", name, project]).strip()
        try:
            if project and name:
                progress = tools.board.progress(caller.channel, project, name, place=caller.place)
                result = Result(progress_markdown(progress), progress_data(progress))
            elif name:
                c = tools.board.find(name, caller.place)
                items = [{"n": n, "id": i.id, "text": i.text, "why": i.why} for n, i in enumerate(c.items, start=1)]
                lines = [f"**{c.title}** ({c.id})", *(f"{i['n']}. {i['text']}" for i in items)]
                result = Result("\n".join(lines), {"id": c.id, "title": c.title, "source": c.source, "items": items})
            else:
                listed = tools.board.names(caller.place)
                projects = tools.board.status(caller.channel, place=caller.place)
                lines = [f"- **{c.id}**: {c.title} ({len(c.items)} items)" for c in listed]
                lines += [f"- project **{p.project.project}**: {p.checklist.id}, {p.done}/{p.total}" for p in projects]
                data = {
                    "checklists": [{"id": c.id, "title": c.title, "items": len(c.items)} for c in listed],
                    "projects": [progress_data(p) for p in projects],
                }
                result = Result("\n".join(lines) or "No checklists here.", data)
        except ChecklistError as e:
            return failed(str(e))
        except AdoptbotError as e:  # the ticks cannot be reached
            log.warning("checklist call not carried out: %s", e)
            return failed("Sorry, I can't reach the checklists just now. Please try again in a minute.")
        self._record(caller, asked, result.text, "checklist")
        return result

    # -- documents ------------------------------------------------------------------------------
    def documents(self, caller: Caller) -> list[Document]:
        """Every document of the serving index the caller may see, by path."""
        scope = self.chat.audiences.scope(caller.place)
        try:
            passages = self.retriever.snapshot().passages.values()
        except IndexEmpty:
            return []
        by_source: dict[str, list[Passage]] = {}
        for p in passages:
            if visible(p.audience, scope):
                by_source.setdefault(p.source, []).append(p)
        return [_document(source, by_source[source]) for source in sorted(by_source)]

    def document(self, caller: Caller, uri: str) -> Document | None:
        """The document at uri if the caller may see it; None for one it may not, exactly as for none at all."""
        source = unquote(uri.removeprefix(DOCUMENTS)) if uri.startswith(DOCUMENTS) else None
        return next((d for d in self.documents(caller) if d.source == source), None)

    # -- the audit log --------------------------------------------------------------------------
    def _cite(self, n: int, passage: Passage) -> Citation:
        return Citation.of(n, passage, review_after_days=self.chat.settings.review_after_days)

    def _record(
        self,
        caller: Caller,
        asked: str,
        said: str,
        tool: str,
        sources: Sequence[Citation] = (),
        timings: dict[str, float] | None = None,
    ) -> None:
        """A tool call as a row of the audit log: what was asked, what was said, the sources it named."""
        status = "answered" if said.strip() else "no_answer"
        answer = Answer(asked, status, said, tool, tuple(sources), timings_ms=timings or {})
        self.chat.record(answer, platform="mcp", channel_kind=caller.channel_kind, user=caller.user)


def source_line(c: Citation) -> str:
    """A source as a line: title, section, path, link and review date."""
    title = f"{c.title} - {c.section}" if c.section and c.section != c.title else c.title
    details = ", ".join(x for x in (c.source, c.url, f"reviewed {c.last_reviewed}" if c.last_reviewed else "") if x)
    return f"{title} ({details})"


def with_sources(text: str, sources: Sequence[Citation]) -> str:
    """Text with [n] markers, then the numbered sources they point to."""
    if not sources:
        return text
    return "\n".join([text, "", "Sources:", *(f"[{c.n}] {source_line(c)}" for c in sources)])


def choices(question: Mapping[str, Any]) -> str:
    return ", ".join(f"{c['id']} = {c['label']}" for c in question["choices"])


def progress_markdown(p: Progress) -> str:
    """A project's checklist: a box per item, with who ticked it and when."""
    lines = [f"**{p.checklist.title}** for {p.project.project}: {p.done} of {p.total} done"]
    for s in p.items:
        who = f" (ticked by {s.by}, {s.at})" if s.done else ""
        lines.append(f"{s.n}. [{'x' if s.done else ' '}] {s.item.text}{who}")
    return "\n".join(lines)


def progress_data(p: Progress) -> dict[str, Any]:
    return {
        "project": p.project.project,
        "checklist": p.checklist.id,
        "title": p.checklist.title,
        "done": p.done,
        "total": p.total,
        "items": [{"n": s.n, "id": s.item.id, "text": s.item.text, "done": s.done, "by": s.by, "at": s.at}
                  for s in p.items],
    }  # fmt: skip


def _document(source: str, passages: list[Passage]) -> Document:
    passages.sort(key=lambda p: p.ordinal)
    first = passages[0]
    parts = [f"# {first.title}"]
    for p in passages:
        if p.section and p.section != first.title:
            parts.append(f"## {p.section}")
        parts.append(p.text)
    return Document(
        uri=DOCUMENTS + quote(source),
        source=source,
        title=first.title,
        url=first.url,
        last_reviewed=first.last_reviewed,
        audience=tuple(sorted(first.audience)),
        text="\n\n".join(parts),
    )
