"""What an incoming Teams activity says: who sent it, from which chat or channel, and links to its messages."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

from bot.audiences import teams_place

_AT = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"</?[a-zA-Z][^>]{0,200}>")


def plain(text: str) -> str:
    """Plain text from a Teams message (HTML): @mentions and tags dropped, entities read."""
    return html.unescape(_TAGS.sub(" ", _AT.sub(" ", text))).strip()


def is_personal(activity: Any) -> bool:
    """Whether the activity comes from a 1:1 chat (Teams leaves the type out there at times)."""
    return (activity.conversation.conversation_type or "personal") == "personal"


def in_copilot(activity: Any) -> bool:
    """Whether the activity comes from Microsoft 365 Copilot Chat (Teams names the COPILOT product in it)."""
    return str(activity.channel_id or "").lower().startswith("msteams:copilot")


def user(activity: Any) -> str:
    """The sender's id for fair use, votes and admin checks: their Entra (AAD) object id, else their Teams id."""
    sender = activity.from_property
    return (sender.aad_object_id or sender.id or "") if sender else ""


def person(activity: Any) -> str:
    """Who a checklist shows as having ticked: the person's name in Teams, else their id."""
    sender = activity.from_property
    return (sender.name if sender else "") or user(activity)


def channel(activity: Any) -> str:
    """Where a project's checklists belong: the chat, or the channel (all its reply chains)."""
    return (activity.conversation.id or "").split(";messageid=")[0]


def place(activity: Any) -> str:
    """Where the activity comes from, for audiences: the team of a channel, a group chat or a personal chat."""
    return teams_place(activity.conversation.conversation_type, activity.channel_data)


def channel_kind(activity: Any) -> str:
    """The audit log's channel kind: a 1:1 chat, a reply chain of a channel, or a channel or group chat."""
    if is_personal(activity):
        return "dm"
    return "thread" if ";messageid=" in (activity.conversation.id or "") else "channel"


def message_link(activity: Any, message_id: str | None = None) -> str:
    """A Teams link to a message in a channel thread; nothing for chats (experts cannot open them)."""
    if (activity.conversation.conversation_type or "personal") != "channel":
        return ""
    thread = channel(activity)
    message = message_id or activity.id or ""
    return f"https://teams.microsoft.com/l/message/{quote(thread, safe='')}/{quote(message, safe='')}"
