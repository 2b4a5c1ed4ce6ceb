"""`adoptbot eval`: run a question set and report answer quality, abstention and latency."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.answering import Engine
from bot.errors import ConfigError
from bot.types import Answer, Question


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    q: str
    kind: str  # "in" | "out"
    must: tuple[tuple[str, ...], ...] = ()
    source: str = ""  # the document that should be retrieved, for hit@k


def load_questions(path: Path) -> list[EvalQuestion]:
    """Questions from a JSONL file; a bad line is a ConfigError naming its line number."""
    questions: list[EvalQuestion] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ConfigError(f"Cannot read the question set {path}: {e.strerror}.") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            kind = raw.get("kind", "in")
            if kind not in ("in", "out") or not str(raw["q"]).strip():
                raise ValueError("kind must be 'in' or 'out' and q must not be empty")
            must = tuple(tuple(str(w) for w in group) for group in raw.get("must", []))
            questions.append(EvalQuestion(str(raw.get("id", number)), raw["q"], kind, must, raw.get("source", "")))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ConfigError(f"{path}, line {number}: not a valid question ({e}).") from None
    if not questions:
        raise ConfigError(f"{path} holds no questions.")
    return questions


@dataclass
class EvalReport:
    in_scope: int = 0
    out_of_scope: int = 0
    passed: int = 0
    abstained: int = 0
    hit1: int = 0
    hit5: int = 0
    with_source: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    backends: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.in_scope if self.in_scope else 0.0

    @property
    def abstention_rate(self) -> float:
        return self.abstained / self.out_of_scope if self.out_of_scope else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(p) - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "in_scope": self.in_scope,
            "out_of_scope": self.out_of_scope,
            "in_scope_pass_rate": round(self.pass_rate, 4),
            "out_of_scope_abstention_rate": round(self.abstention_rate, 4),
            "hit_at_1": round(self.hit1 / self.with_source, 4) if self.with_source else None,
            "hit_at_5": round(self.hit5 / self.with_source, 4) if self.with_source else None,
            "latency_ms_p50": round(self.percentile(50), 1),
            "latency_ms_p95": round(self.percentile(95), 1),
            "backends": self.backends,
            "failures": self.failures,
        }

    def render(self) -> str:
        d = self.to_dict()
        lines = [
            f"in-scope pass rate      {d['in_scope_pass_rate']:.1%}  ({self.passed}/{self.in_scope})",
            f"out-of-scope abstained  {d['out_of_scope_abstention_rate']:.1%}  ({self.abstained}/{self.out_of_scope})",
        ]
        if self.with_source:
            lines.append(f"retrieval hit@1 {d['hit_at_1']:.1%}   hit@5 {d['hit_at_5']:.1%}")
        lines.append(f"latency p50 {d['latency_ms_p50']:.0f} ms   p95 {d['latency_ms_p95']:.0f} ms")
        lines.append("backends: " + ", ".join(f"{k} {v}" for k, v in sorted(self.backends.items())))
        lines += [f"  FAIL {f['id']}: {f['why']}" for f in self.failures]
        return "\n".join(lines)


def passes(question: EvalQuestion, answer: Answer) -> tuple[bool, str]:
    """In scope: answered, every must-group matched, at least one source. Out: abstained."""
    if question.kind == "out":
        return answer.status == "no_answer", "answered an out-of-scope question"
    if answer.status != "answered":
        return False, "did not answer"
    if not answer.sources:
        return False, "no sources"
    text = answer.text.lower()
    for group in question.must:
        if not any(word.lower() in text for word in group):
            return False, f"none of {list(group)} in the answer"
    return True, ""


def run_eval(engine: Engine, questions: list[EvalQuestion], *, backend: str | None = None) -> EvalReport:
    """Answer every question and score the results."""
    report = EvalReport()
    for question in questions:
        answer = engine.answer(Question(question.q), backend=backend)
        report.latencies_ms.append(answer.timings_ms["total"])
        report.backends[answer.backend] = report.backends.get(answer.backend, 0) + 1
        ok, why = passes(question, answer)
        if question.kind == "in":
            report.in_scope += 1
            report.passed += ok
            if question.source:
                report.with_source += 1
                ranked = [p.source for p in engine.retriever.retrieve(question.q).passages]
                report.hit1 += ranked[:1] == [question.source]
                report.hit5 += question.source in ranked[:5]
        else:
            report.out_of_scope += 1
            report.abstained += ok
        if not ok:
            report.failures.append({"id": question.id, "q": question.q, "why": why, "answer": answer.text[:200]})
    return report
