"""Send the example's events into Proton, moved in time so that they end now.

The generated week lies in January 2024, but live dashboards and streaming
windows look at the last minutes before ``now()``. A replay therefore shifts
every timestamp of the example (payment times, merchant updates and label
times) by one offset, chosen so that the last payment sent is stamped with the
current time. One offset for all three keeps every relative timing intact: the
ASOF join still matches the same merchant version for each payment, and each label
still arrives as long after its payment as it did before. Labels can then carry
times after ``now()``, as if they were known early; they are sent all the same.

The offset is a whole number of window slides (one minute for the example), so
that every payment falls into the same hop windows with the same neighbours and
the window aggregates do not change. Proton starts a payment's last hop window at
its time rounded down to a whole slide (``WindowImpl<HOP>`` in
``src/Functions/FunctionsStreamingWindow.cpp``, proton commit 185d6f88), so
windows are aligned to the epoch. The last payment therefore lands less than
one slide before now. The hour of the day does change: a replay started at 15:20
moves the example's last evening to the afternoon, and ``hour_of_day`` follows.
Pass ``end_at_now=False`` to send the times unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone

import pandas as pd

from pyproton_ml.examples.fraud.data import FraudExample
from pyproton_ml.examples.fraud.definitions import card_activity
from pyproton_ml.examples.fraud.definitions import labels as labels_stream
from pyproton_ml.examples.fraud.definitions import merchants as merchants_stream
from pyproton_ml.examples.fraud.definitions import payments as payments_stream
from pyproton_ml.proton.client import ProtonClient

logger = logging.getLogger(__name__)

# The time column of each table, shifted together.
_TIME_COLUMNS = {
    "payments": payments_stream.event_time,
    "merchants": merchants_stream.event_time,
    "labels": labels_stream.event_time,
}

# Shifts are whole multiples of this, so that window membership is kept.
WINDOW_SLIDE = pd.Timedelta(milliseconds=card_activity.window.slide_milliseconds)


@dataclass(frozen=True)
class ReplaySummary:
    """Row counts sent by a replay, and the offset added to its times."""

    payments: int
    merchants: int
    labels: int
    shift: pd.Timedelta


def first_payments(example: FraudExample, count: int | None) -> FraudExample:
    """Return the example cut to its first ``count`` payments in arrival order, with their labels.

    The merchant dimension is kept whole: a payment may be enriched by any version of it.
    """
    if count is None:
        return example
    if count < 1:
        raise ValueError(f"Invalid payment count {count!r}: expected a positive number, or None for all payments.")
    payments = example.payments.iloc[:count]
    labels = example.labels[example.labels["event_id"].isin(payments["event_id"])]
    return FraudExample(payments=payments, merchants=example.merchants, labels=labels)


def shift_to_end_at(
    example: FraudExample, end: datetime | pd.Timestamp, *, align: pd.Timedelta = WINDOW_SLIDE
) -> tuple[FraudExample, pd.Timedelta]:
    """Return a copy of the example with all times moved so that its last payment is just before ``end``.

    The offset is the largest whole multiple of ``align`` that does not move the
    last payment past ``end``. ``end`` is a UTC time; a naive value is read as
    UTC, like the example's own columns. Returns the shifted example and the offset.
    """
    if align <= pd.Timedelta(0):
        raise ValueError(f"Invalid alignment {align}: expected a positive duration, such as the window slide.")
    if example.payments.empty:
        raise ValueError("Cannot shift an example with no payments: there is no last payment to move to the end time.")
    target = pd.Timestamp(end)
    target = target.tz_convert("UTC").tz_localize(None) if target.tzinfo is not None else target
    last = example.payments[_TIME_COLUMNS["payments"]].max()
    if pd.isna(last):
        raise ValueError(f"Cannot shift the example: every payment has a missing {_TIME_COLUMNS['payments']}.")
    shift = ((target - last) // align) * align

    shifted = {}
    for name, time_column in _TIME_COLUMNS.items():
        frame = getattr(example, name).copy()
        frame[time_column] = frame[time_column] + shift
        shifted[name] = frame
    return FraudExample(**shifted), shift


def replay_example(
    client: ProtonClient,
    example: FraudExample,
    *,
    batch_rows: int,
    count: int | None = None,
    end_at_now: bool = True,
) -> ReplaySummary:
    """Insert the example's merchants, payments and labels, in that order, into their streams.

    Merchants go first so that the ASOF join finds a version for every payment.
    With ``end_at_now`` the times are shifted so that the last payment sent is now.
    """
    chosen = first_payments(example, count)
    shift = pd.Timedelta(0)
    if end_at_now:
        chosen, shift = shift_to_end_at(chosen, datetime.now(timezone.utc))
        logger.info("Shifted the example's times by %s so that its last payment is now", shift)

    sent_merchants = client.insert(
        merchants_stream.name, chosen.merchants.loc[:, list(merchants_stream.column_names)], batch_rows=batch_rows
    )
    sent_payments = client.insert(
        payments_stream.name, chosen.payments.loc[:, list(payments_stream.column_names)], batch_rows=batch_rows
    )
    sent_labels = client.insert(
        labels_stream.name, chosen.labels.loc[:, list(labels_stream.column_names)], batch_rows=batch_rows
    )
    return ReplaySummary(payments=sent_payments, merchants=sent_merchants, labels=sent_labels, shift=shift)
