"""`adoptbot eval`: run question sets (single questions and conversations) and report quality.

An item is one JSON line. A single question: `{"id", "kind", "q", "must", "source"}`; a
conversation: `{"id", "kind", "turns": [...], "must", "max_chars"}`, where every turn but the last
is answered by the assistant itself to build the history and the last one is scored. `kind` is
`in` (answered, with sources, every `must` group matched, within `max_chars`), `out` (declined)
or `smalltalk` (a short reply without retrieval or sources). Optional `cat` and `lang` describe the
item for the failure list.

Every reply is also sorted into one outcome, counted per set (file): `correct` (what the item asks),
`wrong_cited` (an answer with sources that is wrong: in scope but missing what it must say, or any
answer to what should be declined: the worst outcome, since a citation makes it look trustworthy),
`clarified` (asked which of a few topics was meant), `declined` (an in-scope question declined) and
`other` (anything else, e.g. small talk mistaken for a question).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.answering.engine import Engine
from bot.types import Answer, Question, Turn
from common.errors import ConfigError

KINDS = ("in", "out", "smalltalk")
OUTCOMES = ("correct", "wrong_cited", "clarified", "declined", "other")


@dataclass(frozen=True)
class EvalItem:
    id: str
    turns: tuple[str, ...]  # one for a single question; the last one is scored
    kind: str  # "in" | "out" | "smalltalk"
    must: tuple[tuple[str, ...], ...] = ()
    source: str = ""  # the document that should be retrieved, for hit@k (single questions)
    max_chars: int = 0  # 0: no length limit
    set: str = ""  # the file the item came from
    cat: str = ""
    lang: str = ""

    @property
    def conversation(self) -> bool:
        return len(self.turns) > 1

    @property
    def q(self) -> str:
        return self.turns[-1]


def question_files(paths: Iterable[Path]) -> list[Path]:
    """Every .jsonl file named, or found directly inside a named folder, in order."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    return files


def load_questions(*paths: Path) -> list[EvalItem]:
    """Items from JSONL files or folders of them; a bad line is a ConfigError naming file and line."""
    items: list[EvalItem] = []
    for path in question_files(paths):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ConfigError(f"Cannot read the question set {path}: {e.strerror}.") from None
        for number, line in enumerate(lines, start=1):
            if line.strip():
                items.append(_item(line, f"{path}, line {number}", str(number), path.stem))
    if not items:
        raise ConfigError(f"{', '.join(map(str, paths))} holds no questions.")
    return items


def _item(line: str, where: str, default_id: str, set_name: str) -> EvalItem:
    try:
        raw = json.loads(line)
        turns = raw["turns"] if "turns" in raw else [raw["q"]]
        if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
            raise ValueError("turns must be a list of non-empty strings (or give q)")
        kind = raw.get("kind", "in")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        return EvalItem(
            id=str(raw.get("id", default_id)),
            turns=tuple(turns),
            kind=kind,
            must=tuple(tuple(str(w) for w in group) for group in raw.get("must", [])),
            source=raw.get("source", ""),
            max_chars=int(raw.get("max_chars", 0)),
            set=set_name,
            cat=str(raw.get("cat", "")),
            lang=str(raw.get("lang", "")),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise ConfigError(f"{where}: not a valid question ({e}).") from None


@dataclass
class Score:
    """Passed out of total for one group of items."""

    passed: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def add(self, ok: bool) -> None:
        self.total += 1
        self.passed += ok


@dataclass
class SetScore:
    """How one question set's replies came out."""

    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    reply_chars: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    def rate(self, outcome: str) -> float:
        return self.outcomes[outcome] / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.total,
            **self.outcomes,
            **{f"{name}_rate": round(self.rate(name), 4) for name in OUTCOMES},
            "reply_chars_median": int(statistics.median(self.reply_chars)) if self.reply_chars else None,
        }


