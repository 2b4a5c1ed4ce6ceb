"""The composition root: builds the long-lived objects once, lazily, from Settings."""

from __future__ import annotations

import logging
import threading
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.errors import ConfigError
from common.settings import Settings

# Everything else is imported where it is first built: a one-shot command (`adoptbot status`, `checklist`,
# `kb lint`, `audit export`) loads only the parts it uses, and never Chroma or the embedding model's libraries
# unless it reads the index or embeds (tests/test_coldstart.py).
if TYPE_CHECKING:
    from mcp.server import Server as McpServer

    from bot.answering.answerers import Answerer
    from bot.answering.engine import Engine
    from bot.answering.retrieval import Retriever
    from bot.audiences import Audiences
    from bot.chat import Chat
    from bot.mcp import Caller
    from bot.mcp.http import McpEndpoint
    from bot.reindex import Reindexer
    from bot.state.claims import Claims
    from bot.state.database import Database
    from bot.state.feedback import FeedbackStore
    from bot.state.kv import DatabaseState
    from bot.state.redaction import Redactor
    from bot.teams.storage import DatabaseStorage
    from bot.tools.checklists import Board
    from bot.tools.core import Tools
    from bot.web.metrics import Metrics
    from kb.embedding import Embedder
    from kb.store import IndexInfo, KnowledgeStore
    from kb.summary import IngestSummary

log = logging.getLogger(__name__)


