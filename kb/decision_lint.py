"""What `adoptbot kb lint` says of the decision table file: its own problems and what it names elsewhere.

The file's bytes are read as kb/decisions.py reads the table; `check_references` then checks the
checklist items and source files the rules and cites name. Every problem is worded for an editor.
"""

from __future__ import annotations

from collections.abc import Mapping

from kb.decisions import MAX_BYTES, DecisionTable, read_table


def lint_table(data: bytes, *, checklists: Mapping[str, set[str]], sources: set[str]) -> list[str]:
    """Every problem of the table file's bytes, including what it names elsewhere in the knowledge base."""
    table, problems = _load(data)
    if table is None:
        return problems
    return check_references(table, checklists, sources)


def check_references(table: DecisionTable, checklists: Mapping[str, set[str]], sources: set[str]) -> list[str]:
    """Problems with what the table names elsewhere: checklist items (id -> item ids) and cited source files."""
    problems = []
    for section in ("recommendation", "family", "risks"):
        for n, rule in enumerate(getattr(table, section), start=1):
            for ref in rule.items:
                checklist, _, item = ref.partition("/")
                if checklist not in checklists:
                    known = ", ".join(sorted(checklists)) or "none"
                    problems.append(
                        f"{section}[{n}]: checklist {checklist!r} does not exist (checklists: {known}): "
                        "fix the name or add the checklist"
                    )
                elif item not in checklists[checklist]:
                    problems.append(
                        f"{section}[{n}]: {ref!r}: checklist {checklist!r} has no item {item!r} (its items: "
                        f"{', '.join(sorted(checklists[checklist]))}): use one of them, or add the item"
                    )
    for where, cite in table.cites():
        if cite.source and cite.source not in sources:
            problems.append(
                f"{where}: cite source {cite.source!r} is not a document of the knowledge base: fix the path "
                "(relative to the knowledge folder, e.g. guidance/choosing-a-model.md)"
            )
    return problems


def _load(data: bytes) -> tuple[DecisionTable | None, list[str]]:
    """The table from the file's bytes, for `kb lint`."""
    if len(data) > MAX_BYTES:
        return None, [f"the file is larger than {MAX_BYTES:,} bytes: keep the table short"]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return None, [f"not valid UTF-8 (byte {e.start}): save the file with UTF-8 encoding"]
    return read_table(text)