@dataclass
class EvalReport:
    single_in: Score = field(default_factory=Score)
    single_out: Score = field(default_factory=Score)
    conversation_in: Score = field(default_factory=Score)
    conversation_out: Score = field(default_factory=Score)
    smalltalk: Score = field(default_factory=Score)
    hit1: int = 0
    hit5: int = 0
    with_source: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    answer_chars: list[int] = field(default_factory=list)  # in-scope answers: how focused they are
    backends: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    sets: dict[str, SetScore] = field(default_factory=dict)

    @property
    def wrong_cited_rate(self) -> float:
        """Of every reply, the share that answered wrongly with a citation."""
        total = sum(score.total for score in self.sets.values())
        return sum(score.outcomes["wrong_cited"] for score in self.sets.values()) / total if total else 0.0

    @property
    def pass_rate(self) -> float:
        return self.single_in.rate

    @property
    def abstention_rate(self) -> float:
        return self.single_out.rate

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(p) - 1]

    def to_dict(self) -> dict[str, Any]:
        def rate(score: Score) -> float | None:
            return round(score.rate, 4) if score.total else None

        return {
            "in_scope": self.single_in.total,
            "out_of_scope": self.single_out.total,
            "in_scope_pass_rate": rate(self.single_in),
            "out_of_scope_abstention_rate": rate(self.single_out),
            "conversations_in_scope": self.conversation_in.total,
            "conversations_out_of_scope": self.conversation_out.total,
            "conversation_pass_rate": rate(self.conversation_in),
            "conversation_abstention_rate": rate(self.conversation_out),
            "smalltalk": self.smalltalk.total,
            "smalltalk_rate": rate(self.smalltalk),
            "hit_at_1": round(self.hit1 / self.with_source, 4) if self.with_source else None,
            "hit_at_5": round(self.hit5 / self.with_source, 4) if self.with_source else None,
            "answer_chars_median": int(statistics.median(self.answer_chars)) if self.answer_chars else None,
            "latency_ms_p50": round(self.percentile(50), 1),
            "latency_ms_p95": round(self.percentile(95), 1),
            "wrong_cited_rate": round(self.wrong_cited_rate, 4),
            "sets": {name: score.to_dict() for name, score in self.sets.items()},
            "backends": self.backends,
            "failures": self.failures,
        }

    def render(self) -> str:
        d = self.to_dict()
        rows = [
            ("in-scope pass rate", self.single_in),
            ("out-of-scope abstained", self.single_out),
            ("conversations answered", self.conversation_in),
            ("off-topic follow-ups declined", self.conversation_out),
            ("small talk recognised", self.smalltalk),
        ]
        lines = [f"{name:30s} {s.rate:6.1%}  ({s.passed}/{s.total})" for name, s in rows if s.total]
        if self.with_source:
            lines.append(f"retrieval hit@1 {d['hit_at_1']:.1%}   hit@5 {d['hit_at_5']:.1%}")
        if self.answer_chars:
            lines.append(f"focus: median answer {d['answer_chars_median']} characters (in-scope answers)")
        for name, score in self.sets.items():
            o = score.outcomes
            lines.append(
                f"set {name}: {score.total} items: {o['correct']} correct, {o['wrong_cited']} wrong with a citation "
                f"({score.rate('wrong_cited'):.1%}), {o['clarified']} clarified, {o['declined']} declined though "
                f"in scope, {o['other']} other; median reply {score.to_dict()['reply_chars_median']} characters"
            )
        lines.append(f"latency p50 {d['latency_ms_p50']:.0f} ms   p95 {d['latency_ms_p95']:.0f} ms")
        lines.append("backends: " + ", ".join(f"{k} {v}" for k, v in sorted(self.backends.items())))
        lines += [f"  FAIL {f['id']}: {f['why']}" for f in self.failures]
        return "\n".join(lines)


def passes(item: EvalItem, answer: Answer) -> tuple[bool, str]:
    """In scope: answered, sourced, every must-group matched, short enough. Out: declined. Small talk: recognised."""
    if item.kind == "out":
        return answer.status == "no_answer", f"answered an out-of-scope question ({answer.status})"
    if item.kind == "smalltalk":
        return answer.status == "smalltalk" and not answer.sources, f"not treated as small talk ({answer.status})"
    if answer.status != "answered":
        return False, f"did not answer ({answer.status})"
    if not answer.sources:
        return False, "no sources"
    text = answer.text.lower()
    for group in item.must:
        if not any(word.lower() in text for word in group):
            return False, f"none of {list(group)} in the answer"
    if item.max_chars and len(answer.text) > item.max_chars:
        return False, f"answer is {len(answer.text)} characters, more than {item.max_chars}"
    return True, ""


def outcome(item: EvalItem, answer: Answer, ok: bool) -> str:
    """Which of OUTCOMES a reply to item is."""
    if ok:
        return "correct"
    if answer.status == "clarify":
        return "clarified"
    if answer.status == "answered" and answer.sources and item.kind in ("in", "out"):
        return "wrong_cited"
    if item.kind == "in" and answer.status == "no_answer":
        return "declined"
    return "other"


def converse(engine: Engine, turns: Iterable[str], *, backend: str | None = None) -> Answer:
    """Answer each turn with the earlier turns as history, as a chat would; the last answer."""
    history: list[Turn] = []
    answer = None
    for text in turns:
        answer = engine.answer(Question(text, history=tuple(history)), backend=backend)
        history += [Turn("user", text), Turn("assistant", answer.text)]
    assert answer is not None, "an item has at least one turn"
    return answer


def run_eval(engine: Engine, items: list[EvalItem], *, backend: str | None = None) -> EvalReport:
    """Answer every item and score the results."""
    report = EvalReport()
    for item in items:
        answer = converse(engine, item.turns, backend=backend)
        report.latencies_ms.append(answer.timings_ms.get("total", 0.0))
        report.backends[answer.backend] = report.backends.get(answer.backend, 0) + 1
        ok, why = passes(item, answer)
        group = {
            ("in", False): report.single_in,
            ("out", False): report.single_out,
            ("in", True): report.conversation_in,
            ("out", True): report.conversation_out,
        }.get((item.kind, item.conversation), report.smalltalk)
        group.add(ok)
        result = outcome(item, answer, ok)
        per_set = report.sets.setdefault(item.set or "questions", SetScore())
        per_set.outcomes[result] += 1
        per_set.reply_chars.append(len(answer.text))
        if item.kind == "in":
            report.answer_chars.append(len(answer.text))
            if item.source and not item.conversation:
                report.with_source += 1
                ranked = [p.source for p in engine.retriever.retrieve(item.q).passages]
                report.hit1 += ranked[:1] == [item.source]
                report.hit5 += item.source in ranked[:5]
        if not ok:
            turns = " / ".join(item.turns)
            report.failures.append(
                {
                    "id": item.id,
                    "set": item.set,
                    "cat": item.cat,
                    "lang": item.lang,
                    "q": turns,
                    "why": why,
                    "outcome": result,
                    "answer": answer.text[:200],
                }
            )
    return report
