"""Read payments, merchants and labels from CSV or Parquet files and check them against the contract.

The contract, per table (see `TABLE_COLUMNS`):

- payments: `event_id` str (unique), `card_id` str, `merchant_id` str, `merchant_category`
  str, `amount` float64 (NaN for missing), `event_time` datetime64[ms] naive UTC.
- merchants: `merchant_id` str, `merchant_category` str, `risk_score` float64 in [0, 1],
  `updated_at` datetime64[ms] naive UTC, with several rows per merchant over time.
- labels: `event_id` str (unique), `is_fraud` uint8 (0 or 1), `fraud_pattern` str
  (optional, the empty string when absent), `label_time` datetime64[ms] naive UTC.

Safe coercions: integer ids become strings, ISO 8601 strings become timestamps, naive
timestamps are read as UTC, timezone-aware ones are converted to UTC and made naive, and
`is_fraud` accepts booleans and the strings 0, 1, true and false. Columns outside the
contract are dropped. Anything else raises `InputDataError` naming the file, the column,
the first bad row and the fix.
"""

from __future__ import annotations

import csv
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from pyproton_ml.errors import InputDataError
from pyproton_ml.examples.fraud.data import EXAMPLE_FORMATS, EXAMPLE_TABLES, FraudExample

logger = logging.getLogger(__name__)

