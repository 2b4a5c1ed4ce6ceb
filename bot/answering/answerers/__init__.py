"""Answer backends: each turns a question and numbered passages into text with [n] markers."""

from bot.answering.answerers.base import Answerer, Prompt

__all__ = ["Answerer", "Prompt"]
