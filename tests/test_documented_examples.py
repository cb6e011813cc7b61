"""Examples shown in the documentation work as written."""

from __future__ import annotations

import http.client
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import orjson
import pytest
from sklearn.dummy import DummyClassifier

from pyproton_ml.examples.fraud.definitions import payment_features
from pyproton_ml.examples.fraud.pipeline import FUNCTION_NAME
from pyproton_ml.models.artifact import save_model
from pyproton_ml.models.metadata import ModelMetadata
from pyproton_ml.models.types import Argument
from pyproton_ml.serving.server import BackgroundServer, start_background_server

REPOSITORY = Path(__file__).resolve().parent.parent
UDF_README = REPOSITORY / "udfs" / "README.md"
KEY = "documented-example-key"


def fenced_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


@pytest.fixture(scope="module")
def example_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    """Serve a stand-in model with the example's signature, as `make demo` leaves it in udfs/models."""
    directory = tmp_path_factory.mktemp("models")
    arguments = [Argument(name, type_name) for name, type_name in payment_features.signature]
    estimator = DummyClassifier(strategy="prior").fit(np.zeros((4, len(arguments))), [0, 0, 0, 1])
    save_model(estimator, ModelMetadata(name="fraud", version="1", function_name=FUNCTION_NAME, arguments=arguments), directory)
    server = start_background_server(directory, auth_key=KEY)
    yield server
    server.stop()


def test_udf_readme_body_is_scored(example_server: BackgroundServer) -> None:
    text = UDF_README.read_text(encoding="utf-8")
    (body,) = fenced_blocks(text, "json")
    curl = next(block for block in fenced_blocks(text, "sh") if block.lstrip().startswith("curl"))
    words = shlex.split(curl.replace("\\\n", " "))
    headers = dict(words[index + 1].split(": ", 1) for index, word in enumerate(words) if word == "-H")
    url = urlsplit(words[-1])

    assert set(orjson.loads(body)) == set(payment_features.feature_names)
    assert url.path == f"/udf/{FUNCTION_NAME}"
    assert headers["X-API-Key"] == "$PYPROTON_ML_AUTH_KEY"

    address = urlsplit(example_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("POST", url.path, body=body.encode(), headers={**headers, "X-API-Key": KEY})
        response = connection.getresponse()
        reply = orjson.loads(response.read())
    finally:
        connection.close()

    assert response.status == 200, reply
    assert reply == {"result": [0.25, 0.25]}
