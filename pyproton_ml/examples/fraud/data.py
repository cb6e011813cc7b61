"""Generate the synthetic card-payment fraud example: payments, versioned merchants and delayed labels.

The generator is deterministic for a seed and vectorized except for the per-merchant risk
history. The default size (about 28,000 payments over 7 days) took about 0.06 s on the
2-core development machine. Every rate and amount below is a modelling choice for a
plausible demo, not a statistic measured on real card data.
"""

from __future__ import annotations

import datetime as dt
import logging
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from pyproton_ml.errors import InputDataError

logger = logging.getLogger(__name__)

MERCHANT_CATEGORIES: tuple[str, ...] = (
    "grocery",
    "fuel",
    "restaurant",
    "online_retail",
    "travel",
    "electronics",
    "gambling",
    "pharmacy",
)
"""Merchant categories of the synthetic example, in a fixed order."""

FRAUD_PATTERNS: tuple[str, ...] = ("card_burst", "amount_outlier", "risky_merchant")
"""Values of `labels.fraud_pattern` for fraud rows. Legitimate rows have the empty string."""

ExampleFormat = Literal["csv", "parquet"]
EXAMPLE_FORMATS: tuple[str, ...] = ("csv", "parquet")
EXAMPLE_TABLES: tuple[str, ...] = ("payments", "merchants", "labels")


@dataclass(frozen=True)
class FraudExample:
    """The three tables of the fraud example, with columns and dtypes as the loaders check them."""

    payments: pd.DataFrame
    merchants: pd.DataFrame
    labels: pd.DataFrame


@dataclass(frozen=True)
class _CategoryProfile:
    median_amount: float  # in currency units
    sigma: float  # of log(amount)
    share: float  # fraction of all legitimate payments


_PROFILES: dict[str, _CategoryProfile] = {
    "grocery": _CategoryProfile(35.0, 0.6, 0.26),
    "fuel": _CategoryProfile(45.0, 0.35, 0.14),
    "restaurant": _CategoryProfile(28.0, 0.55, 0.20),
    "online_retail": _CategoryProfile(55.0, 0.9, 0.16),
    "travel": _CategoryProfile(320.0, 0.8, 0.04),
    "electronics": _CategoryProfile(180.0, 0.8, 0.06),
    "gambling": _CategoryProfile(60.0, 1.0, 0.03),
    "pharmacy": _CategoryProfile(25.0, 0.6, 0.11),
}
_MEDIANS = np.array([_PROFILES[c].median_amount for c in MERCHANT_CATEGORIES])
_SIGMAS = np.array([_PROFILES[c].sigma for c in MERCHANT_CATEGORIES])
_SHARES = np.array([_PROFILES[c].share for c in MERCHANT_CATEGORIES])
_BURST_CATEGORIES = np.array(
    [MERCHANT_CATEGORIES.index("online_retail"), MERCHANT_CATEGORIES.index("electronics")]
)

# Relative card activity per hour of the day (UTC): quiet at night, peaks at lunch and evening.
_HOURLY_WEIGHTS = np.array(
    [0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.0, 1.5, 1.7, 1.8, 2.2,
     2.8, 2.5, 1.9, 1.8, 2.0, 2.4, 2.9, 3.0, 2.6, 1.9, 1.2, 0.6]
)  # fmt: skip
_HOURLY_PROBS = _HOURLY_WEIGHTS / _HOURLY_WEIGHTS.sum()

_SECONDS_PER_DAY = 86_400.0
_MEAN_PAYMENTS_PER_CARD_DAY = 2.0
_FRAUD_RATE = 0.02  # target share of fraud among all payments
_PATTERN_SHARES = {"card_burst": 0.45, "amount_outlier": 0.25, "risky_merchant": 0.30}
_TAIL_PROBABILITY = 0.03  # legitimate payments drawn from the Pareto tail
_LATE_ARRIVAL_PROBABILITY = 0.06  # payments delayed by 2 s to 10 min on arrival
_MISSING_AMOUNT_PROBABILITY = 0.015
_RISKY_MERCHANT_SHARE = 0.05
_RISKY_SCORE_FLOOR = 0.75  # minimum score of a merchant after it turned risky
_HISTORY_BEFORE_START = pd.Timedelta(days=30)


