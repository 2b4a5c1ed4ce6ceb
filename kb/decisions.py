"""The use-case assessment's decision table (`knowledge/assessment.yaml`): read it, or say what to fix.

The table holds the framework's questions (with their choices and the keywords that suggest them)
and three rule lists: `recommendation` and `family` (the first rule whose `when` holds decides) and
`risks` (every rule that holds flags its checklist items). `read_table` checks the file on its own and
returns every problem at once, worded for an editor; kb/decision_lint.py adds what it names elsewhere in
the knowledge base, so `adoptbot kb lint` can list them all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kb.files import BadFile, load_yaml

FILE_NAME = "assessment.yaml"
RECOMMENDATIONS = ("llm", "generative", "hybrid")
FAMILIES = ("diffusion", "gan", "vae", "transformer")
MAX_BYTES = 512_000

_TOP_KEYS = {"title", "owner", "last_reviewed", "steps", "questions", "recommendation", "family", "risks"}
_QUESTION_KEYS = {"id", "step", "ask", "choices", "when", "default", "required", "cite", "by_meaning"}
_CHOICE_KEYS = {"id", "label", "finding", "keywords", "implies", "yields_to"}
_RULE_KEYS = {
    "recommendation": {"when", "recommend", "because", "cite"},
    "family": {"when", "family", "because", "cite", "open"},
    "risks": {"when", "items", "because"},
}
_CITE_KEYS = {"query", "source"}

Condition = tuple[tuple[str, frozenset[str]], ...]  # (question id, accepted choice ids), all must hold


@dataclass(frozen=True)
class Cite:
    """Where a finding's citation comes from: a search of the index, preferring one source file."""

    query: str
    source: str = ""


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    finding: str = ""
    keywords: tuple[str, ...] = ()
    implies: tuple[tuple[str, str], ...] = ()  # (question id, choice id) also answered when this one is inferred
    yields_to: tuple[str, ...] = ()  # choices of the same question that win when both are mentioned


@dataclass(frozen=True)
class Question:
    id: str
    step: str
    ask: str
    choices: tuple[Choice, ...]
    when: Condition = ()  # asked only when this holds
    default: str = ""  # the choice assumed when nobody answered (and listed as an open question)
    required: bool = False  # no result without an answer
    cite: Cite | None = None
    by_meaning: bool = False  # when no keyword matches, the choice closest in meaning (embeddings) may answer it

    def choice(self, choice_id: str) -> Choice | None:
        """The choice with this id, or None."""
        return next((c for c in self.choices if c.id == choice_id), None)


@dataclass(frozen=True)
class Rule:
    when: Condition
    because: str
    recommend: str = ""
    family: str | None = None
    items: tuple[str, ...] = ()  # "checklist-id/item-id"
    open: str = ""  # an open question the rule adds
    cite: Cite | None = None


@dataclass(frozen=True)
class DecisionTable:
    title: str
    owner: str
    last_reviewed: str
    steps: tuple[tuple[str, str], ...]  # (step id, title), in order
    questions: tuple[Question, ...]
    recommendation: tuple[Rule, ...]
    family: tuple[Rule, ...]
    risks: tuple[Rule, ...]

    def question(self, question_id: str) -> Question | None:
        """The question with this id, or None."""
        return next((q for q in self.questions if q.id == question_id), None)

    def cites(self) -> list[tuple[str, Cite]]:
        """(where, cite) for every citation the table asks for."""
        found = [(f"questions: {q.id}", q.cite) for q in self.questions if q.cite]
        for section in ("recommendation", "family"):
            found += [(f"{section}[{n}]", r.cite) for n, r in enumerate(getattr(self, section), 1) if r.cite]
        return found


def parse_table(text: str) -> DecisionTable:
    """The table from YAML text; BadFile naming the first problem (read_table lists them all)."""
    table, problems = read_table(text)
    if problems or table is None:
        raise BadFile(f"{problems[0]} (run `adoptbot kb lint` to see every problem)")
    return table


def read_table(text: str) -> tuple[DecisionTable | None, list[str]]:
    """The table and every problem found in it; the table is None when there is any problem."""
    try:
        data = load_yaml(text, FILE_NAME)
    except BadFile as e:
        return None, [str(e)]
    if not isinstance(data, dict):
        return None, ["the file must be a mapping with steps, questions, recommendation, family and risks"]
    reader = _Reader()
    table = reader.table(data)
    return (None if reader.problems else table), reader.problems


