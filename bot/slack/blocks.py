"""Block Kit, built by pure functions: our types in, Slack's dicts out."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from bot.tools.assessment import Assessment, Session
from bot.tools.checklists import Progress
from bot.tools.core import assessment_markdown
from bot.types import Answer, Choice, Citation
from bot.wording import help_text, related_label, tools_help

SECTION_LIMIT = 3000  # characters of text in one section block
MAX_BLOCKS = 50
CONTEXT_ELEMENTS = 10
FEEDBACK_ACTION = "feedback"
FEEDBACK_BLOCK = "feedback_buttons"
LEGACY_FEEDBACK_ACTIONS = ("feedback_helpful", "feedback_not_helpful")  # buttons on answers posted before 2026-11
SHARE_ACTION = "share_answer"
CHOICE_ACTION = "clarify_choice"  # buttons that ask their question: clarify_choice:<n>, unique in their block
CHOICES_BLOCK = "clarify_choices"  # a clarifying question's topics
SUGGESTIONS_BLOCK = "suggested_questions"  # an answer's suggested next questions
BUTTON_TEXT = 75  # characters of a button's text
BUTTON_VALUE = 2000
MAX_CHOICES = 5
Block = dict[str, Any]


# Code, and characters escaped with a backslash (common.text.literal writes them), are written as they are: while
# the rest is converted each is held out of the way as a numbered mark between two private-use characters.
_AS_WRITTEN = re.compile(r"```.*?```|`[^`\n]+`|\\[!-/:-@\[-`{-~]", re.DOTALL)
_MARKS = re.compile("[\ue000\ue001]")
_HELD = re.compile("\ue000([0-9]+)\ue001")
_USER_ID = re.compile(r"[UW][A-Z0-9]+")


def escape(text: str) -> str:
    """Text for mrkdwn as written: Slack's three control characters as entities, so no mention or link is made."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Markdown as Slack mrkdwn: bold, italics, links, headings, bullets and quotes; code and escapes as written."""
    held: list[str] = []

    def hold(m: re.Match[str]) -> str:
        held.append(escape(m.group()[1] if m.group()[0] == "\\" else m.group()))
        return f"\ue000{len(held) - 1}\ue001"

    text = escape(_AS_WRITTEN.sub(hold, _MARKS.sub("", markdown)))
    text = re.sub(r"^&gt; ", "> ", text, flags=re.MULTILINE)  # a quote stays a quote
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", text)
    text = re.sub(r"(?<![*\w])\*(?!\*)([^*\n]+?)\*(?!\*)", r"_\1_", text)  # *italic* first, then **bold**
    text = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: f"*{m.group(1) or m.group(2)}*", text)
    text = re.sub(r"^#{1,6}\s+(.+)$", r"*\1*", text, flags=re.MULTILINE)
    text = re.sub(r"^(\s*)[-*+]\s+", r"\1• ", text, flags=re.MULTILINE)
    return _HELD.sub(lambda m: held[int(m.group(1))], text)


def streamed(markdown: str) -> str:
    """A piece of an answer for a streamed message's Markdown: each "<" escaped, so it starts no mention or link.

    Character by character, so the pieces escape alike however the answer is cut into them.
    """
    return markdown.replace("<", "\\<")


def markdown_text(markdown: str) -> str:
    """Core Markdown as a message's `text` (notifications, clients without Block Kit), within Slack's limit."""
    return to_mrkdwn(markdown)[:SECTION_LIMIT]


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most limit characters, cut at paragraph, line or word boundaries."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n\n", 0, limit), text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(*texts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t[:SECTION_LIMIT]} for t in texts]}


def citation_line(c: Citation, *, numbered: bool = True) -> str:
    """'[1] <url|Title> - Section · reviewed 2026-11-20' (the title linked when there is a url), flagged if overdue."""
    title = f"<{escape(c.url).replace('|', '%7C')}|{escape(c.title)}>" if c.url else f"*{escape(c.title)}*"
    reviewed = f" · reviewed {c.last_reviewed}" if c.last_reviewed else ""
    reviewed += " · :warning: *review overdue*" if c.review_overdue else ""
    prefix = f"[{c.n}] " if numbered else ""
    return f"{prefix}{title} - {escape(c.section)}{reviewed}"


def feedback_block(feedback_id: str) -> Block:
    """Slack's own thumbs up / down under an answer (a feedback_buttons element); the value carries the answer id."""
    return {
        "type": "context_actions",
        "block_id": FEEDBACK_BLOCK,
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION,
                "positive_button": {
                    "text": {"type": "plain_text", "text": "Helpful"},
                    "accessibility_label": "Mark this answer as helpful",
                    "value": f"helpful:{feedback_id}",
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "Not helpful"},
                    "accessibility_label": "Mark this answer as not helpful",
                    "value": f"not_helpful:{feedback_id}",
                },
            }
        ],
    }