class Runtime:
    """Holds the shared embedder, store, models and engine; pass collaborators in to replace them."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        store: KnowledgeStore | None = None,
        answerers: dict[str, Answerer] | None = None,
    ) -> None:
        self.settings = settings
        self._info: tuple[tuple[str, int], IndexInfo] | None = None
        self._info_lock = threading.Lock()
        for name, value in (("embedder", embedder), ("store", store), ("answerers", answerers)):
            if value is not None:
                self.__dict__[name] = value

    @cached_property
    def embedder(self) -> Embedder:
        """The embedding model through onnxruntime when its ONNX copy exists (no torch), else sentence-transformers."""
        from kb.embedding import SentenceTransformerEmbedder, model_folder
        from kb.onnx_embedder import OnnxEmbedder, find_export

        s = self.settings
        model_path = s.embed_model_path or None
        export = find_export(s.onnx_dir, model_folder(model_path)[0])
        if export is not None:
            return OnnxEmbedder(export, model_path=model_path, batch_size=s.embed_batch_size)
        return SentenceTransformerEmbedder(model_path=model_path, batch_size=s.embed_batch_size)

    @cached_property
    def store(self) -> KnowledgeStore:
        from kb.store import KnowledgeStore, info_file, open_client

        s = self.settings
        return KnowledgeStore(
            connect=partial(open_client, s),  # opened on first use: `adoptbot status` may never need Chroma
            prefix=s.collection_prefix,
            info_path=None if s.chroma_url else info_file(s.store_dir, s.collection_prefix),
        )

    @cached_property
    def answerers(self) -> dict[str, Answerer]:
        """One answerer per registered backend these settings configure (bot.answering.answerers.registry)."""
        from bot.answering.answerers.registry import build_answerers

        return build_answerers(self)

    @cached_property
    def retriever(self) -> Retriever:
        from bot.answering.retrieval import Retriever

        return Retriever(
            store=self.store,
            embedder=self.embedder,
            fusion=self.settings.fusion,
            mode=self.settings.retrieval,
            top_k=self.settings.top_k,
        )

    @cached_property
    def engine(self) -> Engine:
        from bot.answering.answerers.registry import auto_plan
        from bot.answering.engine import Engine, Gate
        from bot.answering.suggestions import Suggester
        from bot.answering.vocabulary import FILE_NAME as VOCABULARY_FILE
        from bot.answering.vocabulary import VocabularyFile

        s = self.settings
        return Engine(
            retriever=self.retriever,
            answerers=self.answerers,
            backend=s.backend,
            gate=Gate(
                min_similarity=s.min_similarity,
                min_similarity_with_terms=s.min_similarity_with_terms,
                min_term_coverage=s.min_term_coverage,
            ),
            max_question_chars=s.max_question_chars,
            escalation_contact=s.escalation_contact,
            expansions=VocabularyFile(s.knowledge_dir / VOCABULARY_FILE).current,
            review_after_days=s.review_after_days,
            audiences=self.audiences,
            suggester=Suggester(),
            **auto_plan(s),
        )

    @cached_property
    def audiences(self) -> Audiences:
        """Who may see documents marked for an audience; a broken file stops start-up with a ConfigError."""
        from bot.audiences import Audiences

        return Audiences.load(self.settings.audiences_path, required=bool(self.settings.audiences_file))

    def ingest(self, path: Path | None = None, *, wait: bool = False, progress: bool | None = None) -> IngestSummary:
        """Run the incremental ingest of path (default: the configured knowledge folder)."""
        # Loaded only when an ingest runs: a replica that only serves never imports the ingest machinery.
        from ingest.pipeline import run_ingest
        from kb.limits import Limits

        self.store.client  # noqa: B018 - opened before the ingest lock: a read-only embedded store says why it fails
        return run_ingest(
            path or self.settings.knowledge_dir,
            data_dir=self.settings.data_dir,
            store=self.store,
            embedder=self.embedder,
            max_file_bytes=self.settings.max_file_bytes,
            limits=Limits.from_settings(self.settings),
            wait=wait,
            progress=progress,
            database=self.database if self.settings.database_url else None,
        )

    @cached_property
    def redactor(self) -> Redactor:
        """Redacts personal data before it is logged, stored or sent to an OpenAI-compatible server."""
        from bot.state.redaction import Redactor

        try:
            return Redactor(phone_regions=self.settings.phone_regions.split(","))
        except ValueError as e:
            raise ConfigError(f"ADOPTBOT_PHONE_REGIONS={self.settings.phone_regions!r}: {e}.") from None

    @cached_property
    def feedback(self) -> FeedbackStore:
        """The feedback store; when the data directory cannot hold it, one that keeps nothing (and says so)."""
        from bot.state.feedback import FeedbackStore, user_hash_key

        s, redactor = self.settings, self.redactor  # a bad ADOPTBOT_PHONE_REGIONS stops here, not degrades
        try:
            key = user_hash_key(s.data_dir, s.user_hash_key)
            return FeedbackStore(self.database, user_key=key, retention_days=s.retention_days, redactor=redactor)
        except ConfigError as e:
            log.warning("%s Until then answers are sent without feedback buttons and nothing is recorded.", e)
            return FeedbackStore.unavailable()

    @cached_property
    def database(self) -> Database:
        """The shared-state database: ADOPTBOT_DATABASE_URL, else feedback.sqlite3 in the data directory."""
        from bot.state.database import Database
        from bot.state.feedback import keyed_hash, user_hash_key

        s = self.settings
        key = user_hash_key(s.data_dir, s.user_hash_key)
        upgrade = {"hash_user": partial(keyed_hash, key), "redact": self.redactor}  # for stores from before 0001
        if s.database_url:
            return Database(s.database_url, upgrade_with=upgrade)
        return Database.sqlite(s.feedback_path, upgrade_with=upgrade)

    @cached_property
    def claims(self) -> Claims:
        """De-duplication claims: claim(*keys) is True for exactly one caller, across replicas.

        In the feedback store's database; in this process when the data directory cannot hold it.
        """
        from bot.state.claims import DatabaseClaims, MemoryClaims

        database = getattr(self.feedback, "database", None)
        if database is None:  # the feedback store said why, at start-up
            log.warning("Slack events are de-duplicated in this process only (no shared-state database).")
            return MemoryClaims()
        return DatabaseClaims(database)

    @cached_property
    def state(self) -> DatabaseState:
        """Conversation state shared by replicas: key -> JSON."""
        from bot.state.kv import DatabaseState

        return DatabaseState(self.database)

    @cached_property
    def agents_storage(self) -> DatabaseStorage:
        """The Agents SDK's Storage (Teams conversation state) over runtime.state."""
        from bot.teams.storage import DatabaseStorage

        return DatabaseStorage(self.state, prefix="teams/")

    @cached_property
    def reindexer(self) -> Reindexer:
        from bot.reindex import Reindexer

        return Reindexer(self._reindex)

    def _reindex(self) -> IngestSummary:
        summary = self.ingest(progress=False)
        if summary.changed and self.store.current() is not None:
            self.warm_up()  # the next question should not pay for reloading passages and the BM25 index
        return summary

    def index_info(self) -> IndexInfo | None:
        """What the serving index holds, computed once per index version."""
        from kb.store import generation

        current = self.store.current()
        if current is None:
            return None
        version = (current.name, generation(current))
        with self._info_lock:
            if self._info is None or self._info[0] != version:
                info = self.store.info()
                if info is None:
                    return None
                self._info = (version, info)
            return self._info[1]

    def warm_up(self) -> None:
        """Load the embedding model, the passages and the saved BM25 index now, not on the first question."""
        self.retriever.retrieve("warm up")

    @cached_property
    def chat(self) -> Chat:
        """The chat core Slack, Teams and the terminal share: one worker pool, one set of fair-use limits."""
        from bot.chat import Chat

        return Chat.build(
            engine=self.engine,
            feedback=self.feedback,
            reindexer=self.reindexer,
            index_info=self.index_info,
            settings=self.settings,
            metrics=self.metrics,
            tools=self.tools,
            audiences=self.audiences,
        )

    @cached_property
    def tools(self) -> Tools:
        """The use-case assessment and the checklist board, built on first use.

        Ticks are kept in the feedback store's database, so replicas share them; in the data
        directory's checklists.sqlite3 only when there is no such database.
        """
        from bot.tools.assessment import Assessor
        from bot.tools.checklists import open_board
        from bot.tools.core import Tools

        s = self.settings

        def board() -> Board:
            database = getattr(self.feedback, "database", None)  # None: the feedback store said why, at start-up
            return open_board(
                s.knowledge_dir, s.data_dir, max_file_bytes=s.max_file_bytes, database=database,
                audiences=self.audiences,
            )  # fmt: skip

        return Tools(
            assessor=lambda: Assessor.for_folder(
                s.knowledge_dir,
                retriever=self.retriever,
                audiences=self.audiences,
                review_after_days=s.review_after_days,
                max_file_bytes=s.max_file_bytes,
            ),
            board=board,
        )

    @cached_property
    def metrics(self) -> Metrics:
        """What /metrics reports: questions, declines, latency per backend, queue depth, votes, index generation."""
        from bot.web.metrics import Metrics

        return Metrics(index_info=self.index_info)

    def slack_app(self, *, http: bool, client: Any = None) -> Any:
        """The Slack bolt App over this runtime's chat core."""
        from bot.slack.app import build_slack_app

        database = getattr(self.feedback, "database", None)
        state = self.state if database is not None else None  # private answers to share; here only without one
        return build_slack_app(
            settings=self.settings, chat=self.chat, http=http, claims=self.claims, state=state, client=client
        )

    def teams_endpoint(self) -> Any:
        """The Teams endpoint over this runtime's chat core."""
        from bot.teams.app import build_teams_endpoint

        return build_teams_endpoint(settings=self.settings, chat=self.chat)  # state in the feedback store's database

    def mcp_server(self, *, local: Caller | None = None) -> McpServer:
        """The MCP server over this runtime's chat core, tools and retriever; `local` is the stdio caller."""
        from bot.mcp import Knowledge, build_server

        return build_server(Knowledge(chat=self.chat, retriever=self.retriever), local=local)

    def mcp_endpoint(self) -> McpEndpoint | None:
        """/mcp for the bearer tokens of ADOPTBOT_MCP_TOKENS; None (no route) when none is configured."""
        if not self.settings.mcp_places:
            return None
        from bot.mcp.http import McpEndpoint

        return McpEndpoint(self.mcp_server(), self.settings.mcp_places)
