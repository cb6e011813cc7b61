"""The generated historical SQL executes in chDB and computes what the definitions say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pyproton_ml.embedded import EmbeddedEngine
from pyproton_ml.errors import InputDataError
from pyproton_ml.examples.fraud import definitions
from pyproton_ml.examples.fraud.data import generate_fraud_example
from pyproton_ml.features import Column
from pyproton_ml.features import Encode
from pyproton_ml.features import Feature
from pyproton_ml.features import FeatureSet
from pyproton_ml.features import Stream

REPO = Path(__file__).resolve().parent.parent
SLIDE_MS, SIZE_MS, DELAY_MS = 60_000, 600_000, 10_000


@pytest.fixture(scope="module")
def dense_example() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Few cards with many payments each, so that most events see a recent window."""
    rng = np.random.default_rng(3)
    rows = 1500
    start = pd.Timestamp("2024-03-01 08:00:00")
    payments = pd.DataFrame(
        {
            "event_id": [f"p{i}" for i in range(rows)],
            "card_id": rng.choice(["c1", "c2", "c3", "c4"], rows),
            "merchant_id": rng.choice(["m1", "m2", "m3"], rows),
            "merchant_category": rng.choice(list(definitions.MERCHANT_CATEGORIES) + ["unknown_kind"], rows),
            "amount": np.where(rng.random(rows) < 0.05, np.nan, rng.lognormal(3, 1, rows)),
            "event_time": (start + pd.to_timedelta(rng.integers(0, 3 * 3600 * 1000, rows), unit="ms")).astype("datetime64[ms]"),
        }
    )
    merchants = pd.DataFrame(
        {
            "merchant_id": ["m1", "m2", "m3", "m1", "m2"],
            "merchant_category": ["grocery", "travel", "gambling", "grocery", "travel"],
            "risk_score": [0.1, 0.2, 0.3, 0.9, 0.5],
            "updated_at": pd.to_datetime(
                ["2024-03-01 07:00", "2024-03-01 07:00", "2024-03-01 07:00", "2024-03-01 09:30", "2024-03-01 10:00"]
            ).astype("datetime64[ms]"),
        }
    )
    return payments, merchants