def share_block(feedback_id: str) -> Block:
    """The button under a private answer that posts it to the channel."""
    return {
        "type": "actions",
        "block_id": "share",
        "elements": [
            {
                "type": "button",
                "action_id": SHARE_ACTION,
                "value": feedback_id,
                "text": {"type": "plain_text", "text": "Share in channel"},
            }
        ],
    }


def choices_block(choices: Sequence[Choice], block_id: str = CHOICES_BLOCK) -> Block:
    """Choices as buttons (a clarifying question's topics, or an answer's suggested next questions); each button's
    value is the question choosing it asks."""
    return {
        "type": "actions",
        "block_id": block_id,
        "elements": [
            {
                "type": "button",
                "action_id": f"{CHOICE_ACTION}:{n}",
                "text": {"type": "plain_text", "text": _cut(c.label, BUTTON_TEXT)},
                "value": c.question[:BUTTON_VALUE],
            }
            for n, c in enumerate(choices[:MAX_CHOICES])
        ],
    }


def chosen(
    blocks: list[Block], user: str, label: str, *, block_id: str = CHOICES_BLOCK, value: str = ""
) -> list[Block]:
    """A message after one of its buttons that ask a question was pressed.

    A clarifying question's buttons are replaced by who chose what (so it is answered once); a suggested question
    gives way to who asked it, and the other suggestions stay.
    """
    who = f"<@{user}>" if _USER_ID.fullmatch(user) else ""
    if block_id != SUGGESTIONS_BLOCK:
        kept = [b for b in blocks if b.get("block_id") != CHOICES_BLOCK]
        return [*kept, _context(f"{who} chose *{escape(label)}*" if who else escape(label))]
    out: list[Block] = []
    for block in blocks:
        if block.get("block_id") != SUGGESTIONS_BLOCK:
            out.append(block)
            continue
        out.append(_context(f"{who} asked *{escape(label)}*" if who else escape(label)))
        rest = [e for e in block.get("elements", []) if e.get("value") != value]
        if rest:
            out.append({**block, "elements": rest})
    return out


def tail_blocks(answer: Answer, feedback_id: str | None = None) -> list[Block]:
    """What follows the answer's text: notes, sources (or nearest topics), suggested questions, the feedback buttons."""
    tail: list[Block] = []
    if answer.notes:
        tail.append(_context(*(escape(n) for n in answer.notes[:CONTEXT_ELEMENTS])))
    if answer.sources:
        lines = [citation_line(c) for c in answer.sources]
        tail.append(_context("*Sources*", *lines[: CONTEXT_ELEMENTS - 1]))
    if answer.related:
        lines = [citation_line(c, numbered=False) for c in answer.related]
        tail.append(_context(f"*{related_label(answer)}*", *lines[: CONTEXT_ELEMENTS - 1]))
    if answer.suggestions:
        tail.append(choices_block(answer.suggestions, SUGGESTIONS_BLOCK))
    if feedback_id:
        tail.append(feedback_block(feedback_id))
    return tail


def answer_blocks(answer: Answer, feedback_id: str | None = None) -> list[Block]:
    """The answer, its notes, sources (or nearest topics) and the feedback buttons, within 50 blocks."""
    tail = tail_blocks(answer, feedback_id)
    body = [_section(piece) for piece in split_text(to_mrkdwn(answer.text))]
    if answer.choices:
        tail.insert(0, choices_block(answer.choices))
    room = MAX_BLOCKS - len(tail)
    if len(body) > room:
        body = [*body[: room - 1], _section("_(The answer was too long for one message and was cut.)_")]
    return body + tail


def answer_text(answer: Answer) -> str:
    """The fallback for notifications and clients without Block Kit: the answer and its sources, escaped alike."""
    sources = "".join(f"\n[{c.n}] {escape(c.title)} - {escape(c.section)}" for c in answer.sources)
    choices = "".join(f"\n• {escape(c.label)}" for c in answer.choices)
    return (to_mrkdwn(answer.text) + choices + ("\n\nSources:" + sources if sources else ""))[:SECTION_LIMIT]


def thanked(blocks: list[Block], thanks: str) -> list[Block]:
    """The same message with its feedback buttons replaced by a thank-you."""
    return [b for b in blocks if b.get("block_id") not in (FEEDBACK_BLOCK, "feedback")] + [_context(f":pray: {thanks}")]


def markdown_blocks(markdown: str) -> list[Block]:
    """Core Markdown (help, status, a reindex summary) as sections."""
    return [_section(piece) for piece in split_text(to_mrkdwn(markdown))][:MAX_BLOCKS]


def markdown_message(markdown: str) -> dict[str, Any]:
    """Core Markdown as a message's `text` and `blocks`."""
    return {"text": markdown_text(markdown), "blocks": markdown_blocks(markdown)}


def private(blocks: list[Block], feedback_id: str) -> list[Block]:
    """A private answer: the same blocks with a "Share in channel" button."""
    return [*blocks, share_block(feedback_id)] if feedback_id else blocks


def command_usage(command: str) -> tuple[Callable[[str], str], tuple[str, ...]]:
    """How a command is typed in Slack, and the help line only Slack has."""

    def how(verb: str) -> str:
        return f"`{command} {verb}`"

    return how, (f"{how('ask <question>')}: an answer only you can see, to share if you like", *tools_help(how))


