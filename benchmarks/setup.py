"""Set-up on a clean clone: every step of `make test` (or `make run` to its first answer), timed.

    python3 benchmarks/setup.py [--commit REV] [--goal test|run|setup] [--cold | --cache DIR]
                                [--no-suite] [--keep] [--question TEXT] [--echo] [--json]

Clones this repository at a commit (default HEAD; committed files only) into a temporary directory and
runs `make GOAL` there with the Makefile of that commit, so the same script measures an older commit's
set-up and this one's. Every recipe line make runs is timed through a SHELL wrapper (its target, when it
started after make did, how long it took, its exit status), including lines of a make that the recipes
start themselves (parallel steps show as overlapping lines). --cold gives pip, npm and the Makefile's
llama-cpp-python wheel cache empty directories (XDG_CACHE_HOME, PIP_CACHE_DIR, npm's cache), as on a new
machine; --cache DIR uses DIR for them and keeps it (run twice: cold, then warm without touching the
machine's caches); otherwise the machine's own caches are used.
--no-suite runs `make test` with the lines that start pytest skipped, for the set-up part alone.
`--goal run` pipes one question into `make run` (the terminal chat: ingest, then the answer) and reports
when the answer appeared. Debian packages already installed are found present by the Makefile either
way. The clone gets its own .venv and data/; nothing outside the temporary directory is written except
the machine's caches when they are used. Prints figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUESTION = "What is a GAN?"
SUITE_MARK = "bin/pytest"  # a recipe line that runs the test suite

# Runs every recipe line: logs when it started and ended, its exit status, its make level and target.
WRAPPER = r"""#!/bin/sh
# make runs `timed-sh TARGET -c LINE`; a $(shell ...) outside a recipe runs `timed-sh -c TEXT`, untimed.
[ "$1" = "-c" ] && exec /bin/sh "$@"
target=$1; shift
start=$(date +%s.%N)
rc=
if [ -n "$SETUP_BENCH_SKIP" ]; then
  case "$2" in *"$SETUP_BENCH_SKIP"*) echo "(benchmark: skipped: $2)"; rc=0 ;; esac
fi
[ -n "$rc" ] || { /bin/sh "$@"; rc=$?; }
end=$(date +%s.%N)
cmd=$(printf '%s' "$2" | tr '\t\n' '  ' | cut -c1-400)
printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$start" "$end" "$rc" "${MAKELEVEL:-0}" "$target" "$cmd" >> "$SETUP_BENCH_LOG"
exit $rc
"""


@dataclass(frozen=True)
class Step:
    """One recipe line as make ran it: seconds after make started, its duration, exit status and target."""

    start_s: float
    duration_s: float
    rc: int
    level: int
    target: str
    command: str


def clone(repo: Path, commit: str, into: Path) -> str:
    """A fresh clone of repo at commit (no hard links, so the clone is like any other); returns the commit id."""
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", f"{commit}^{{commit}}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if sha.returncode != 0:
        sys.exit(f"--commit {commit}: not a commit in {repo} ({sha.stderr.strip()})")
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", "--no-checkout", str(repo), str(into)], check=True)
    subprocess.run(["git", "-C", str(into), "checkout", "--quiet", sha.stdout.strip()], check=True)
    return sha.stdout.strip()


def environment(cache: Path | None, *, skip_suite: bool, log: Path) -> dict[str, str]:
    """Ours without adoptbot's or the chat platforms' settings (so `make run` opens the terminal chat)."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ADOPTBOT_", "SLACK_", "TEAMS_", "CONNECTIONS__", "VIRTUAL_ENV", "MAKE", "PYTHONPATH"))
    }
    env = {**keep, "SETUP_BENCH_LOG": str(log), "SETUP_BENCH_SKIP": SUITE_MARK if skip_suite else ""}
    env["PYTHONUNBUFFERED"] = "1"  # the chat's answer reaches the pipe when it is printed, not at exit
    if cache is not None:  # every cache the set-up reads, under one directory
        cache.mkdir(parents=True, exist_ok=True)
        env |= {"XDG_CACHE_HOME": str(cache), "PIP_CACHE_DIR": str(cache / "pip")}
        env["npm_config_cache"] = str(cache / "npm")
    return env


def run_make(
    checkout: Path, goal: str, env: dict[str, str], wrapper: Path, question: str | None, echo: bool
) -> tuple[float, int, float | None, list[str]]:
    """`make GOAL` in the clone: wall clock, exit status, seconds to the chat's first answer, its output lines."""
    lines: list[str] = []
    answered: list[float] = []
    started = time.time()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", goal, f"SHELL={wrapper} $@"],
        cwd=checkout, env=env, text=True, bufsize=1,
        stdin=subprocess.PIPE if question is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not answered and line.lstrip().startswith("adoptbot> "):
                answered.append(time.time() - started)
            lines.append(line.rstrip("\n"))
            if echo:
                print(f"  | {line}", end="", file=sys.stderr, flush=True)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if question is not None:
        assert proc.stdin is not None
        proc.stdin.write(question + "\n")
        proc.stdin.close()  # end of input: the chat answers once and leaves
    rc = proc.wait()
    reader.join()
    return time.time() - started, rc, (answered[0] if answered else None), lines