ColumnKind = Literal["id", "text", "amount", "score", "time", "flag"]


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract: its name, its kind and whether a file must contain it."""

    name: str
    kind: ColumnKind
    required: bool = True


TABLE_COLUMNS: dict[str, tuple[ColumnSpec, ...]] = {
    "payments": (
        ColumnSpec("event_id", "id"),
        ColumnSpec("card_id", "id"),
        ColumnSpec("merchant_id", "id"),
        ColumnSpec("merchant_category", "text"),
        ColumnSpec("amount", "amount"),
        ColumnSpec("event_time", "time"),
    ),
    "merchants": (
        ColumnSpec("merchant_id", "id"),
        ColumnSpec("merchant_category", "text"),
        ColumnSpec("risk_score", "score"),
        ColumnSpec("updated_at", "time"),
    ),
    "labels": (
        ColumnSpec("event_id", "id"),
        ColumnSpec("is_fraud", "flag"),
        ColumnSpec("fraud_pattern", "text", required=False),
        ColumnSpec("label_time", "time"),
    ),
}
"""The columns of each table, in contract order."""

UNIQUE_COLUMNS: dict[str, str] = {"payments": "event_id", "labels": "event_id"}
"""The column of each table whose values must not repeat."""

_SUFFIX_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_FLAG_STRINGS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "false": 0, "true": 1}

# Times outside this range do not survive the training path. ClickHouse DateTime64 clamped values
# to [1900-01-01, 2299-12-31] until ClickHouse PR 107907 (merged July 2026), and chDB results
# become pandas datetime64[ns], which ends at 2262-04-11: a 2999 event came back as 1829.
MIN_TIME = pd.Timestamp("1900-01-01")
MAX_TIME = pd.Timestamp("2262-04-11")


def load_payments(path: str | Path) -> pd.DataFrame:
    """Read payment events from a CSV or Parquet file and coerce them to the payments contract."""
    return _load(path, "payments")


def load_merchants(path: str | Path) -> pd.DataFrame:
    """Read merchant history rows from a CSV or Parquet file and coerce them to the merchants contract."""
    return _load(path, "merchants")


def load_labels(path: str | Path) -> pd.DataFrame:
    """Read fraud labels from a CSV or Parquet file and coerce them to the labels contract."""
    return _load(path, "labels")


def read_example(directory: str | Path, format: str | None = None) -> FraudExample:
    """Read the files that `write_example` wrote to `directory` back into a `FraudExample`.

    With `format=None`, reads CSV when `payments.csv` exists and Parquet otherwise.
    """
    folder = Path(directory)
    if format is None:
        format = "csv" if (folder / "payments.csv").exists() else "parquet"
    if format not in EXAMPLE_FORMATS:
        raise InputDataError(
            f"Invalid example format {format!r}. Expected one of {EXAMPLE_FORMATS}. "
            "Pass format='csv', format='parquet' or None to detect it."
        )
    payments, merchants, labels = (
        _load(folder / f"{name}.{format}", name) for name in EXAMPLE_TABLES
    )
    return FraudExample(payments=payments, merchants=merchants, labels=labels)


def conform_table(frame: pd.DataFrame, table: str, source: str) -> pd.DataFrame:
    """Check and coerce an in-memory frame to the contract of `table`; `source` names it in errors.

    Returns a new frame with exactly the contract columns, in contract order, and a fresh
    0-based index. Raises `InputDataError` for a missing column or a value that cannot be
    coerced safely.
    """
    if table not in TABLE_COLUMNS:
        raise InputDataError(
            f"Unknown table {table!r}. Expected one of {tuple(TABLE_COLUMNS)}. "
            "Pass the name of a table of the fraud example."
        )
    specs = TABLE_COLUMNS[table]
    missing = [spec.name for spec in specs if spec.required and spec.name not in frame.columns]
    if missing:
        raise InputDataError(
            f"{source} is missing the required column(s) {missing} for {table}. "
            f"It has {[str(name) for name in frame.columns]!r:.200}. "
            f"Add the missing columns. The {table} table needs "
            f"{[spec.name for spec in specs if spec.required]}."
        )
    if len(frame) == 0:
        raise InputDataError(
            f"{source} has no rows. Pass a file with at least one {table} row."
        )
    extra = [str(name) for name in frame.columns if name not in {spec.name for spec in specs}]
    if extra:
        logger.debug("Dropping columns outside the %s contract from %s: %s", table, source, extra)

    data = frame.reset_index(drop=True)
    columns: dict[str, pd.Series] = {}
    for spec in specs:
        if spec.name not in data.columns:
            columns[spec.name] = pd.Series([""] * len(data), dtype="str")
            continue
        columns[spec.name] = _COERCERS[spec.kind](data[spec.name], spec, source)
    result = pd.DataFrame(columns)

    unique = UNIQUE_COLUMNS.get(table)
    if unique is not None:
        duplicated = result[unique].duplicated()
        if duplicated.any():
            row = int(np.flatnonzero(duplicated.to_numpy())[0])
            raise _invalid_value(
                source, unique, row, result[unique].iloc[row],
                "each value only once", f"Remove the repeated {unique} rows.",
            )  # fmt: skip
    return result


def _load(path: str | Path, table: str) -> pd.DataFrame:
    file = Path(path)
    frame = _read_file(file)
    result = conform_table(frame, table, repr(str(file)))
    logger.info("Loaded %d %s rows from %s", len(result), table, file)
    return result


def _read_file(path: Path) -> pd.DataFrame:
    """Read a CSV file with every column as strings, or a Parquet file with its own types."""
    suffix = path.suffix.lower()
    if suffix not in _SUFFIX_FORMATS:
        raise InputDataError(
            f"Unsupported file type {suffix!r} for {str(path)!r}. Expected one of "
            f"{tuple(_SUFFIX_FORMATS)}. Save the data as CSV or Parquet with that suffix."
        )
    if not path.is_file():
        raise InputDataError(f"File {str(path)!r} was not found. Check the path.")
    if path.stat().st_size == 0:
        raise InputDataError(
            f"File {str(path)!r} is empty (0 bytes). Write a header row and data rows to it."
        )
    try:
        if _SUFFIX_FORMATS[suffix] == "csv":
            # Strings keep ids such as '007' intact; each column is coerced by its contract kind.
            return _read_csv(path)
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError as error:
        raise InputDataError(
            f"File {str(path)!r} has no header row. Write a header row and data rows to it."
        ) from error
    except InputDataError:
        # Our own message already names the file and the fix; it is a ValueError too.
        raise
    except (OSError, ValueError) as error:
        # pandas' CSV ParserError, UnicodeDecodeError and pyarrow's ArrowInvalid are ValueErrors.
        detail = " ".join(str(error).split())
        raise InputDataError(
            f"File {str(path)!r} could not be read as {_SUFFIX_FORMATS[suffix]}: {detail}. "
            "Check that the file is complete and that its suffix matches its format."
        ) from error


def _read_csv(path: Path) -> pd.DataFrame:
    """Read a CSV file as strings, rejecting rows that have more fields than the header.

    Without ``index_col=False``, pandas turns the first column into the index when the first
    row has one field too many, which shifts every column. With it, pandas drops the extra
    fields with only a warning. Neither may pass silently.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = pd.read_csv(path, dtype=str, index_col=False)
    if any(issubclass(warning.category, pd.errors.ParserWarning) for warning in caught):
        raise InputDataError(
            f"File {str(path)!r} has a row with more fields than its header "
            f"(first at line {_first_long_line(path)}). Remove the extra fields or add their column names."
        )
    return frame


