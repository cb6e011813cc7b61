"""Build the Grafana dashboard JSON model for a stream of model scores."""

from __future__ import annotations

from typing import Any

from pyproton_ml.grafana.queries import ScoreColumns, score_quantiles_sql, score_rate_sql, top_scores_sql, validate_name
from pyproton_ml.grafana.uids import validate_uid

# The plugin id of the Proton datasource (timeplus-io/proton-grafana-source 2.1.4, src/plugin.json).
PROTON_DATASOURCE_TYPE = "timeplus-proton-datasource"
# schemaVersion 39 is the newest dashboard schema that every Grafana 11.x release reads
# (grafana `apps/dashboard/pkg/migration/schemaversion/v39.go`). Newer releases migrate
# it forward when they load the dashboard.
SCHEMA_VERSION = 39


def datasource_ref(datasource_uid: str) -> dict[str, str]:
    """Return the panel and target reference to a Proton datasource."""
    return {"type": PROTON_DATASOURCE_TYPE, "uid": validate_uid(datasource_uid, kind="datasource")}


def proton_target(datasource_uid: str, sql: str, ref_id: str = "A") -> dict[str, Any]:
    """Return one panel target in the Proton plugin's query model.

    The plugin 2.1.x reads only ``sql`` from a target (`src/types.ts` TpQuery and
    `pkg/plugin/datasource.go` queryModel). The target has no streaming flag, because the
    plugin calls Proton's query analyzer to tell whether the SQL is streaming.
    """
    return {"datasource": datasource_ref(datasource_uid), "refId": ref_id, "sql": sql}


def build_scores_dashboard(
    *,
    uid: str,
    title: str,
    scores_stream: str,
    datasource_uid: str,
    columns: ScoreColumns = ScoreColumns(),
    tags: tuple[str, ...] = ("pyproton-ml",),
) -> dict[str, Any]:
    """Return a dashboard with score rate, score quantiles and the highest recent scores.

    Panel ids and positions are fixed so that the JSON is the same on every run.
    """
    validate_uid(uid)
    validate_name(scores_stream)
    if not title.strip():
        raise ValueError(f"Invalid dashboard title {title!r}: expected a non-empty title.")

    panels = [
        _timeseries_panel(
            panel_id=1,
            title="Events scored per second (live)",
            description=f"Streaming query over {scores_stream}: events per second in 5 s tumbling windows.",
            target=proton_target(datasource_uid, score_rate_sql(scores_stream)),
            datasource_uid=datasource_uid,
            grid={"h": 8, "w": 12, "x": 0, "y": 0},
            unit="reqps",
        ),
        _timeseries_panel(
            panel_id=2,
            title="Score quantiles per minute (last hour)",
            description=f"Historical query over table({scores_stream}): p50, p90 and p99 of {columns.score} per minute.",
            target=proton_target(datasource_uid, score_quantiles_sql(scores_stream, columns)),
            datasource_uid=datasource_uid,
            grid={"h": 8, "w": 12, "x": 12, "y": 0},
            unit="none",
        ),
        _table_panel(
            panel_id=3,
            title="Highest scores (last 15 minutes)",
            description=f"Historical query over table({scores_stream}): the 20 highest scores, highest first.",
            target=proton_target(datasource_uid, top_scores_sql(scores_stream, columns)),
            datasource_uid=datasource_uid,
            grid={"h": 10, "w": 24, "x": 0, "y": 8},
            score_column=columns.score,
        ),
    ]

    return {
        "annotations": {"list": []},
        "editable": True,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "panels": panels,
        # Each refresh re-runs every panel. The live panel then restarts its query, which
        # backfills its window from Proton's historical store, so no points are lost.
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": list(tags),
        "templating": {"list": []},
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": title,
        "uid": uid,
        "version": 1,
    }


def _timeseries_panel(
    *,
    panel_id: int,
    title: str,
    description: str,
    target: dict[str, Any],
    datasource_uid: str,
    grid: dict[str, int],
    unit: str,
) -> dict[str, Any]:
    return {
        "datasource": datasource_ref(datasource_uid),
        "description": description,
        "fieldConfig": {
            "defaults": {"custom": {"drawStyle": "line", "lineWidth": 1, "showPoints": "never"}, "unit": unit},
            "overrides": [],
        },
        "gridPos": grid,
        "id": panel_id,
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}, "tooltip": {"mode": "multi"}},
        "targets": [target],
        "title": title,
        "type": "timeseries",
    }


def _table_panel(
    *,
    panel_id: int,
    title: str,
    description: str,
    target: dict[str, Any],
    datasource_uid: str,
    grid: dict[str, int],
    score_column: str,
) -> dict[str, Any]:
    return {
        "datasource": datasource_ref(datasource_uid),
        "description": description,
        "fieldConfig": {"defaults": {}, "overrides": []},
        "gridPos": grid,
        "id": panel_id,
        "options": {"showHeader": True, "sortBy": [{"desc": True, "displayName": score_column}]},
        "targets": [target],
        "title": title,
        "type": "table",
    }
