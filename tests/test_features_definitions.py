"""Feature definitions: what compiles, and the error each bad definition gets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.errors import InvalidIdentifierError
from pyproton_ml.features import AsofLookup
from pyproton_ml.features import Col
from pyproton_ml.features import Column
from pyproton_ml.features import Count
from pyproton_ml.features import EmitPolicy
from pyproton_ml.features import Encode
from pyproton_ml.features import Feature
from pyproton_ml.features import FeatureSet
from pyproton_ml.features import Hop
from pyproton_ml.features import Impute
from pyproton_ml.features import Mean
from pyproton_ml.features import Stream
from pyproton_ml.features import Tumble
from pyproton_ml.features import WindowAggregate
from pyproton_ml.sql import Target
from pyproton_ml.sql import render

EVENTS = Stream(
    "events",
    (Column("id", "string"), Column("k", "string"), Column("label", "string"), Column("v", "nullable(float64)"), Column("t", "datetime64(3)")),
    event_time="t",
)


def _aggregate(**changes: object) -> WindowAggregate:
    arguments = {"name": "agg", "source": EVENTS, "keys": ("k",), "window": Hop("1m", "5m"), "aggregates": (Count("n"),)}
    arguments.update(changes)
    return WindowAggregate(**arguments)


def _feature_set(**changes: object) -> FeatureSet:
    arguments = {"name": "features", "source": EVENTS, "passthrough": ("id",), "features": (Feature("v", "float64", Impute("v", 0.0)),)}
    arguments.update(changes)
    return FeatureSet(**arguments)


CASES: list[tuple[Callable[[], object], type[Exception], str]] = [
    (lambda: Stream("s", ()), FeatureDefinitionError, "no columns"),
    (lambda: Stream("s", (Column("a", "string"), Column("a", "int32"))), FeatureDefinitionError, "duplicate columns"),
    (lambda: Stream("s", (Column("a", "string"),), mode="kv"), FeatureDefinitionError, "mode 'kv' is invalid"),
    (lambda: Stream("s", (Column("a", "string"),), mode="versioned_kv"), FeatureDefinitionError, "needs a primary_key"),
    (lambda: Stream("s", (Column("a", "string"),), event_time="t"), FeatureDefinitionError, "has no column 't'"),
    (lambda: Stream("s", (Column("a", "string"),), settings={"mode": "x"}), FeatureDefinitionError, "through the Stream field"),
    (lambda: Stream("bad name", (Column("a", "string"),)), InvalidIdentifierError, "Invalid stream name"),
    (lambda: Column("a", "floaty"), FeatureDefinitionError, "not a Proton type"),
    (lambda: Column("a", ""), FeatureDefinitionError, "not a Proton type string"),
    (lambda: Column("_tp_time", "datetime64(3)"), InvalidIdentifierError, "reserves"),
    (lambda: Hop("10m", "1m"), FeatureDefinitionError, "longer than its size"),
    (lambda: Hop("1m", "90s"), FeatureDefinitionError, "whole multiple"),
    (lambda: Hop("1 minute", "10m"), FeatureDefinitionError, "invalid interval"),
    (lambda: Hop("0s", "10m"), FeatureDefinitionError, "invalid interval"),
    (lambda: Tumble("5x"), FeatureDefinitionError, "invalid interval"),
    (lambda: EmitPolicy("PERIODIC"), FeatureDefinitionError, "needs an interval"),
    (lambda: EmitPolicy("PERIODIC", interval="5s", delay="1s"), FeatureDefinitionError, "takes no delay"),
    (lambda: EmitPolicy("SOMETIMES"), FeatureDefinitionError, "is invalid"),
    (lambda: _aggregate(keys=()), FeatureDefinitionError, "at least one key"),
    (lambda: _aggregate(keys=("nope",)), FeatureDefinitionError, "has no column 'nope'"),
    (lambda: _aggregate(aggregates=()), FeatureDefinitionError, "has no aggregates"),
    (lambda: _aggregate(aggregates=(Mean("m", "label"),)), FeatureDefinitionError, "needs a numeric column"),
    (lambda: _aggregate(aggregates=(Count("k"),)), FeatureDefinitionError, "clash"),
    (lambda: _aggregate(aggregates=(Count("window_end"),)), FeatureDefinitionError, "clash"),
    (lambda: _feature_set(features=()), FeatureDefinitionError, "has no features"),
    (lambda: _feature_set(features=(Feature("x", "float64", Col("missing")),)), FeatureDefinitionError, "has no column 'missing'"),
    (lambda: _feature_set(features=(Feature("x", "float64", Col("v", source="z")),)), FeatureDefinitionError, "no lookup has alias 'z'"),
    (lambda: _feature_set(features=(Feature("id", "string", Col("id")),)), FeatureDefinitionError, "appear twice"),
    (lambda: Feature("x", "float64", "v"), FeatureDefinitionError, "not a feature expression"),
    (lambda: Encode("label", ()), FeatureDefinitionError, "at least one category"),
    (lambda: Encode("label", ("a", "a")), FeatureDefinitionError, "more than once"),
    (lambda: Encode("label", ("a", "b"), unknown=1), FeatureDefinitionError, "collides with the position of category 'b'"),
    (lambda: AsofLookup(EVENTS, on={}, alias="a"), FeatureDefinitionError, "at least one key pair"),
    (lambda: AsofLookup(EVENTS, on={"k": "nope"}, alias="a"), FeatureDefinitionError, "has no column 'nope'"),
    (lambda: _feature_set(lookups=(AsofLookup(EVENTS, on={"k": "k"}, alias="e"),)), FeatureDefinitionError, "must be unique and not 'e'"),
]


@pytest.mark.parametrize(("build", "error", "message"), CASES)
def test_bad_definition_rejected(build: Callable[[], object], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        build()


def test_impute_rejects_nan() -> None:
    with pytest.raises(FeatureDefinitionError, match="NaN"):
        _feature_set(features=(Feature("v", "float64", Impute("v", float("nan"))),))


def test_hop_arguments_slide_before_size() -> None:
    sql = render(_aggregate().select(historical=False), pretty=False)
    assert "FROM hop(events, t, 1m, 5m)" in sql


def test_historical_reads_bounded_tables() -> None:
    feature_set = _feature_set(lookups=(AsofLookup(_aggregate(), on={"k": "k"}, alias="a"),))
    sql = render(feature_set.select(historical=True), pretty=False)
    assert "FROM table(events) AS e" in sql
    assert "hop(table(events), t, 1m, 5m)" in sql
    assert "EMIT" not in sql


def test_streaming_aggregate_emits_after_close() -> None:
    aggregate = _aggregate(emit=EmitPolicy.after_window_close(delay="5s"))
    sql = render(aggregate.select(historical=False), pretty=False)
    assert sql.endswith("EMIT AFTER WINDOW CLOSE WITH DELAY 5s")
    assert "window_end + INTERVAL 5 SECOND" in sql


def test_signature_in_feature_order() -> None:
    feature_set = _feature_set(features=(Feature("b", "uint8", Col("v")), Feature("a", "Float64", Col("v"))))
    assert feature_set.signature == (("b", "uint8"), ("a", "float64"))


def test_encode_category_escaped() -> None:
    feature_set = _feature_set(features=(Feature("c", "int32", Encode("label", ("it's", "x' OR 1=1 --"))),))
    sql = render(feature_set.select(historical=True), Target.CLICKHOUSE, pretty=False)
    assert "'it''s'" in sql or "'it\\'s'" in sql
    assert "'x'' OR 1=1 --'" in sql or "'x\\' OR 1=1 --'" in sql