def _first_long_line(path: Path) -> int | str:
    with path.open(newline="", encoding="utf-8", errors="replace") as stream:
        reader = csv.reader(stream)
        header = next(reader, [])
        for fields in reader:
            if len(fields) > len(header):
                return reader.line_num
    return "unknown"


def _invalid_value(
    source: str, column: str, row: int, value: object, expected: str, fix: str
) -> InputDataError:
    # Rows count from 1 after the header, as spreadsheets and editors show them.
    return InputDataError(
        f"Invalid value in column {column!r} of {source} at data row {row + 1} "
        f"(line {row + 2} of a CSV file with its header): {_shown(value)}. Expected {expected}. {fix}"
    )


def _shown(value: object) -> str:
    """Return a short text for a cell value: plain numbers, not numpy reprs, and 'an empty cell' for missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "an empty cell"
    if isinstance(value, np.generic):
        value = value.item()
    return f"{value!r:.80}"


def _first_row(mask: pd.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _reject_missing(series: pd.Series, spec: ColumnSpec, source: str, fix: str) -> None:
    missing = series.isna()
    if missing.any():
        raise _invalid_value(
            source, spec.name, _first_row(missing), None, "a value in every row", fix
        )


_EXACT_FLOAT_INTEGERS = 2.0**53


def _coerce_id(series: pd.Series, spec: ColumnSpec, source: str) -> pd.Series:
    _reject_missing(series, spec, source, f"Fill in {spec.name} or drop the row.")
    if pd.api.types.is_bool_dtype(series.dtype):
        raise InputDataError(
            f"Invalid column {spec.name!r} of {source}: it contains booleans. "
            "Expected string or integer ids. Store the ids as strings."
        )
    if pd.api.types.is_float_dtype(series.dtype):
        # Beyond 2**53 a float cannot represent every integer, so distinct ids may have merged.
        inexact = ~np.isfinite(series) | (series != np.floor(series)) | (series.abs() >= _EXACT_FLOAT_INTEGERS)
        if inexact.any():
            row = _first_row(inexact)
            raise _invalid_value(
                source, spec.name, row, series.iloc[row], "a string, or an integer id below 2**53 in magnitude",
                "Store the ids as strings.",
            )  # fmt: skip
        series = series.astype(np.int64)
    _reject_bytes(series, spec, source)
    return series.astype("str")


def _reject_bytes(series: pd.Series, spec: ColumnSpec, source: str) -> None:
    """Raise for binary cells, such as a Parquet BINARY column, whose text encoding is unknown."""
    if series.dtype != object:
        return
    binary = series.map(lambda value: isinstance(value, (bytes, bytearray)))
    if binary.any():
        row = _first_row(binary)
        raise _invalid_value(
            source, spec.name, row, series.iloc[row], "text, not bytes",
            "Store the column as a UTF-8 string column.",
        )  # fmt: skip


def _coerce_text(series: pd.Series, spec: ColumnSpec, source: str) -> pd.Series:
    if spec.required:
        _reject_missing(series, spec, source, f"Fill in {spec.name} or drop the row.")
    else:
        series = series.fillna("")
    _reject_bytes(series, spec, source)
    return series.astype("str")


def _coerce_number(series: pd.Series, spec: ColumnSpec, source: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype):
        raise InputDataError(
            f"Invalid column {spec.name!r} of {source}: it contains booleans. "
            "Expected numbers. Store the values as numbers."
        )
    numbers = pd.to_numeric(series, errors="coerce").astype(np.float64)
    unparsed = series.notna() & numbers.isna()
    if unparsed.any():
        row = _first_row(unparsed)
        raise _invalid_value(
            source, spec.name, row, series.iloc[row], "a number, or an empty cell for missing",
            "Fix that value or leave the cell empty.",
        )  # fmt: skip
    infinite = np.isinf(numbers)
    if infinite.any():
        row = _first_row(infinite)
        raise _invalid_value(
            source, spec.name, row, series.iloc[row], "a finite number, or an empty cell for missing",
            "Fix that value or leave the cell empty.",
        )  # fmt: skip
    return numbers


def _coerce_score(series: pd.Series, spec: ColumnSpec, source: str) -> pd.Series:
    _reject_missing(series, spec, source, f"Fill in {spec.name} or drop the row.")
    scores = _coerce_number(series, spec, source)
    outside = (scores < 0.0) | (scores > 1.0)
    if outside.any():
        row = _first_row(outside)
        raise _invalid_value(
            source, spec.name, row, scores.iloc[row], "a number between 0 and 1",
            "Rescale the scores to [0, 1].",
        )  # fmt: skip
    return scores


def _coerce_time(series: pd.Series, spec: ColumnSpec, source: str) -> pd.Series:
    fix = "Use ISO 8601 such as '2024-01-01 12:30:00.250', optionally with a UTC offset."
    _reject_missing(series, spec, source, f"Fill in {spec.name} or drop the row.")
    if pd.api.types.is_numeric_dtype(series.dtype):
        raise _invalid_value(
            source, spec.name, 0, series.iloc[0],
            "a timestamp, not a number, because the epoch unit of a number is ambiguous",
            f"Convert the column to timestamps first. {fix}",
        )  # fmt: skip
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        times = series.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        times = series
    else:
        # Naive strings are read as UTC; strings with an offset are converted to UTC.
        parsed = pd.to_datetime(series, format="ISO8601", utc=True, errors="coerce")
        unparsed = parsed.isna()
        if unparsed.any():
            row = _first_row(unparsed)
            raise _invalid_value(
                source, spec.name, row, series.iloc[row], "an ISO 8601 timestamp", fix
            )
        times = parsed.dt.tz_localize(None)
    outside = (times < MIN_TIME) | (times >= MAX_TIME)
    if outside.any():
        row = _first_row(outside)
        raise _invalid_value(
            source, spec.name, row, series.iloc[row], f"a time from {MIN_TIME.date()} to before {MAX_TIME.date()}",
            "Fix the year of that value or drop the row.",
        )  # fmt: skip
    return times.astype("datetime64[ms]")


def _coerce_flag(series: pd.Series, spec: ColumnSpec, source: str) -> pd.Series:
    fix = f"Write {spec.name} as 0 or 1."
    _reject_missing(series, spec, source, fix)
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(np.uint8)
    if pd.api.types.is_numeric_dtype(series.dtype):
        flags = series.astype(np.float64)
        invalid = ~flags.isin([0.0, 1.0])
    else:
        flags = series.astype("str").str.strip().str.lower().map(_FLAG_STRINGS)
        invalid = flags.isna()
    if invalid.any():
        row = _first_row(invalid)
        raise _invalid_value(source, spec.name, row, series.iloc[row], "0 or 1", fix)
    return flags.astype(np.uint8)


_COERCERS = {
    "id": _coerce_id,
    "text": _coerce_text,
    "amount": _coerce_number,
    "score": _coerce_score,
    "time": _coerce_time,
    "flag": _coerce_flag,
}
