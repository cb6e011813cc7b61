"""GrafanaDeployer against a real Grafana in a container (testcontainers).

Skipped, and reported as skipped, when no Docker engine is reachable. The container
installs the Proton plugin from its release zip, so it also needs network access.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_integration_compose import DOCKER_REASON

from pyproton_ml.grafana import GrafanaDeployer, ProtonDatasource, build_scores_dashboard

GRAFANA_IMAGE = "grafana/grafana:11.3.0"
PLUGIN_ZIP = "https://d.timeplus.com/grafana/timeplus-proton-datasource-2.1.3.zip"
ADMIN_PASSWORD = "contract-test-admin"

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(DOCKER_REASON is not None, reason=f"real Grafana test: {DOCKER_REASON}"),
]


@pytest.fixture(scope="module")
def grafana_url() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    container = (
        DockerContainer(GRAFANA_IMAGE)
        .with_env("GF_SECURITY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .with_env("GF_INSTALL_PLUGINS", f"{PLUGIN_ZIP};timeplus-proton-datasource")
        .with_env("GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS", "timeplus-proton-datasource")
        .with_exposed_ports(3000)
        .waiting_for(HttpWaitStrategy(3000, "/api/health").for_status_code(200))
    )
    with container:
        yield f"http://{container.get_container_host_ip()}:{container.get_exposed_port(3000)}"


@pytest.fixture(scope="module")
def token(grafana_url: str) -> str:
    from grafana_client import GrafanaApi

    admin = GrafanaApi.from_url(grafana_url, credential=("admin", ADMIN_PASSWORD))
    try:
        account = admin.serviceaccount.create({"name": "pyproton-ml-test", "role": "Admin"})
        created = admin.serviceaccount.create_token(account["id"], {"name": "pyproton-ml-test"})
    finally:
        admin.client.s.close()
    return str(created["key"])


def test_real_grafana_deploy(grafana_url: str, token: str) -> None:
    dashboard = build_scores_dashboard(uid="fraud-scores", title="Fraud scores", scores_stream="payment_scores", datasource_uid="proton")

    with GrafanaDeployer(grafana_url, token) as deployer:
        first = deployer.deploy([dashboard], datasource=ProtonDatasource(), folder_uid="pyproton-ml", folder_title="pyproton-ml")
        second = deployer.deploy([dashboard], datasource=ProtonDatasource(), folder_uid="pyproton-ml", folder_title="pyproton-ml")

    assert first[0]["uid"] == "fraud-scores"
    assert second[0]["version"] > first[0]["version"]
