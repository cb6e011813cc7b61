"""Hostile feature definitions: each case pins how one bad definition is rejected, or a valid one kept."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pandas as pd
import pytest
from sqlglot import exp

from pyproton_ml.embedded import EmbeddedEngine
from pyproton_ml.errors import FeatureDefinitionError
from pyproton_ml.errors import InvalidIdentifierError
from pyproton_ml.errors import UnsupportedError
from pyproton_ml.features import AsofLookup
from pyproton_ml.features import Col
from pyproton_ml.features import Column
from pyproton_ml.features import Count
from pyproton_ml.features import Encode
from pyproton_ml.features import Feature
from pyproton_ml.features import FeatureSet
from pyproton_ml.features import Hop
from pyproton_ml.features import Impute
from pyproton_ml.features import Mean
from pyproton_ml.features import Ratio
from pyproton_ml.features import Stream
from pyproton_ml.features import Tumble
from pyproton_ml.features import WindowAggregate
from pyproton_ml.features.types import parse_type
from pyproton_ml.sql import Target
from pyproton_ml.sql import render
from pyproton_ml.sql.identifiers import identifier
from pyproton_ml.sql.identifiers import table

EVENTS = Stream(
    "events",
    (Column("id", "string"), Column("cat", "string"), Column("x", "nullable(float64)"), Column("t", "datetime64(3)")),
    event_time="t",
)
DIMENSIONS = Stream("dims", (Column("id", "string"), Column("y", "float64"), Column("u", "datetime64(3)")), event_time="u")
# A second, different stream that has the name of EVENTS.
OTHER_EVENTS = Stream("events", (Column("id", "string"), Column("t", "datetime64(3)")), event_time="t")


def _feature_set(**changes: object) -> FeatureSet:
    arguments = {"name": "feats", "source": EVENTS, "passthrough": ("id",), "features": (Feature("v", "float64", Impute("x", 0.0)),)}
    arguments.update(changes)
    return FeatureSet(**arguments)


def _aggregate(**changes: object) -> WindowAggregate:
    arguments = {"name": "agg", "source": EVENTS, "keys": ("id",), "window": Tumble("1m"), "aggregates": (Count("n"),)}
    arguments.update(changes)
    return WindowAggregate(**arguments)


# Type strings on which sqlglot's tokenizer or builders raised TokenError or IndexError, or which it
# read as another type, dropping comments, reading '[' as an array or writing a NUL into the DDL.
@pytest.mark.parametrize(
    ("type_name", "message"),
    [
        ("datetime64(3, 'UTC\\')", "is not a Proton type"),
        ("string'", "is not a Proton type"),
        ("enum8(fixed_string(\tfloat64zdatetime64(map(e1", "is not a Proton type"),
        ("float64 -- x", "contains an SQL comment"),
        ("float64 /* */", "contains an SQL comment"),
        ("float64 # note", "contains an SQL comment"),
        ("int8[1]", "is not a Proton type"),
        ("int8[", "is not a Proton type"),
        ("decimal(\x00)", "contains a control character"),
    ],
)
@pytest.mark.parametrize("build", [lambda t: Column("t", t), lambda t: Feature("c", t, Col("t"))], ids=["column", "feature"])
def test_hostile_type_rejected(build: Callable[[str], object], type_name: str, message: str) -> None:
    with pytest.raises(FeatureDefinitionError, match=message) as raised:
        build(type_name)
    assert "'t'" in str(raised.value) or "'c'" in str(raised.value)


@pytest.mark.parametrize(
    "type_name",
    ["datetime64(3, 'UTC')", "datetime64(3, 'a''b')", "enum8('a' = 1, 'b' = 2)", "map(string, float64)", "tuple(a int8, b string)"],
)
def test_valid_type_still_accepted(type_name: str) -> None:
    assert parse_type(type_name, owner="c") is not None


@pytest.mark.parametrize(("slide", "size"), [("100ms", "1s"), ("200ms", "600ms"), ("300ms", "900ms"), ("1ms", "999999999d")])
def test_hop_in_milliseconds_accepted(slide: str, size: str) -> None:
    hop = Hop(slide, size)
    assert hop.size_milliseconds % hop.slide_milliseconds == 0


def test_millisecond_hop_lookup_keeps_exact_slide() -> None:
    feature_set = _feature_set(
        features=(Feature("n", "uint64", Col("n", source="a")),),
        lookups=(AsofLookup(_aggregate(window=Hop("100ms", "1s")), on={"id": "id"}, alias="a"),),
    )
    sql = render(feature_set.select(historical=False), pretty=False)
    assert "a.available_at + INTERVAL 100 MILLISECOND" in sql
    assert "hop(events, t, 100ms, 1s)" in render(feature_set.window_aggregates[0].select(historical=False), pretty=False)


def test_millisecond_window_clear_error_in_embedded_engine() -> None:
    with pytest.raises(UnsupportedError, match="whole seconds only, and 100ms is not. Run this query on Proton"):
        render(_aggregate(window=Hop("100ms", "1s")).select(historical=True), Target.CLICKHOUSE)


# Words that start a non-column element of a CREATE column list (index, constraint, projection,
# primary key, foreign key), literals, and `function`, which reads as a table function after INTO.
COLUMN_LIST_WORDS = ["index", "constraint", "projection", "primary", "foreign"]
QUOTED_WORDS = [*COLUMN_LIST_WORDS, "true", "false", "function"]


@pytest.mark.parametrize("name", QUOTED_WORDS)
def test_keyword_names_quoted(name: str) -> None:
    assert identifier(name).args["quoted"] is True
    assert f'"{name}" float64' in render(Stream("s", (Column(name, "float64"),)).create_statement(), pretty=False)


@pytest.mark.parametrize("name", ["null", "index", "true"])
def test_keyword_event_time_quoted_in_window(name: str) -> None:
    source = Stream("s", (Column("id", "string"), Column(name, "datetime64(3)")), event_time=name)
    sql = render(_aggregate(source=source).select(historical=False), pretty=False)
    assert f'tumble(s, "{name}", 1m)' in sql


def _quoted_insert(stream: Stream, row: tuple[object, ...]) -> exp.Insert:
    # EmbeddedEngine.insert writes its column names unquoted, so the test inserts through identifier().
    columns = exp.Schema(this=table(stream.name), expressions=[identifier(name) for name in stream.column_names])
    return exp.Insert(this=columns, expression=exp.values([row]))


def test_keyword_columns_run_in_embedded_engine() -> None:
    """Each word as a stream name and a column name: created, filled and queried in chDB."""
    with EmbeddedEngine() as engine:
        for name in QUOTED_WORDS:
            source = Stream(name, (Column("id", "string"), Column(name, "nullable(float64)"), Column("t", "datetime64(3)")), event_time="t")
            engine.create(source)
            engine.execute(_quoted_insert(source, ("1", 2.5, "2024-01-01 00:00:00")))
            feature_set = FeatureSet(
                f"f_{name}", source=source, passthrough=("id", name), features=(Feature("v", "float64", Impute(name, 0.0)),)
            )
            frame = engine.query(feature_set.select(historical=True))
            assert list(frame[name]) == [2.5], name
            assert list(frame["v"]) == [2.5], name


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: _feature_set(lookups=(AsofLookup(DIMENSIONS, on={"nope": "id"}, alias="l"),)),
            "on= key 'nope' is not a column of the event stream 'events'. Its columns are: id, cat, x, t",
        ),
        (lambda: AsofLookup(DIMENSIONS, on="id", alias="l"), "must map event columns to lookup columns"),
        (lambda: AsofLookup(DIMENSIONS, on=None, alias="l"), "must map event columns to lookup columns"),
        (lambda: AsofLookup(DIMENSIONS, on=[("id",)], alias="l"), "is not a pair"),
        (lambda: AsofLookup(DIMENSIONS, on=[("id", "id", "y")], alias="l"), "is not a pair"),
        (lambda: AsofLookup("dims", on={"id": "id"}, alias="l"), "is not a Stream or a WindowAggregate"),
        (lambda: _feature_set(lookups=(AsofLookup(DIMENSIONS, on={"id": "id"}, alias="x"),)), "lookup alias 'x' is also a column"),
        (lambda: _feature_set(lookups=(AsofLookup(DIMENSIONS, on={"id": "id"}, alias="y"),)), "lookup alias 'y' is also a column"),
        (lambda: _feature_set(lookups=(AsofLookup(DIMENSIONS, on={"id": "id"}, alias="events"),)), "lookup alias 'events' is also a column or stream"),
        (lambda: _feature_set(lookups=("l",)), "lookups item 'l' is not an AsofLookup"),
        (lambda: _feature_set(features=("v",)), "features item 'v' is not a Feature"),
        (lambda: _feature_set(passthrough="id"), "passthrough='id' must be a tuple"),
        (lambda: _feature_set(source="events"), "is not a Stream"),
    ],
)
def test_bad_feature_set_input_rejected(build: Callable[[], object], message: str) -> None:
    with pytest.raises(FeatureDefinitionError, match=re.escape(message)):
        build()


def test_on_key_not_a_name_rejected() -> None:
    with pytest.raises(InvalidIdentifierError, match="Invalid column name 5"):
        AsofLookup(DIMENSIONS, on={"id": 5}, alias="l")


def test_alias_of_nullable_column_part_rejected() -> None:
    """In chDB, `v.null` with a nullable column `v` in the query reads the null map, 0, not the lookup's `null`."""
    dims = Stream("dims", (Column("id", "string"), Column("null", "float64"), Column("u", "datetime64(3)")), event_time="u")
    with pytest.raises(FeatureDefinitionError, match="lookup alias 'x' is also a column"):
        _feature_set(features=(Feature("v", "float64", Col("null", source="x")),), lookups=(AsofLookup(dims, on={"id": "id"}, alias="x"),))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: _feature_set(name="events"), "the name 'events' is given to two different streams or views"),
        (lambda: _feature_set(name="dims", lookups=(AsofLookup(DIMENSIONS, on={"id": "id"}, alias="l"),)), "the name 'dims'"),
        (lambda: _feature_set(name="agg", lookups=(AsofLookup(_aggregate(), on={"id": "id"}, alias="l"),)), "the name 'agg'"),
        (lambda: _feature_set(name="agg_mv", lookups=(AsofLookup(_aggregate(), on={"id": "id"}, alias="l"),)), "the name 'agg_mv'"),
        (lambda: _feature_set(lookups=(AsofLookup(OTHER_EVENTS, on={"id": "id"}, alias="l"),)), "the name 'events'"),
        (lambda: _aggregate(name="events"), "would take the name of its source 'events'"),
        (lambda: _aggregate(source=Stream("agg_mv", EVENTS.columns, event_time="t")), "would take the name of its source 'agg_mv'"),
        (lambda: _aggregate(name="w" * 253), "Invalid materialized view name"),
        (lambda: _feature_set(name="f" * 253), "Invalid materialized view name"),
    ],
)
def test_name_collisions_rejected(build: Callable[[], object], message: str) -> None:
    with pytest.raises((FeatureDefinitionError, InvalidIdentifierError), match=message):
        build()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: _aggregate(window="1m"), "window='1m' is not a Tumble or a Hop"),
        (lambda: _aggregate(emit="AFTER WINDOW CLOSE"), "is not an EmitPolicy"),
        (lambda: _aggregate(source="events"), "source='events' is not a Stream"),
        (lambda: _aggregate(keys="id"), "keys='id' must be a tuple"),
        (lambda: _aggregate(aggregates=("n",)), "'n' is not an aggregate"),
    ],
)
def test_bad_aggregate_part_rejected(build: Callable[[], object], message: str) -> None:
    with pytest.raises(FeatureDefinitionError, match=message):
        build()


