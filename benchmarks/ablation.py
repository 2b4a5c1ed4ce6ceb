"""What each answering heuristic is worth: the full design, then every rule switched off on its own.

    ADOPTBOT_DATA_DIR=/tmp/abl-data PYTHONPATH=$PWD .venv/bin/python -m adoptbot.cli ingest
    ADOPTBOT_DATA_DIR=/tmp/abl-data PYTHONPATH=$PWD .venv/bin/python benchmarks/ablation.py \
        [--rules all,gate,seen+fresh,...] [--halves dev,test,regression] [--json results.json] [--list]

One process loads the runtime once (template backend, the real store and embedding model in the
ingested data directory), scores the full design, then, for each rule, switches that one rule off
(a constructor argument or attribute the product already has, or a patched module name: no product
code changes) and scores again. Scoring is `adoptbot eval`'s own (bot.answering.evaluation.run_eval)
on benchmarks/blind/dev, benchmarks/blind/test and knowledge/eval, each half with a fresh template
answerer, as a fresh `adoptbot eval` process has.

Printed: per rule, the change in correct and wrong-with-a-citation replies on each half (rule off
minus full design: a rule worth keeping shows fewer correct or more wrong-cited when off; "(n changed)"
counts the items whose outcome moved, so a swap that nets to zero still shows), and the CI bars the
rule-off design no longer meets:
  knowledge/eval          in-scope pass, abstention, conversations, off-topic follow-ups >= 90 %,
                          small talk 100 %, median in-scope answer <= 600 characters (tests/test_cli.py)
  knowledge/eval/questions.jsonl   in-scope pass, abstention, hit@5 >= 90 %
  benchmarks/blind/dev    wrong with a citation <= 16 %, small talk 100 %, declines >= 90 %
`--rules a+b` switches a and b off together: rules that stand in for each other (two ways to prefer the
same sentence) each look worthless alone, so a set to remove is checked as a set.
The test half is scored on purpose (issue 17 item 12 asks what each rule is worth there): record every
run in docs/benchmarks.md, and never tune a rule on the test rows.
Query and passage embeddings are remembered per exact batch of texts (the same vectors the model gives
for that batch), so a rule that does not change what is embedded costs no model time.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import bot.answering.answerers.template as template  # noqa: E402
import bot.answering.conversation as conversation  # noqa: E402
import bot.answering.engine as engine_module  # noqa: E402
import bot.answering.knowable as knowable  # noqa: E402
import bot.answering.retrieval as retrieval  # noqa: E402
from adoptbot.runtime import Runtime  # noqa: E402
from bot.answering.answerers.template import TemplateAnswerer  # noqa: E402
from bot.answering.conversation import Reading  # noqa: E402
from bot.answering.engine import Engine  # noqa: E402
from bot.answering.evaluation import EvalItem, EvalReport, load_questions, run_eval  # noqa: E402
from bot.answering.vocabulary import Expansions  # noqa: E402
from bot.types import Answer, Question  # noqa: E402
from common.settings import Settings  # noqa: E402
from kb.embedding import Embedder  # noqa: E402

HALVES = {
    "dev": (REPO / "benchmarks/blind/dev",),
    "test": (REPO / "benchmarks/blind/test",),
    "regression": (REPO / "knowledge/eval",),
}
NEVER = re.compile(r"(?!)")  # a pattern that matches nothing: the rule it replaces never fires


class RuleGone(RuntimeError):
    """A name a rule switches off is no longer in the code: update RULES."""


# ---------------------------------------------------------------- switching one rule off


@dataclass(frozen=True)
class Rule:
    name: str
    what: str  # one line: what the rule does when on
    off: Callable[[Runtime, ExitStack], None]  # enters the patches that switch it off


def _patch(stack: ExitStack, target: Any, attribute: str, value: Any) -> None:
    if not hasattr(target, attribute):
        where = getattr(target, "__name__", type(target).__name__)
        raise RuleGone(f"{where} has no {attribute}: the code changed; update RULES in benchmarks/ablation.py")
    stack.enter_context(mock.patch.object(target, attribute, value))


def _set(module: Any, attribute: str, value: Any) -> Callable[[Runtime, ExitStack], None]:
    return lambda runtime, stack: _patch(stack, module, attribute, value)


def _engine(attribute: str, value: Callable[[Engine], Any]) -> Callable[[Runtime, ExitStack], None]:
    return lambda runtime, stack: _patch(stack, runtime.engine, attribute, value(runtime.engine))


def _retriever(attribute: str, value: Any) -> Callable[[Runtime, ExitStack], None]:
    return lambda runtime, stack: _patch(stack, runtime.retriever, attribute, value)


def _no_terms_path(runtime: Runtime, stack: ExitStack) -> None:
    gate = runtime.engine.gate  # the second way in needs what the first already admits
    _patch(stack, runtime.engine, "gate", replace(gate, min_similarity_with_terms=gate.min_similarity))


def _no_own_coverage(runtime: Runtime, stack: ExitStack) -> None:
    def covers(self: Engine, reading: Reading, found: retrieval.Retrieval) -> bool:
        return self.gate.admits(reading.query, found)

    _patch(stack, Engine, "_covers", covers)


def _no_own_order(runtime: Runtime, stack: ExitStack) -> None:
    original = engine_module.replace

    def keep_order(obj: Any, /, **changes: Any) -> Any:  # Engine.answer replaces a Retrieval only to re-sort
        if isinstance(obj, retrieval.Retrieval) and set(changes) == {"passages"}:
            return obj
        return original(obj, **changes)

    _patch(stack, engine_module, "replace", keep_order)


def _reading(change: Callable[[str, Reading], Reading]) -> Callable[[Runtime, ExitStack], None]:
    """A rule off by changing the Reading conversation.read returns to the engine."""

    def off(runtime: Runtime, stack: ExitStack) -> None:
        original = engine_module.read

        def read(text: str, history: Any = (), **kwargs: Any) -> Reading:
            return change(text, original(text, history, **kwargs))

        _patch(stack, engine_module, "read", read)

    return off


def _no_loose(text: str, reading: Reading) -> Reading:
    return Reading("question", text, text) if reading.link == "loose" else reading  # read on its own


def _no_asks(text: str, reading: Reading) -> Reading:
    return replace(reading, asks="")


def _no_bare(runtime: Runtime, stack: ExitStack) -> None:
    """ "why?", "tell me more": the branch that asks the last question again when a message has no subject.

    It is the one call of conversation._content on the whole message being read; with it answering
    True, such a message goes on to the other links (a reference, a mention, or loose).
    """
    follow_up, content = conversation._follow_up, conversation._content
    reading: list[str] = []

    def follow_up_noting(text: str, *args: Any) -> Reading:
        reading.append(conversation._normal(text))
        try:
            return follow_up(text, *args)
        finally:
            reading.pop()

    def content_unless_whole(lowered: str) -> bool:
        return True if reading and lowered == reading[-1] else content(lowered)

    _patch(stack, conversation, "_follow_up", follow_up_noting)
    _patch(stack, conversation, "_content", content_unless_whole)


def _no_checklists(snap: Any, query: str, ranked: list[Any], scope: Any = None) -> tuple[list[Any], bool]:
    return ranked, False


RULES = [
    # bot/answering/engine.py
    Rule("gate", "decline unless the passages are close enough (any retrieved passage admitted when off)",
         _engine("gate", lambda e: engine_module.Gate(0.0, 0.0, 0.0))),
    Rule("gate-terms", "admit a weaker dense match (>= 0.15) when 75 % of the question's terms are in the top passages",
         _no_terms_path),
    Rule("clarifier", "ask which topic was meant when the top three sections are within 0.01 cosine",
         _engine("clarifier", lambda e: None)),
    Rule("own-coverage", "\"and what about X?\": decline unless one top passage holds half of X's words",
         _no_own_coverage),
    Rule("own-order", "\"and what about X?\": passages holding X's words ranked first", _no_own_order),
    Rule("list-ask", "a question asking for a list (steps, types, main risks...) gets the passage's list whole",
         _set(engine_module, "_LIST_ASK", NEVER)),
    # bot/answering/knowable.py
    Rule("named", "decline a question naming a rare word the knowledge base never uses (GPT-4o, H100)",
         _set(knowable, "_unknown_name", lambda *args: False)),
    Rule("company", "decline a we/our question asking a company fact (who, when, budget, licence, status)",
         _set(knowable, "_SELF", NEVER)),
    Rule("history", "decline who-invented / when-was-it-released questions", _set(knowable, "_HISTORY", NEVER)),
    # bot/answering/conversation.py
    Rule("smalltalk", "greetings, thanks, goodbyes, \"who are you\" answered without retrieval",
         _set(conversation, "smalltalk", lambda text: None)),
    Rule("closing", "thanks or goodbye however put (\"perfect, that's all for now. bye\") is small talk",
         _set(conversation, "_closing", lambda text, words: None)),
    Rule("ordinal", "\"the second step\": that item of the last answer's list", _set(conversation, "_ordinal",
         lambda lowered: None)),
    Rule("substitution", "\"and what about X?\" / \"and for X?\": the last question again, about X",
         _set(conversation, "_LEADING", NEVER)),
    Rule("reference", "a pronoun or \"this/that\" replaced by the last question's subject",
         _set(conversation, "_refers_back", lambda lowered, topic_terms: False)),
    Rule("subject", "a reference after a question naming no topic leans on the last answer's section",
         _set(Engine, "_subject", lambda self, said, scope: "")),
    Rule("bare", "\"why?\", \"tell me more\" (no subject words): the last question asked again", _no_bare),
    Rule("mention", "a follow-up naming a line of the last answer is searched with that line",
         _set(conversation, "_picked_up", lambda text, answer: "")),
    Rule("loose", "a follow-up without a topic word of its own: about the last subject", _reading(_no_loose)),
    Rule("asks", "a follow-up's own new words weigh in choosing the answer's sentences", _reading(_no_asks)),
    # bot/answering/answerers/template.py
    Rule("rank-prior", "sentences of the best-ranked passage preferred (+0.2, +0.05)",
         _set(template, "RANK_PRIOR", (0.0, 0.0, 0.0))),
    Rule("word-weight", "+0.06 per question term a sentence shares", _set(template, "WORD_WEIGHT", 0.0)),
    Rule("emphasis-weight", "+0.15 per term of what a follow-up adds", _set(template, "EMPHASIS_WEIGHT", 0.0)),
    Rule("label-weight", "+0.3 for a unit labelled with a question term (\"Audio: ...\")",
         _set(template, "LABEL_WEIGHT", 0.0)),
    Rule("context", "a chosen sentence brings its neighbours (up to 400 characters)",
         _set(template, "CONTEXT_CHARS", 0)),
    Rule("runners-up", "units scoring >= 0.8 of the best join the answer within 600 characters",
         _set(template, "KEEP_RELATIVE", math.inf)),
    Rule("seen", "sentences the last reply just gave are not repeated (and the fresh unit below)",
         _set(template, "_just_said", lambda prompt: "")),
    Rule("fresh", "a follow-up that would only repeat gets the best new unit (>= 0.4 of the best)",
         _set(template, "NEW_RELATIVE", math.inf)),
    # bot/answering/retrieval.py
    Rule("questions", "sections lifted in dense ranking by their `questions:` (cosine >= 0.6)",
         _retriever("question_floor", 2.0)),
    Rule("checklists", "a checklist asked for (by \"checklist\" or its name) comes back whole",
         _set(retrieval, "_expand_checklists", _no_checklists)),
    Rule("neighbours", "adjacent chunks of one section merged into one passage",
         _set(retrieval, "_merge_neighbours", lambda ranked: list(ranked))),
    Rule("bm25", "BM25 fused with dense search (dense only when off)", _retriever("mode", "dense")),
    Rule("rrf", "reciprocal rank fusion (score fusion when off)", _retriever("fusion", "score")),
    # bot/answering/vocabulary.py, language.py
    Rule("synonyms", "knowledge/synonyms.yaml expands the query with the guidance's words",
         _engine("expansions", lambda e: Expansions)),
    Rule("language", "the question's language detected: a one-line note (not scored), rare words judged in it too",
         _set(engine_module, "detect", lambda text: "en")),
]  # fmt: skip


# ---------------------------------------------------------------- scoring


class RememberingEmbedder(Embedder):
    """The real model, each exact batch of texts embedded once per process."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_tokens = inner.max_tokens
        self._vectors: dict[tuple[str, ...], list[list[float]]] = {}

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        key = tuple(texts)
        if key not in self._vectors:
            self._vectors[key] = self.inner.embed(texts)
        return [list(v) for v in self._vectors[key]]

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class Replaying:
    """The engine, each (question, history) answered once: re-scoring a subset needs only retrieval again."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.retriever = engine.retriever
        self._answers: dict[tuple[str, tuple[Any, ...]], Answer] = {}

    def answer(self, question: Question, *, backend: str | None = None) -> Answer:
        key = (question.text, question.history)
        if key not in self._answers:
            self._answers[key] = self.engine.answer(question, backend=backend)
        return self._answers[key]


@dataclass(frozen=True)
class Bar:
    name: str
    value: Callable[[dict[str, Any]], float]
    at_least: float | None = None
    at_most: float | None = None

    def unmet(self, figures: dict[str, Any]) -> str:
        value = self.value(figures)
        if self.at_least is not None and value < self.at_least:
            return f"{self.name} {value:.1%} < {self.at_least:.0%}"
        if self.at_most is not None and value > self.at_most:
            shown = f"{value:.0f}" if self.at_most > 1 else f"{value:.1%}"
            limit = f"{self.at_most:.0f}" if self.at_most > 1 else f"{self.at_most:.0%}"
            return f"{self.name} {shown} > {limit}"
        return ""


# tests/test_cli.py: the regression sets' CI bars, the shipped questions' bar, and the blind dev half's.
BARS = {
    "regression": [
        Bar("reg in-scope", lambda r: r["all"]["in_scope_pass_rate"], at_least=0.9),
        Bar("reg abstain", lambda r: r["all"]["out_of_scope_abstention_rate"], at_least=0.9),
        Bar("reg conv", lambda r: r["all"]["conversation_pass_rate"], at_least=0.9),
        Bar("reg conv-abstain", lambda r: r["all"]["conversation_abstention_rate"], at_least=0.9),
        Bar("reg smalltalk", lambda r: r["all"]["smalltalk_rate"], at_least=1.0),
        Bar("reg median chars", lambda r: r["all"]["answer_chars_median"], at_most=600),
        Bar("questions in-scope", lambda r: r["questions"]["in_scope_pass_rate"], at_least=0.9),
        Bar("questions abstain", lambda r: r["questions"]["out_of_scope_abstention_rate"], at_least=0.9),
        Bar("questions hit@5", lambda r: r["questions"]["hit_at_5"], at_least=0.9),
    ],
    "dev": [
        Bar("dev wrong-cited", lambda r: r["all"]["wrong_cited_rate"], at_most=0.16),
        Bar("dev smalltalk", lambda r: r["all"]["sets"]["smalltalk"]["correct_rate"], at_least=1.0),
        Bar("dev declines", lambda r: r["all"]["sets"]["declines"]["correct_rate"], at_least=0.9),
    ],
}


def score_half(runtime: Runtime, half: str, items: list[EvalItem]) -> dict[str, Any]:
    """`adoptbot eval`'s report of one half (and, for the regression sets, of questions.jsonl alone)."""
    engine = runtime.engine
    fresh = {"template": TemplateAnswerer(embedder=runtime.embedder)}  # as a fresh `adoptbot eval` has it
    with mock.patch.dict(engine.answerers, fresh):
        replaying = Replaying(engine)
        report: EvalReport = run_eval(replaying, items, backend="template")  # type: ignore[arg-type]
        figures = {"all": report.to_dict()}
        if half == "regression":
            questions = [i for i in items if i.set == "questions"]
            figures["questions"] = run_eval(replaying, questions, backend="template").to_dict()  # type: ignore[arg-type]
    totals = {
        name: sum(s[name] for s in figures["all"]["sets"].values()) for name in ("items", "correct", "wrong_cited")
    }
    figures["totals"] = totals
    figures["unmet"] = [u for bar in BARS.get(half, []) if (u := bar.unmet(figures))]
    for bulky in figures.values():
        if isinstance(bulky, dict):
            bulky.pop("failures", None)
    figures["outcomes"] = {f"{f['set']}:{f['id']}": f["outcome"] for f in report.failures}  # the rest: correct
    return figures


