"""The documents' claims point at tests that exist."""

from __future__ import annotations

import re

from tests.conftest import REPO


def test_every_test_docs_security_md_cites_exists():
    text = (REPO / "docs/security.md").read_text(encoding="utf-8")
    cited = set(re.findall(r"(tests/[\w/]+\.py)::(\w+)", text))
    assert len(cited) >= 30
    missing = [
        f"{path}::{name}"
        for path, name in sorted(cited)
        if not (REPO / path).is_file() or not re.search(rf"def {name}\b", (REPO / path).read_text(encoding="utf-8"))
    ]
    assert missing == []
