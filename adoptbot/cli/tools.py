"""The adoption tools in the terminal: `adoptbot assess` and `adoptbot checklist`, through Slack's and Teams' core.

The core (bot.tools.core.Tools) reads the words, keeps the rules and writes the wording; this module asks
the questions one at a time on standard input and lays the results out as plain lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from adoptbot.cli.index import ensure_index
from adoptbot.cli.terminal import EXIT_OK, EXIT_USAGE, cite_line, login_name, plain, write_atomically
from adoptbot.runtime import Runtime
from bot.tools.assessment import AnswerError, Assessment, Incomplete, Session, relevant
from bot.tools.checklists import ChecklistError, Progress
from bot.tools.core import ChecklistReply, Tools, assessment_plain
from common.errors import ConfigError
from common.text import visible


def cmd_assess(runtime: Runtime, args: argparse.Namespace) -> int:
    idea = " ".join(args.idea).strip()
    if args.json and not idea and not args.answer:
        raise ConfigError(
            'Give the idea in a sentence: adoptbot assess --json "We want product photos in twenty backgrounds", '
            "or run `adoptbot assess` to answer the questions one by one."
        )
    tools = runtime.tools  # the ones Slack and Teams use
    session = tools.start(idea)
    for pair in args.answer:
        question, _, reply = pair.partition("=")
        try:
            session.answer(question.strip(), reply)
        except AnswerError as e:
            raise ConfigError(f"--answer {pair}: {e}") from None
    ensure_index(runtime)
    place = args.place or ""
    if args.json:
        result = tools.result(session, place=place)
        if isinstance(result, Incomplete):
            q = result.questions[0]
            print(f"adoptbot: {visible(str(result))} For example: --answer {q.id}={q.choices[0].id}", file=sys.stderr)
            return EXIT_USAGE
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    if not idea and sys.stdin.isatty():
        print("adoptbot: describe the idea in a sentence, or press Enter to go through the questions.")
        idea = _read_reply("idea> ")
        session = tools.start(idea or "")
    return assess_in_turn(tools, session, place=place)


def assess_in_turn(tools: Tools, session: Session, *, place: str) -> int:
    """Say what the idea already answers, ask the rest one at a time, print the result; the exit status."""
    for given in session.answers.values():
        if relevant(session.table.question(given.question), session.answers):
            print(f"  from your description: {visible(given.explain(session.table))}")
    while True:
        ended = _ask_in_turn(session)
        result = tools.result(session, place=place)
        if isinstance(result, Incomplete):
            print(f"\n{visible(str(result))}")
            if ended:
                return EXIT_USAGE
            session.skipped -= {q.id for q in result.questions}  # needed after all: ask it again
            continue
        print("\n" + render_assessment(result))
        return EXIT_OK


def _read_reply(prompt: str) -> str | None:
    """One line from the person at the terminal; None once input has ended."""
    try:
        return input(prompt).strip()
    except EOFError:
        print()
        return None


def _ask_in_turn(session: Session) -> bool:
    """Ask every question still open, one at a time, until all are answered or skipped; True if input ended."""
    while (question := session.next_question()) is not None:
        print(f"\n{visible(question.ask)}")
        suggested = session.suggested(question.id)
        for n, choice in enumerate(question.choices, start=1):
            print(f"  {n}. {visible(choice.label)}{'   <- suggested' if choice.id == suggested else ''}")
        keep = "Enter keeps the suggestion" if suggested else "Enter skips"
        reply = _read_reply(f"(a number, or say it in your words; {keep})> ")
        if reply is None:
            for q in session.pending():
                session.skip(q.id)
            return True
        if not reply:
            session.skip(question.id)
            continue
        try:
            session.answer(question.id, reply)
        except AnswerError as e:
            print(visible(str(e)))
    return False


def render_assessment(result: Assessment) -> str:
    """An assessment for a person reading a terminal: the core's lines, then its sources one per line."""
    lines = [visible(assessment_plain(result), keep="\n")]
    if result.sources:
        lines += ["", "Sources:", *(f"  [{c.n}] {cite_line(c)}" for c in result.sources)]
    return "\n".join(lines)


def cmd_checklist(runtime: Runtime, args: argparse.Namespace) -> int:
    words = args.words
    tools = runtime.tools  # the same board as Slack and Teams: the shared-state database
    try:
        if (args.tick or args.untick) and (len(words) != 2 or words[0] in ("status", "export")):
            raise ChecklistError(
                "--tick and --untick need a checklist and a project: adoptbot checklist NAME PROJECT --tick 1"
            )
        if words[:1] == ["export"] and len(words) != 2:
            raise ChecklistError('Name one project: adoptbot checklist export PROJECT (quote it: "web shop")')
        if len(words) > 2 and words[0] != "export":
            raise ChecklistError('Give a checklist and one project name: quote a name with spaces ("web shop")')
        reply = tools.checklist(
            words,
            channel=args.channel,
            place=args.place or "",
            user=login_name("terminal"),
            how=lambda typed: f"adoptbot {typed}",
            tick=args.tick,
            untick=args.untick,
        )
        if reply.error is not None:
            raise reply.error  # a ChecklistError is the person's to fix; a database that is down, main reports
        show_checklist(reply, words, channel=args.channel, out=args.out)
        return EXIT_OK
    except ChecklistError as e:
        print(f"adoptbot: {visible(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        tools.board.store.close()


def show_checklist(reply: ChecklistReply, words: list[str], *, channel: str, out: Path | None = None) -> None:
    """What a checklist command found, as plain lines (the export's Markdown as it is, or written to out)."""
    if reply.error is not None:
        print(f"adoptbot: {visible(str(reply.error))}")
    elif not words:
        for c in reply.listed:
            print(f"{c.id}: {visible(c.title)} ({len(c.items)} items)")
        print("Work through one for a project: adoptbot checklist NAME PROJECT (then --tick N).")
    elif [w.lower() for w in words] == ["status"]:
        if not reply.projects:
            print(f"No projects in {visible(channel)} yet: start one with adoptbot checklist NAME PROJECT.")
        for p in reply.projects:
            print(f"{visible(p.project.project)}: {p.checklist.id} {p.done}/{p.total} done")
    elif reply.export and out is not None:
        write_atomically(out, reply.export)
        print(f"adoptbot: wrote the go-live review of {visible(' '.join(words[1:]))} to {out}.", file=sys.stderr)
    elif reply.export:
        sys.stdout.write(reply.export)
    elif reply.shown is not None:
        print(visible(reply.shown.title))
        for n, item in enumerate(reply.shown.items, start=1):
            print(f"  {n}. {visible(item.text)}")
        print(f"Work through it for a project: adoptbot checklist {reply.shown.id} PROJECT")
    elif reply.progress is not None:
        print(render_progress(reply.progress))
    elif reply.text:
        print(plain(reply.text))  # what else the core said (how to name the project to export)


def render_progress(progress: Progress) -> str:
    """A project's checklist for the terminal: [x] per ticked item, with who and when."""
    c = progress.checklist
    lines = [f"{visible(c.title)} - {visible(progress.project.project)}: {progress.done} of {progress.total} done"]
    for s in progress.items:
        who = f"  (ticked by {visible(s.by)}, {s.at})" if s.done else ""
        lines.append(f"  {s.n}. [{'x' if s.done else ' '}] {visible(s.item.text)}{who}")
    return "\n".join(lines)
