"""Readiness checks: whether a replica can answer now (index loaded, Chroma and the database reachable).

A check is a callable that returns None when its part is ready and a short reason when it is not;
one that raises or does not return in time counts as not ready. Liveness (/healthz) asks none of
them: a replica whose database is down is alive, only not ready, and must not be restarted for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

from kb.store import IndexInfo

Check = Callable[[], str | None]
REASON_CHARS = 200  # an exception's message can be long; the probe's answer should not be


def index_loaded(index_info: Callable[[], IndexInfo | None]) -> Check:
    """Ready when the store has a complete index to serve."""

    def index() -> str | None:
        if index_info() is None:
            return "no index yet: run `adoptbot ingest` (in Kubernetes, the ingest Job)"
        return None

    return index


def chroma_reachable(client: Any) -> Check:
    """Ready when the Chroma server answers its heartbeat (`client` is the store's chromadb client)."""

    def chroma() -> str | None:
        client.heartbeat()
        return None

    return chroma


def _reason(error: BaseException) -> str:
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"[:REASON_CHARS]


async def run_checks(
    checks: Mapping[str, Check], *, timeout_s: float, executor: Executor | None = None
) -> dict[str, str | None]:
    """Run every check at once on `executor` (default: the loop's); name -> None (ready) or why not."""
    loop = asyncio.get_running_loop()

    async def one(check: Check) -> str | None:
        try:
            return await asyncio.wait_for(loop.run_in_executor(executor, check), timeout_s)
        except TimeoutError:
            return f"no answer within {timeout_s:g} s"
        except Exception as e:  # noqa: BLE001 - any failure of a dependency means "not ready", with its reason
            return _reason(e)

    results = await asyncio.gather(*(one(check) for check in checks.values()))
    return dict(zip(checks, results, strict=True))
