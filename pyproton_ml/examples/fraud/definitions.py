"""The bundled example's streams, features and model signature: card-payment fraud."""

from __future__ import annotations

from pyproton_ml.examples.fraud.data import MERCHANT_CATEGORIES as GENERATED_CATEGORIES
from pyproton_ml.features import AsofLookup
from pyproton_ml.features import Col
from pyproton_ml.features import Column
from pyproton_ml.features import Count
from pyproton_ml.features import EmitPolicy
from pyproton_ml.features import Encode
from pyproton_ml.features import Feature
from pyproton_ml.features import FeatureSet
from pyproton_ml.features import Hop
from pyproton_ml.features import HourOfDay
from pyproton_ml.features import Impute
from pyproton_ml.features import IsMissing
from pyproton_ml.features import Max
from pyproton_ml.features import Mean
from pyproton_ml.features import Ratio
from pyproton_ml.features import Stream
from pyproton_ml.features import WindowAggregate

# The encoding's category list is part of the feature definition, so training
# and serving share it. It is the generator's list of categories.
MERCHANT_CATEGORIES = GENERATED_CATEGORIES

payments = Stream(
    "payments",
    columns=(
        Column("event_id", "string"),
        Column("card_id", "string"),
        Column("merchant_id", "string"),
        Column("merchant_category", "string"),
        Column("amount", "nullable(float64)"),
        Column("event_time", "datetime64(3)"),
    ),
    event_time="event_time",
)

merchants = Stream(
    "merchants",
    columns=(
        Column("merchant_id", "string"),
        Column("merchant_category", "string"),
        Column("risk_score", "float64"),
        Column("updated_at", "datetime64(3)"),
    ),
    event_time="updated_at",
    mode="versioned_kv",
    primary_key=("merchant_id",),
)

labels = Stream(
    "payment_labels",
    columns=(
        Column("event_id", "string"),
        Column("is_fraud", "uint8"),
        Column("fraud_pattern", "string"),
        Column("label_time", "datetime64(3)"),
    ),
    event_time="label_time",
)

card_activity = WindowAggregate(
    "card_activity_10m",
    source=payments,
    keys=("card_id",),
    window=Hop(slide="1m", size="10m"),
    aggregates=(
        Count("txn_count_10m"),
        Mean("amount_mean_10m", "amount"),
        Max("amount_max_10m", "amount"),
    ),
    emit=EmitPolicy.after_window_close(delay="10s"),
)

payment_features = FeatureSet(
    "payment_features",
    source=payments,
    passthrough=("event_id", "card_id", "merchant_id"),
    lookups=(
        AsofLookup(card_activity, on={"card_id": "card_id"}, alias="a"),
        AsofLookup(merchants, on={"merchant_id": "merchant_id"}, alias="m"),
    ),
    features=(
        Feature("amount", "float64", Impute("amount", 0.0)),
        Feature("amount_missing", "uint8", IsMissing("amount")),
        Feature("merchant_category_code", "int32", Encode("merchant_category", MERCHANT_CATEGORIES)),
        Feature("hour_of_day", "uint8", HourOfDay("event_time")),
        Feature("card_txn_count_10m", "uint64", Col("txn_count_10m", source="a")),
        Feature("card_amount_mean_10m", "float64", Impute(Col("amount_mean_10m", source="a"), 0.0)),
        Feature("card_amount_max_10m", "float64", Impute(Col("amount_max_10m", source="a"), 0.0)),
        Feature(
            "amount_to_card_mean",
            "float64",
            Ratio(Impute("amount", 0.0), Impute(Col("amount_mean_10m", source="a"), 0.0)),
        ),
        Feature("merchant_risk_score", "float64", Col("risk_score", source="m")),
    ),
    # Versions of each merchant row kept for the ASOF join (Proton default: 3).
    settings={"keep_versions": 16},
)