def children_cpu_s() -> float:
    """User + system CPU seconds of every process this one waited for, so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def read_steps(log: Path, started: float) -> list[Step]:
    """The wrapper's log, in the order the lines started."""
    steps = []
    for raw in log.read_text().splitlines() if log.exists() else []:
        start, end, rc, level, target, command = raw.split("\t", 5)
        steps.append(Step(round(float(start) - started, 1), round(float(end) - float(start), 1), int(rc),
                          int(level), target, command))  # fmt: skip
    return sorted(steps, key=lambda s: s.start_s)


def is_suite(step: Step) -> bool:
    """ruff and pytest: the suite's part of `make test`, not set-up."""
    return SUITE_MARK in step.command or "bin/ruff" in step.command


def is_answer(step: Step) -> bool:
    """The line of `make run` that starts adoptbot (ingest, load, answer): not set-up."""
    return "bin/adoptbot run" in step.command


def innermost(steps: list[Step]) -> list[Step]:
    """Lines that run work themselves: a line that starts a nested make is left out of sums."""
    return [s for s in steps if Path((s.command.split() or [""])[0]).name != "make"]


def short(command: str, width: int = 72) -> str:
    """A recipe line on one table row."""
    text = " ".join(command.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the repository to clone (default: this one)")
    parser.add_argument("--commit", default="HEAD", help="the commit to clone and measure (default: HEAD)")
    parser.add_argument("--goal", default="test", choices=["test", "run", "setup"], help="the make goal")
    caches = parser.add_mutually_exclusive_group()
    caches.add_argument("--cold", action="store_true", help="empty caches for pip, npm and llama-cpp-python's wheel")
    caches.add_argument("--cache", type=Path, help="this directory for those caches instead of the machine's (kept)")
    parser.add_argument("--no-suite", action="store_true", help="make test without running pytest")
    parser.add_argument("--question", default=QUESTION, help="what --goal run asks the terminal chat")
    parser.add_argument("--keep", action="store_true", help="keep the clone (printed) instead of removing it")
    parser.add_argument("--echo", action="store_true", help="show make's output while it runs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="adoptbot-setup-"))
    try:
        checkout, log, wrapper = tmp / "adoptbot", tmp / "steps.tsv", tmp / "timed-sh"
        wrapper.write_text(WRAPPER)
        wrapper.chmod(0o755)
        t0 = time.time()
        sha = clone(args.repo.resolve(), args.commit, checkout)
        clone_s = time.time() - t0
        cache = tmp / "cache" if args.cold else args.cache.resolve() if args.cache else None
        env = environment(cache, skip_suite=args.no_suite, log=log)
        load_before, cpu_before = os.getloadavg()[0], children_cpu_s()
        started = time.time()
        question = args.question if args.goal == "run" else None
        wall, rc, answered_s, output = run_make(checkout, args.goal, env, wrapper, question, args.echo)
        load_after, cpu_s = os.getloadavg()[0], children_cpu_s() - cpu_before
        steps = read_steps(log, started)
    finally:
        if args.keep:
            print(f"clone kept in {tmp / 'adoptbot'}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    work = innermost(steps)
    setup_end = max((s.start_s + s.duration_s for s in work if not is_suite(s) and not is_answer(s)), default=0.0)
    suite_s = sum(s.duration_s for s in work if is_suite(s))
    cache_name = "cold (empty caches)" if args.cold else f"caches in {cache}" if cache else "the machine's caches"
    figures = {
        "commit": sha, "goal": args.goal, "cache": cache_name, "suite": not args.no_suite, "exit_status": rc,
        "clone_s": round(clone_s, 1), "make_s": round(wall, 1), "setup_s": round(setup_end, 1),
        "suite_s": round(suite_s, 1), "cpu_s": round(cpu_s, 1),
        "first_answer_s": None if answered_s is None else round(answered_s, 1),
        "load_average": [round(load_before, 2), round(load_after, 2)], "steps": [asdict(s) for s in steps],
    }  # fmt: skip
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"make {args.goal} on a clean clone of {sha[:10]}, {cache_name}; load average "
              f"{load_before:.2f} before, {load_after:.2f} after; clone {clone_s:.1f} s")  # fmt: skip
        print(f"{'start s':>8}{'took s':>8}{'rc':>4}  {'target':<28}command")
        top = min((s.level for s in steps), default=0)
        for s in steps:
            nested = "  " * (s.level - top)
            print(f"{s.start_s:>8.1f}{s.duration_s:>8.1f}{s.rc:>4}  {nested + s.target[-28 + len(nested):]:<28}"
                  f"{short(s.command)}")  # fmt: skip
        print(f"set-up (make start to the last set-up line's end): {setup_end:.1f} s")
        if args.goal == "test":
            print(f"ruff + pytest: {suite_s:.1f} s{' (pytest skipped)' if args.no_suite else ''}")
        if args.goal == "run":
            shown = "never" if answered_s is None else f"{answered_s:.1f} s after make started"
            print(f"first answer: {shown}")
            timing = [line for line in output if re.match(r"\((\w+), \d+ ms", line)]
            print(f"the answer's own timing: {timing[0] if timing else 'none printed'}")
        print(f"make {args.goal}: {wall:.1f} s, exit status {rc}; CPU time of everything it ran: {cpu_s:.0f} s")
    if rc != 0:
        print("\n".join(output[-40:]), file=sys.stderr)
        sys.exit(rc)


if __name__ == "__main__":
    main()