@pytest.mark.parametrize("hidden", ["window_start", "window_end"])
def test_source_column_hidden_by_window_rejected(hidden: str) -> None:
    source = Stream("s", (Column("id", "string"), Column(hidden, "float64"), Column("t", "datetime64(3)")), event_time="t")
    with pytest.raises(FeatureDefinitionError, match="hidden by the window's own columns"):
        _aggregate(source=source, aggregates=(Mean("m", hidden),))


def test_shared_aggregate_is_one_cte_in_embedded_engine() -> None:
    aggregate = _aggregate(window=Tumble("10s"))
    feature_set = _feature_set(
        features=(Feature("n1", "uint64", Col("n", source="a")), Feature("n2", "uint64", Col("n", source="b"))),
        lookups=(
            AsofLookup(aggregate, on={"id": "id"}, alias="a"),
            AsofLookup(aggregate, on={"id": "id"}, alias="b"),
            AsofLookup(EVENTS, on={"id": "id"}, alias="c"),
        ),
    )
    assert feature_set.window_aggregates == (aggregate,)
    assert feature_set.source_streams() == (EVENTS,)
    with EmbeddedEngine() as engine:
        engine.create(EVENTS)
        times = pd.to_datetime(["2024-01-01 00:00:00", "2024-01-01 00:00:15"])
        engine.insert(EVENTS, pd.DataFrame({"id": ["1", "1"], "cat": ["a", "a"], "x": [1.0, 2.0], "t": times}))
        frame = engine.query(feature_set.select(historical=True))
    assert list(frame["n1"]) == list(frame["n2"]) == [0, 1]


