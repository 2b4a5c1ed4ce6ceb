"""The command line: `adoptbot ingest`, `adoptbot status`, ..."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.errors import AdoptbotError, ConfigError, IngestBusy
from bot.runtime import Runtime
from bot.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adoptbot",
        description="Answers questions about adopting generative AI from a curated knowledge base.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = sub.add_parser("ingest", help="index the knowledge folder (incremental)")
    ingest.add_argument("path", nargs="?", type=Path, help="knowledge folder (default: knowledge/)")
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")
    ingest.add_argument("--strict", action="store_true", help="exit 1 if any file was skipped")
    ingest.add_argument("--wait", action="store_true", help="wait for a running ingest instead of refusing")

    status = sub.add_parser("status", help="what the index holds")
    status.add_argument("--json", action="store_true", help="print as JSON")
    return parser


def main(argv: Sequence[str] | None = None, *, runtime: Runtime | None = None) -> int:
    """Entry point of the `adoptbot` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        runtime = runtime or Runtime(Settings.from_env())
        return COMMANDS[args.command](runtime, args)
    except (ConfigError, IngestBusy) as e:
        print(f"adoptbot: {e}", file=sys.stderr)
        return EXIT_USAGE
    except AdoptbotError as e:
        print(f"adoptbot: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("adoptbot: interrupted; the previous index is still serving.", file=sys.stderr)
        return 130


def cmd_ingest(runtime: Runtime, args: argparse.Namespace) -> int:
    try:
        summary = runtime.ingest(args.path, wait=args.wait)
    except (AdoptbotError, KeyboardInterrupt):
        raise
    except Exception as e:
        logging.getLogger("adoptbot.ingest").exception("ingest failed")
        print(
            f"adoptbot: ingest failed ({type(e).__name__}: {e}); the previous index is still "
            "serving. Fix the cause (disk space? permissions?) and run `adoptbot ingest` again.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(json.dumps(summary.to_dict()) if args.json else summary.render())
    return EXIT_FAILED if args.strict and summary.skipped else EXIT_OK


def cmd_status(runtime: Runtime, args: argparse.Namespace) -> int:
    info = runtime.store.info()
    if args.json:
        print(json.dumps(info.__dict__ if info else None))
    elif info is None:
        print("The knowledge base has not been indexed yet: run `adoptbot ingest`.")
    else:
        print(
            f"{info.documents} documents, {info.chunks} chunks, indexed {info.indexed_at} "
            f"(version {info.version}, embeddings: {info.embed_model})."
        )
    return EXIT_OK


COMMANDS = {"ingest": cmd_ingest, "status": cmd_status}


def main_exit() -> None:
    """Console-script wrapper: exit with main()'s status."""
    sys.exit(main())


if __name__ == "__main__":
    main_exit()
