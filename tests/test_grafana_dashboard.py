"""The scores dashboard model, its panel SQL and the uid rule."""

from __future__ import annotations

import json

import pytest

from pyproton_ml.errors import InvalidIdentifierError
from pyproton_ml.grafana import (
    PROTON_DATASOURCE_TYPE,
    ScoreColumns,
    build_scores_dashboard,
    score_quantiles_sql,
    score_rate_sql,
    top_scores_sql,
    validate_uid,
)


def _dashboard(**overrides: object) -> dict:
    arguments = {"uid": "fraud-scores", "title": "Fraud scores", "scores_stream": "payment_scores", "datasource_uid": "proton"}
    arguments.update(overrides)
    return build_scores_dashboard(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize("uid", ["a", "fraud-scores", "A_b-9", "x" * 40])
def test_validate_uid_accepts(uid: str) -> None:
    assert validate_uid(uid) == uid


@pytest.mark.parametrize(
    ("uid", "match"),
    [
        ("", "non-empty"),
        ("x" * 41, "41 characters but Grafana allows at most 40"),
        ("fraud scores", "only letters, digits"),
        ("fraud/scores", "only letters, digits"),
        ("früd", "only letters, digits"),
        (None, "non-empty"),
    ],
)
def test_validate_uid_rejects(uid: object, match: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=match):
        validate_uid(uid)  # type: ignore[arg-type]


def test_dashboard_top_level_fields() -> None:
    dashboard = _dashboard()

    assert dashboard["uid"] == "fraud-scores"
    assert dashboard["schemaVersion"] == 39
    assert dashboard["id"] is None
    assert [panel["id"] for panel in dashboard["panels"]] == [1, 2, 3]
    assert [panel["type"] for panel in dashboard["panels"]] == ["timeseries", "timeseries", "table"]


def test_dashboard_targets_use_plugin_model() -> None:
    for panel in _dashboard()["panels"]:
        assert panel["datasource"] == {"type": "timeplus-proton-datasource", "uid": "proton"}
        (target,) = panel["targets"]
        assert set(target) == {"datasource", "refId", "sql"}
        assert target["datasource"]["type"] == PROTON_DATASOURCE_TYPE
        assert target["sql"].startswith("SELECT ")


def test_dashboard_live_and_bounded_panels() -> None:
    rate, quantiles, top = (panel["targets"][0]["sql"] for panel in _dashboard()["panels"])

    assert "table(" not in rate
    assert "FROM tumble(payment_scores, INTERVAL 5 SECOND)" in rate
    assert "WHERE _tp_time > now() - INTERVAL 15 MINUTE" in rate
    assert "FROM table(payment_scores)" in quantiles
    assert "WHERE event_time > now() - INTERVAL 60 MINUTE" in quantiles
    assert "FROM table(payment_scores)" in top
    assert "ORDER BY score DESC LIMIT 20" in top


def test_dashboard_is_deterministic() -> None:
    assert json.dumps(_dashboard(), sort_keys=True) == json.dumps(_dashboard(), sort_keys=True)


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"uid": "x" * 41}, InvalidIdentifierError, "at most 40"),
        ({"scores_stream": "scores; DROP STREAM x"}, InvalidIdentifierError, "Invalid stream name"),
        ({"datasource_uid": "bad uid"}, InvalidIdentifierError, "Invalid datasource uid"),
        ({"title": "  "}, ValueError, "non-empty title"),
    ],
)
def test_dashboard_rejects_bad_input(overrides: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        _dashboard(**overrides)


def test_rate_sql_window_and_backfill() -> None:
    sql = score_rate_sql("payment_scores", window_seconds=10, backfill_minutes=5)

    assert "count() / 10 AS events_per_second" in sql
    assert "FROM tumble(payment_scores, INTERVAL 10 SECOND)" in sql
    assert "WHERE _tp_time > now() - INTERVAL 5 MINUTE" in sql
    assert sql.endswith("GROUP BY window_end")


def test_rate_sql_quotes_keyword_stream() -> None:
    sql = score_rate_sql("table")

    assert 'tumble("table",' in sql or "tumble(`table`," in sql


def test_quantiles_sql_uses_proton_spelling() -> None:
    sql = score_quantiles_sql("payment_scores", quantiles=(0.5, 0.999))

    assert "quantile(score, 0.5) AS p50" in sql
    assert "quantile(score, 0.999) AS p999" in sql
    assert "to_start_of_interval(event_time, INTERVAL 1 MINUTE) AS time" in sql


def test_top_scores_sql_custom_columns() -> None:
    columns = ScoreColumns(score="fraud_probability", event_time="ts")

    sql = top_scores_sql("scores", columns, lookback_minutes=30, limit=5)

    assert sql.startswith("SELECT ts, event_id, card_id, fraud_probability, model_version FROM table(scores) ")
    assert "WHERE ts > now() - INTERVAL 30 MINUTE" in sql
    assert sql.endswith("ORDER BY fraud_probability DESC LIMIT 5")


@pytest.mark.parametrize("call", [top_scores_sql, score_quantiles_sql])
def test_keyword_event_time_quoted(call) -> None:  # type: ignore[no-untyped-def]
    """An event-time column named like a keyword must stay a column, not become NULL."""
    sql = call("scores", ScoreColumns(event_time="null"))

    assert 'WHERE "null" > now() - INTERVAL' in sql


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: score_rate_sql("payment_scores", window_seconds=0), "window_seconds"),
        (lambda: score_quantiles_sql("payment_scores", quantiles=(1.0,)), "strictly between 0 and 1"),
        (lambda: score_quantiles_sql("payment_scores", quantiles=()), "one or more levels"),
        (lambda: top_scores_sql("payment_scores", limit=True), "limit"),
    ],
)
def test_query_builders_reject_bad_numbers(call, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        call()


def test_query_builders_reject_bad_column() -> None:
    with pytest.raises(InvalidIdentifierError, match="Invalid column name"):
        top_scores_sql("payment_scores", ScoreColumns(score="score) --"))