BAD_SETTING_VALUES = {
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "None": None,
    "list": [1, "a'b"],
    "dict": {"a": 1},
    "object": object(),
    "bytes": b"x",
    "2**64": 2**64,
    "-2**63-1": -(2**63) - 1,
}


@pytest.mark.parametrize("value", BAD_SETTING_VALUES.values(), ids=BAD_SETTING_VALUES.keys())
def test_bad_stream_setting_rejected(value: object) -> None:
    with pytest.raises(FeatureDefinitionError, match="Stream 's': setting 'ttl_x' has the invalid value"):
        Stream("s", (Column("a", "float64"),), settings={"ttl_x": value})


@pytest.mark.parametrize("value", BAD_SETTING_VALUES.values(), ids=BAD_SETTING_VALUES.keys())
def test_bad_feature_set_setting_rejected(value: object) -> None:
    with pytest.raises(FeatureDefinitionError, match="FeatureSet 'feats': setting 'keep_versions' has the invalid value"):
        _feature_set(settings={"keep_versions": value})


@pytest.mark.parametrize("build", [lambda: Stream("s", (Column("a", "float64"),), settings=[("x", 1)]), lambda: _feature_set(settings="x=1")])
def test_settings_not_a_dict_rejected(build: Callable[[], object]) -> None:
    with pytest.raises(FeatureDefinitionError, match="must be a dict of setting name to value"):
        build()


