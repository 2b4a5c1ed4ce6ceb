"""Reading a message in its conversation: small talk, a question on its own, or a follow-up.

A follow-up is recognised by how it leans on the earlier turns, never by its length alone:

    ordinal      "the second step", "item 3", "what's the first one?"  -> that item of the last answer's list
    substitution "and what about VAEs?", "and privacy?"                -> the last question, about VAEs
    reference    "how do we reduce them?", "why?", "give me an example" -> the topic of the last question
    mention      "why does monitoring matter?" after a checklist      -> searched with the line it picks up
    loose        "is bigger always better?" (no subject of its own)   -> the last subject, if its words are covered

A message without such a cue is read on its own, even in a long thread: "what's the weather in
Paris?" after "what is a GAN?" is declined exactly like a first question. Topic words are the
knowledge base's own (its titles and sections), so the rule needs no list of subjects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cache
from typing import Literal

from bot.answering.lexical import STOPWORDS, terms
from bot.types import Turn

Kind = Literal["question", "smalltalk"]
Link = Literal["none", "ordinal", "substitution", "reference", "mention", "loose"]
SmallTalk = Literal["greeting", "thanks", "about", "goodbye"]

EXAMPLES = (
    "What is on the pre-deployment checklist?",
    "Our design team wants to mock up product photos: which kind of model fits?",
    "How do we reduce hallucinations?",
)

# Words that shape a question without naming its subject: "what is it *good* for?".
GENERIC = frozenset(
    terms(
        "good better best bad matter matters important mean means meaning work works example examples "
        "detail details elaborate more else tell give say talk kind sort way ways main really "
        "reason reasons point happen case cases sure okay ok yes thing stuff something anything "
        "always never ever usually often sometimes actually still even though anyway exactly again please now "
        "come so"
    )
)
PICKED_UP = 0.5  # share of a question's specific words that must be in one line of the last answer
# Words nearly every passage shares: naming them does not pick up a particular line.
COMMON = frozenset(terms("AI model models generative LLM data content system output use case team company"))
_ORDINALS = {
    "first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3, "3rd": 3, "three": 3,
    "fourth": 4, "4th": 4, "four": 4, "fifth": 5, "5th": 5, "five": 5, "sixth": 6, "6th": 6, "six": 6,
    "seventh": 7, "7th": 7, "seven": 7, "eighth": 8, "8th": 8, "eight": 8, "last": -1,
}  # fmt: skip
_ITEM_NOUNS = r"(?:step|item|point|stage|one|bullet|thing|practice|example|risk|option)s?"
_ORDINAL_BEFORE = re.compile(
    rf"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|last|[1-8](?:st|nd|rd|th))\s+{_ITEM_NOUNS}\b"
)
_ORDINAL_AFTER = re.compile(
    r"\b(?:step|item|point|stage|number|no\.?|#)\s*([1-8]|one|two|three|four|five|six|seven|eight)\b"
)
_LEADING = re.compile(
    r"^(?:and|but|also|so|ok(?:ay)?|then|plus)?\s*(?:what|how)\s+about\s+(.+)$|^(?:and|but|also|plus)\s+(.+)$"
)
_ASPECT = re.compile(r"^(?:for|in|with|on|to|at|by|during|regarding)\b")
_REPLACEABLE = re.compile(r"\b(?:it|they|them|this|that|these|those)\b(?!\s+(?:is|are|was)\b\s*$)", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(it|its|it's|they|them|their|theirs|they're|he|she|him|her)\b")
_DEMONSTRATIVE = re.compile(r"\b(this|that|these|those)\b(?:\s+(\w+))?")
_THERE = re.compile(r"\b(?:on|in|from|of)\s+there\b")
_LIST_LINE = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*\S)")
_SOURCES = re.compile(r"\n\s*\*?Sources?\*?:?\s*\n", re.IGNORECASE)
_WORDS = re.compile(r"[a-z0-9']+")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|howdy|yo|greetings|morning|good (?:morning|afternoon|evening|day)|"
    r"hallo|moin|servus|guten (?:morgen|tag|abend)|bonjour|salut|hola|buenos dias|buenas)"
    r"(?: (?:there|all|everyone|team|folks|adoptbot|bot|again))*"
    r"(?: how are you(?: doing)?(?: today)?)?$|^how are you(?: doing)?(?: today)?$|^how's it going$"
)
_ABOUT = re.compile(
    r"^(?:(?:hi|hello|hey) )?(?:who are you|what are you|who is adoptbot|what is adoptbot|what's adoptbot|help|"
    r"are you (?:a |an )?(?:real )?(?:person|human|bot|robot|ai|machine)|am i (?:talking|chatting) to a (?:bot|human)|"
    r"what can you do|what do you do|what can i ask(?: you)?|what can you help(?: me)? with|"
    r"how do i use (?:you|this|adoptbot)|how does this work|what do you know)$"
)
_GOODBYE = re.compile(
    r"^(?:(?:ok|okay|right|alright|well) )?"
    r"(?:bye|goodbye|bye bye|see you|see ya|cya|later|ttyl|talk (?:to you )?later|catch you later|"
    r"(?:good )?night|gotta (?:go|run)|got to (?:go|run)|have a (?:good|nice|great) (?:day|one|evening|weekend))"
    r"(?: (?:for now|now|then|all|everyone|folks|guys|team|mate|thanks|thank you|again|soon|tomorrow|ttyl|cya|"
    r"bye|later|adoptbot|bot))*$"
)
_LEAVING = _wordset("bye goodbye cya ttyl later tschüss ciao adios adieu")
_OPENER = re.compile(r"^(?:(?:hi|hello|hey|there|ok|okay|cool|great|thanks|right|alright|well|so)\s+)+")
_EMOJI_JOINERS = "\ufe0f\u200d"  # variation selector, zero-width joiner
_SKIN_TONE, _SKIN_TONE_END = "\U0001f3fb", "\U0001f3ff"
_THANKS_EMOJI = frozenset("👍👌🙏🙌👏💯✅🎉❤😀😁😂😃😄😅😆😊🙂🤣😍🥳💪🤝✨")
_THANKFUL = _wordset("sense got noted understood helps helped you")  # "makes sense", "you're the best"
_THANKS = _wordset(
    "thanks thank thx ty cheers ta appreciated appreciate kudos danke merci gracias"
)  # the same small talk in every language adoptbot reads (bot/answering/language.py)
_ACK = _wordset(
    "ok okay great perfect awesome nice cool brilliant super excellent wonderful lovely amazing fab good got "
    "re youre are the best legend star genius love lol haha "
    "it that this was is really makes sense noted understood helps helped helpful useful you so much a lot "
    "very many all for the info answer help again mate adoptbot bot vielen dank beaucoup muchas"
)


@dataclass(frozen=True)
class Reading:
    """How to treat one message: what to search for, what to answer, and why."""

    kind: Kind
    query: str  # what retrieval searches for
    focus: str  # the question the answer must address, references resolved
    link: Link = "none"
    own: str = ""  # for a substitution, the new subject ("VAEs"): it must be covered on its own
    smalltalk: SmallTalk | None = None
    asks: str = ""  # a follow-up's own words ("good" in "what is it good for?"): what the answer should add


def read(
    text: str,
    history: Iterable[Turn] = (),
    *,
    topic_terms: Callable[[], frozenset[str]] = frozenset,
    subject: Callable[[str], str] = lambda said: "",
) -> Reading:
    """Read a cleaned message against the earlier turns (oldest first).

    `subject` names what an earlier answer was about (the section it came from): a follow-up that leans
    on a question that named nothing from the knowledge base leans on the subject of the last answer.
    """
    small = smalltalk(text)
    if small:
        return Reading("smalltalk", text, text, smalltalk=small)
    turns = list(history)
    questions = [t.text for t in turns if t.role == "user" and not smalltalk(_normal(t.text))]
    if not questions:
        return Reading("question", text, text)
    reading = _follow_up(text, turns, questions, topic_terms, lambda: subject(_last_answer(turns)))
    if reading.kind == "question" and reading.link in ("reference", "ordinal", "loose", "mention"):
        earlier = set(terms(" ".join(questions)))
        return replace(reading, asks=" ".join(t for t in terms(text) if t not in earlier))
    return reading


def _follow_up(
    text: str,
    turns: list[Turn],
    questions: list[str],
    topic_terms: Callable[[], frozenset[str]],
    subject: Callable[[], str] = lambda: "",
) -> Reading:
    """A message after earlier questions: a new question, or one that leans on them (and how)."""
    lowered = _normal(text)
    topic_terms = cache(topic_terms)  # the index's words: looked up at most once per message
    subject = cache(subject)

    def resolve() -> Reading:
        return _reference(text, questions, topic_terms(), subject)

    ordinal = _ordinal(lowered)
    if ordinal is not None:
        item = _list_item(_last_answer(turns), ordinal)
        if item:
            return Reading("question", f"{item} {text}", f"{text} ({item})", link="ordinal")
        return resolve()
    leading = _LEADING.match(lowered)
    if leading:
        rest = (leading.group(1) or leading.group(2) or "").strip()
        if leading.group(2) and rest.split()[0] in _ASKING:  # "and who approves my expenses?": a new question
            return _follow_up(rest, turns, questions, topic_terms, subject)
        if _content(rest):
            return _substitution(rest, questions[-1], topic_terms())
        return resolve()
    if not _content(lowered):  # "why?", "why though?", "how come?": the last question, asked again
        return Reading("question", f"{questions[-1]} {text}", f"{text} ({questions[-1]})", link="reference")
    if _refers_back(lowered, topic_terms):
        return resolve()
    line = _picked_up(text, _last_answer(turns))
    if line:
        return Reading("question", f"{text} {line}", text, link="mention")
    if not set(terms(lowered)) & topic_terms():
        # No subject of its own ("is bigger always better?"): about the last subject, provided the
        # passages found also cover its own words, so "how do I book a room?" is still declined.
        reading = resolve()
        return replace(reading, link="loose", own=" ".join(sorted(set(terms(lowered)) - GENERIC)))
    return Reading("question", text, text)


def smalltalk(text: str) -> SmallTalk | None:
    """Greetings, thanks, goodbyes and "who are you": messages that are not knowledge questions."""
    lowered = _normal(text)
    if not lowered:  # nothing but emoji or punctuation: "👍", "🙏🙏" are thanks; "🤖🤖" is not
        marks = {c for c in text if not (c.isspace() or c in _EMOJI_JOINERS or _SKIN_TONE <= c <= _SKIN_TONE_END)}
        return "thanks" if marks and marks <= _THANKS_EMOJI else None
    if _GREETING.match(lowered):
        return "greeting"
    rest = _OPENER.sub("", lowered)  # "hi there, who are you?", "ok cool, bye for now"
    if _ABOUT.match(lowered) or _ABOUT.match(rest):
        return "about"
    if (_GOODBYE.match(lowered) or _GOODBYE.match(rest)) and len(lowered.split()) <= 6:
        return "goodbye"
    words = lowered.replace("'", " ").split()
    if words and all(w in _THANKS or w in _ACK for w in words):
        if any(w in _THANKS for w in words) or _THANKFUL & set(words):
            return "thanks"
        if len(words) <= 2:  # "great", "ok cool": an acknowledgement, not a question
            return "thanks"
    return _closing(text, {w for w in words if len(w) > 1})  # "that's" leaves an "s"


def _closing(text: str, words: set[str]) -> SmallTalk | None:
    """Thanks or goodbye however it is put ("perfect, that's all for now. bye", "super helpful 🙏"), asking nothing."""
    if "?" in text or not words or words & _ASKING:
        return None
    thanked = bool(words & _THANKS) or any(c in _THANKS_EMOJI for c in text)
    leaving = bool(words & _LEAVING)
    if not (thanked or leaving) or words - _THANKS - _ACK - _LEAVING - STOPWORDS:
        return None
    return "goodbye" if leaving else "thanks"


def smalltalk_reply(kind: SmallTalk) -> str:
    """A short friendly reply with example questions: no retrieval, no citations."""
    examples = "\n".join(f"- {q}" for q in EXAMPLES)
    if kind == "thanks":
        return "You're welcome! Ask me any time something else about adopting AI comes up."
    if kind == "goodbye":
        return "Bye! Come back any time you have a question about adopting generative AI."
    intro = "Hi! I'm adoptbot." if kind == "greeting" else "I'm adoptbot."
    return (
        f"{intro} I answer questions about adopting generative AI (which kind of model fits a use case, what "
        "GANs, VAEs, diffusion models and transformers are good for, risks, governance, and what must be in place "
        "before going live) from our curated knowledge base, and I cite the guidance I use. You could ask:\n"
        f"{examples}"
    )


def addressed_to_bot(text: str) -> bool:
    """Whether an un-mentioned message in a thread the bot joined is a question for it, not chatter."""
    lowered = _normal(text)
    if not lowered or smalltalk(lowered):
        return False
    if text.rstrip().endswith("?"):
        return True
    first = lowered.split()[0]
    return first in _ASKING or bool(_LEADING.match(lowered))


_ASKING = _wordset(
    "what what's whats how how's why why's which who whom whose when where is are can could should would do does did "
    "will explain describe tell give list show compare summarise summarize define"
)


def _reference(
    text: str, questions: list[str], topic_terms: frozenset[str], subject: Callable[[], str] = lambda: ""
) -> Reading:
    """The subject of the thread in place of the pronoun ("how is it trained?" -> "how is LLM trained?").

    The thread's subject is what the last question named from the knowledge base; when it named nothing
    there ("our support team is drowning in tickets"), what the last answer was about.
    """
    topic = _topic_of(questions[-1:], topic_terms) if _names_topic(questions[-1], topic_terms) else subject()
    topic = topic or _topic_of(questions, topic_terms)
    if not topic:
        return Reading("question", text, text, link="reference")
    resolved, n = _REPLACEABLE.subn(topic, text, count=1)
    if not n:
        resolved = f"{text} ({topic})"
    return Reading("question", resolved, resolved, link="reference")


def _substitution(rest: str, previous: str, topic_terms: frozenset[str]) -> Reading:
    """`and what about X?` asks the previous question again, about X.

    Retrieval searches X with the whole previous question (passages about X come first); the answer
    addresses the previous question with its subject replaced by X.
    """
    if _ASPECT.match(rest):  # "and for images?": the same question, narrowed
        return Reading("question", f"{rest} {previous}", f"{previous} ({rest})", link="substitution", own=rest)
    frame = " ".join(w for w in previous.split() if not (set(terms(w)) & topic_terms))
    return Reading("question", f"{rest} {previous}", f"{rest} {frame}".strip(), link="substitution", own=rest)


def _picked_up(text: str, answer: str) -> str:
    """The sentence or list item of the last answer that a question names a specific word of."""
    wanted = set(terms(text)) - GENERIC - COMMON
    if not wanted or not answer:
        return ""
    pieces = [p for line in answer.splitlines() for p in re.split(r"(?<=[.!?])\s+", line) if p.strip()]
    overlap = [(len(wanted & set(terms(p))), -i, p) for i, p in enumerate(pieces)]
    count, _, best = max(overlap, default=(0, 0, ""))
    if count == 0 or count < PICKED_UP * len(wanted):  # "meeting room" shares only "meet" with "meet legal..."
        return ""
    return re.sub(r"\s*\[\d+\]|[*_`]", "", best).strip()


def _topic_of(questions: list[str], topic_terms: frozenset[str]) -> str:
    """The subject of the most recent earlier question that had one: its knowledge-base words, else its content."""
    for question in reversed(questions):
        words = re.findall(r"[\w\-]+", question)
        hits = [i for i, w in enumerate(words) if set(terms(w)) & topic_terms]
        if hits:  # the span, so "human in the loop" keeps its small words
            return " ".join(words[hits[0] : hits[-1] + 1])
    for question in reversed(questions):
        words = [w for w in re.findall(r"[\w\-]+", question) if set(terms(w)) - GENERIC]
        if words:
            return " ".join(dict.fromkeys(words))
    return ""


def _names_topic(question: str, topic_terms: frozenset[str]) -> bool:
    """Whether a question names something the knowledge base's titles and sections name (beyond "AI", "model")."""
    return bool((set(terms(question)) - COMMON) & topic_terms)


