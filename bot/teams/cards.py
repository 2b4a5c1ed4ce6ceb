"""Teams replies, built by pure functions: citation entities and Adaptive Cards as plain dicts.

Wording comes from the chat core (bot/chat.py) and the tools core (bot/tools/core.py) as Markdown, which
Teams renders in message text. What people and documents wrote is put into cards' Markdown with
common.text.literal, as the cores do in theirs, so it shows as written and never as a link.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from bot.tools.assessment import Assessment, Session
from bot.tools.checklists import Progress
from bot.tools.core import assessment_markdown
from bot.types import Answer, Choice, Citation
from bot.wording import related_label
from common.text import literal

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
FEEDBACK = "adoptbot-feedback"  # the card buttons of answers sent before the native feedback loop
FEEDBACK_LOOP = {"feedbackLoop": {"type": "default"}}  # channelData: Teams shows thumbs and sends an invoke
ABSTRACT_LIMIT = 160  # Teams shows at most this much of a citation's abstract


def text_activity(text: str) -> dict[str, Any]:
    """A plain reply: Markdown text, nothing to cite or vote on."""
    return {"type": "message", "text": text, "textFormat": "markdown"}


def citation_entity(answer: Answer) -> dict[str, Any]:
    """The message entity that makes Teams show citation pills and the AI-generated label."""
    return _message_entity(answer.sources, generated=True)


def _message_entity(sources: Sequence[Citation], *, generated: bool) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "type": "https://schema.org/Message",
        "@type": "Message",
        "@context": "https://schema.org",
        "@id": "",
    }
    if generated:
        entity["additionalType"] = ["AIGeneratedContent"]
    if sources:
        entity["citation"] = [claim(c) for c in sources]
    return entity


def claim(c: Citation) -> dict[str, Any]:
    """One citation pill: its position in the text, the document's title, section and review date."""
    appearance: dict[str, Any] = {"@type": "DigitalDocument", "name": c.title, "abstract": abstract(c)}
    if c.url:
        appearance["url"] = c.url
    return {"@type": "Claim", "position": c.n, "appearance": appearance}


def abstract(c: Citation) -> str:
    """What a citation pill says about its source, cut to what Teams shows."""
    return f"{c.section}{_reviewed(c, 'review overdue')} ({c.source})"[:ABSTRACT_LIMIT]


def _reviewed(c: Citation, overdue: str) -> str:
    """' · reviewed 2026-11-20', followed by overdue when the review is overdue."""
    reviewed = f" · reviewed {c.last_reviewed}" if c.last_reviewed else ""
    return reviewed + (f" · {overdue}" if c.review_overdue else "")


def _source_line(c: Citation, *, numbered: bool = True) -> str:
    title = f"[{literal(c.title)}]({_destination(c.url)})" if c.url else f"**{literal(c.title)}**"
    reviewed = _reviewed(c, "⚠️ **review overdue**")
    return f"{f'[{c.n}] ' if numbered else ''}{title} - {literal(c.section)}{reviewed}"


def _destination(url: str) -> str:
    """A url as a Markdown link's destination: brackets, spaces and angle brackets percent-encoded."""
    return quote(url, safe="/:?#@!$&'*+,;=%~-._")


def _small(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, "size": "Small", **extra}


def sources_card(answer: Answer, *, suggestions: bool = False) -> dict[str, Any]:
    """An Adaptive Card listing the sources, then related reading (or the nearest topics) and notes.

    `suggestions`: the suggested next questions as its buttons (where Teams shows no suggested actions).
    """
    body = _sources_body(answer.sources)
    if answer.related:
        body.append(_heading(related_label(answer)))
        body += [_small(_source_line(c, numbered=False), isSubtle=True) for c in answer.related]
    body += [_small(n, isSubtle=True) for n in answer.notes]
    asks = ask_buttons(answer.suggestions) if suggestions else []
    if asks:
        body.append(_heading(ASK_NEXT))
    return _card(body, asks)


def ask_buttons(choices: Sequence[Choice]) -> list[dict[str, Any]]:
    """Buttons that each ask their question as the person's (Action.Submit: it works in channels too)."""
    return [{"type": "Action.Submit", "title": c.label, "data": {SUBMIT: ASK, "question": c.question}} for c in choices]


def suggested_actions(choices: Sequence[Choice]) -> dict[str, Any]:
    """Suggested next questions as Teams' suggested actions: pressing one sends it as the person's message."""
    return {"actions": [{"type": "imBack", "title": c.label, "value": c.question} for c in choices[:MAX_SUGGESTED]]}


