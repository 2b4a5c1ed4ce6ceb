"""A small knowledge base with two documents only HR may see, and the audiences file that says where HR is.

`scoped` indexes it once per test module (with the real embedding model) in a Runtime that serves Slack (signed
with slack_harness.SECRET) and anonymous Teams; HIDDEN lists what must never show elsewhere.
"""

from __future__ import annotations

import pytest

from adoptbot.runtime import Runtime
from common.settings import Settings
from tests.conftest import write_kb
from tests.slack_harness import SECRET

HR_TITLE = "Salary bands for AI roles"
HR_CHECKLIST = "Pay review checklist"
HIDDEN = (HR_TITLE, HR_CHECKLIST, "people team", "hr/", "band.")  # titles, owner, paths, words of the text
SALARY = "How are salary bands for prompt engineers set?"
PUBLIC = "How do we keep personal data out of prompts?"  # what everyone may ask and be answered
HR_DOCS = {
    "hr/salary-bands.md": f"""---
title: {HR_TITLE}
owner: People team
last_reviewed: 2026-11-01
audience: [HR, managers]
---

# {HR_TITLE}

## How bands are set

Salary bands for prompt engineers and machine learning engineers are set by the people team each
spring, from market surveys; the HR business partner approves any salary outside the band.
""",
    "hr/pay-review.yaml": f"""id: pay-review
title: {HR_CHECKLIST}
owner: People team
last_reviewed: 2026-11-01
audience: hr
summary: What to check before a pay review is signed off.
items:
  - text: Compare every salary with its band.
    why: Pay outside the band needs the HR business partner's approval.
  - text: Record the market survey the bands came from.
""",
}
AUDIENCES = """slack:
  CHR: [hr]
  default: []
teams:
  "19:hr-team@thread.tacv2": [Managers]
dm: []
"""


@pytest.fixture(scope="module")
def scoped(tmp_path_factory, real_embedder) -> Runtime:
    """A small knowledge base with two HR-only documents, indexed once, and an audiences file."""
    tmp = tmp_path_factory.mktemp("audiences")
    (tmp / "audiences.yaml").write_text(AUDIENCES, encoding="utf-8")
    settings = Settings(
        data_dir=tmp / "data",
        knowledge_dir=write_kb(tmp / "knowledge", HR_DOCS),
        backend="template",
        audiences_file=str(tmp / "audiences.yaml"),
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        teams_allow_anonymous=True,
        workers=2,
    )
    runtime = Runtime(settings, embedder=real_embedder)
    summary = runtime.ingest(progress=False)
    assert not summary.skipped, summary.skipped
    return runtime
