"""Cold start of one-shot commands: wall clock of `adoptbot status`, `ask`, `report`, ... in fresh processes.

    .venv/bin/python benchmarks/coldstart.py [--checkout PATH] [--runs 5] [--importtime ask] [--json]

Ingests the checkout's knowledge folder once into a temporary data directory (with the checkout under
test), answers one question so the audit log has a record, then runs every command --runs times, each in a
new `python -m adoptbot.cli ...` process with PYTHONPATH set to the checkout and the template backend.
Prints the median and fastest wall clock per command, the startup share `ask` prints (since the ONNX copy of
issue 20, with the embedding model loaded: it is start-up, not the answer's time), and the top packages
of `python -X importtime` for one command. --checkout measures another checkout (for example the start
commit through `git worktree add /tmp/before <commit>`) with the same script. Prints figures; nothing
is asserted. The operating system's file cache is warm after the first round: "cold" is the process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IDEA = "We want product photos in twenty backgrounds"


def commands(out_dir: Path) -> dict[str, list[str]]:
    """The one-shot commands measured, by the name they are printed under."""
    return {
        "status": ["status"],
        "checklist": ["checklist"],
        "kb lint": ["kb", "lint"],
        "audit export": ["audit", "export"],
        "ask": ["ask", "What is a GAN?"],
        "assess --json": ["assess", "--json", IDEA],
        "report": ["report", "--out", str(out_dir / "report.html")],
    }


def environment(checkout: Path, data_dir: Path) -> dict[str, str]:
    """The process environment: ours without any ADOPTBOT_ or platform setting, then the benchmark's."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("ADOPTBOT_", "SLACK_", "CONNECTIONS__"))}
    return {
        **keep,
        "PYTHONPATH": str(checkout),
        "ADOPTBOT_DATA_DIR": str(data_dir),
        "ADOPTBOT_KNOWLEDGE_DIR": str(checkout / "knowledge"),
        "ADOPTBOT_BACKEND": "template",
    }


def run(
    python: str, args: list[str], *, cwd: Path, env: dict[str, str], flags: tuple[str, ...] = ()
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """One fresh process: its wall clock (seconds) and what it printed; a failing command stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(
        [python, *flags, "-m", "adoptbot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):  # kb lint exits 1 on errors in the knowledge base; that is still a run
        sys.exit(f"adoptbot {' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return wall, done


def top_imports(stderr: str, n: int) -> list[tuple[str, float]]:
    """`-X importtime` lines summed by top-level package (self time, ms), the n largest."""
    by_package: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            by_package[match.group(2).split(".")[0]] += int(match.group(1)) / 1000
    return sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=REPO, help="the adoptbot checkout to measure")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per command")
    parser.add_argument("--python", default=sys.executable, help="the interpreter (with the requirements)")
    parser.add_argument("--importtime", default="ask", help="the command whose imports are listed ('' for none)")
    parser.add_argument("--top", type=int, default=12, help="packages listed from -X importtime")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    with tempfile.TemporaryDirectory(prefix="adoptbot-coldstart-") as tmp:
        data_dir, out_dir = Path(tmp) / "data", Path(tmp)
        env = environment(checkout, data_dir)
        run(args.python, ["ingest"], cwd=checkout, env=env)
        run(args.python, ["ask", "What is a GAN?"], cwd=checkout, env=env)  # one audit record; the file cache warm
        measured = commands(out_dir)
        walls: dict[str, list[float]] = {name: [] for name in measured}
        startup: list[float] = []
        for _ in range(args.runs):  # round-robin: a burst of load on the machine spreads over every command
            for name, argv in measured.items():
                wall, done = run(args.python, argv, cwd=checkout, env=env)
                walls[name].append(wall)
                if name == "ask" and (m := re.search(r"\((\w+), (\d+) ms(?:; start-up (\d+) ms)?\)", done.stdout)):
                    startup.append(int(m.group(3) or 0) / 1000)
        imports: list[tuple[str, float]] = []
        if args.importtime:
            _, done = run(args.python, measured[args.importtime], cwd=checkout, env=env, flags=("-X", "importtime"))
            imports = top_imports(done.stderr, args.top)
    figures = {
        name: {"median_s": round(statistics.median(w), 2), "min_s": round(min(w), 2), "runs": [round(x, 2) for x in w]}
        for name, w in walls.items()
    }
    if args.json:
        print(json.dumps({"checkout": str(checkout), "commands": figures, "ask_startup_s": startup,
                          "imports_ms": dict(imports)}))  # fmt: skip
        return
    print(f"checkout {checkout}, {args.runs} fresh processes per command, load average {os.getloadavg()[0]:.2f}")
    print(f"{'command':<16}{'median s':>10}{'min s':>8}  runs")
    for name, f in figures.items():
        print(f"{name:<16}{f['median_s']:>10.2f}{f['min_s']:>8.2f}  {' '.join(f'{x:.2f}' for x in f['runs'])}")
    if startup and any(startup):
        median = statistics.median(startup)
        print(f"ask: start-up as it prints it (process start to the question read), median {median:.2f} s")
    if imports:
        print(f"-X importtime of `{args.importtime}`, self time summed by top-level package:")
        for package, ms in imports:
            print(f"  {package:<28}{ms:>8.0f} ms")


if __name__ == "__main__":
    main()