def generate_fraud_example(
    seed: int = 7,
    cards: int = 2_000,
    merchants: int = 300,
    days: int = 7,
    start: str | dt.datetime | pd.Timestamp = "2024-01-01",
) -> FraudExample:
    """Generate payments, a versioned merchant table and delayed labels for a fraud demo.

    Legitimate payments follow per-card habits (activity rate, category preferences and a
    spending scale), per-category lognormal amounts with a Pareto tail, and a diurnal cycle.
    About 2 % of payments are fraud, in three labelled patterns:

    - `card_burst`: 4 to 12 payments on one card within minutes, mostly online retail and
      electronics.
    - `amount_outlier`: 10 to 30 times the category median.
    - `risky_merchant`: at a merchant after its risk score turned high (0.75 or more).

    Rows are in arrival order: about 6 % of payments arrive 2 s to
    10 min late, so `event_time` is not sorted. About 1.5 % of amounts are missing (NaN),
    never on `amount_outlier` rows. Labels arrive 1 hour to 14 days after the payment.

    `start` is the first possible payment time, read as UTC when naive. `merchants` must be
    at least the number of categories so that every category has a merchant. Raises
    `InputDataError` for an invalid argument.
    """
    start_time = _validate_arguments(seed, cards, merchants, days, start)
    logger.info(
        "Generating fraud example: seed=%d cards=%d merchants=%d days=%d start=%s",
        seed, cards, merchants, days, start_time,
    )
    rng = np.random.default_rng(seed)
    span = days * _SECONDS_PER_DAY

    merchant_table, merchant_category, risky_since = _make_merchants(rng, merchants, span)
    card_cumulative, card_scale, card_rate = _make_cards(rng, cards)
    legit = _legitimate_payments(
        rng, card_cumulative, card_scale, card_rate, merchant_table, merchant_category, days
    )
    fraud_total = max(3, round(len(legit["time"]) * _FRAUD_RATE / (1.0 - _FRAUD_RATE)))
    parts = [
        legit,
        _burst_payments(rng, fraud_total, cards, merchant_table, merchant_category, span),
        _outlier_payments(rng, fraud_total, card_cumulative, card_scale, merchant_table,
                          merchant_category, span),
        _risky_payments(rng, fraud_total, cards, card_scale, merchant_category, risky_since, span),
    ]  # fmt: skip
    payments = {key: np.concatenate([part[key] for part in parts]) for key in legit}

    example = _assemble(rng, payments, merchant_table, merchant_category, start_time, span)
    logger.info(
        "Generated fraud example: %d payments, %d fraud, %d merchant rows",
        len(example.payments), int(example.labels["is_fraud"].sum()), len(example.merchants),
    )
    return example


def write_example(
    example: FraudExample, directory: str | Path, format: ExampleFormat = "csv"
) -> dict[str, Path]:
    """Write the three tables as `payments`, `merchants` and `labels` files in `directory`.

    Creates the directory if needed and overwrites existing files. Returns the path of each
    table by name. `pyproton_ml.examples.fraud.loading.read_example` reads them back.
    """
    if format not in EXAMPLE_FORMATS:
        raise InputDataError(
            f"Invalid example format {format!r}. Expected one of {EXAMPLE_FORMATS}. "
            "Pass format='csv' or format='parquet'."
        )
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in EXAMPLE_TABLES:
        frame: pd.DataFrame = getattr(example, name)
        path = target / f"{name}.{format}"
        if format == "csv":
            # ISO 8601 with milliseconds, so the CSV keeps the full datetime64[ms] precision.
            frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%f")
        else:
            frame.to_parquet(path, index=False)
        paths[name] = path
    logger.info("Wrote fraud example as %s to %s", format, target)
    return paths


