"""Replaying the example into Proton: the time shift, the cut to N payments and the insert order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from pyproton_ml.embedded.engine import EmbeddedEngine
from pyproton_ml.examples.fraud.data import FraudExample, generate_fraud_example
from pyproton_ml.examples.fraud.replay import WINDOW_SLIDE, first_payments, replay_example, shift_to_end_at
from pyproton_ml.examples.fraud.training import build_training_set

TIME_COLUMNS = {"payments": "event_time", "merchants": "updated_at", "labels": "label_time"}


@pytest.fixture(scope="module")
def example() -> FraudExample:
    return generate_fraud_example(seed=5, cards=200, merchants=30, days=2)


class RecordingClient:
    """Stands in for ProtonClient.insert, whose SQL and row conversion test_proton_client covers."""

    def __init__(self) -> None:
        self.inserts: list[tuple[str, pd.DataFrame, int]] = []

    def insert(self, stream: str, frame: pd.DataFrame, *, batch_rows: int) -> int:
        self.inserts.append((stream, frame, batch_rows))
        return len(frame)


@pytest.mark.parametrize(
    "end",
    [
        pd.Timestamp("2026-12-04 15:20:31.250"),
        datetime(2026, 12, 4, 16, 20, 31, 250000, tzinfo=timezone(timedelta(hours=1))),
        pd.Timestamp("2026-12-04 15:20:00"),
        pd.Timestamp("2020-06-01 00:00:59.999"),
    ],
    ids=["naive-utc", "aware-plus-one", "on-a-minute", "earlier-than-the-data"],
)
def test_last_payment_lands_within_one_slide_before_end(example: FraudExample, end: datetime) -> None:
    shifted, shift = shift_to_end_at(example, end)

    target = pd.Timestamp(end).tz_convert("UTC").tz_localize(None) if pd.Timestamp(end).tzinfo else pd.Timestamp(end)
    last = shifted.payments["event_time"].max()
    assert target - WINDOW_SLIDE < last <= target
    assert shift % WINDOW_SLIDE == pd.Timedelta(0)


def test_shift_moves_every_table_by_one_offset(example: FraudExample) -> None:
    shifted, shift = shift_to_end_at(example, pd.Timestamp("2026-12-04 15:20:31"))

    for name, time_column in TIME_COLUMNS.items():
        before, after = getattr(example, name), getattr(shifted, name)
        assert (after[time_column] - before[time_column] == shift).all(), name
        assert after.drop(columns=time_column).equals(before.drop(columns=time_column)), name
    assert example.payments["event_time"].max() < pd.Timestamp("2025-01-01"), "the input must not be modified"


def test_shift_keeps_window_features(example: FraudExample) -> None:
    """Features computed over the shifted events equal the originals, except the hour of the day."""
    shifted, shift = shift_to_end_at(example, pd.Timestamp("2026-12-04 15:20:31"))
    with EmbeddedEngine() as engine:
        original = build_training_set(engine, example)
    with EmbeddedEngine() as engine:
        moved = build_training_set(engine, shifted)

    original = original.sort_values("event_id").reset_index(drop=True)
    moved = moved.sort_values("event_id").reset_index(drop=True)
    assert (moved["event_time"] - original["event_time"] == shift).all()
    unchanged_columns = [name for name in original.columns if name not in ("event_time", "hour_of_day")]
    pd.testing.assert_frame_equal(moved[unchanged_columns], original[unchanged_columns])
    assert original["card_txn_count_10m"].max() > 1, "the example must exercise the window aggregates"


@pytest.mark.parametrize(
    ("end", "align", "message"),
    [
        (pd.Timestamp("2026-12-04"), pd.Timedelta(0), "Invalid alignment 0 days"),
        (pd.Timestamp("2026-12-04"), pd.Timedelta(seconds=-60), "Invalid alignment -1 days"),
    ],
)
def test_shift_rejects_bad_alignment(example: FraudExample, end: pd.Timestamp, align: pd.Timedelta, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        shift_to_end_at(example, end, align=align)


def test_shift_needs_a_payment_time(example: FraudExample) -> None:
    empty = FraudExample(payments=example.payments.iloc[:0], merchants=example.merchants, labels=example.labels.iloc[:0])
    no_times = FraudExample(
        payments=example.payments.iloc[:3].assign(event_time=pd.NaT), merchants=example.merchants, labels=example.labels
    )

    with pytest.raises(ValueError, match="no payments"):
        shift_to_end_at(empty, pd.Timestamp("2026-12-04"))
    with pytest.raises(ValueError, match="missing event_time"):
        shift_to_end_at(no_times, pd.Timestamp("2026-12-04"))


@pytest.mark.parametrize("count", [1, 17, None])
def test_first_payments_keeps_their_labels_and_all_merchants(example: FraudExample, count: int | None) -> None:
    cut = first_payments(example, count)

    expected = len(example.payments) if count is None else count
    assert len(cut.payments) == expected
    assert cut.payments["event_id"].tolist() == example.payments["event_id"].iloc[:expected].tolist()
    assert set(cut.labels["event_id"]) == set(example.labels["event_id"]) & set(cut.payments["event_id"])
    assert cut.merchants is example.merchants


@pytest.mark.parametrize("count", [0, -3])
def test_first_payments_rejects_non_positive_count(example: FraudExample, count: int) -> None:
    with pytest.raises(ValueError, match=f"Invalid payment count {count}"):
        first_payments(example, count)


def test_replay_inserts_merchants_first_and_ends_now(example: FraudExample) -> None:
    client = RecordingClient()
    before = datetime.now(timezone.utc).replace(tzinfo=None)

    summary = replay_example(client, example, batch_rows=250, count=40)  # type: ignore[arg-type]

    after = datetime.now(timezone.utc).replace(tzinfo=None)
    assert [stream for stream, _, _ in client.inserts] == ["merchants", "payments", "payment_labels"]
    assert all(batch_rows == 250 for _, _, batch_rows in client.inserts)
    payments = client.inserts[1][1]
    assert len(payments) == summary.payments == 40
    assert pd.Timestamp(before) - WINDOW_SLIDE < payments["event_time"].max() <= pd.Timestamp(after)
    assert summary.merchants == len(example.merchants)
    assert summary.labels == len(client.inserts[2][1])


def test_replay_can_keep_times(example: FraudExample) -> None:
    client = RecordingClient()

    summary = replay_example(client, example, batch_rows=500, end_at_now=False)  # type: ignore[arg-type]

    assert summary.shift == pd.Timedelta(0)
    assert client.inserts[1][1]["event_time"].equals(example.payments["event_time"])