def run_design(runtime: Runtime, halves: dict[str, list[EvalItem]]) -> dict[str, Any]:
    started = time.perf_counter()
    out = {half: score_half(runtime, half, items) for half, items in halves.items()}
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


@contextmanager
def switched_off(rules: Sequence[Rule], runtime: Runtime) -> Iterator[None]:
    """Every one of rules off until the block ends."""
    with ExitStack() as stack:
        for rule in rules:
            rule.off(runtime, stack)
        yield


# ---------------------------------------------------------------- the table


def _cell(full: dict[str, Any], off: dict[str, Any] | None = None) -> str:
    if off is None:
        t = full["totals"]
        return f"{t['correct']}/{t['wrong_cited']} of {t['items']}"
    dc = off["totals"]["correct"] - full["totals"]["correct"]
    dw = off["totals"]["wrong_cited"] - full["totals"]["wrong_cited"]
    ids = full["outcomes"].keys() | off["outcomes"].keys()
    changed = sum(full["outcomes"].get(i, "correct") != off["outcomes"].get(i, "correct") for i in ids)
    delta = f"{dc:+d} / {dw:+d}" if dc or dw else "0 / 0"
    return f"{delta} ({changed} changed)" if changed else delta


def _bars(result: dict[str, Any], halves: Sequence[str]) -> str:
    unmet = [u for half in halves if half in BARS for u in result[half]["unmet"]]
    return "; ".join(unmet) if unmet else "all met"


