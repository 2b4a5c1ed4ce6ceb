"""Slack's side of humans in the loop: posting the core's forwards to the experts' channel, with a permalink."""

from __future__ import annotations

import logging
from typing import Any

from bot.slack import blocks
from common.settings import Settings

log = logging.getLogger(__name__)


class SlackExperts:
    """The experts' channel named by ADOPTBOT_SLACK_EXPERTS_CHANNEL (nothing is posted without one)."""

    def __init__(self, settings: Settings) -> None:
        self.channel = settings.slack_experts_channel

    def notify(self, text: str, client: Any) -> None:
        """Post a forward (the chat core's experts notifier; `client` is the Web API client the listener had)."""
        if not self.channel or client is None:
            return
        try:
            client.chat_postMessage(channel=self.channel, text=blocks.to_mrkdwn(text), unfurl_links=False)
        except Exception as e:  # noqa: BLE001 - the person asking already has their reply
            log.warning("could not forward to the experts' channel %s: %s", self.channel, e)

    def link(self, client: Any, channel: str, ts: str) -> str:
        """A permalink to the message, or nothing for a DM (experts cannot open someone else's DM)."""
        if not self.channel or not channel or not ts or channel.startswith("D"):
            return ""
        try:
            return client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
        except Exception as e:  # noqa: BLE001 - a forward without a link still helps
            log.info("no permalink for %s/%s: %s", channel, ts, e)
            return ""
