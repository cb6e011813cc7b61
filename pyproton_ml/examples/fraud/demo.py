"""The main job: train the example model, serve it as a remote UDF and score payments.

Two modes share the training step, which always runs in the embedded engine:

- embedded (no Proton server): the real Flask app serves the model on
  127.0.0.1, and payments are scored over HTTP with the bodies and block sizes
  Proton would send;
- Proton: the SQL in ``sql/`` is applied, the UDF registered, events streamed
  in, and live scores read back from the scores stream.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_score
from sklearn.metrics import recall_score

from pyproton_ml.embedded.engine import EmbeddedEngine
from pyproton_ml.embedded.udf_client import RemoteUdfClient
from pyproton_ml.embedded.udf_client import blocks
from pyproton_ml.examples.fraud.data import FraudExample
from pyproton_ml.examples.fraud.definitions import payment_features
from pyproton_ml.examples.fraud.definitions import payments
from pyproton_ml.examples.fraud.pipeline import FUNCTION_NAME
from pyproton_ml.examples.fraud.pipeline import MODEL_VERSION
from pyproton_ml.examples.fraud.pipeline import payment_scores
from pyproton_ml.examples.fraud.replay import replay_example
from pyproton_ml.examples.fraud.training import LABEL
from pyproton_ml.examples.fraud.training import build_training_set
from pyproton_ml.examples.fraud.training import train_and_save
from pyproton_ml.models.artifact import METADATA_FILE
from pyproton_ml.models.artifact import load_model
from pyproton_ml.proton.client import ProtonClient
from pyproton_ml.proton.statements import read_sql_directory
from pyproton_ml.serving.config import DEFAULT_AUTH_HEADER
from pyproton_ml.serving.server import start_background_server
from pyproton_ml.registration import register_models
from pyproton_ml.sql.render import render

logger = logging.getLogger(__name__)

# Rows per request in embedded mode. A streaming materialized view calls the
# UDF once per ingest batch, so this mirrors an INSERT of 500 rows.
DEFAULT_BLOCK_SIZE = 500

Progress = Callable[[str, int], Callable[[int], None]]


def _no_progress(label: str, total: int) -> Callable[[int], None]:
    return lambda advance: None


@dataclass
class EmbeddedSummary:
    """Measurements of the embedded run."""

    training_rows: int
    scored_rows: int
    requests: int
    block_size: int
    seconds: float
    threshold: float
    precision: float
    recall: float
    max_score_difference: float
    model_metrics: dict[str, Any]
    model_path: Path

    @property
    def rows_per_second(self) -> float:
        return self.scored_rows / self.seconds if self.seconds else float("inf")


def run_embedded(
    example: FraudExample,
    models_dir: Path,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    progress: Progress = _no_progress,
    step: Callable[[str], None] = logger.info,
) -> EmbeddedSummary:
    """Train, serve on 127.0.0.1 and score the later time range through the UDF over HTTP."""
    step("Computing features in the embedded engine (chDB) from the historical query")
    with EmbeddedEngine() as engine:
        training_set = build_training_set(engine, example)

    step(f"Training on {len(training_set)} feature rows: the earlier 75 % of the time range trains, the later 25 % tests")
    replaced = (models_dir / FUNCTION_NAME / MODEL_VERSION / METADATA_FILE).exists()
    trained, model_path = train_and_save(training_set, models_dir)
    step(f"Saved the model to {model_path}" + (", replacing the earlier example model there" if replaced else ""))
    model = load_model(model_path)

    # A fresh key per run: the server requires it, and it never leaves this process.
    auth_key = secrets.token_urlsafe(32)
    server = start_background_server(models_dir, host="127.0.0.1", port=0, auth_key=auth_key)
    step(f"Serving {FUNCTION_NAME} at {server.url}/udf/{FUNCTION_NAME}")

    later = training_set[pd.to_datetime(training_set[payments.event_time]) >= trained.split_at]
    client = RemoteUdfClient(
        f"{server.url}/udf/{FUNCTION_NAME}",
        model.metadata.arguments,
        auth_header=DEFAULT_AUTH_HEADER,
        auth_key=auth_key,
    )
    scores = np.empty(len(later), dtype="float64")
    step(f"Scoring {len(later)} rows over HTTP, {block_size} rows per request")
    advance = progress("Scoring", len(later))
    started = time.perf_counter()
    try:
        position = 0
        for block in blocks(later, block_size):
            scores[position : position + len(block)] = client.score(block)
            position += len(block)
            advance(len(block))
    finally:
        seconds = time.perf_counter() - started
        client.close()
        server.stop()

    in_process = model.estimator.predict_proba(later[list(payment_features.feature_names)])[:, 1]
    truth = later[LABEL].astype(int).to_numpy()
    predicted = (scores >= trained.threshold).astype(int)
    return EmbeddedSummary(
        training_rows=trained.training_rows,
        scored_rows=len(later),
        requests=client.requests,
        block_size=block_size,
        seconds=seconds,
        threshold=trained.threshold,
        precision=float(precision_score(truth, predicted, zero_division=0)),
        recall=float(recall_score(truth, predicted, zero_division=0)),
        max_score_difference=float(np.max(np.abs(scores - in_process))) if len(scores) else 0.0,
        model_metrics=trained.metrics,
        model_path=model_path,
    )


@dataclass
class ProtonSummary:
    statements: int
    inserted_payments: int
    scores: list[tuple[Any, ...]]


def run_with_proton(
    client: ProtonClient,
    example: FraudExample,
    models_dir: Path,
    sql_dir: Path,
    *,
    udf_base_url: str,
    auth_key: str,
    auth_header: str = DEFAULT_AUTH_HEADER,
    batch_rows: int = DEFAULT_BLOCK_SIZE,
    tail_rows: int = 20,
    tail_timeout_s: float = 60.0,
    step: Callable[[str], None] = logger.info,
) -> ProtonSummary:
    """Register the UDF, apply ``sql_dir``, stream the example in and read scores back."""
    client.ping()
    version_dir = models_dir / FUNCTION_NAME
    if not any(version_dir.glob("*/model.joblib")):
        step("No trained model found; training it in the embedded engine first")
        with EmbeddedEngine() as engine:
            training_set = build_training_set(engine, example)
        train_and_save(training_set, models_dir)

    step(f"Registering {FUNCTION_NAME} with the UDF server at {udf_base_url}")
    register_models(
        client, models_dir, udf_base_url, auth_header=auth_header, auth_key=auth_key, function_names=[FUNCTION_NAME]
    )

    statements = read_sql_directory(sql_dir)
    step(f"Applying {len(statements)} statements from {sql_dir}")
    client.apply(statements)

    step("Streaming merchants, payments and labels into Proton, shifted so the last payment is now")
    sent = replay_example(client, example, batch_rows=batch_rows)

    step(f"Reading up to {tail_rows} live scores from {payment_scores.name}")
    query = payment_scores.output_query(seek_to="earliest", limit=None)
    rows = client.tail(render(query, pretty=False), limit=tail_rows, timeout_s=tail_timeout_s)
    return ProtonSummary(statements=len(statements), inserted_payments=sent.payments, scores=rows)
