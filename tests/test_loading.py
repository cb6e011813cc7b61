from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pyproton_ml.errors import InputDataError
from pyproton_ml.examples.fraud import datasets
from pyproton_ml.examples.fraud.data import FraudExample, generate_fraud_example, write_example
from pyproton_ml.examples.fraud.datasets import load_public_example
from pyproton_ml.examples.fraud.loading import (
    conform_table,
    load_labels,
    load_merchants,
    load_payments,
    read_example,
)

EXPECTED_COLUMNS = {
    "payments": ["event_id", "card_id", "merchant_id", "merchant_category", "amount", "event_time"],
    "merchants": ["merchant_id", "merchant_category", "risk_score", "updated_at"],
    "labels": ["event_id", "is_fraud", "fraud_pattern", "label_time"],
}
EXPECTED_DTYPES = {
    "payments": {"amount": "float64", "event_time": "datetime64[ms]"},
    "merchants": {"risk_score": "float64", "updated_at": "datetime64[ms]"},
    "labels": {"is_fraud": "uint8", "label_time": "datetime64[ms]"},
}
STRING_COLUMNS = {
    "payments": ["event_id", "card_id", "merchant_id", "merchant_category"],
    "merchants": ["merchant_id", "merchant_category"],
    "labels": ["event_id", "fraud_pattern"],
}
PAYMENTS_HEADER = "event_id,card_id,merchant_id,merchant_category,amount,event_time\n"
PAYMENT_ROW = "E1,C1,M1,grocery,12.50,2024-01-01 10:00:00\n"


@pytest.fixture(scope="module")
def example() -> FraudExample:
    return generate_fraud_example(seed=11, cards=200, merchants=20, days=2)


def assert_contract(frame: pd.DataFrame, table: str) -> None:
    for column in STRING_COLUMNS[table]:
        assert pd.api.types.is_string_dtype(frame[column].dtype), column
    for column, dtype in EXPECTED_DTYPES[table].items():
        assert frame[column].dtype == np.dtype(dtype), column
    assert list(frame.columns) == EXPECTED_COLUMNS[table]


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_read_example_round_trip(tmp_path: Path, example: FraudExample, format: str) -> None:
    write_example(example, tmp_path, format=format)  # type: ignore[arg-type]
    loaded = read_example(tmp_path, format=format)
    for table in ("payments", "merchants", "labels"):
        pd.testing.assert_frame_equal(getattr(loaded, table), getattr(example, table))


@pytest.mark.parametrize("format", ["csv", "parquet"])
def test_read_example_detects_format(tmp_path: Path, example: FraudExample, format: str) -> None:
    write_example(example, tmp_path, format=format)  # type: ignore[arg-type]
    loaded = read_example(tmp_path)
    pd.testing.assert_frame_equal(loaded.labels, example.labels)


def test_read_example_invalid_format(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match=r"Invalid example format 'xlsx'"):
        read_example(tmp_path, format="xlsx")


@pytest.mark.parametrize(
    ("loader", "table"),
    [(load_payments, "payments"), (load_merchants, "merchants"), (load_labels, "labels")],
)
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq", ".CSV"])
def test_load_table_by_suffix(
    tmp_path: Path, example: FraudExample, loader, table: str, suffix: str
) -> None:
    frame: pd.DataFrame = getattr(example, table)
    path = tmp_path / f"{table}{suffix}"
    if suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    loaded = loader(path)
    assert_contract(loaded, table)
    pd.testing.assert_frame_equal(loaded, frame)


def test_load_payments_coerces_csv(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "payments.csv",
        "event_time,event_id,card_id,merchant_id,merchant_category,amount,note\n"
        "2024-01-01T12:00:00+02:00,1,007,42,fuel,,x\n"
        "2024-01-01 10:30:00.250,2,008,42,fuel,3.5,y\n",
    )
    loaded = load_payments(path)
    assert_contract(loaded, "payments")
    assert loaded["event_id"].tolist() == ["1", "2"]
    assert loaded["card_id"].tolist() == ["007", "008"]
    assert np.isnan(loaded["amount"].iloc[0])
    assert loaded["event_time"].tolist() == [
        pd.Timestamp("2024-01-01 10:00:00"), pd.Timestamp("2024-01-01 10:30:00.250")
    ]  # fmt: skip