def help_blocks(command: str) -> list[Block]:
    """The help message, worded by the chat core."""
    how, extra = command_usage(command)
    return markdown_blocks(help_text(how, extra))


def asked_by(user: str) -> Block:
    """The line under a shared answer saying who shared it."""
    return _context(f"Shared by <@{user}> from a private answer")


# -- adoption tools ------------------------------------------------------------------------------------
ASSESS_VIEW = "assess"
CHECKLIST_ACTION = "checklist_tick"
CHECKBOXES_PER_GROUP = 10  # Slack's limit of options in one checkboxes element
OPTION_TEXT = 150  # characters of an option's text Slack shows


def assessment_blocks(result: Assessment) -> list[Block]:
    """An assessment: the recommendation and its reasons, then the sources it cites."""
    body = markdown_blocks(assessment_markdown(result))
    if result.sources:
        lines = [citation_line(c) for c in result.sources]
        body.append(_context("*Sources*", *lines[: CONTEXT_ELEMENTS - 1]))
    return body


def _option(text: str, value: str, description: str = "") -> dict[str, Any]:
    option: dict[str, Any] = {"text": {"type": "plain_text", "text": _cut(text, 75)}, "value": value}
    if description:
        option["description"] = {"type": "plain_text", "text": _cut(description, 75)}
    return option


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def assess_modal(session: Session, channel: str) -> dict[str, Any]:
    """The assessment as a form: the idea in words, and each framework question with what was read pre-selected."""
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": "idea",
            "optional": True,
            "label": {"type": "plain_text", "text": "Describe the idea in a sentence or two"},
            "element": {
                "type": "plain_text_input",
                "action_id": "idea",
                "multiline": True,
                "max_length": 2000,
                **({"initial_value": session.idea[:2000]} if session.idea else {}),
            },
        }
    ]
    for q in session.table.questions:
        options = [_option(c.label, c.id) for c in q.choices]
        element: dict[str, Any] = {"type": "static_select", "action_id": q.id, "options": options}
        chosen = session.answers.get(q.id)
        if chosen is not None:
            element["initial_option"] = next(o for o in options if o["value"] == chosen.choice)
        blocks.append(
            {
                "type": "input",
                "block_id": f"q_{q.id}",
                "optional": True,
                "label": {"type": "plain_text", "text": _cut(q.ask, 2000)},
                "element": element,
                **({"hint": {"type": "plain_text", "text": "Read from your description"}} if chosen else {}),
            }
        )
    return {
        "type": "modal",
        "callback_id": ASSESS_VIEW,
        "private_metadata": channel,
        "title": {"type": "plain_text", "text": "Use-case assessment"},
        "submit": {"type": "plain_text", "text": "Assess"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def checklist_blocks(progress: Progress) -> list[Block]:
    """A project's checklist with a box per item (groups of ten), ticked ones showing who and when."""
    c, project = progress.checklist, progress.project.project
    blocks: list[Block] = [
        _section(f"*{escape(c.title)}* for *{escape(project)}*: {progress.done} of {progress.total} done"),
    ]
    for start in range(0, len(progress.items), CHECKBOXES_PER_GROUP):
        group = progress.items[start : start + CHECKBOXES_PER_GROUP]
        options = [
            {
                "text": {"type": "mrkdwn", "text": escape(_cut(f"{s.n}. {s.item.text}", OPTION_TEXT))},
                "value": s.item.id,
                **({"description": {"type": "mrkdwn", "text": f"ticked by {_by(s.by)} · {s.at}"}} if s.done else {}),
            }
            for s in group
        ]
        element: dict[str, Any] = {"type": "checkboxes", "action_id": CHECKLIST_ACTION, "options": options}
        ticked = [o for o, s in zip(options, group, strict=True) if s.done]
        if ticked:
            element["initial_options"] = ticked
        # The block id carries what the boxes belong to: checklist, group, project (Slack allows 255 characters).
        blocks.append({"type": "actions", "block_id": f"cl|{c.id}|{start}|{project}"[:255], "elements": [element]})
    if progress.removed:
        gone = ", ".join(escape(t.item) for t in progress.removed)
        blocks.append(_context(f"Ticked earlier, since removed from the checklist: {gone}"))
    return blocks


def checklist_text(progress: Progress) -> str:
    """A checklist message's `text`: which checklist, for which project."""
    return escape(f"{progress.checklist.title}: {progress.project.project}")


def _by(who: str) -> str:
    """Who ticked: a mention of a Slack user id; anyone else (ticked from the terminal) by name, as written."""
    return f"<@{who}>" if _USER_ID.fullmatch(who) else escape(who)


def checklist_of(block_id: str) -> tuple[str, str] | None:
    """(checklist id, project) from a checklist group's block id, or None for any other block."""
    parts = block_id.split("|", 3)
    return (parts[1], parts[3]) if len(parts) == 4 and parts[0] == "cl" else None