def _validate_arguments(
    seed: object, cards: object, merchants: object, days: object, start: object
) -> pd.Timestamp:
    for name, value, minimum in (
        ("seed", seed, 0),
        ("cards", cards, 1),
        ("merchants", merchants, len(MERCHANT_CATEGORIES)),
        ("days", days, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise InputDataError(
                f"Invalid {name}={value!r:.80}. Expected an integer >= {minimum}. "
                f"Pass a larger whole number for {name}."
            )
    try:
        timestamp = pd.Timestamp(start)  # type: ignore[arg-type]
    except (TypeError, ValueError) as error:
        raise InputDataError(
            f"Invalid start={start!r:.80}: it is not a timestamp ({error}). "
            "Pass an ISO 8601 string such as '2024-01-01' or a datetime."
        ) from error
    if pd.isna(timestamp):
        raise InputDataError(
            f"Invalid start={start!r:.80}: it is missing. Pass an ISO 8601 string or a datetime."
        )
    if timestamp.tzinfo is not None:
        timestamp = timestamp.tz_convert("UTC").tz_localize(None)
    return timestamp.as_unit("ms")


def _pick_merchants(
    rng: np.random.Generator,
    categories: np.ndarray,
    merchant_category: np.ndarray,
    popularity: np.ndarray,
) -> np.ndarray:
    """Pick one merchant per payment within the payment's category, weighted by popularity."""
    chosen = np.empty(len(categories), dtype=np.int64)
    for category in np.unique(categories):
        members = np.flatnonzero(merchant_category == category)
        weights = popularity[members] / popularity[members].sum()
        rows = np.flatnonzero(categories == category)
        chosen[rows] = rng.choice(members, size=len(rows), p=weights)
    return chosen


def _make_merchants(
    rng: np.random.Generator, count: int, span: float
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Return the merchant history rows, each merchant's category and the time it turned risky.

    History times are seconds from the start. The first row of every merchant is 30 days
    before the start. A few merchants turn risky at a time in the middle of the span
    (`risky_since`, NaN for the others), when their score jumps to 0.80 to 0.97. Later
    reviews of those merchants keep the score at or above 0.75.
    """
    # The first merchants cover every category once, so each category has a merchant.
    category = np.concatenate(
        [np.arange(len(MERCHANT_CATEGORIES)),
         rng.choice(len(MERCHANT_CATEGORIES), size=count - len(MERCHANT_CATEGORIES), p=_SHARES)]
    )  # fmt: skip
    popularity = rng.lognormal(0.0, 1.0, size=count)
    risky_count = max(1, round(count * _RISKY_MERCHANT_SHARE))
    risky = rng.choice(count, size=risky_count, replace=False)
    risky_since = np.full(count, np.nan)
    risky_since[risky] = rng.uniform(0.2 * span, 0.6 * span, size=risky_count)

    merchant_rows: list[int] = []
    times: list[float] = []
    scores: list[float] = []
    for merchant in range(count):
        score = float(rng.beta(1.2, 10.0))
        merchant_rows.append(merchant)
        times.append(-_HISTORY_BEFORE_START.total_seconds())
        scores.append(score)
        review_times = list(rng.uniform(0.0, span, size=rng.poisson(1.5)))
        if not np.isnan(risky_since[merchant]):
            review_times.append(float(risky_since[merchant]))
        floor = 0.0
        for time in sorted(review_times):
            if time == risky_since[merchant]:
                score = float(rng.uniform(0.80, 0.97))
                floor = _RISKY_SCORE_FLOOR
            else:
                score = float(np.clip(score + rng.normal(0.0, 0.03), floor, 1.0))
            merchant_rows.append(merchant)
            times.append(time)
            scores.append(score)

    history = {
        "merchant": np.array(merchant_rows),
        "time": np.array(times),
        "risk_score": np.array(scores),
        "popularity": popularity,
    }
    return history, category, risky_since


def _make_cards(
    rng: np.random.Generator, count: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per-card cumulative category preferences, spending scale and payments per day."""
    preferences = rng.dirichlet(_SHARES * 6.0, size=count)
    cumulative = np.cumsum(preferences, axis=1)
    cumulative[:, -1] = 1.0
    scale = rng.lognormal(0.0, 0.35, size=count)
    rate = rng.gamma(2.0, _MEAN_PAYMENTS_PER_CARD_DAY / 2.0, size=count)
    return cumulative, scale, rate


def _category_amounts(
    rng: np.random.Generator, categories: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    amounts = scale * _MEDIANS[categories] * np.exp(_SIGMAS[categories] * rng.standard_normal(len(categories)))
    tail = rng.random(len(categories)) < _TAIL_PROBABILITY
    amounts[tail] *= 1.0 + rng.pareto(2.5, size=int(tail.sum()))
    return np.round(amounts, 2)


def _diurnal_times(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    hours = rng.choice(24, size=len(days), p=_HOURLY_PROBS)
    return days * _SECONDS_PER_DAY + (hours + rng.random(len(days))) * 3600.0


def _payments(
    card: np.ndarray, merchant: np.ndarray, amount: np.ndarray, time: np.ndarray, pattern: int
) -> dict[str, np.ndarray]:
    """Bundle payment columns. `pattern` is 0 for legitimate payments, else 1 + the FRAUD_PATTERNS index."""
    return {
        "card": card.astype(np.int64),
        "merchant": merchant.astype(np.int64),
        "amount": amount.astype(np.float64),
        "time": time.astype(np.float64),
        "pattern": np.full(len(time), pattern, dtype=np.int64),
    }


def _legitimate_payments(
    rng: np.random.Generator,
    card_cumulative: np.ndarray,
    card_scale: np.ndarray,
    card_rate: np.ndarray,
    merchant_history: dict[str, np.ndarray],
    merchant_category: np.ndarray,
    days: int,
) -> dict[str, np.ndarray]:
    per_card = rng.poisson(card_rate * days)
    card = np.repeat(np.arange(len(card_rate)), per_card)
    draws = rng.random(len(card))
    category = (draws[:, None] > card_cumulative[card]).sum(axis=1)
    merchant = _pick_merchants(rng, category, merchant_category, merchant_history["popularity"])
    amount = _category_amounts(rng, category, card_scale[card])
    time = _diurnal_times(rng, rng.integers(0, days, size=len(card)))
    return _payments(card, merchant, amount, time, 0)


def _burst_payments(
    rng: np.random.Generator,
    fraud_total: int,
    cards: int,
    merchant_history: dict[str, np.ndarray],
    merchant_category: np.ndarray,
    span: float,
) -> dict[str, np.ndarray]:
    """Bursts of 4 to 12 payments on one card, about 45 s apart, at any hour."""
    target = max(1, round(fraud_total * _PATTERN_SHARES["card_burst"]))
    sizes = rng.integers(4, 13, size=max(1, round(target / 8)))
    burst_card = rng.integers(0, cards, size=len(sizes))
    burst_start = rng.uniform(0.0, max(span - 3600.0, 1.0), size=len(sizes))
    card = np.repeat(burst_card, sizes)
    offsets = np.concatenate([np.cumsum(rng.exponential(45.0, size=size)) for size in sizes])
    time = np.minimum(np.repeat(burst_start, sizes) + offsets, span - 0.001)

    category = rng.choice(_BURST_CATEGORIES, size=len(card))
    elsewhere = rng.random(len(card)) < 0.25
    category[elsewhere] = rng.choice(len(MERCHANT_CATEGORIES), size=int(elsewhere.sum()), p=_SHARES)
    merchant = _pick_merchants(rng, category, merchant_category, merchant_history["popularity"])
    amount = _category_amounts(rng, category, np.full(len(card), 1.3))
    return _payments(card, merchant, amount, time, 1 + FRAUD_PATTERNS.index("card_burst"))


def _outlier_payments(
    rng: np.random.Generator,
    fraud_total: int,
    card_cumulative: np.ndarray,
    card_scale: np.ndarray,
    merchant_history: dict[str, np.ndarray],
    merchant_category: np.ndarray,
    span: float,
) -> dict[str, np.ndarray]:
    """Single payments of 10 to 30 times the category median, in the card's usual categories."""
    count = max(1, round(fraud_total * _PATTERN_SHARES["amount_outlier"]))
    card = rng.integers(0, len(card_scale), size=count)
    category = (rng.random(count)[:, None] > card_cumulative[card]).sum(axis=1)
    merchant = _pick_merchants(rng, category, merchant_category, merchant_history["popularity"])
    amount = np.round(_MEDIANS[category] * rng.uniform(10.0, 30.0, size=count), 2)
    time = rng.uniform(0.0, span, size=count)
    return _payments(card, merchant, amount, time, 1 + FRAUD_PATTERNS.index("amount_outlier"))


def _risky_payments(
    rng: np.random.Generator,
    fraud_total: int,
    cards: int,
    card_scale: np.ndarray,
    merchant_category: np.ndarray,
    risky_since: np.ndarray,
    span: float,
) -> dict[str, np.ndarray]:
    """Payments at a risky merchant after its score turned high, with ordinary amounts."""
    count = max(1, round(fraud_total * _PATTERN_SHARES["risky_merchant"]))
    risky = np.flatnonzero(~np.isnan(risky_since))
    merchant = rng.choice(risky, size=count)
    card = rng.integers(0, cards, size=count)
    time = rng.uniform(risky_since[merchant], span)
    amount = _category_amounts(rng, merchant_category[merchant], card_scale[card])
    return _payments(card, merchant, amount, time, 1 + FRAUD_PATTERNS.index("risky_merchant"))


def _to_datetime(start: pd.Timestamp, seconds: np.ndarray) -> np.ndarray:
    milliseconds = np.round(seconds * 1000.0).astype(np.int64).astype("timedelta64[ms]")
    return np.datetime64(start.to_datetime64(), "ms") + milliseconds


def _assemble(
    rng: np.random.Generator,
    payments: dict[str, np.ndarray],
    merchant_history: dict[str, np.ndarray],
    merchant_category: np.ndarray,
    start: pd.Timestamp,
    span: float,
) -> FraudExample:
    """Order payments by arrival, add missing amounts and ids, and build the three frames."""
    count = len(payments["time"])
    delay = rng.exponential(0.3, size=count)
    late = rng.random(count) < _LATE_ARRIVAL_PROBABILITY
    delay[late] = np.exp(rng.uniform(np.log(2.0), np.log(600.0), size=int(late.sum())))
    order = np.argsort(payments["time"] + delay, kind="stable")
    columns = {key: values[order] for key, values in payments.items()}

    amount = columns["amount"].copy()
    outlier = columns["pattern"] == 1 + FRAUD_PATTERNS.index("amount_outlier")
    amount[(rng.random(count) < _MISSING_AMOUNT_PROBABILITY) & ~outlier] = np.nan

    event_id = pd.array([f"E{i:08d}" for i in range(count)], dtype="str")
    merchant = columns["merchant"]
    event_time = _to_datetime(start, columns["time"])
    payment_frame = pd.DataFrame(
        {
            "event_id": event_id,
            "card_id": pd.array([f"C{i:06d}" for i in columns["card"]], dtype="str"),
            "merchant_id": pd.array([f"M{i:05d}" for i in merchant], dtype="str"),
            "merchant_category": pd.array(
                np.array(MERCHANT_CATEGORIES)[merchant_category[merchant]], dtype="str"
            ),
            "amount": amount,
            "event_time": event_time,
        }
    )

    history_merchant = merchant_history["merchant"]
    merchant_frame = pd.DataFrame(
        {
            "merchant_id": pd.array([f"M{i:05d}" for i in history_merchant], dtype="str"),
            "merchant_category": pd.array(
                np.array(MERCHANT_CATEGORIES)[merchant_category[history_merchant]], dtype="str"
            ),
            "risk_score": np.round(merchant_history["risk_score"], 4),
            "updated_at": _to_datetime(start, merchant_history["time"]),
        }
    )

    is_fraud = (columns["pattern"] > 0).astype(np.uint8)
    pattern_names = np.array(("",) + FRAUD_PATTERNS)[columns["pattern"]]
    median_hours = np.where(is_fraud == 1, 36.0, 48.0)
    label_delay = np.clip(median_hours * rng.lognormal(0.0, 0.8, size=count), 1.0, 14 * 24.0)
    label_frame = pd.DataFrame(
        {
            "event_id": event_id,
            "is_fraud": is_fraud,
            "fraud_pattern": pd.array(pattern_names, dtype="str"),
            "label_time": _to_datetime(start, columns["time"] + label_delay * 3600.0),
        }
    )
    label_frame = label_frame.sort_values("label_time", kind="stable", ignore_index=True)
    return FraudExample(payment_frame, merchant_frame, label_frame)