def test_load_payments_coerces_parquet(tmp_path: Path) -> None:
    path = tmp_path / "payments.parquet"
    pd.DataFrame(
        {
            "event_id": [10, 11],
            "card_id": [1.0, 2.0],
            "merchant_id": ["M1", "M2"],
            "merchant_category": ["travel", "fuel"],
            "amount": [1, 2],
            "event_time": pd.to_datetime(["2024-06-01 09:00", "2024-06-01 09:01"]).tz_localize(
                "Europe/Berlin"
            ),
        }
    ).to_parquet(path)
    loaded = load_payments(path)
    assert_contract(loaded, "payments")
    assert loaded["event_id"].tolist() == ["10", "11"]
    assert loaded["card_id"].tolist() == ["1", "2"]
    assert loaded["event_time"].iloc[0] == pd.Timestamp("2024-06-01 07:00")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["0", "1"], [0, 1]),
        (["true", "False"], [1, 0]),
        (["1.0", "0.0"], [1, 0]),
    ],
)
def test_load_labels_flag_strings(tmp_path: Path, values: list[str], expected: list[int]) -> None:
    rows = "".join(f"E{i},{value},2024-01-02\n" for i, value in enumerate(values))
    path = write_text(tmp_path / "labels.csv", "event_id,is_fraud,label_time\n" + rows)
    loaded = load_labels(path)
    assert_contract(loaded, "labels")
    assert loaded["is_fraud"].tolist() == expected
    assert loaded["fraud_pattern"].tolist() == ["", ""]


def test_load_labels_bool_parquet(tmp_path: Path) -> None:
    path = tmp_path / "labels.parquet"
    pd.DataFrame(
        {
            "event_id": ["a", "b"],
            "is_fraud": [True, False],
            "fraud_pattern": ["card_burst", None],
            "label_time": pd.to_datetime(["2024-01-02", "2024-01-03"]).as_unit("ns"),
        }
    ).to_parquet(path)
    loaded = load_labels(path)
    assert_contract(loaded, "labels")
    assert loaded["is_fraud"].tolist() == [1, 0]
    assert loaded["fraud_pattern"].tolist() == ["card_burst", ""]