def table(full: dict[str, Any], results: dict[str, dict[str, Any]], halves: Sequence[str]) -> str:
    """Markdown: the full design's figures, then each rule's change when it is off."""
    what = {r.name: r.what for r in RULES}
    columns = ["rule", "what it does"] + [f"{h} correct / wrong-cited" for h in halves] + ["bars (rule off)"]
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines.append("| **full design** | every rule on | " + " | ".join(_cell(full[h]) for h in halves)
                 + f" | {_bars(full, halves)} |")  # fmt: skip
    for name, off in results.items():
        cells = [_cell(full[h], off[h]) for h in halves]
        does = what.get(name, "together: " + ", ".join(name.split("+")))
        lines.append(f"| {name.replace('+', ' + ')} | {does} | " + " | ".join(cells) + f" | {_bars(off, halves)} |")
    return "\n".join(lines)


def tabulate(paths: Sequence[Path]) -> int:
    """One table from runs saved with --json (a run cut short, then the rest), if they measured the same design."""
    runs = [json.loads(path.read_text()) for path in paths]
    full = runs[0]["full"]
    halves = [h for h in HALVES if h in full]
    for path, run in zip(paths[1:], runs[1:], strict=True):
        if any(run["full"].get(h, {}).get("outcomes") != full[h]["outcomes"] for h in halves):
            print(f"ablation: {path} measured a different full design than {paths[0]}", file=sys.stderr)
            return 2
    print(table(full, {name: r for run in runs for name, r in run["rules"].items()}, halves))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rules",
        help="comma-separated rule names (default: all, every rule one at a time); a+b switches a and b off "
        "together; --list shows them",
    )
    parser.add_argument("--halves", default="dev,test,regression", help="comma-separated: dev, test, regression")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--list", action="store_true", help="list the rules and exit")
    parser.add_argument(
        "--tabulate", type=Path, nargs="+", metavar="JSON", help="print the table of earlier --json runs and exit"
    )
    args = parser.parse_args(argv)
    if args.list:
        for rule in RULES:
            print(f"{rule.name:16s} {rule.what}")
        return 0
    if args.tabulate:
        return tabulate(args.tabulate)
    known = {r.name: r for r in RULES}
    asked = [n.strip() for n in (args.rules or "all").split(",") if n.strip()]
    names = [single for name in asked for single in (known if name == "all" else [name])]
    singles = {part for name in names for part in name.split("+")}
    halves = [h.strip() for h in args.halves.split(",") if h.strip()]
    for bad, choices, what in (
        (singles - known.keys(), known, "rule"),
        (set(halves) - HALVES.keys(), HALVES, "half"),
    ):
        if bad:
            print(
                f"ablation: unknown {what} {', '.join(sorted(bad))}: choose from {', '.join(choices)}", file=sys.stderr
            )
            return 2

    overrides: dict[str, Any] = {"backend": "template"}
    if not os.environ.get("ADOPTBOT_KNOWLEDGE_DIR"):
        overrides["knowledge_dir"] = REPO / "knowledge"  # the synonyms file is read from it
    settings = Settings.from_env(**overrides)
    runtime = Runtime(settings, embedder=RememberingEmbedder(Runtime(settings).embedder))
    runtime.warm_up()  # IndexEmpty, saying to run `adoptbot ingest`, when the data directory has no index
    items = {half: load_questions(*HALVES[half]) for half in halves}
    print(f"data dir {settings.data_dir}; {', '.join(f'{h} {len(i)} items' for h, i in items.items())}", flush=True)

    full = run_design(runtime, items)
    print(f"full design ({full['seconds']} s): " + "; ".join(f"{h} {_cell(full[h])}" for h in halves)
          + f"; bars: {_bars(full, halves)}", flush=True)  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        with switched_off([known[part] for part in name.split("+")], runtime):
            results[name] = run_design(runtime, items)
        off = results[name]
        print(f"{name} off ({off['seconds']} s): " + "; ".join(f"{h} {_cell(full[h], off[h])}" for h in halves)
              + f"; bars: {_bars(off, halves)}", flush=True)  # fmt: skip
        if args.json:  # after every rule: a run cut short keeps what it measured
            args.json.write_text(json.dumps({"full": full, "rules": results}, indent=1))
    print()
    print(table(full, results, halves))
    seconds = [r["seconds"] for r in results.values()]
    if seconds:
        print(f"\n{len(seconds)} rules, median {statistics.median(seconds):.0f} s each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