@pytest.mark.parametrize(
    ("value", "rendered"),
    [(16, "16"), (True, "1"), (False, "0"), (0.5, "0.5"), (2**64 - 1, str(2**64 - 1)), ("it's \\", "'it''s \\\\'")],
)
def test_valid_setting_rendered(value: object, rendered: str) -> None:
    stream_sql = render(Stream("s", (Column("a", "float64"),), settings={"ttl_x": value}).create_statement(), pretty=False)
    query_sql = render(_feature_set(settings={"keep_versions": value}).select(historical=False), pretty=False)
    assert stream_sql.endswith(f"ttl_x = {rendered}")
    assert query_sql.endswith(f"SETTINGS keep_versions = {rendered}")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Encode("cat", "abc"), "categories='abc' must be a list or tuple of strings"),
        (lambda: Encode("cat", None), "categories=None must be a list or tuple of strings"),
        (lambda: Encode("cat", {"a", "b"}), "must be a list or tuple of strings in a fixed order"),
        (lambda: Encode("cat", ("a",), unknown=-(10**30)), "must be an integer from -2147483648 to 2147483647"),
        (lambda: Encode("cat", ("a",), unknown=2**31), "must be an integer from -2147483648 to 2147483647"),
        (lambda: Feature("c", "uint8", Encode("cat", ("a", "b"))), r"the Encode unknown, -1, does not fit type 'uint8' \(0 to 255\)"),
        (lambda: Feature("c", "nullable(int8)", Encode("cat", ("a",), unknown=-200)), "the Encode unknown, -200, does not fit"),
        (lambda: Feature("c", "int8", Encode("cat", tuple(str(i) for i in range(200)))), "the Encode position of the last category, 199"),
        (lambda: Ratio("x", "x", default="1; DROP"), "Ratio default: '1; DROP' is not a number"),
        (lambda: Ratio("x", "x", default=None), "Ratio default: None is not a number"),
        (lambda: Ratio("x", "x", default=True), "Ratio default: True is not a number"),
        (lambda: Ratio("x", "x", default=math.inf), "Ratio default: inf is not a finite number"),
        (lambda: Ratio("x", "x", default=10**40), "does not fit in 64 bits"),
        (lambda: _feature_set(features=(Feature("v", "float64", Impute("x", 10**40)),)), "Impute value: .* does not fit in 64 bits"),
    ],
)
def test_bad_expression_rejected(build: Callable[[], object], message: str) -> None:
    with pytest.raises(FeatureDefinitionError, match=message):
        build()


@pytest.mark.parametrize(
    "feature",
    [
        Feature("c", "uint8", Encode("cat", ("a", "b"), unknown=2)),
        Feature("c", "float64", Encode("cat", ("a",), unknown=-(2**31))),
        Feature("c", "float64", Ratio("x", "x", default=0)),
    ],
    ids=["uint8 with non-negative unknown", "float64 with int32 unknown", "int default"],
)
def test_valid_expression_kept(feature: Feature) -> None:
    assert isinstance(_feature_set(features=(feature,)).select(historical=True), exp.Select)
