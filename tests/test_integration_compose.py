"""The full docker-compose stack: apply SQL, register the UDF, insert events, read scores back.

Needs a Docker engine with the compose plugin and network access to pull the images.
Without a reachable engine the stack tests are skipped (reported as skipped, never as
passed). The file-level checks of docker-compose.yml below run everywhere.
"""

from __future__ import annotations

import gc
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pyproton_ml.proton import ProtonClient

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
SCORES_WAIT_S = 180.0


def docker_unavailable_reason() -> str | None:
    """Return why no Docker engine can be used, or None when one replies to a ping."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as error:
        return f"the docker package is not installed ({error})"
    with warnings.catch_warnings():
        # docker 7.x leaves the socket of a failed version probe to the garbage collector,
        # which warns about it: collect it here, where the warning is ignored.
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env(timeout=5)
            try:
                client.ping()
            finally:
                client.close()
        except DockerException as error:
            return f"no Docker engine is reachable ({type(error).__name__}: {str(error)[:120]})"
        finally:
            gc.collect()
    return None


DOCKER_REASON = docker_unavailable_reason()
needs_docker = pytest.mark.skipif(DOCKER_REASON is not None, reason=f"Docker stack test: {DOCKER_REASON}")


@pytest.fixture(scope="module")
def stack() -> Iterator[object]:
    from testcontainers.compose import DockerCompose

    compose = DockerCompose(REPO, compose_file_name="docker-compose.yml", build=True, wait=True, services=["proton", "udf"])
    with compose:
        yield compose


@pytest.mark.docker
@needs_docker
def test_compose_scores_events(stack) -> None:  # type: ignore[no-untyped-def]
    # The setup service applies sql/, registers the UDF and streams example events.
    setup = subprocess.run(
        [*stack.compose_command_property, "run", "--rm", "setup"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert setup.returncode == 0, f"setup job failed:\n{setup.stderr[-2000:]}"

    host, port = stack.get_service_host_and_port("proton", 8463)
    with ProtonClient(host=host or "127.0.0.1", port=int(port or 8463)) as proton:
        proton.ping()
        deadline = time.monotonic() + SCORES_WAIT_S
        count = 0
        while time.monotonic() < deadline and count == 0:
            count = proton.execute("SELECT count() FROM table(payment_scores)")[0][0]
            time.sleep(2)

        assert count > 0, f"no rows reached payment_scores within {SCORES_WAIT_S:.0f} s"
        rows = proton.execute("SELECT score FROM table(payment_scores) LIMIT 100")
        assert all(0.0 <= row[0] <= 1.0 for row in rows)
        # stream-events shifts the example to end now, so the dashboard's 15-minute panels have rows.
        recent = proton.execute("SELECT count() FROM table(payment_scores) WHERE event_time > now() - INTERVAL 15 MINUTE")
        assert recent[0][0] > 0


@pytest.mark.docker
@needs_docker
def test_compose_tail_reads_new_scores(stack) -> None:  # type: ignore[no-untyped-def]
    host, port = stack.get_service_host_and_port("proton", 8463)
    with ProtonClient(host=host or "127.0.0.1", port=int(port or 8463)) as proton:
        rows = proton.tail("SELECT 1 AS one FROM payment_scores", limit=1, timeout_s=5)

    # A tail of a quiet stream returns no rows once its timeout ends, instead of blocking.
    assert len(rows) <= 1


def test_docker_probe_returns_reason_or_none() -> None:
    reason = docker_unavailable_reason()

    assert reason is None or "Docker" in reason or "docker" in reason


def test_docker_probe_unreachable_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A Unix socket path where nothing listens stands for a machine without a Docker engine.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'absent.sock'}")

    reason = docker_unavailable_reason()

    assert reason is not None
    assert reason.startswith("no Docker engine is reachable")


def test_docker_skip_marker_matches_probe() -> None:
    """The stack tests are skipped exactly when the probe finds no engine."""
    (condition,) = needs_docker.mark.args

    assert condition is (DOCKER_REASON is not None)
    assert needs_docker.mark.kwargs["reason"].startswith("Docker stack test:")


def test_compose_file_services() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]

    assert set(services) == {"proton", "train", "udf", "setup", "grafana"}
    assert services["proton"]["image"].startswith("d.timeplus.com/timeplus-io/proton:3.0.")
    assert "http://localhost:3218/proton/ping" in services["proton"]["healthcheck"]["test"]
    assert {"8463:8463", "3218:3218"} <= set(services["proton"]["ports"])
    assert services["udf"]["build"] == {"context": ".", "dockerfile": "udfs/Dockerfile"}
    assert services["train"]["image"] == services["udf"]["image"]
    assert services["udf"]["depends_on"]["train"]["condition"] == "service_completed_successfully"
    assert services["setup"]["image"] == services["udf"]["image"]
    assert services["setup"]["depends_on"]["proton"]["condition"] == "service_healthy"


def test_compose_file_grafana_plugin() -> None:
    grafana = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["grafana"]
    environment = grafana["environment"]

    url, plugin_id = environment["GF_INSTALL_PLUGINS"].split(";")
    assert url.startswith("https://d.timeplus.com/grafana/timeplus-proton-datasource-2.")
    assert url.endswith(".zip")
    assert plugin_id == "timeplus-proton-datasource"
    assert environment["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"] == "timeplus-proton-datasource"
    major, minor = (int(part) for part in grafana["image"].split(":")[1].split(".")[:2])
    assert (major, minor) >= (11, 3)


def test_compose_file_mounts_provisioning() -> None:
    grafana = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["grafana"]

    assert "./dashboards/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    assert "./dashboards/json:/var/lib/grafana/dashboards/pyproton-ml:ro" in grafana["volumes"]
    assert (REPO / "dashboards" / "provisioning" / "datasources" / "proton.yaml").is_file()


def test_compose_file_auth_key_from_env() -> None:
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]

    for name in ("udf", "setup"):
        assert services[name]["environment"]["PYPROTON_ML_AUTH_KEY"].startswith("${PYPROTON_ML_AUTH_KEY:-")