def _sources_body(sources: Sequence[Citation]) -> list[dict[str, Any]]:
    return [_heading("Sources"), *(_small(_source_line(c)) for c in sources)] if sources else []


def _heading(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "weight": "Bolder", "size": "Small"}


def _card(body: list[dict[str, Any]], actions: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
    }
    if actions:
        card["actions"] = list(actions)
    return card


def _attachment(card: dict[str, Any]) -> dict[str, Any]:
    return {"contentType": CARD_TYPE, "content": card}


def sources_attachment(answer: Answer, *, suggestions: bool = False) -> dict[str, Any]:
    """The sources card as a message attachment (with the suggested questions as buttons, if asked)."""
    return _attachment(sources_card(answer, suggestions=suggestions))


def answer_activity(answer: Answer, feedback_id: str = "", *, personal: bool = False) -> dict[str, Any]:
    """The whole answer in one message: text with [n] markers, citations, the sources card, and thumbs to vote.

    Its suggested next questions are suggested actions in a personal chat and the card's buttons elsewhere:
    Microsoft's Teams documentation supports suggested actions in one-on-one chats ("Send and receive messages",
    conversation-messages.md); its newer page on them (suggested-actions.md) adds group chats and channels,
    where card buttons work on every client.
    """
    activity: dict[str, Any] = {
        **text_activity(answer.text),
        "entities": [citation_entity(answer)],
        "attachments": [sources_attachment(answer, suggestions=not personal)],
    }
    if personal and answer.suggestions:
        activity["suggestedActions"] = suggested_actions(answer.suggestions)
    if feedback_id:
        activity["channelData"] = dict(FEEDBACK_LOOP)
    return activity


def clarify_card(answer: Answer) -> dict[str, Any]:
    """A clarifying question's topics as buttons (Action.Submit: it works in channels too), then where they are from."""
    body = [_heading(related_label(answer))]
    body += [_small(_source_line(c, numbered=False), isSubtle=True) for c in answer.related]
    body += [_small(n, isSubtle=True) for n in answer.notes]
    return _card(body, ask_buttons(answer.choices))


def clarify_activity(answer: Answer) -> dict[str, Any]:
    """A clarifying question: its text, and a card whose buttons each ask the question about one topic."""
    return {**text_activity(answer.text), "attachments": [_attachment(clarify_card(answer))]}


def chosen_question(value: Mapping[str, Any]) -> str:
    """The question a card's ask button asks: a clarifying choice, a suggested question (empty: none)."""
    question = value.get("question")
    return question.strip()[:IDEA_LIMIT] if isinstance(question, str) else ""


def thanked(activity: dict[str, Any], thanks: str) -> dict[str, Any]:
    """The same answer with its ways to vote (thumbs, or an older card's buttons) replaced by a thank-you.

    Its suggested questions stay.
    """
    attachments = []
    for attachment in activity.get("attachments", []):
        card = dict(attachment["content"])
        asks = [a for a in card.pop("actions", []) if (a.get("data") or {}).get(SUBMIT) == ASK]
        if asks:
            card["actions"] = asks
        card["body"] = [*card.get("body", []), _small(thanks, isSubtle=True)]
        attachments.append({**attachment, "content": card})
    updated = {**activity, "attachments": attachments}
    channel_data = {k: v for k, v in (activity.get("channelData") or {}).items() if k not in FEEDBACK_LOOP}
    if channel_data:
        updated["channelData"] = channel_data
    else:
        updated.pop("channelData", None)
    return updated


# -- adoption tools: the assessment form and checklists (bot/tools/core.py) ---------------------------------------
SUBMIT = "adoptbot"  # the key of a card's submit data naming what was submitted
ASSESS = "adoptbot-assess"
ASK = "adoptbot-clarify"  # a button that asks its question: a clarifying choice, a suggested next question
ASK_NEXT = "You could ask next"
MAX_SUGGESTED = 3  # Teams shows at most three suggested actions
CHECKLIST = "adoptbot-checklist"
QUESTION_INPUT = "q_"  # input ids: q_<question id>, item_<checklist item id>
ITEM_INPUT = "item_"
IDEA_LIMIT = 2000
MISSING = "Pick one, or describe it in the idea above."


