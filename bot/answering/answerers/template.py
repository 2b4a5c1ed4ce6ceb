"""The template backend: no model; the sentences and list items of the best passages that answer the question.

Units (sentences, list items, checklist items with their "why") of the top passages are ranked by
how close they are to the question (the embedding model already loaded for retrieval, plus shared
words) and kept in document order within a length budget, so a follow-up gets the part of a
passage it asked about, not the whole passage again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from bot.answering.answerers.base import Answerer, Prompt
from bot.answering.lexical import plain, terms, units
from bot.types import Passage
from kb.embedding import Embedder

BUDGET_CHARS = 600  # about three sentences, unless a list or a checklist was asked for
CONTEXT_CHARS = 400  # a chosen sentence brings its neighbours up to this length
LIST_BUDGET_CHARS = 1600
TOP_PASSAGES = 3
RANK_PRIOR = (0.2, 0.05, 0.0)  # the best passage is usually the right one
NEW_RELATIVE = 0.4  # a follow-up that would only repeat gets the best new unit scoring this share of the best
KEEP_RELATIVE = 0.8  # a unit joins the answer when it scores at least this share of the best
WORD_WEIGHT = 0.06  # per question term the unit shares
EMPHASIS_WEIGHT = 0.15  # per term of what a follow-up adds ("and for images?")
LABEL_WEIGHT = 0.3  # the unit is labelled with a question term ("Audio: ...", "Mitigations: ...")

Unit = tuple[int, int, str, bool]  # (passage number, position, text, is list item)


class TemplateAnswerer(Answerer):
    """Extractive: readable on its own, every sentence traceable to a numbered source."""

    name = "template"

    def __init__(self, *, embedder: Embedder | None = None, cache_size: int = 20_000) -> None:
        self.embedder = embedder
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def answer(self, prompt: Prompt) -> str:
        first = prompt.passages[0]
        if first.kind == "checklist" and prompt.whole_list:
            return _checklist(first.title, first.text)
        candidates = [
            (n, pos, plain(text), item)
            for n, passage in enumerate(prompt.passages[:TOP_PASSAGES], start=1)
            for pos, (text, item) in enumerate(units(passage.text))
        ]
        scores = self._scores(f"{prompt.question} {prompt.keywords}".strip(), candidates, prompt.emphasis)
        said, new_words = _just_said(prompt), set(terms(prompt.emphasis))

        def seen(unit: Unit) -> bool:
            """Just said, and not about what the follow-up adds ("and for images?")."""
            return unit[2][:80] in said and not (set(terms(unit[2])) & new_words)

        chosen = _select(candidates, scores, whole_list=prompt.whole_list, seen=seen)
        return _render(chosen, prompt.passages)

    def _scores(self, question: str, candidates: list[Unit], emphasis: str = "") -> list[float]:
        wanted, stressed = set(terms(question)), set(terms(emphasis))
        similarity = self._similarity(question, [u[2] for u in candidates])
        return [
            similarity[i]
            + WORD_WEIGHT * len(set(terms(u[2])) & wanted)
            + EMPHASIS_WEIGHT * len(set(terms(u[2])) & stressed)
            + LABEL_WEIGHT * bool(set(terms(_label(u[2]))) & wanted)
            + RANK_PRIOR[u[0] - 1]
            for i, u in enumerate(candidates)
        ]

    def _similarity(self, question: str, texts: Sequence[str]) -> list[float]:
        """Cosine similarity of each text to the question; zeros without an embedder."""
        if self.embedder is None or not texts:
            return [0.0] * len(texts)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        vectors = self.embedder.embed([question, *missing])
        with self._lock:
            for text, vector in zip(missing, vectors[1:], strict=True):
                self._vectors[text] = vector
            while len(self._vectors) > self._cache_size:
                self._vectors.popitem(last=False)
            known = [self._vectors.get(t) for t in texts]
        q = vectors[0]
        return [sum(a * b for a, b in zip(q, v, strict=True)) if v is not None else 0.0 for v in known]


def _select(
    candidates: list[Unit], scores: list[float], *, whole_list: bool, seen: Callable[[Unit], bool] = bool
) -> list[Unit]:
    """The best unit with its context, then close runners-up within the budget; in document order.

    Asked for a list, the best unit's passage is given whole (up to a larger budget). A sentence
    brings its neighbours for context; a list item (a checklist item with its why) stands alone.
    Context and runners-up the person has just been given (`seen`) are not repeated.
    """
    ranked = sorted(range(len(candidates)), key=lambda i: scores[i], reverse=True)
    best = ranked[0]
    if whole_list:  # the list is in the passage of the best list item
        best = next((i for i in ranked if candidates[i][3]), best)

    same = [i for i in range(len(candidates)) if candidates[i][0] == candidates[best][0]]
    if whole_list:
        chosen, used = [], 0
        for i in same:
            if used + len(candidates[i][2]) <= LIST_BUDGET_CHARS:
                chosen.append(i)
                used += len(candidates[i][2]) + 1
        return [candidates[i] for i in chosen]
    chosen, used = [best], len(candidates[best][2])
    at = same.index(best)
    if candidates[best][3]:
        lead = next((i for i in reversed(same[:at]) if not candidates[i][3]), None)
        if lead is not None and candidates[lead][2].endswith(":"):  # the sentence that introduces the list
            chosen.append(lead)
            used += len(candidates[lead][2]) + 1
    else:
        following = same[at + 1] if at + 1 < len(same) else None
        if following is not None and candidates[following][3]:
            # A sentence that introduces a list ("... depends on the kind of content:") brings the list.
            for i in same[at + 1 :]:
                size = len(candidates[i][2]) + 1
                if not candidates[i][3] or used + size > BUDGET_CHARS:
                    break
                chosen.append(i)
                used += size
        else:
            for i in _around(same, at):
                size = len(candidates[i][2]) + 1
                if candidates[i][3] or used + size > CONTEXT_CHARS:
                    break
                if seen(candidates[i]):
                    continue
                chosen.append(i)
                used += size
    for i in ranked[1:]:
        size = len(candidates[i][2]) + 1
        if i in chosen or scores[i] < KEEP_RELATIVE * scores[best] or used + size > BUDGET_CHARS:
            continue
        if seen(candidates[i]):
            continue
        chosen.append(i)
        used += size
    if all(seen(candidates[i]) for i in chosen):
        # Nothing new yet ("what's a VAE?" -> "an example?"): add the best new unit that is still relevant.
        fresh = (i for i in ranked if not seen(candidates[i]) and scores[i] >= NEW_RELATIVE * scores[best])
        extra = next(fresh, None)
        if extra is not None and used + len(candidates[extra][2]) < BUDGET_CHARS:
            chosen.append(extra)
    return [candidates[i] for i in _complete_lists(candidates, chosen)]


def _complete_lists(candidates: list[Unit], chosen: list[int]) -> list[int]:
    """chosen in document order, every sentence that introduces a list (ends with ":") followed by its list.

    A list that does not fit the budget is left out together with the sentence announcing it: an answer
    never ends on a colon.
    """
    order = sorted(chosen, key=lambda i: (candidates[i][0], candidates[i][1]))
    used = sum(len(candidates[i][2]) + 1 for i in order)
    out: list[int] = []
    for i in order:
        if candidates[i][3] or not candidates[i][2].endswith(":"):
            out.append(i)
            continue
        following = []
        for j in range(i + 1, len(candidates)):
            if candidates[j][0] != candidates[i][0] or not candidates[j][3]:
                break
            following.append(j)
        missing = [j for j in following if j not in chosen]
        extra = sum(len(candidates[j][2]) + 1 for j in missing)
        if following and used + extra <= LIST_BUDGET_CHARS:
            out += [i, *missing]
            used += extra
        elif not following:
            out.append(i)
    return sorted(dict.fromkeys(out), key=lambda k: (candidates[k][0], candidates[k][1]))


def _just_said(prompt: Prompt) -> str:
    """The assistant's previous reply without markup, to avoid saying the same sentences again."""
    said = [t.text for t in prompt.history if t.role == "assistant"]
    return plain(said[-1]) if said else ""


