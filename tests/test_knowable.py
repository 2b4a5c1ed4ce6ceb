"""What the guidance cannot know: names it never mentions, the company's own facts, history."""

from __future__ import annotations

import pytest

from bot.answering.knowable import beyond_guidance

VOCABULARY = frozenset(
    ["gpt", "style", "llm", "llms", "diffusion", "models", "gan", "gans", "vae", "human", "review", "privacy", "gdpr"]
)


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ("whats the context window of gpt-4o", "named: gpt-4o"),
        ("A100 or H100 for fine tuning?", "named: A100, H100"),
        ("do we need a DPIA for the transcription tool?", "named: DPIA"),
        ("who approved our chatbot pilot?", "company"),
        ("when was our AI usage policy last updated?", "company"),
        ("is our support chatbot GDPR compliant?", "company"),
        ("when was the first GAN paper published and who wrote it", "history"),
        ("which vendor did we end up picking for image generation?", "company"),
        ("what does our acceptable-use policy say about pasting customer data?", "company"),
        ("who owns the support chatbot on our team? need a name to ping", "company"),
        ("who approved putting the image generator into prod?", "history"),
    ],
)
def test_what_the_guidance_cannot_know_is_named(question, why):
    assert beyond_guidance(question, VOCABULARY) == why


@pytest.mark.parametrize(
    "question",
    [
        "What is a GAN?",
        "What's the difference between GPT-style models and LLMs?",  # every part of the name is known
        "who should own an AI model once it's in production?",  # no company of ours: guidance
        "how do we reduce hallucinations?",  # our own, but advice
        "can we switch the ai thing on for clients next week or is there stuff to sort first?",
        "L&D wants a virtual tutor for onboarding",  # a rare word, but not a name
        "How many parameters do modern LLMs have?",
        "our legal team wants to know what governance we need in place before launch",
        "the CTO wants to know why image generation needs more GPUs",  # a role, not a product
    ],
)
def test_guidance_questions_go_on_to_retrieval(question):
    assert beyond_guidance(question, VOCABULARY) == ""


def test_without_a_configured_contact_a_decline_points_to_the_team_that_owns_the_nearest_guidance(tmp_path):
    from bot.answering.engine import Engine
    from bot.types import Passage

    nearest = Passage(id="p", text="Budgets are set per project.", source="guidance/costs.md", title="Costs",
                      section="Budgets", score=0.2, owner="AI Finance Office")  # fmt: skip
    def decline(contact: str) -> str:
        engine = Engine(retriever=None, answerers={}, escalation_contact=contact)  # type: ignore[arg-type]
        return engine._no_answer("what is our GPU budget?", [nearest], [], "company").text

    assert "Please ask AI Finance Office, who owns that guidance." in decline("")
    assert "Please ask the AI CoE in #ai-coe." in decline("the AI CoE in #ai-coe")