def assess_form(session: Session, *, missing: Sequence[str] = ()) -> dict[str, Any]:
    """The assessment as a card form: the idea, each framework question with what was read pre-selected.

    Questions in `missing` are marked: the result cannot be given without them.
    """
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": "Use-case assessment", "weight": "Bolder", "size": "Medium"},
        _small("LLM, image model or both? Fill in what you know; anything you leave open is listed in the result."),
        {
            "type": "Input.Text",
            "id": "idea",
            "label": "Describe the idea in a sentence or two",
            "isMultiline": True,
            "maxLength": IDEA_LIMIT,
            "value": session.idea[:IDEA_LIMIT],
        },
    ]
    for q in session.table.questions:
        given = session.answers.get(q.id)
        choice_set: dict[str, Any] = {
            "type": "Input.ChoiceSet",
            "id": QUESTION_INPUT + q.id,
            "label": q.ask,
            "style": "compact",
            "isMultiSelect": False,
            "wrap": True,
            "placeholder": "Not known yet",
            "choices": [{"title": c.label, "value": c.id} for c in q.choices],
        }
        if given is not None:
            choice_set["value"] = given.choice
        body.append(choice_set)
        if q.id in missing:
            body.append(_small(f"⚠️ {MISSING}", id=f"{QUESTION_INPUT}{q.id}_missing", color="Attention", spacing="None"))
        elif given is not None and given.how == "inferred":
            body.append(_small("Read from your description", isSubtle=True, spacing="None"))
    submit = {"type": "Action.Submit", "title": "Assess", "data": {SUBMIT: ASSESS}}
    return _card(body, [submit])


def assess_form_activity(session: Session, *, missing: Sequence[str] = ()) -> dict[str, Any]:
    """The form as a message."""
    return {"type": "message", "attachments": [_attachment(assess_form(session, missing=missing))]}


def form_answers(value: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(idea, {question id: choice id}) from a submitted form; questions left empty are not in it."""
    idea = str(value.get("idea") or "").strip()[:IDEA_LIMIT]
    chosen = {
        key[len(QUESTION_INPUT) :]: str(v)
        for key, v in value.items()
        if key.startswith(QUESTION_INPUT) and isinstance(v, str | int) and str(v).strip()
    }
    return idea, chosen


def assessment_activity(result: Assessment) -> dict[str, Any]:
    """An assessment as a message: the recommendation and reasons with [n] markers, citation pills, the sources card."""
    # No AI-generated label: the result comes from the editors' decision table, not from a model.
    activity: dict[str, Any] = {
        **text_activity(assessment_markdown(result)),
        "entities": [_message_entity(result.sources, generated=False)],
    }
    if result.sources:
        activity["attachments"] = [_attachment(_card(_sources_body(result.sources)))]
    return activity


def checklist_card(progress: Progress) -> dict[str, Any]:
    """A project's checklist with a toggle per item (ticked ones say who and when) and Save."""
    c, project = progress.checklist, progress.project.project
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": f"**{literal(c.title)}** for **{literal(project)}**", "wrap": True},
        _small(f"{progress.done} of {progress.total} done", id="progress"),
    ]
    for s in progress.items:
        body.append(
            {
                "type": "Input.Toggle",
                "id": ITEM_INPUT + s.item.id,
                "title": f"{s.n}. {s.item.text}",
                "value": "true" if s.done else "false",
                "valueOn": "true",
                "valueOff": "false",
                "wrap": True,
            }
        )
        if s.done:
            body.append(_small(f"ticked by {literal(s.by)} · {when(s.at)}", isSubtle=True, spacing="None"))
    if progress.removed:
        gone = ", ".join(literal(t.item) for t in progress.removed)
        body.append(_small(f"Ticked earlier, since removed from the checklist: {gone}", isSubtle=True))
    # The submit carries what this copy showed as done, so a stale copy only changes what its person changed.
    shown = [s.item.id for s in progress.items if s.done]
    data = {SUBMIT: CHECKLIST, "checklist": c.id, "project": project, "shown": shown}
    return _card(body, [{"type": "Action.Submit", "title": "Save", "data": data}])


def checklist_activity(progress: Progress) -> dict[str, Any]:
    """The checklist card as a message (its summary as text for notifications)."""
    summary = f"{progress.checklist.title}: {progress.project.project}"
    return {"type": "message", "summary": summary, "attachments": [_attachment(checklist_card(progress))]}


def checklist_changes(value: Mapping[str, Any]) -> tuple[str, str, list[str], list[str]]:
    """(checklist id, project, item ids the copy showed done, item ids toggled on now) from a Save."""
    shown = value.get("shown")
    selected = [key[len(ITEM_INPUT) :] for key, v in value.items() if key.startswith(ITEM_INPUT) and v == "true"]
    return (
        str(value.get("checklist") or ""),
        str(value.get("project") or ""),
        [str(i) for i in shown] if isinstance(shown, list) else [],
        selected,
    )


def when(at: str) -> str:
    """A stored tick time (ISO 8601, UTC) as people read it: 2026-11-29 09:14 UTC."""
    try:
        return dt.datetime.fromisoformat(at).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return at