def _refers_back(lowered: str, topic_terms: Callable[[], frozenset[str]]) -> bool:
    """A pronoun, "on there", or "this/that" not followed by a subject of its own."""
    without = re.sub(r"\b(?:is|are|was|were) there\b|\bthere (?:is|are|was|were)\b", " ", lowered)
    if _PRONOUN.search(without) or _THERE.search(without):
        return True
    for match in _DEMONSTRATIVE.finditer(without):
        before = without[: match.start()].split()[-1:]
        if before and before[0] not in STOPWORDS:
            continue  # "a model that makes images": a relative clause, not a reference
        following = match.group(2)
        if following is None or not (set(terms(following)) & topic_terms()):
            return True
    return False


def _ordinal(lowered: str) -> int | None:
    match = _ORDINAL_BEFORE.search(lowered)
    if match:
        word = match.group(1)
        return _ORDINALS.get(word) or int(word[0])
    match = _ORDINAL_AFTER.search(lowered)
    if match:
        word = match.group(1)
        return int(word) if word.isdigit() else _ORDINALS[word]
    return None


def _last_answer(turns: list[Turn]) -> str:
    for turn in reversed(turns):
        if turn.role == "assistant":
            return _SOURCES.split(turn.text, maxsplit=1)[0]
    return ""


def _list_item(answer: str, n: int) -> str:
    """The nth item (1-based; -1 is the last) of the first list in an answer, without its citation marks."""
    items = [m.group(1) for line in answer.splitlines() if (m := _LIST_LINE.match(line))]
    if not items or n > len(items):
        return ""
    item = items[n - 1] if n > 0 else items[-1]
    return re.sub(r"\s*\[\d+\]", "", re.sub(r"[*_`]", "", item)).strip()


def _content(lowered: str) -> bool:
    return bool(set(terms(lowered)) - GENERIC)


def _normal(text: str) -> str:
    """Lower-case words only: punctuation and emoji dropped, "adoptbot:" kept as a word."""
    return " ".join(_WORDS.findall(text.lower().replace("’", "'")))
