"""Grafana dashboards and provisioning for streams of model scores in Proton."""

from __future__ import annotations

from pyproton_ml.grafana.api import GrafanaDeployer
from pyproton_ml.grafana.dashboard import PROTON_DATASOURCE_TYPE, build_scores_dashboard, proton_target
from pyproton_ml.grafana.example import write_example_dashboards
from pyproton_ml.grafana.provisioning import ProtonDatasource, dashboard_provider, datasource_provisioning
from pyproton_ml.grafana.queries import ScoreColumns, score_quantiles_sql, score_rate_sql, top_scores_sql
from pyproton_ml.grafana.uids import MAX_UID_LENGTH, validate_uid

__all__ = [
    "MAX_UID_LENGTH",
    "PROTON_DATASOURCE_TYPE",
    "GrafanaDeployer",
    "ProtonDatasource",
    "ScoreColumns",
    "build_scores_dashboard",
    "dashboard_provider",
    "datasource_provisioning",
    "proton_target",
    "score_quantiles_sql",
    "score_rate_sql",
    "top_scores_sql",
    "validate_uid",
    "write_example_dashboards",
]