def _label(text: str) -> str:
    """The label of a unit such as "Audio: regularities in pitch...", or nothing."""
    head, colon, _ = text.partition(":")
    return head if colon and len(head.split()) <= 4 else ""


def _around(ids: list[int], at: int) -> list[int]:
    """Neighbours of ids[at], nearest first, the following one before the preceding one."""
    out: list[int] = []
    for step in range(1, len(ids)):
        out += [ids[j] for j in (at + step, at - step) if 0 <= j < len(ids)]
    return out


def _render(chosen: list[Unit], passages: Sequence[Passage]) -> str:
    """Paragraphs and lists as in the source; a [n] closes each run of text from passage n."""
    blocks: list[tuple[str, str]] = []
    for i, (n, _, text, is_item) in enumerate(chosen):
        nxt = chosen[i + 1] if i + 1 < len(chosen) else None
        ends_run = nxt is None or nxt[0] != n or nxt[3] != is_item or is_item
        piece = _cite(text, n) if ends_run else text
        if is_item:
            starts_list = not blocks or blocks[-1][0] != f"item{n}"
            if starts_list and passages[n - 1].kind == "checklist":
                blocks.append((f"para{n}", f"From the *{passages[n - 1].title}*:"))
            blocks.append((f"item{n}", f"- {piece}"))
        elif blocks and blocks[-1][0] == f"para{n}":
            blocks[-1] = (f"para{n}", f"{blocks[-1][1]} {piece}")
        else:
            blocks.append((f"para{n}", piece))
    out = ""
    previous = ""
    for kind, text in blocks:
        joined = kind.startswith("item") and (previous == kind or previous.startswith("para"))
        sep = "\n" if joined and out.endswith((":", "]", ".", ")")) else "\n\n"
        out = f"{out}{sep}{text}" if out else text
        previous = kind
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
        head = f"{_cite(' '.join(intro), 1)}\n\n{head}"
    return head + "\n" + "\n".join(plain(ln) for ln in items)