BAD_CSV_CASES = [
    pytest.param(
        load_payments, "payments.csv",
        "event_id,card_id,merchant_id,merchant_category,event_time\nE1,C1,M1,fuel,2024-01-01\n",
        r"payments\.csv' is missing the required column\(s\) \['amount'\].*The payments table needs",
        id="missing-column",
    ),
    pytest.param(
        load_payments, "payments.csv", PAYMENTS_HEADER + PAYMENT_ROW + "E2,C1,M1,fuel,3,yesterday\n",
        r"column 'event_time' of '.*payments\.csv' at data row 2 \(line 3 of a CSV file with its header\).*'yesterday'.*ISO 8601",
        id="bad-timestamp",
    ),
    pytest.param(
        load_payments, "payments.csv", PAYMENTS_HEADER + PAYMENT_ROW + "E2,C1,M1,fuel,3,\n",
        r"column 'event_time' of '.*payments\.csv' at data row 2 \(line 3 of a CSV file with its header\).*Fill in event_time",
        id="missing-timestamp",
    ),
    pytest.param(
        load_payments, "payments.json", PAYMENTS_HEADER + PAYMENT_ROW,
        r"Unsupported file type '\.json' for '.*payments\.json'",
        id="unknown-suffix",
    ),
    pytest.param(
        load_payments, "payments.csv", "",
        r"File '.*payments\.csv' is empty \(0 bytes\)",
        id="empty-file",
    ),
    pytest.param(
        load_payments, "payments.csv", "\n\n",
        r"File '.*payments\.csv' has no header row",
        id="blank-lines",
    ),
    pytest.param(
        load_payments, "payments.csv", PAYMENTS_HEADER,
        r"'.*payments\.csv' has no rows",
        id="header-only",
    ),
    pytest.param(
        load_payments, "payments.csv", PAYMENTS_HEADER + PAYMENT_ROW + "E2,C1,M1,fuel,12;5,2024-01-01\n",
        r"column 'amount' of '.*payments\.csv' at data row 2 \(line 3 of a CSV file with its header\).*'12;5'",
        id="bad-amount",
    ),
    pytest.param(
        load_payments, "payments.csv", PAYMENTS_HEADER + PAYMENT_ROW + PAYMENT_ROW,
        r"column 'event_id' of '.*payments\.csv' at data row 2 \(line 3 of a CSV file with its header\).*'E1'.*only once",
        id="duplicate-event-id",
    ),
    pytest.param(
        load_payments, "payments.csv", PAYMENTS_HEADER + "E1,,M1,fuel,3,2024-01-01\n",
        r"column 'card_id' of '.*payments\.csv' at data row 1 \(line 2 .*\): an empty cell\.",
        id="missing-id",
    ),
    pytest.param(
        load_merchants, "merchants.csv",
        "merchant_id,merchant_category,risk_score,updated_at\nM1,fuel,0.2,2024-01-01\nM1,fuel,1.5,2024-01-02\n",
        r"column 'risk_score' of '.*merchants\.csv' at data row 2 \(line 3 of a CSV file with its header\): 1\.5\. Expected a number between 0 and 1",
        id="risk-out-of-range",
    ),
    pytest.param(
        load_merchants, "merchants.csv",
        "merchant_id,merchant_category,risk_score,updated_at\nM1,fuel,,2024-01-01\n",
        r"column 'risk_score' of '.*merchants\.csv' at data row 1 \(line 2 .*\): an empty cell\.",
        id="risk-missing",
    ),
    pytest.param(
        load_labels, "labels.csv", "event_id,is_fraud,label_time\nE1,0,2024-01-01\nE2,2,2024-01-01\n",
        r"column 'is_fraud' of '.*labels\.csv' at data row 2 \(line 3 of a CSV file with its header\).*'2'.*0 or 1",
        id="bad-flag",
    ),
    pytest.param(
        load_labels, "labels.csv", "event_id,is_fraud\nE1,0\n",
        r"labels\.csv' is missing the required column\(s\) \['label_time'\]",
        id="labels-missing-column",
    ),
    pytest.param(
        load_payments, "payments.parquet", "this is not parquet",
        r"File '.*payments\.parquet' could not be read as parquet",
        id="corrupt-parquet",
    ),
    pytest.param(
        load_merchants, "merchants.parquet", "",
        r"File '.*merchants\.parquet' is empty",
        id="empty-parquet",
    ),
    pytest.param(
        load_payments, "payments.csv", PAYMENTS_HEADER + "E1,C1,M1,grocery,12.50,2024-01-01 10:00:00,extra\n" + PAYMENT_ROW,
        r"^File '[^']*payments\.csv' has a row with more fields than its header \(first at line 2\)\. Remove the extra fields or add their column names\.$",
        id="extra-field-first-row",
    ),
    pytest.param(
        load_payments, "payments.csv", PAYMENTS_HEADER + PAYMENT_ROW + "E2,C1,M1,grocery,3,2024-01-01,x,y\n",
        r"payments\.csv' could not be read as csv: [^\n]*Expected 6 fields in line 3, saw 8\. Check that",
        id="extra-fields-later-row",
    ),
    pytest.param(
        load_payments, "payments.csv", PAYMENTS_HEADER + PAYMENT_ROW + "E2,C1,M1,fuel,inf,2024-01-01\n",
        r"'amount' .* at data row 2 .*: 'inf'\. Expected a finite number",
        id="infinite-amount",
    ),
    pytest.param(
        load_payments, "payments.csv", PAYMENTS_HEADER + PAYMENT_ROW + "E2,C1,M1,fuel,-1e999,2024-01-01\n",
        r"'amount' .* at data row 2 .*: '-1e999'\. Expected a finite number",
        id="overflowing-amount",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("loader", "name", "content", "match"), BAD_CSV_CASES)
def test_load_bad_input(tmp_path: Path, loader, name: str, content: str, match: str) -> None:
    path = write_text(tmp_path / name, content)
    with pytest.raises(InputDataError, match=match):
        loader(path)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputDataError, match=r"File '.*absent\.csv' was not found"):
        load_payments(tmp_path / "absent.csv")


@pytest.mark.parametrize(
    ("column", "values", "match"),
    [
        ("event_time", [1_700_000_000, 1_700_000_001], r"'event_time'.*not a number.*epoch"),
        ("card_id", [1.5, 2.0], r"'card_id'.*data row 1 .*: 1\.5\. Expected a string, or an integer id"),
        ("card_id", [True, False], r"'card_id'.*contains booleans"),
        ("card_id", [2.0**63, 1e30], r"'card_id'.*data row 1 .*: 9\.223372036854776e\+18\..*below 2\*\*53"),
        ("card_id", [1.0, 2.0**53], r"'card_id'.*data row 2 .*below 2\*\*53"),
        ("card_id", [1.0, float("inf")], r"'card_id'.*data row 2 .*: inf\."),
        ("card_id", [b"C1", b"\xff\xfe"], r"'card_id'.*data row 1 .*: b'C1'\. Expected text, not bytes"),
        ("merchant_category", [b"fuel", b"fuel"], r"'merchant_category'.*Expected text, not bytes"),
        ("amount", [1.0, float("inf")], r"'amount'.*data row 2 .*: inf\. Expected a finite number"),
        ("amount", [True, False], r"'amount'.*contains booleans"),
    ],
)
def test_load_bad_parquet_types(tmp_path: Path, column: str, values: list, match: str) -> None:
    frame = pd.DataFrame(
        {
            "event_id": ["E1", "E2"],
            "card_id": ["C1", "C2"],
            "merchant_id": ["M1", "M1"],
            "merchant_category": ["fuel", "fuel"],
            "amount": [1.0, 2.0],
            "event_time": pd.to_datetime(["2024-01-01", "2024-01-02"]),
        }
    )
    frame[column] = values
    path = tmp_path / "payments.parquet"
    frame.to_parquet(path)
    with pytest.raises(InputDataError, match=match):
        load_payments(path)


