"""The use-case assessment: an LLM, a broader generative model or a hybrid, step by step, with citations.

The questions and rules are data (`knowledge/assessment.yaml`, read by kb/decisions.py). The
flow, on every platform:

    session = assessor.session("We want product photos in twenty backgrounds")  # infers what it can
    question = session.next_question()            # None when nothing is left to ask
    session.answer(question.id, "2")              # a number, a choice id or label, or free text
    result = assessor.assess(session)             # an Assessment; result.to_dict() is `assess --json`

What lives here: idea.py reads a free-text idea (`infer`, by keyword, and `Meaning`, by embeddings) into
`Given` answers; session.py is one person's assessment in progress; decision.py applies the table (pure);
assessor.py adds citations from the passages the Retriever finds, never invented ones; table.py is the
editors' table file, re-read when it changes; errors.py the assessment's errors. It may import kb, common,
bot.answering (retrieval, lexical), bot.audiences, bot.types and bot.tools.checklists; never a platform.
"""

from bot.tools.assessment.assessor import Assessment, Assessor, Risk, Step
from bot.tools.assessment.decision import Decision, OpenQuestion, decide, holds
from bot.tools.assessment.errors import AnswerError, Incomplete, TableError
from bot.tools.assessment.idea import Given, How, Meaning, infer
from bot.tools.assessment.session import Session, relevant
from bot.tools.assessment.table import TableFile, load_table

__all__ = [
    "AnswerError",
    "Assessment",
    "Assessor",
    "Decision",
    "Given",
    "How",
    "Incomplete",
    "Meaning",
    "OpenQuestion",
    "Risk",
    "Session",
    "Step",
    "TableError",
    "TableFile",
    "decide",
    "holds",
    "infer",
    "load_table",
    "relevant",
]
