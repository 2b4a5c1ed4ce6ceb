"""The template backend: no model; the best passage, plus the best sentence of the runners-up."""

from __future__ import annotations

from bot.answerers.base import Answerer, Prompt
from bot.lexical import plain, terms, units

LEAD_WORDS = 130  # the top passage is quoted whole up to this length
EXTRA_WORDS = 60  # room for one sentence from each runner-up passage
TOP_PASSAGES = 3

Unit = tuple[int, int, str, bool]  # (passage number, position, text, is list item)


class TemplateAnswerer(Answerer):
    """Extractive: readable on its own, every sentence traceable to a numbered source."""

    name = "template"

    def answer(self, prompt: Prompt) -> str:
        first = prompt.passages[0]
        if first.kind == "checklist":
            return _checklist(first.title, first.text)
        wanted = set(terms(prompt.question))
        earlier = {t for turn in prompt.history if turn.role == "user" for t in terms(turn.text)}

        def score(text: str) -> float:
            words = set(terms(text))
            return len(words & wanted) + 0.5 * len(words & (earlier - wanted))

        lead = [(1, pos, plain(text), item) for pos, (text, item) in enumerate(units(first.text))]
        if sum(len(u[2].split()) for u in lead) > LEAD_WORDS:
            lead = _best(lead, score, LEAD_WORDS)
        chosen = list(lead)
        covered = {t for u in lead for t in terms(u[2])}
        for n, passage in enumerate(prompt.passages[1:TOP_PASSAGES], start=2):
            candidates = [(n, pos, plain(text), item) for pos, (text, item) in enumerate(units(passage.text))]
            best = max(candidates, key=lambda u: score(u[2]), default=None)
            if best is None or len(best[2].split()) > EXTRA_WORDS:
                continue
            # A runner-up sentence must match the question well and cover a term the answer lacks.
            best_terms = set(terms(best[2]))
            if score(best[2]) >= max(2.0, len(wanted) / 2) and (best_terms & wanted) - covered:
                chosen.append(best)
                covered |= best_terms
        return _render(chosen)


def _best(units_: list[Unit], score, budget: int) -> list[Unit]:  # noqa: ANN001 - a scoring function
    """The highest-scoring units within budget words, kept in document order; the first always."""
    ranked = sorted(units_[1:], key=lambda u: score(u[2]), reverse=True)
    chosen, used = [units_[0]], len(units_[0][2].split())
    for unit in ranked:
        size = len(unit[2].split())
        if used + size <= budget and score(unit[2]) > 0:
            chosen.append(unit)
            used += size
    return sorted(chosen, key=lambda u: (u[0], u[1]))


def _render(chosen: list[Unit]) -> str:
    """Paragraphs and lists as in the source; a [n] closes each run of text from passage n."""
    blocks: list[str] = []
    for i, (n, _, text, is_item) in enumerate(chosen):
        nxt = chosen[i + 1] if i + 1 < len(chosen) else None
        ends_run = nxt is None or nxt[0] != n or nxt[3] != is_item or is_item
        piece = _cite(text, n) if ends_run else text
        if is_item:
            blocks.append(("item", f"- {piece}"))
        elif blocks and blocks[-1][0] == f"para{n}":
            blocks[-1] = (f"para{n}", f"{blocks[-1][1]} {piece}")
        else:
            blocks.append((f"para{n}", piece))
    out = ""
    for kind, text in blocks:
        sep = (
            "\n" if kind == "item" and out.endswith(tuple("]).:")) and out.split("\n")[-1].startswith("- ") else "\n\n"
        )
        out = f"{out}{sep}{text}" if out else text
    return out


def _cite(text: str, n: int) -> str:
    text = text.rstrip()
    if text.endswith((".", "!", "?", ":")):
        return f"{text[:-1]} [{n}]{text[-1]}"
    return f"{text} [{n}]"


def _checklist(title: str, text: str) -> str:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    items = [ln for ln in lines if ln[:1].isdigit()]
    intro = [ln for ln in lines if not ln[:1].isdigit()]
    head = f"The *{title}* has {len(items)} items [1]:"
    if intro:
        head = f"{' '.join(intro)} [1]\n\n{head}"
    return head + "\n" + "\n".join(plain(ln) for ln in items)