def test_conform_table_mixed_datetimes() -> None:
    frame = pd.DataFrame(
        {
            "event_id": ["a", "b"],
            "is_fraud": [0, 1],
            "label_time": pd.Series(
                [
                    dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))),
                    dt.datetime(2024, 1, 2, 6, 30),
                ],
                dtype=object,
            ),
        }
    )
    conformed = conform_table(frame, "labels", "frame")
    assert conformed["label_time"].dtype == np.dtype("datetime64[ms]")
    assert conformed["label_time"].tolist() == [
        pd.Timestamp("2023-12-31 22:00"), pd.Timestamp("2024-01-02 06:30")
    ]  # fmt: skip


@pytest.mark.parametrize("value", ["1700000000", "01/02/2024"])
def test_conform_table_ambiguous_timestamp(value: str) -> None:
    frame = pd.DataFrame({"event_id": ["a"], "is_fraud": [0], "label_time": [value]})
    with pytest.raises(InputDataError, match=rf"'label_time' of frame at data row 1 .*'{re.escape(value)}'"):
        conform_table(frame, "labels", "frame")


def test_conform_table_unknown_table() -> None:
    with pytest.raises(InputDataError, match=r"Unknown table 'events'"):
        conform_table(pd.DataFrame({"a": [1]}), "events", "frame")


@pytest.fixture(scope="module")
def public() -> FraudExample:
    return load_public_example()


@pytest.mark.parametrize("table", ["payments", "merchants", "labels"])
def test_public_example_contract(public: FraudExample, table: str) -> None:
    frame: pd.DataFrame = getattr(public, table)
    assert_contract(frame, table)
    assert len(frame) == 15 * 120
    pd.testing.assert_frame_equal(conform_table(frame, table, "public"), frame)


def test_public_example_values(public: FraudExample) -> None:
    payments = public.payments.set_index("event_id")
    # Pinned from the bundled file: construction employment in January 2006, in thousands.
    assert payments.loc["construction-2006-01", "amount"] == 7601.0
    assert payments.loc["construction-2006-01", "event_time"] == pd.Timestamp("2006-01-01")
    assert payments["event_time"].min() == pd.Timestamp("2006-01-01")
    assert payments["event_time"].max() == pd.Timestamp("2015-12-01")
    assert payments.index.is_unique
    assert not payments["amount"].isna().any()


def test_public_example_labels_derived(public: FraudExample) -> None:
    joined = public.payments.merge(public.labels, on="event_id", validate="one_to_one")
    rate = joined["is_fraud"].mean()
    assert 0.01 <= rate <= 0.10
    assert set(joined.loc[joined["is_fraud"] == 1, "fraud_pattern"]) == {"amount_outlier"}
    assert set(joined.loc[joined["is_fraud"] == 0, "fraud_pattern"]) == {""}
    assert (joined["label_time"] > joined["event_time"]).all()
    first_month = joined[joined["event_time"] == pd.Timestamp("2006-01-01")]
    assert (first_month["is_fraud"] == 0).all()


def test_public_example_merchant_risk(public: FraudExample) -> None:
    merchants = public.merchants
    assert merchants["risk_score"].between(0.0, 1.0).all()
    assert merchants.groupby("merchant_id")["risk_score"].nunique().min() > 10
    first_update = merchants.groupby("merchant_id")["updated_at"].min()
    assert (first_update <= public.payments["event_time"].min()).all()
    assert set(public.payments["merchant_id"]) == set(first_update.index)


def test_public_dataset_checksum() -> None:
    folder = Path(datasets.__file__).parent
    digest = hashlib.sha256((folder / "us_employment.csv").read_bytes()).hexdigest()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert re.search(r"\b[0-9a-f]{64}\b", readme) is not None
    assert digest in readme
