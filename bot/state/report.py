"""The insight report: one self-contained HTML page built from the audit log for the knowledge base's owners.

Sections: questions per day (answered vs declined), content gaps (declined questions grouped by the
cosine similarity of their embeddings, largest group first), votes per document, the most-cited
documents with their review age, latency percentiles per backend. Plots are PNGs made by matplotlib
and inlined as data: URLs; every piece of text from the log is HTML-escaped, and the page's
Content-Security-Policy forbids scripts and any fetch beyond those inline images.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.state.gaps import MAX_GROUPED, NEAR, Gap, Nearest, Suggestion, group_similar, reason, suggestions
from bot.types import REVIEW_AFTER_DAYS
from kb.embedding import Embedder

MAX_GROUPS = 25
EXAMPLES = 5
TOP_DOCUMENTS = 15
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 68rem; color: #1d2430; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; width: 100%; margin: .6rem 0; font-size: .92rem; }
th, td { text-align: left; padding: .35rem .55rem; border-bottom: 1px solid #e4e8ec; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
img.plot { display: block; max-width: 100%; height: auto; margin: .6rem 0; }
ul.examples { margin: 0; padding-left: 1.1rem; } .overdue { color: #b42318; font-weight: 600; }
.muted { color: #5b6675; }
"""


@dataclass
class DocumentStats:
    """What the log says about one cited document."""

    title: str
    cited: int = 0
    helpful: int = 0
    not_helpful: int = 0
    last_reviewed: str = ""


@dataclass
class Insights:
    """The figures of one report, computed from audit records."""

    since: dt.datetime | None
    generated: dt.datetime
    per_day: dict[dt.date, Counter[str]] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    gaps: list[Gap] = field(default_factory=list)
    declined_distinct: int = 0
    declined_grouped: int = 0
    documents: dict[str, DocumentStats] = field(default_factory=dict)
    latency: dict[str, list[float]] = field(default_factory=dict)
    suggestions: list[Suggestion] | None = None  # None: no index to compare the questions with


def build_report(
    records: Iterable[dict[str, Any]],
    *,
    embedder: Embedder,
    now: dt.datetime,
    since: dt.datetime | None = None,
    review_after_days: int = REVIEW_AFTER_DAYS,
    nearest: Callable[[str], Nearest | None] | None = None,
) -> str:
    """The report page for audit records (FeedbackStore.audit rows), as HTML text.

    With nearest (a question -> the section it most resembles), the page also says what to add where.
    """
    insights = collect(records, embedder=embedder, now=now, since=since, nearest=nearest)
    return render(insights, review_after_days=review_after_days)


def collect(
    records: Iterable[dict[str, Any]],
    *,
    embedder: Embedder,
    now: dt.datetime,
    since: dt.datetime | None = None,
    nearest: Callable[[str], Nearest | None] | None = None,
) -> Insights:
    """Count, group and measure the audit records in one pass (plus one embedding call per grouping)."""
    insights = Insights(since=since, generated=now)
    gaps: list[dict[str, Any]] = []  # what gaps.suggestions reads of the records that are gaps
    declined: Counter[str] = Counter()
    shown: dict[str, str] = {}  # normalised question -> how it was first written
    for record in records:
        status = record["status"]
        insights.statuses[status] += 1
        day = dt.datetime.fromisoformat(record["time"]).date()
        insights.per_day.setdefault(day, Counter())[status] += 1
        if status == "no_answer":
            key = " ".join(record["question"].lower().split())
            declined[key] += 1
            shown.setdefault(key, record["question"].strip())
        if nearest is not None and reason(record):
            gaps.append({"question": record["question"], "status": status, "not_helpful": record["not_helpful"]})
        if status != "smalltalk" and "total" in record["timings_ms"]:
            insights.latency.setdefault(record["backend"] or "unknown", []).append(float(record["timings_ms"]["total"]))
        for source in {c["source"]: c for c in record["sources"]}.values():  # an answer citing a file twice counts once
            doc = insights.documents.setdefault(source["source"], DocumentStats(title=source["title"]))
            doc.cited += 1
            doc.helpful += record["helpful"]
            doc.not_helpful += record["not_helpful"]
            doc.last_reviewed = max(doc.last_reviewed, source.get("last_reviewed") or "")
    insights.declined_distinct = len(declined)
    most_asked = declined.most_common(MAX_GROUPED)
    insights.declined_grouped = len(most_asked)
    insights.gaps = group_similar([(shown[k], n) for k, n in most_asked], embedder=embedder)
    if nearest is not None:
        insights.suggestions = suggestions(gaps, embedder=embedder, nearest=nearest)
    return insights


