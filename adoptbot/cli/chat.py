"""The terminal's conversation: `adoptbot ask` (one question, or one per line) and `adoptbot chat`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from adoptbot.cli.index import ensure_index
from adoptbot.cli.terminal import EXIT_OK, login_name, plain, render_answer, since_start_ms
from adoptbot.cli.tools import assess_in_turn, show_checklist
from adoptbot.runtime import Runtime
from bot.types import Answer, Choice, Question, Turn
from bot.wording import tools_help
from common.errors import EmptyQuestion


def cmd_ask(runtime: Runtime, args: argparse.Namespace) -> int:
    ensure_index(runtime)
    engine = runtime.engine
    runtime.embedder.load()  # start-up, not the answer's time: the printed start-up includes the model
    if args.question == ["-"]:
        first = True  # the start-up is said once, with the first answer
        for line in sys.stdin:
            if not line.strip():
                continue
            startup, first = (since_start_ms() if first else None), False
            try:
                question = replace(question_from_line(line), place=args.place or "")
                answer = engine.answer(question, backend=args.backend)
                audit_terminal(runtime, answer)
                out = answer.to_dict() if args.json else render_answer(answer, startup_ms=startup)
            except (EmptyQuestion, ValueError) as e:
                out = {"question": line.strip()[:200], "status": "error", "error": str(e)} if args.json else str(e)
            print(json.dumps(out) if args.json else f"{out}\n", flush=True)
        return EXIT_OK
    startup = since_start_ms()  # the printed timing says how much of the wall clock was start-up
    answer = engine.answer(Question(" ".join(args.question), place=args.place or ""), backend=args.backend)
    audit_terminal(runtime, answer)
    print(json.dumps(answer.to_dict()) if args.json else render_answer(answer, startup_ms=startup))
    return EXIT_OK


def audit_terminal(runtime: Runtime, answer: Answer) -> None:
    """The terminal's questions go to the audit log like Slack's and Teams', asked by the login name."""
    runtime.chat.record(answer, platform="terminal", channel_kind="terminal", user=login_name())


def question_from_line(line: str) -> Question:
    """A plain line is a question; a JSON line is `{"question": ..., "history": [{"role", "text"}, ...]}`."""
    if not line.lstrip().startswith("{"):
        return Question(line.rstrip("\n"))
    try:
        raw = json.loads(line)
        history = tuple(Turn(t["role"], str(t["text"])) for t in raw.get("history") or [])
        if not isinstance(raw["question"], str) or any(t.role not in ("user", "assistant") for t in history):
            raise TypeError
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg}, column {e.colno})") from None
    except (KeyError, TypeError, AttributeError):
        raise ValueError(
            'a JSON line needs "question" (text) and optionally "history": '
            '[{"role": "user" or "assistant", "text": ...}, ...]'
        ) from None
    return Question(raw["question"], history=history)


def cmd_chat(runtime: Runtime, args: argparse.Namespace) -> int:
    ensure_index(runtime)
    chat, user = runtime.chat, login_name()
    print("adoptbot: ask about adopting generative AI. /help lists the commands, /new starts over, /quit leaves.")
    history: list[Turn] = []
    # The numbered list the last reply printed (a clarifying question's topics, or an answer's suggested
    # questions; never both): typing one's number asks it.
    choices: tuple[Choice, ...] = ()
    while True:
        try:
            line = input("\nyou> ").strip()
        except EOFError:
            print()
            return EXIT_OK
        if line in ("/quit", "/exit"):
            return EXIT_OK
        if line.isdigit() and 1 <= int(line) <= len(choices):
            line = choices[int(line) - 1].question
            print(f"(asking: {plain(line)})")
        choices = ()
        if line == "/new":
            history = []
            print("(new conversation)")
            continue
        if not line:
            continue
        routed = chat.route(line, prefix="/")
        if routed.kind == "tool":
            run_tool(runtime, routed.name, routed.rest, user=user, place=args.place or "")
            continue
        if routed.kind == "command":
            said = chat.command(
                routed.name, platform="terminal", user=user, report=lambda text: print(f"\nadoptbot> {plain(text)}"),
                how=lambda verb: f"/{verb}", ask="Type a question; what you type next follows on from it.",
                extra=("/new: start a new conversation; /quit: leave", *tools_help(lambda verb: f"/{verb}"),
                       "outside the chat: `adoptbot assess` and `adoptbot checklist` do the same"),
            )  # fmt: skip
            print(f"\nadoptbot> {plain(said)}")
            continue
        question = Question(routed.rest, history=tuple(history), user=user, place=args.place or "")
        reply = chat.ask(question, platform="terminal", channel_kind="terminal", backend=args.backend)
        print("\nadoptbot> " + (render_answer(reply.answer) if reply.answer else plain(reply.text)))
        choices = reply.choices or (reply.answer.suggestions if reply.answer is not None else ())
        if reply.choices:
            print(f"(type 1-{len(choices)} to choose)")
        elif choices:
            print(f"(type 1-{len(choices)} to ask one of the suggested questions)")
        if reply.answer is not None:
            history += [Turn("user", line), Turn("assistant", reply.answer.text)]


def run_tool(runtime: Runtime, name: str, rest: str, *, user: str, place: str) -> None:
    """`/assess [idea]` asks in turn as `adoptbot assess` does; `/checklist ...` is `adoptbot checklist ...`."""
    tools = runtime.tools
    print()
    if name == "assess":
        assess_in_turn(tools, tools.start(rest), place=place)
        return
    words = rest.split()
    reply = tools.checklist(words, channel="terminal", place=place, user=user or "terminal", how=lambda t: f"/{t}")
    show_checklist(reply, words, channel="terminal")
