"""The bundled example as deployable parts: SQL files, the scoring view and the UDF signature."""

from __future__ import annotations

from pyproton_ml.examples.fraud.definitions import card_activity
from pyproton_ml.examples.fraud.definitions import labels
from pyproton_ml.examples.fraud.definitions import merchants
from pyproton_ml.examples.fraud.definitions import payment_features
from pyproton_ml.examples.fraud.definitions import payments
from pyproton_ml.scoring import ScoringView
from pyproton_ml.sql.render import Target
from pyproton_ml.sql_files import SqlFile

FUNCTION_NAME = "fraud_score"
MODEL_NAME = "card_fraud"

# The demo trains the example model deterministically and saves it as this
# version; the scoring view writes the same string into each score row.
MODEL_VERSION = "1"

payment_scores = ScoringView(
    "payment_scores",
    features=payment_features,
    function_name=FUNCTION_NAME,
    model_version=MODEL_VERSION,
    keys=("event_id", "card_id"),
)

REGENERATE_COMMAND = "pyproton-ml example generate"


def sql_files() -> list[SqlFile]:
    """The example's SQL, in the order ``pyproton-ml apply`` runs it.

    The remote function is registered separately (``pyproton-ml register``)
    because its statement carries the auth key, which must not be committed;
    register it before applying ``040_payment_scores.sql``.
    """
    return [
        SqlFile(
            "010_sources.sql",
            [payments.create_statement(), merchants.create_statement(), labels.create_statement()],
        ),
        SqlFile("020_card_activity.sql", card_activity.statements()),
        SqlFile("030_payment_features.sql", payment_features.statements()[-2:]),
        SqlFile("040_payment_scores.sql", payment_scores.statements()),
        SqlFile("historical/training_set.proton.sql", [payment_features.select(historical=True)]),
        SqlFile(
            "historical/training_set.clickhouse.sql",
            [payment_features.select(historical=True)],
            target=Target.CLICKHOUSE,
        ),
    ]
