"""How adoptbot behaves in each Slack channel, from a small YAML file an admin keeps.

    default: normal            # optional; what every channel not listed does
    channels:
      C0123ABCD: mention-only  # answer only when @mentioned: no un-mentioned thread follow-ups
      C0456EFGH: private       # answer mentions privately (ephemeral), with "Share in channel"
      C0789IJKL: off           # do not answer here; a mention gets a private note saying so

No file means every channel behaves as `normal` (mentions answered in a thread, follow-ups in
threads the assistant joined). Direct messages and the assistant pane are not channels and are
always answered. The file is re-read when it changes; a broken edit keeps the last good one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

from common.errors import ConfigError
from common.watched import Watched
from kb.files import BadFile, load_yaml

Mode = Literal["normal", "mention-only", "private", "off"]
MODES: tuple[Mode, ...] = ("normal", "mention-only", "private", "off")
MAX_BYTES = 1_000_000
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,30}")


@dataclass(frozen=True)
class ChannelModes:
    """The mode of each listed channel, and the default for the rest."""

    default: Mode = "normal"
    channels: dict[str, Mode] = field(default_factory=dict)

    def of(self, channel: str) -> Mode:
        """The mode of a channel; direct messages (D...) are always normal."""
        if channel.startswith("D"):
            return "normal"
        return self.channels.get(channel, self.default)


def parse(text: str, *, where: str) -> ChannelModes:
    """The file's modes; a ConfigError naming the line to fix."""
    try:
        data = load_yaml(text, where)
    except BadFile as e:
        raise ConfigError(f"{e}: fix it (see the README, 'Per-channel behaviour').") from None
    if data is None:
        return ChannelModes()
    if not isinstance(data, dict) or set(data) - {"default", "channels"}:
        raise ConfigError(f"{where}: expected `default:` and `channels:` (a mapping of channel id -> mode).")
    default = _mode(data.get("default", "normal"), f"{where}: default")
    channels = data.get("channels") or {}
    if not isinstance(channels, dict):
        raise ConfigError(f"{where}: `channels:` must map channel ids (C0123ABCD) to a mode.")
    modes: dict[str, Mode] = {}
    for channel, mode in channels.items():
        if not isinstance(channel, str) or not _CHANNEL_ID.fullmatch(channel):
            raise ConfigError(
                f"{where}: {channel!r} is not a Slack channel id: copy it from the channel's details "
                "(it looks like C0123ABCD)."
            )
        modes[channel] = _mode(mode, f"{where}: {channel}")
    return ChannelModes(default, modes)


def _mode(value: object, what: str) -> Mode:
    if value not in MODES:
        raise ConfigError(f"{what} is {value!r}: use one of {', '.join(MODES)}.")
    return cast(Mode, value)


class ChannelModesFile:
    """The per-channel file, re-read when it changes; a broken edit keeps the previous modes and is logged."""

    def __init__(self, path: Path, *, required: bool = False) -> None:
        self.path = path
        self._file = Watched(
            path, _load, errors=(ConfigError, OSError, UnicodeDecodeError),
            keeping="keeping the previous per-channel settings", initial=ChannelModes(),
        )  # fmt: skip
        if required and not path.is_file():
            raise ConfigError(f"ADOPTBOT_SLACK_CHANNELS_FILE names {path}, which does not exist.")
        self.current(strict=True)  # a broken file stops start-up

    def current(self, *, strict: bool = False) -> ChannelModes:
        """The modes now in force."""
        try:
            return self._file.current(strict=strict) or ChannelModes()
        except (OSError, UnicodeDecodeError) as e:  # strict: start-up says what is wrong with the file
            raise ConfigError(str(e)) from None


def _load(path: Path) -> ChannelModes:
    if path.stat().st_size > MAX_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_BYTES:,} bytes.")
    return parse(path.read_text(encoding="utf-8"), where=str(path))
