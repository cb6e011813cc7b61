"""GrafanaDeployer against a real local HTTP server that follows Grafana's documented API."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import niquests
import pytest
from grafana_contract_server import GrafanaContractServer

from pyproton_ml.errors import GrafanaError, InvalidIdentifierError
from pyproton_ml.grafana import GrafanaDeployer, ProtonDatasource, build_scores_dashboard

TOKEN = "glsa_contract_token_0123456789"
PASSWORD = "proton-password-for-test"


@pytest.fixture
def server() -> Iterator[GrafanaContractServer]:
    with GrafanaContractServer(TOKEN) as running:
        yield running


def _dashboard(uid: str = "fraud-scores") -> dict:
    return build_scores_dashboard(uid=uid, title="Fraud scores", scores_stream="payment_scores", datasource_uid="proton")


def _deploy(deployer: GrafanaDeployer) -> list[dict]:
    """Deploy the example objects, then close the deployer's HTTP session."""
    with deployer:
        return deployer.deploy(
            [_dashboard()],
            datasource=ProtonDatasource(host="proton"),
            folder_uid="pyproton-ml",
            folder_title="pyproton-ml",
            password=PASSWORD,
        )


def test_deploy_creates_all_objects(server: GrafanaContractServer) -> None:
    replies = _deploy(GrafanaDeployer(server.url, TOKEN))

    assert server.state.violations == []
    assert [reply["uid"] for reply in replies] == ["fraud-scores"]
    assert replies[0]["status"] == "success"
    assert set(server.state.folders) == {"pyproton-ml"}
    assert set(server.state.datasources) == {"proton"}
    assert server.state.dashboards["fraud-scores"]["folderUid"] == "pyproton-ml"


def test_deploy_sends_documented_bodies(server: GrafanaContractServer) -> None:
    _deploy(GrafanaDeployer(server.url, TOKEN))

    saves = [request for request in server.state.requests if request.path == "/api/dashboards/db"]
    assert len(saves) == 1
    assert saves[0].method == "POST"
    assert saves[0].body["overwrite"] is True
    assert saves[0].body["folderUid"] == "pyproton-ml"
    assert saves[0].body["dashboard"]["id"] is None

    created = server.state.datasources["proton"]
    assert created["type"] == "timeplus-proton-datasource"
    assert created["jsonData"] == {"host": "proton", "httpPort": 3218, "tcpPort": 8463, "username": "default"}
    assert created["secureJsonData"] == {"password": PASSWORD}


def test_deploy_twice_updates_in_place(server: GrafanaContractServer) -> None:
    deployer = GrafanaDeployer(server.url, TOKEN)
    _deploy(deployer)
    replies = _deploy(deployer)

    assert server.state.violations == []
    assert replies[0]["version"] == 2
    assert server.state.datasources["proton"]["version"] == 2
    assert len(server.state.folders) == 1
    methods = [(request.method, request.path) for request in server.state.requests]
    assert ("PUT", "/api/datasources/uid/proton") in methods
    assert methods.count(("POST", "/api/folders")) == 1


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "match"),
    [
        ("POST", "/api/dashboards/db", 412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}, r"412.*version-mismatch"),
        ("POST", "/api/dashboards/db", 403, {"message": "Access denied"}, r"403.*Access denied.*Editor"),
        ("POST", "/api/folders", 409, {"message": "a folder with the same name already exists"}, r"409.*same name"),
        ("POST", "/api/datasources", 400, {"message": "invalid jsonData"}, r"400"),
        ("POST", "/api/dashboards/db", 500, {"message": "database is locked"}, r"failed during save dashboard.*500"),
    ],
)
def test_deploy_error_status_raises(server: GrafanaContractServer, method: str, path: str, status: int, body: dict, match: str) -> None:
    server.fail_next(method, path, status, body)

    with pytest.raises(GrafanaError, match=match):
        _deploy(GrafanaDeployer(server.url, TOKEN))


def test_deploy_wrong_token_raises_401(server: GrafanaContractServer) -> None:
    with pytest.raises(GrafanaError, match=r"rejected the API token \(401 Unauthorized\).*PYPROTON_ML_GRAFANA_TOKEN"):
        _deploy(GrafanaDeployer(server.url, "glsa_wrong_token"))

    assert server.state.datasources == {}


def test_deploy_unreachable_raises() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port was free a moment ago and nothing listens on it now.
    deployer = GrafanaDeployer(f"http://127.0.0.1:{port}", TOKEN, timeout_s=2)

    with pytest.raises(GrafanaError, match=r"unreachable.*PYPROTON_ML_GRAFANA_URL"):
        _deploy(deployer)


def test_deploy_never_logs_secrets(server: GrafanaContractServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    deployer = GrafanaDeployer(server.url, TOKEN)
    _deploy(deployer)
    server.fail_next("POST", "/api/dashboards/db", 412, {"message": "changed", "status": "version-mismatch"})
    with pytest.raises(GrafanaError):
        _deploy(deployer)

    assert caplog.records, "expected the deployer to log its steps"
    assert TOKEN not in caplog.text
    assert PASSWORD not in caplog.text
    assert TOKEN not in repr(deployer)


def test_url_credentials_hidden_in_messages(server: GrafanaContractServer) -> None:
    url_with_credentials = server.url.replace("http://", "http://admin:hunter2@")
    server.fail_next("POST", "/api/dashboards/db", 412, {"message": "changed", "status": "version-mismatch"})

    with pytest.raises(GrafanaError) as raised:
        _deploy(GrafanaDeployer(url_with_credentials, TOKEN))

    assert "hunter2" not in str(raised.value)


def test_save_dashboard_rejects_long_uid(server: GrafanaContractServer) -> None:
    dashboard = {**_dashboard(), "uid": "x" * 41}

    with GrafanaDeployer(server.url, TOKEN) as deployer, pytest.raises(InvalidIdentifierError, match="at most 40"):
        deployer.save_dashboard(dashboard, folder_uid="pyproton-ml")

    assert server.state.requests == []


@pytest.mark.parametrize(
    ("environ", "match"),
    [
        ({}, "Missing Grafana URL"),
        ({"PYPROTON_ML_GRAFANA_URL": "http://127.0.0.1:3000"}, "Missing Grafana API token"),
    ],
)
def test_from_env_missing_setting_raises(environ: dict[str, str], match: str) -> None:
    with pytest.raises(GrafanaError, match=match):
        GrafanaDeployer.from_env(environ)


def test_contract_server_rejects_bad_uid(server: GrafanaContractServer) -> None:
    """The server itself must enforce the documented uid rule, or the tests above prove nothing."""
    with niquests.Session() as session:
        reply = session.post(
            f"{server.url}/api/dashboards/db",
            json={"dashboard": {"title": "t", "uid": "bad uid!"}, "overwrite": True},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )

    assert reply.status_code == 400
    assert server.state.violations
