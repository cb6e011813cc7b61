"""Map the bundled U.S. employment series (BLS, 2006-2015) onto the fraud example's three tables."""

from __future__ import annotations

import logging
from importlib import resources

import numpy as np
import pandas as pd

from pyproton_ml.examples.fraud.data import FraudExample
from pyproton_ml.examples.fraud.loading import conform_table

logger = logging.getLogger(__name__)

DATA_FILE = "us_employment.csv"

# The 15 series of the file that do not sum up other series, with the BLS group each belongs
# to. The aggregates (nonfarm, private, goods_producing, service_providing,
# private_service_providing, manufacturing, trade_transportation_utilties) and the derived
# nonfarm_change are left out, so that no employee is counted twice.
SECTOR_GROUPS: dict[str, str] = {
    "mining_and_logging": "goods_producing",
    "construction": "goods_producing",
    "durable_goods": "goods_producing",
    "nondurable_goods": "goods_producing",
    "wholesale_trade": "private_service_providing",
    "retail_trade": "private_service_providing",
    "transportation_and_warehousing": "private_service_providing",
    "utilities": "private_service_providing",
    "information": "private_service_providing",
    "financial_activities": "private_service_providing",
    "professional_and_business_services": "private_service_providing",
    "education_and_health_services": "private_service_providing",
    "leisure_and_hospitality": "private_service_providing",
    "other_services": "private_service_providing",
    "government": "government",
}

LARGE_MOVE_PERCENT = 1.0
"""An absolute month-over-month change at or above this percentage is labelled 1."""

RISK_WINDOW_MONTHS = 12
RISK_SCALE_PERCENT = 0.5
"""Volatility (in percent) at which the risk score reaches 1 - 1/e, about 0.63."""


def load_public_example() -> FraudExample:
    """Load the bundled real employment series as a `FraudExample` for replaying the pipeline.

    The data is real, but it is not about payments or fraud. The source file contains monthly,
    seasonally adjusted U.S. employment in thousands per BLS supersector, January 2006 to
    December 2015 (see README.md next to the file). The mapping:

    - payments: one row per month and supersector (1,800 rows). `card_id` and `merchant_id`
      are both the supersector column name, `merchant_category` is its BLS group
      (goods_producing, private_service_providing or government, which are not in
      `MERCHANT_CATEGORIES`), `amount` is employment in thousands, and `event_time` is
      midnight UTC on the first day of the month. Rows are sorted by month and then sector,
      so this data has no arrival jitter, and no amount is missing.
    - merchants: one row per supersector and month. `risk_score` is
      1 - exp(-s / 0.5), where s is the standard deviation of the month-over-month percent
      changes over the previous 12 months (at least 3, else 0), so a row never uses the
      month it is dated.
    - labels: derived, not fraud. `is_fraud` is 1 when employment moved by at least 1.0 %
      from the previous month (about 4 % of rows, most in mining and logging and in
      construction), with `fraud_pattern` 'amount_outlier'. The first month has no previous
      value and is labelled 0. `label_time` is the first day of the following month, a
      chosen delay rather than the BLS release date.
    """
    raw = _read_bundled_file()
    months = pd.to_datetime(raw["month"], format="%Y-%m-%d")
    levels = raw[list(SECTOR_GROUPS)].astype(np.float64).set_index(months)
    changes = levels.pct_change() * 100.0
    volatility = (
        changes.shift(1).rolling(RISK_WINDOW_MONTHS, min_periods=3).std().fillna(0.0)
    )
    risk = 1.0 - np.exp(-volatility / RISK_SCALE_PERCENT)

    long = pd.DataFrame(
        {
            "month": np.repeat(levels.index.to_numpy(), len(SECTOR_GROUPS)),
            "sector": np.tile(list(SECTOR_GROUPS), len(levels)),
            "amount": levels.to_numpy().ravel(),
            "change": changes.to_numpy().ravel(),
            "risk_score": risk.to_numpy().ravel(),
        }
    )
    category = long["sector"].map(SECTOR_GROUPS)
    event_id = long["sector"] + "-" + long["month"].dt.strftime("%Y-%m")
    large_move = (long["change"].abs() >= LARGE_MOVE_PERCENT).astype(np.uint8)

    source = f"bundled {DATA_FILE!r}"
    payments = conform_table(
        pd.DataFrame(
            {
                "event_id": event_id,
                "card_id": long["sector"],
                "merchant_id": long["sector"],
                "merchant_category": category,
                "amount": long["amount"],
                "event_time": long["month"],
            }
        ),
        "payments",
        source,
    )
    merchants = conform_table(
        pd.DataFrame(
            {
                "merchant_id": long["sector"],
                "merchant_category": category,
                "risk_score": long["risk_score"],
                "updated_at": long["month"],
            }
        )
        .sort_values(["merchant_id", "updated_at"], kind="stable")
        .reset_index(drop=True),
        "merchants",
        source,
    )
    labels = conform_table(
        pd.DataFrame(
            {
                "event_id": event_id,
                "is_fraud": large_move,
                "fraud_pattern": np.where(large_move == 1, "amount_outlier", ""),
                "label_time": long["month"] + pd.DateOffset(months=1),
            }
        ),
        "labels",
        source,
    )
    logger.info(
        "Loaded public example from %s: %d payments, %d labelled 1",
        DATA_FILE, len(payments), int(labels["is_fraud"].sum()),
    )
    return FraudExample(payments=payments, merchants=merchants, labels=labels)


def _read_bundled_file() -> pd.DataFrame:
    with resources.as_file(resources.files(__package__) / DATA_FILE) as path:
        return pd.read_csv(path)