def _answer_id(value: object) -> str:
    """A choice id as written; YAML reads a bare yes/no as true/false, which mean the same here."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split()) if value is not None else ""


class _Reader:
    """Builds the table while collecting every problem, so an editor sees all of them at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.choices: dict[str, set[str]] = {}  # question id -> choice ids, for checking `when`

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def table(self, data: dict) -> DecisionTable:
        self.unknown_keys("the file", data, _TOP_KEYS)
        header = {k: _answer_id(data.get(k)) for k in ("title", "owner", "last_reviewed")}
        for key in ("owner", "last_reviewed"):
            if not header[key]:
                self.fail(f"no {key}: add '{key}:' at the top (who answers for the table, and when it was reviewed)")
        if header["last_reviewed"]:
            try:
                dt.date.fromisoformat(header["last_reviewed"])
            except ValueError:
                self.fail(f"last_reviewed {header['last_reviewed']!r} is not a date: write it as YYYY-MM-DD")
        steps = self.steps(data.get("steps"))
        questions = self.questions(data.get("questions"), {s for s, _ in steps})
        for question in questions:
            for qid, accepted in question.when:
                self.check_condition(f"questions: {question.id}: when", qid, accepted)
            for choice in question.choices:
                for qid, cid in choice.implies:
                    self.check_condition(f"questions: {question.id}: choice {choice.id}: implies", qid, {cid})
        return DecisionTable(
            title=header["title"] or "Use-case assessment",
            owner=header["owner"],
            last_reviewed=header["last_reviewed"],
            steps=steps,
            questions=questions,
            recommendation=self.rules("recommendation", data.get("recommendation")),
            family=self.rules("family", data.get("family")),
            risks=self.rules("risks", data.get("risks")),
        )

    def unknown_keys(self, where: str, data: dict, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                self.fail(f"{where}: unknown key {key!r}: use {', '.join(sorted(allowed))} (is it misspelt?)")

    def steps(self, raw: object) -> tuple[tuple[str, str], ...]:
        if not isinstance(raw, dict) or not raw:
            self.fail("steps: give the framework's steps as 'id: title' lines (task, data, operations)")
            return ()
        return tuple((_answer_id(k), _answer_id(v) or _answer_id(k)) for k, v in raw.items())

    def questions(self, raw: object, steps: set[str]) -> tuple[Question, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail("questions: give a list of questions, each with id, step, ask and choices")
            return ()
        out: list[Question] = []
        for n, entry in enumerate(raw, start=1):
            question = self.question(n, entry, steps)
            if question is None:
                continue
            if question.id in self.choices:
                self.fail(f"questions[{n}]: id {question.id!r} is used twice: give every question its own id")
                continue
            self.choices[question.id] = {c.id for c in question.choices}
            out.append(question)
        return tuple(out)

    def question(self, n: int, entry: object, steps: set[str]) -> Question | None:
        if not isinstance(entry, dict):
            self.fail(f"questions[{n}]: must be a mapping with id, step, ask and choices")
            return None
        qid = _answer_id(entry.get("id"))
        where = f"questions: {qid}" if qid else f"questions[{n}]"
        self.unknown_keys(where, entry, _QUESTION_KEYS)
        if not qid:
            self.fail(f"{where}: no id: add 'id:' (a short name such as content)")
        step = _answer_id(entry.get("step"))
        if step not in steps:
            self.fail(f"{where}: step {step!r} is not one of the steps ({', '.join(sorted(steps))})")
        ask = _answer_id(entry.get("ask"))
        if not ask:
            self.fail(f"{where}: no 'ask:': write the question as people will read it")
        choices = self.choice_list(where, entry.get("choices"))
        ids = {c.id for c in choices}
        for choice in choices:
            for other in choice.yields_to:
                if other not in ids:
                    self.fail(f"{where}: choice {choice.id}: yields_to {other!r}, which is not a choice of {qid}")
        default = _answer_id(entry.get("default")) if "default" in entry else ""
        if default and default not in ids:
            self.fail(f"{where}: default {default!r} is not one of its choices ({', '.join(sorted(ids))})")
        required, by_meaning = entry.get("required", False), entry.get("by_meaning", False)
        for name, flag in (("required", required), ("by_meaning", by_meaning)):
            if not isinstance(flag, bool):
                self.fail(f"{where}: {name} must be true or false")
        when = self.condition(where, entry.get("when"))
        if required and when:
            self.fail(f"{where}: a required question cannot have 'when' (it must always be asked)")
        return Question(
            id=qid,
            step=step,
            ask=ask,
            choices=choices,
            when=when,
            default=default,
            required=bool(required),
            cite=self.cite(where, entry.get("cite")),
            by_meaning=bool(by_meaning),
        )

    def choice_list(self, where: str, raw: object) -> tuple[Choice, ...]:
        if not isinstance(raw, list) or len(raw) < 2:
            self.fail(f"{where}: give at least two choices, each with id and label")
            return ()
        out: list[Choice] = []
        for n, entry in enumerate(raw, start=1):
            if not isinstance(entry, dict):
                self.fail(f"{where}: choice {n} must be a mapping with id and label")
                continue
            self.unknown_keys(f"{where}: choice {n}", entry, _CHOICE_KEYS)
            cid, label = _answer_id(entry.get("id")), _answer_id(entry.get("label"))
            if not cid or not label:
                self.fail(f"{where}: choice {n} needs both 'id:' and 'label:'")
                continue
            if any(c.id == cid for c in out):
                self.fail(f"{where}: choice id {cid!r} is used twice")
                continue
            out.append(
                Choice(
                    id=cid,
                    label=label,
                    finding=_answer_id(entry.get("finding")),
                    keywords=self.strings(f"{where}: choice {cid}: keywords", entry.get("keywords")),
                    implies=tuple(self.implies(f"{where}: choice {cid}", entry.get("implies"))),
                    yields_to=self.strings(f"{where}: choice {cid}: yields_to", entry.get("yields_to")),
                )
            )
        return tuple(out)

    def implies(self, where: str, raw: object) -> list[tuple[str, str]]:
        if raw is None:
            return []
        if not isinstance(raw, dict):
            self.fail(f"{where}: implies must be 'question: choice' pairs, e.g. {{language: yes}}")
            return []
        return [(_answer_id(k), _answer_id(v)) for k, v in raw.items()]

    def strings(self, where: str, raw: object) -> tuple[str, ...]:
        if raw is None:
            return ()
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or any(isinstance(x, dict | list) or x is None for x in raw):
            self.fail(f"{where}: must be a list of words or phrases, e.g. [photo, product shots]")
            return ()
        return tuple(w for w in (_answer_id(x) for x in raw) if w)

    def condition(self, where: str, raw: object) -> Condition:
        if raw is None:
            return ()
        if not isinstance(raw, dict) or not raw:
            self.fail(f"{where}: 'when' must be 'question: answer' pairs, e.g. {{content: [images, video]}}")
            return ()
        out = []
        for key, value in raw.items():
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, dict | list) or v is None for v in values) or not values:
                self.fail(f"{where}: when {key}: give an answer id or a list of them")
                continue
            out.append((_answer_id(key), frozenset(_answer_id(v) for v in values)))
        return tuple(out)

    def check_condition(self, where: str, qid: str, accepted: set[str] | frozenset[str]) -> None:
        if qid not in self.choices:
            self.fail(f"{where}: no question {qid!r} (questions: {', '.join(self.choices)})")
            return
        for cid in sorted(accepted - self.choices[qid]):
            self.fail(f"{where}: {qid} has no answer {cid!r} (its answers: {', '.join(sorted(self.choices[qid]))})")

    def cite(self, where: str, raw: object) -> Cite | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or not _answer_id(raw.get("query")):
            self.fail(f"{where}: cite needs a 'query:' (what to search the knowledge base for) and may name a source")
            return None
        self.unknown_keys(f"{where}: cite", raw, _CITE_KEYS)
        return Cite(query=_answer_id(raw.get("query")), source=_answer_id(raw.get("source")))

    def rules(self, section: str, raw: object) -> tuple[Rule, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail(f"{section}: give a list of rules, each with 'when'")
            return ()
        out = []
        for n, entry in enumerate(raw, start=1):
            where = f"{section}[{n}]"
            if not isinstance(entry, dict):
                self.fail(f"{where}: must be a mapping with when and because")
                continue
            self.unknown_keys(where, entry, _RULE_KEYS[section])
            when = self.condition(where, entry.get("when"))
            if not when:
                self.fail(f"{where}: no 'when': say which answers the rule is for")
            for qid, accepted in when:
                self.check_condition(f"{where}: when", qid, accepted)
            rule = Rule(
                when=when,
                because=_answer_id(entry.get("because")),
                cite=self.cite(where, entry.get("cite")),
                open=_answer_id(entry.get("open")),
            )
            if not rule.because:
                self.fail(f"{where}: no 'because': say why, in a sentence people will read with the result")
            if section == "recommendation":
                recommend = _answer_id(entry.get("recommend"))
                if recommend not in RECOMMENDATIONS:
                    self.fail(f"{where}: recommend {recommend!r} must be one of {', '.join(RECOMMENDATIONS)}")
                rule = Rule(**{**rule.__dict__, "recommend": recommend})
            elif section == "family":
                if "family" not in entry:
                    self.fail(f"{where}: no 'family:' (one of {', '.join(FAMILIES)}, or null)")
                family = entry.get("family")
                if family is not None and _answer_id(family) not in FAMILIES:
                    self.fail(f"{where}: family {family!r} must be one of {', '.join(FAMILIES)}, or null")
                rule = Rule(**{**rule.__dict__, "family": _answer_id(family) if family is not None else None})
            else:
                items = self.strings(f"{where}: items", entry.get("items"))
                if not items:
                    self.fail(f"{where}: no 'items': list checklist items as checklist-id/item-id")
                for ref in items:
                    if ref.count("/") != 1:
                        self.fail(f"{where}: item {ref!r} must be written checklist-id/item-id")
                rule = Rule(**{**rule.__dict__, "items": items})
            out.append(rule)
        return tuple(out)