@pytest.fixture(scope="module")
def features(dense_example: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    payments, merchants = dense_example
    with EmbeddedEngine() as engine:
        for stream in definitions.payment_features.source_streams():
            engine.create(stream)
        engine.insert(definitions.payments, payments)
        engine.insert(definitions.merchants, merchants)
        return engine.query(definitions.payment_features.select(historical=True))


def _window_rows(payments: pd.DataFrame, card: str, event_time: pd.Timestamp) -> pd.DataFrame:
    """Brute force: the payments of the latest 10-minute window visible at ``event_time``."""
    millis = event_time.value // 1_000_000
    window_end = ((millis - DELAY_MS) // SLIDE_MS) * SLIDE_MS
    times = payments["event_time"].astype("int64")
    return payments[(payments["card_id"] == card) & (times >= window_end - SIZE_MS) & (times < window_end)]


def test_features_one_row_per_payment(features: pd.DataFrame, dense_example: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    payments, _ = dense_example
    assert len(features) == len(payments)
    assert list(features.columns) == list(definitions.payment_features.output.column_names)


def test_hop_window_matches_brute_force(features: pd.DataFrame, dense_example: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    payments, _ = dense_example
    counts, means, maxima = [], [], []
    for row in features.itertuples():
        window = _window_rows(payments, row.card_id, pd.Timestamp(row.event_time))
        counts.append(len(window))
        amounts = window["amount"].dropna()
        means.append(amounts.mean() if len(amounts) else 0.0)
        maxima.append(amounts.max() if len(amounts) else 0.0)

    assert sum(count > 0 for count in counts) > len(counts) // 2
    np.testing.assert_array_equal(features["card_txn_count_10m"].to_numpy(), np.array(counts))
    np.testing.assert_allclose(features["card_amount_mean_10m"].to_numpy(), np.array(means))
    np.testing.assert_allclose(features["card_amount_max_10m"].to_numpy(), np.array(maxima))


def test_asof_merchant_risk_at_event_time(features: pd.DataFrame, dense_example: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, merchants = dense_example
    expected = []
    for row in features.itertuples():
        history = merchants[(merchants["merchant_id"] == row.merchant_id) & (merchants["updated_at"] <= row.event_time)]
        expected.append(history.sort_values("updated_at")["risk_score"].iloc[-1])
    np.testing.assert_allclose(features["merchant_risk_score"].to_numpy(), np.array(expected))


def test_preprocessing_imputes_and_encodes(features: pd.DataFrame, dense_example: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    payments, _ = dense_example
    joined = features.merge(payments, on="event_id", suffixes=("", "_raw"))
    missing = joined["amount_raw"].isna()
    assert missing.any()
    assert (joined.loc[missing, "amount"] == 0.0).all()
    assert (joined["amount_missing"] == missing.astype("uint8")).all()

    positions = {category: index for index, category in enumerate(definitions.MERCHANT_CATEGORIES)}
    expected_codes = joined["merchant_category"].map(positions).fillna(-1).astype("int32")
    assert (joined["merchant_category_code"] == expected_codes).all()
    assert (joined["hour_of_day"] == joined["event_time"].dt.hour).all()


def test_committed_clickhouse_sql_executes() -> None:
    example = generate_fraud_example(cards=200, merchants=30, days=2)
    sql = (REPO / "sql" / "historical" / "training_set.clickhouse.sql").read_text(encoding="utf-8")
    with EmbeddedEngine() as engine:
        for stream in definitions.payment_features.source_streams():
            engine.create(stream)
        engine.insert(definitions.payments, example.payments)
        engine.insert(definitions.merchants, example.merchants)
        result = engine._run(sql.rstrip().rstrip(";"), output="DataFrame")
    assert len(result) == len(example.payments)


def test_hostile_category_matches_literally() -> None:
    stream = Stream("s", (Column("id", "string"), Column("c", "string"), Column("t", "datetime64(3)")), event_time="t")
    feature_set = FeatureSet(
        "f", stream, passthrough=("id",), features=(Feature("code", "int32", Encode("c", ("it's", "x' OR 1=1 --", "back\\slash"))),)
    )
    rows = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4"],
            "c": ["it's", "x' OR 1=1 --", "back\\slash", "x"],
            "t": pd.to_datetime(["2024-01-01"] * 4).astype("datetime64[ms]"),
        }
    )
    with EmbeddedEngine() as engine:
        engine.create(stream)
        engine.insert(stream, rows)
        result = engine.query(feature_set.select(historical=True)).sort_values("id")
    assert result["code"].tolist() == [0, 1, 2, -1]


def test_insert_missing_column_rejected() -> None:
    with EmbeddedEngine() as engine:
        engine.create(definitions.payments)
        with pytest.raises(InputDataError, match="lack columns \\['amount'"):
            engine.insert(definitions.payments, pd.DataFrame({"event_id": ["1"]}).assign(card_id="c", merchant_id="m", merchant_category="x", event_time=pd.Timestamp("2024-01-01")))


def test_engine_unusable_before_start() -> None:
    engine = EmbeddedEngine()
    with pytest.raises(RuntimeError, match="not started"):
        engine.query(definitions.payment_features.select(historical=True))


@pytest.mark.parametrize("name", ["true", "null", "not", "select", "index"])
def test_insert_quotes_keyword_columns(name: str) -> None:
    """A column named like a keyword keeps its values: unquoted, `true` stored 1.0 and `null` stored NULL."""
    stream = Stream(f"s_{name}", (Column("id", "string"), Column(name, "nullable(float64)"), Column("t", "datetime64(3)")), event_time="t")
    with EmbeddedEngine() as engine:
        engine.create(stream)
        inserted = engine.insert(stream, pd.DataFrame({"id": ["1"], name: [2.5], "t": pd.to_datetime(["2024-01-01"])}))
        rows = engine._run(f"SELECT * FROM s_{name}", output="DataFrame")

    assert inserted == 1
    assert rows[name].tolist() == [2.5]