def render(insights: Insights, *, review_after_days: int = REVIEW_AFTER_DAYS) -> str:
    """The HTML page of computed insights: inline CSS, inline PNG plots, every text escaped."""
    e = _escape
    answered, declined = insights.statuses["answered"], insights.statuses["no_answer"]
    period = f"since {insights.since:%Y-%m-%d %H:%M} UTC" if insights.since else "everything kept in the audit log"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        "<title>adoptbot insight report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>adoptbot insight report</h1>",
        f'<p class="muted">{e(period)}; generated {insights.generated:%Y-%m-%d %H:%M} UTC. '
        f"{sum(insights.statuses.values())} questions: {answered} answered, {declined} declined, "
        f"{insights.statuses['smalltalk']} small talk.</p>",
        *_per_day_section(insights),
        *_gaps_section(insights),
        *_suggestions_section(insights),
        *_votes_section(insights),
        *_cited_section(insights, review_after_days=review_after_days),
        *_latency_section(insights),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _per_day_section(insights: Insights) -> list[str]:
    out = ['<section id="per-day"><h2>Questions per day</h2>']
    if not insights.per_day:
        return [*out, "<p>No questions in this period.</p></section>"]
    first, last = min(insights.per_day), max(insights.per_day)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    answered = [insights.per_day.get(d, Counter())["answered"] for d in days]
    declined = [insights.per_day.get(d, Counter())["no_answer"] for d in days]
    fig, ax = _figure(height=3.2)
    ax.bar(days, answered, color="#2e7d32", label="answered")
    ax.bar(days, declined, bottom=answered, color="#c62828", label="declined")
    ax.set_ylabel("questions")
    ax.legend(loc="upper left")
    from matplotlib.dates import DateFormatter, DayLocator

    ax.xaxis.set_major_locator(DayLocator(interval=max(1, len(days) // 12)))  # whole days, at most about 12 ticks
    ax.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
    fig.autofmt_xdate()
    out.append(_plot(fig, "Questions per day, answered and declined"))
    return [*out, "</section>"]


def _gaps_section(insights: Insights) -> list[str]:
    e = _escape
    out = [
        '<section id="content-gaps"><h2>Content gaps: declined questions by similarity</h2>',
        f'<p class="muted">{insights.declined_distinct} distinct declined questions'
        + (
            f"; the {insights.declined_grouped} most asked are grouped, the rest are not shown"
            if insights.declined_grouped < insights.declined_distinct
            else ""
        )
        + f". Showing the {min(MAX_GROUPS, len(insights.gaps))} largest of {len(insights.gaps)} groups.</p>",
    ]
    if not insights.gaps:
        return [*out, "<p>No declined questions in this period.</p></section>"]
    out.append(_table_head("Asked", "Example questions", numeric={"Asked"}, css_class="gaps"))
    for gap in insights.gaps[:MAX_GROUPS]:
        examples = "".join(
            f"<li>{e(q)}" + (f' <span class="muted">({n}×)</span>' if n > 1 else "") + "</li>"
            for q, n in gap.examples[:EXAMPLES]
        )
        more = len(gap.examples) - EXAMPLES
        if more > 0:
            examples += f'<li class="muted">and {more} more</li>'
        out.append(f'<tr><td class="n">{gap.asked}</td><td><ul class="examples">{examples}</ul></td></tr>')
    return [*out, "</tbody></table></section>"]


def _suggestions_section(insights: Insights) -> list[str]:
    """What editors could add: each group of gaps with the section it most resembles (adoptbot kb suggest)."""
    if insights.suggestions is None:
        return []
    e = _escape
    out = [
        '<section id="suggestions"><h2>What to add to the guidance</h2>',
        '<p class="muted">Declined, clarified and not-helpful questions, grouped; a group close to a section '
        f"(similarity at least {NEAR:.2f}) is a candidate for that section's <code>questions:</code>, the "
        "others are missing topics. The same list: <code>adoptbot kb suggest</code>.</p>",
    ]
    if not insights.suggestions:
        return [*out, "<p>Nothing to suggest in this period.</p></section>"]
    out.append(_table_head("Asked", "Questions", "Why", "Suggestion", numeric={"Asked"}, css_class="suggestions"))
    for s in insights.suggestions[:MAX_GROUPS]:
        examples = "".join(f"<li>{e(q)}</li>" for q, _ in s.examples[:EXAMPLES])
        why = ", ".join(f"{n} {r}" for r, n in s.reasons.most_common())
        if s.kind == "questions" and s.nearest is not None:
            what = f"add to the questions of {e(s.nearest.source)}, section {e(s.nearest.section)}"
        else:
            what = "a missing topic"
        out.append(
            f'<tr><td class="n">{s.asked}</td><td><ul class="examples">{examples}</ul></td>'
            f"<td>{e(why)}</td><td>{what}</td></tr>"
        )
    return [*out, "</tbody></table></section>"]


def _votes_section(insights: Insights) -> list[str]:
    e = _escape
    voted = sorted(
        (d for d in insights.documents.items() if d[1].helpful or d[1].not_helpful),
        key=lambda d: (-(d[1].helpful + d[1].not_helpful), d[0]),
    )[:TOP_DOCUMENTS]
    out = ['<section id="votes"><h2>Votes per document</h2>']
    if not voted:
        return [*out, "<p>No votes on answers in this period.</p></section>"]
    labels = [_label(doc.title or source) for source, doc in voted][::-1]
    helpful = [doc.helpful for _, doc in voted][::-1]
    unhelpful = [doc.not_helpful for _, doc in voted][::-1]
    fig, ax = _figure(height=0.9 + 0.35 * len(voted))
    ax.barh(labels, helpful, color="#2e7d32", label="helpful")
    ax.barh(labels, unhelpful, left=helpful, color="#c62828", label="not helpful")
    ax.set_xlabel("votes on answers citing the document")
    ax.legend(loc="lower right")
    out.append(_plot(fig, "Helpful and not helpful votes per document"))
    out.append(_table_head("Document", "Helpful", "Not helpful", numeric={"Helpful", "Not helpful"}))
    for source, doc in voted:
        out.append(
            f"<tr><td>{e(doc.title)} <span class='muted'>{e(source)}</span></td>"
            f'<td class="n">{doc.helpful}</td><td class="n">{doc.not_helpful}</td></tr>'
        )
    return [*out, "</tbody></table></section>"]


def _cited_section(insights: Insights, *, review_after_days: int) -> list[str]:
    e = _escape
    cited = sorted(insights.documents.items(), key=lambda d: (-d[1].cited, d[0]))[:TOP_DOCUMENTS]
    out = ['<section id="most-cited"><h2>Most-cited documents and their review age</h2>']
    if not cited:
        return [*out, "<p>No answers cited a document in this period.</p></section>"]
    out.append(
        _table_head("Document", "Cited", "Last reviewed", "Review age (days)", numeric={"Cited", "Review age (days)"})
    )
    today = insights.generated.date()
    for source, doc in cited:
        try:
            age = (today - dt.date.fromisoformat(doc.last_reviewed)).days
        except ValueError:
            age = None
        overdue = age is not None and age > review_after_days
        age_cell = "unknown" if age is None else str(age) + (" (review overdue)" if overdue else "")
        out.append(
            f"<tr><td>{e(doc.title)} <span class='muted'>{e(source)}</span></td><td class=\"n\">{doc.cited}</td>"
            f"<td>{e(doc.last_reviewed or 'not given')}</td>"
            f'<td class="n{" overdue" if overdue else ""}">{e(age_cell)}</td></tr>'
        )
    return [*out, "</tbody></table></section>"]


def _latency_section(insights: Insights) -> list[str]:
    e = _escape
    out = ['<section id="latency"><h2>Latency per backend</h2>']
    if not insights.latency:
        return [*out, "<p>No timed answers in this period.</p></section>"]
    rows = []
    for backend in sorted(insights.latency):
        values = np.asarray(insights.latency[backend])
        rows.append((backend, len(values), float(np.percentile(values, 50)), float(np.percentile(values, 95))))
    fig, ax = _figure(height=0.9 + 0.45 * len(rows))
    y = np.arange(len(rows))
    ax.barh(y - 0.2, [r[2] for r in rows], height=0.4, color="#1565c0", label="p50")
    ax.barh(y + 0.2, [r[3] for r in rows], height=0.4, color="#90caf9", label="p95")
    ax.set_yticks(y, [_label(r[0]) for r in rows])
    ax.set_xlabel("milliseconds (total, question to reply)")
    ax.legend(loc="lower right")
    out.append(_plot(fig, "p50 and p95 latency per backend"))
    out.append(_table_head("Backend", "Answers", "p50 (ms)", "p95 (ms)", numeric={"Answers", "p50 (ms)", "p95 (ms)"}))
    out += [
        f'<tr><td>{e(b)}</td><td class="n">{n}</td><td class="n">{p50:.0f}</td><td class="n">{p95:.0f}</td></tr>'
        for b, n, p50, p95 in rows
    ]
    return [*out, "</tbody></table></section>"]


def _table_head(*columns: str, numeric: set[str], css_class: str = "") -> str:
    """A table's opening and header row; the `numeric` columns are right-aligned."""
    cells = "".join(f'<th class="n">{c}</th>' if c in numeric else f"<th>{c}</th>" for c in columns)
    opening = f'<table class="{css_class}">' if css_class else "<table>"
    return f"{opening}<thead><tr>{cells}</tr></thead><tbody>"


def _figure(*, height: float) -> tuple[Any, Any]:
    # The object-oriented API, not pyplot: no global state, so reports can be built on server threads.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, height), dpi=100, layout="constrained")
    return fig, fig.subplots()


def _plot(fig: Any, alt: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="plot" alt="{_escape(alt)}" src="data:image/png;base64,{data}">'


def _label(text: str, limit: int = 48) -> str:
    """A plot label: shortened, and with `$` escaped so matplotlib does not read it as mathematics."""
    text = " ".join(text.split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _escape(text: object) -> str:
    return html.escape(str(text), quote=True)
