"""ProtonClient without a server: connection errors, INSERT text and row conversion."""

from __future__ import annotations

import datetime as dt
import logging
import math
import socket

import numpy as np
import pandas as pd
import pytest

from pyproton_ml.errors import InvalidIdentifierError, ProtonError
from pyproton_ml.proton import ProtonClient, insert_query
from pyproton_ml.proton.client import _frame_rows

PASSWORD = "proton-secret-pw"


@pytest.fixture
def closed_port() -> int:
    """Return a local port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unreachable(closed_port: int) -> ProtonClient:
    return ProtonClient(host="127.0.0.1", port=closed_port, password=PASSWORD, connect_timeout_s=2)


@pytest.mark.parametrize(
    "call",
    [
        lambda client: client.ping(),
        lambda client: client.execute("SELECT 1"),
        lambda client: client.apply(["CREATE STREAM s (a int8)"]),
        lambda client: client.insert("payments", pd.DataFrame({"a": [1]})),
        lambda client: client.tail("SELECT * FROM payments", limit=1, timeout_s=1),
    ],
)
def test_unreachable_server_raises(unreachable: ProtonClient, closed_port: int, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProtonError, match=rf"Proton at 127\.0\.0\.1:{closed_port} is unreachable.*code 210.*PYPROTON_ML_PROTON_HOST"):
        call(unreachable)


def test_unreachable_logs_without_traceback(unreachable: ProtonClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ProtonError):
        unreachable.apply(["CREATE REMOTE FUNCTION f(a float64) RETURNS float64 URL 'u' AUTH_KEY 'udf-key'"])

    driver_records = [record for record in caplog.records if record.name == "proton_driver.connection" and record.levelno >= logging.WARNING]
    assert driver_records, "proton-driver should still log the failed connection"
    assert all(record.exc_info is None for record in driver_records)
    assert "Traceback" not in caplog.text
    assert PASSWORD not in caplog.text
    assert "udf-key" not in caplog.text
    assert any(record.name == "pyproton_ml.proton.client" and record.levelno == logging.INFO for record in caplog.records)


def test_apply_logs_kind_and_name(unreachable: ProtonClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pyproton_ml")

    with pytest.raises(ProtonError, match=r"statement 1/1 \(CREATE STREAM payments\)"):
        unreachable.apply(["CREATE STREAM payments (a int8)"])

    info = [record.getMessage() for record in caplog.records if record.levelno == logging.INFO]
    assert "Applying statement 1/1: CREATE STREAM payments" in info
    assert not any("(a int8)" in message for message in info)


def test_client_constructor_does_no_io(closed_port: int) -> None:
    client = ProtonClient(host="127.0.0.1", port=closed_port)

    assert client.address == f"127.0.0.1:{closed_port}"
    client.close()


def test_insert_query_text() -> None:
    assert insert_query("payments", ["event_id", "amount"]) == "INSERT INTO payments (event_id, amount) VALUES"


@pytest.mark.parametrize(
    ("stream", "columns", "error", "match"),
    [
        ("pay ments", ["a"], InvalidIdentifierError, "Invalid stream name"),
        ("payments", ["a; DROP"], InvalidIdentifierError, "Invalid column name"),
        ("payments", [], ValueError, "no columns"),
    ],
)
def test_insert_query_rejects(stream: str, columns: list[str], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        insert_query(stream, columns)


def test_frame_rows_converts_values() -> None:
    frame = pd.DataFrame(
        {
            "card_id": ["c1", None],
            "amount": [np.float64(12.5), math.nan],
            "count": np.array([3, 4], dtype=np.int64),
            "event_time": pd.to_datetime(["2024-01-01 00:00:00.123", None]),
        }
    )

    rows = _frame_rows(frame)

    assert rows[0] == ("c1", 12.5, 3, dt.datetime(2024, 1, 1, 0, 0, 0, 123000))
    assert rows[1] == (None, None, 4, None)
    assert type(rows[0][1]) is float
    assert type(rows[0][2]) is int


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda client: client.insert("payments", pd.DataFrame({"a": [1]}), batch_rows=0), "batch_rows"),
        (lambda client: client.tail("SELECT 1", limit=0, timeout_s=1), "limit"),
        (lambda client: client.tail("SELECT 1", limit=1, timeout_s=0), "timeout_s"),
    ],
)
def test_client_rejects_bad_limits(unreachable: ProtonClient, call, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        call(unreachable)
