"""The terminal itself: exit statuses, who is at it, and how answers, citations and files reach it."""

from __future__ import annotations

import getpass
import os
import time
from pathlib import Path

from bot.types import Answer, Citation
from common.errors import ConfigError
from common.text import visible

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SUGGESTED = "You could ask next:"
_LOADED = time.perf_counter()  # where the kernel's process start time cannot be read: about as early


def since_start_ms() -> float:
    """Milliseconds since this process started (from the kernel on Linux; elsewhere since the CLI loaded)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            ticks = int(f.read().rpartition(")")[2].split()[19])  # field 22, starttime: clock ticks after boot
        return (time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")) * 1000
    except (OSError, ValueError, IndexError, AttributeError):
        return (time.perf_counter() - _LOADED) * 1000


def login_name(fallback: str = "") -> str:
    """Who is at the terminal: the login name, or fallback for a container user with no name."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return fallback


def plain(markdown: str) -> str:
    """Core Markdown for a terminal: bold markers dropped, invisible characters escaped."""
    return visible(markdown.replace("**", ""), keep="\n\t")


def render_answer(answer: Answer, *, startup_ms: float | None = None) -> str:
    """An answer and its sources for a person reading a terminal; nothing from the files reaches it raw.

    startup_ms, when given, is how long the process took to start before the question was read.
    """
    lines = [visible(answer.text, keep="\n\t"), ""]
    lines += [f"  {n}. {visible(c.label)}" for n, c in enumerate(answer.choices, start=1)]
    if answer.sources:
        lines.append("Sources:")
        lines += [f"  [{c.n}] {cite_line(c)}" for c in answer.sources]
    if answer.related:
        lines.append("Related:" if answer.answered else "From:" if answer.choices else "Nearest topics:")
        lines += [f"  - {cite_line(c)}" for c in answer.related]
    lines += [f"Note: {visible(n)}" for n in answer.notes]
    if answer.suggestions:
        lines.append(SUGGESTED)
        lines += [f"  {n}. {visible(c.question)}" for n, c in enumerate(answer.suggestions, start=1)]
    if answer.status != "smalltalk":
        startup = "" if startup_ms is None else f"; start-up {startup_ms:.0f} ms"
        lines.append(f"({answer.backend}, {answer.timings_ms.get('total', 0):.0f} ms{startup})")
    return "\n".join(lines).rstrip()


def cite_line(c: Citation) -> str:
    """One citation on one line: line breaks and invisible characters (U+202E) in metadata are escaped."""
    reviewed = f", reviewed {c.last_reviewed}" if c.last_reviewed else ""
    reviewed += ", review overdue" if c.review_overdue else ""
    url = f" <{c.url}>" if c.url else ""
    return visible(f"{c.title} - {c.section} ({c.source}{reviewed}){url}")


def write_atomically(out: Path, text: str) -> None:
    """Write text to out through a temporary file, so a half-written file never replaces a good one."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="")
        os.replace(tmp, out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"Cannot write {out} ({e.strerror or e}): choose another --out.") from None
