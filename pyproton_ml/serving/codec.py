"""The Proton remote-UDF wire format: decode a JSONColumns request body and encode the result.

Source: timeplus-io/proton, src/Functions/UserDefined/RemoteUserDefinedFunction.h at commit 10e6f9b.
Proton writes the argument block of a call in the `JSONColumns` output format: an object keyed by
the declared argument names, with one array element per row. It reads the reply with the
`JSONColumns` input format into a single column named `result`.

Encodings of the ClickHouse JSON formats that Proton inherits:
- int64/uint64 are quoted strings while `output_format_json_quote_64bit_integers` is on (the
  ClickHouse default, and Proton's before 3.0.13) and plain numbers after; both are accepted.
  Smaller integers are always numbers, and are rejected when quoted.
- float NaN and Inf arrive as null (`output_format_json_quote_denormals` is off by default).
- date is "2023-07-27", datetime "2023-07-27 04:00:00", datetime64(3) "2023-07-27 04:00:00.000".
- A nullable argument may carry null or, for null rows, the type's default value.

The decoder is split into steps (`parse_body`, `check_columns`, `decode_column`) so that a caller
can tell the kinds of client error apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from pyproton_ml.errors import InputDataError, UnsupportedError
from pyproton_ml.models.types import FLOATS, INTEGER_BOUNDS, Argument, ProtonType, parse_type
from pyproton_ml.serving._text import shown

# ASCII digits only: `\d` would also match other scripts' digits, which int() accepts.
_QUOTED_INTEGER = re.compile(r"-?[0-9]{1,20}")
_DATETIME_FORMATS = {"date": "%Y-%m-%d", "datetime": "%Y-%m-%d %H:%M:%S"}
_SHOWN_CHARACTERS = 40
# Characters of argument names shown per list in a mismatch message, so that the unknown names,
# the missing names and the fix all fit in the server's 400-character error reply.
_SHOWN_NAMES = 88
# Times decode into datetime64[ns] columns, which hold nothing outside these bounds.
_TIME_MIN = pd.Timestamp.min
_TIME_MAX = pd.Timestamp.max

ENCODABLE_RETURN_TYPES = (*INTEGER_BOUNDS, *FLOATS, "bool", "string")


def parse_body(body: bytes) -> dict[str, Any]:
    """Parse the request body as one JSON object of columns; raise `InputDataError` otherwise."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InputDataError(
            f"Invalid JSON body ({error.msg} at byte {error.pos}). Send a JSONColumns object such as "
            '{"amount": [1.5, 2.0]}.'
        ) from None
    if not isinstance(document, dict):
        raise InputDataError(
            f"Invalid body: expected a JSON object of columns, got a JSON {type(document).__name__}. "
            'Send a JSONColumns object such as {"amount": [1.5, 2.0]}.'
        )
    return document


def check_columns(document: dict[str, Any], arguments: Sequence[Argument], function_name: str) -> int:
    """Check that `document` has exactly the declared arguments as equal-length arrays; return the row count."""
    declared = [argument.name for argument in arguments]
    missing = [name for name in declared if name not in document]
    unknown = [name for name in document if name not in declared]
    if missing or unknown:
        problems = []
        if unknown:
            problems.append(f"unknown {_name_list(unknown)}")
        if missing:
            problems.append(f"missing {_name_list(missing)}")
        raise InputDataError(
            f"Arguments of {shown(function_name)} do not match the model: {'; '.join(problems)}. "
            "Register the function with the model's argument names, in order (`pyproton-ml register` does this)."
        )

    lengths: dict[str, int] = {}
    for name in declared:
        column = document[name]
        if not isinstance(column, list):
            raise InputDataError(
                f"Argument {name!r} must be a JSON array with one value per row, got {_short(column)}."
            )
        lengths[name] = len(column)
    if len(set(lengths.values())) > 1:
        raise InputDataError(f"Argument arrays have different lengths {shown(lengths, 300)}; every argument needs one value per row.")
    return next(iter(lengths.values()))


def decode_columns(document: dict[str, Any], arguments: Sequence[Argument]) -> pd.DataFrame:
    """Decode checked columns into a DataFrame with one column per argument, in argument order."""
    data = {argument.name: decode_column(argument.name, document[argument.name], parse_type(argument.type)) for argument in arguments}
    return pd.DataFrame(data, columns=[argument.name for argument in arguments], copy=False)


def decode_body(body: bytes, arguments: Sequence[Argument], function_name: str) -> pd.DataFrame:
    """Run every decoding step on a request body (for callers that need no error kinds)."""
    document = parse_body(body)
    check_columns(document, arguments, function_name)
    return decode_columns(document, arguments)


def decode_column(name: str, values: list[Any], proton_type: ProtonType) -> np.ndarray:
    """Decode one JSON array by its Proton type.

    Integers become int64 (uint64 for uint64), or float64 with NaN when nullable. Floats and
    decimals become float64. Bool stays bool, or becomes float64 with NaN when nullable. Strings
    become an object array, date and datetime types datetime64[ns] (a time outside its range,
    1677-09-21 to 2262-04-11, is rejected), and array(T) an object array of decoded arrays.
    """
    nullable = proton_type.is_nullable
    base = proton_type.base
    if base.name == "array":
        assert base.inner is not None
        return _decode_arrays(name, values, base.inner, nullable)
    if base.name in INTEGER_BOUNDS:
        return _decode_integers(name, values, base.name, nullable)
    if base.name in FLOATS or base.name == "decimal":
        return _decode_floats(name, values, str(proton_type))
    if base.name == "bool":
        return _decode_bools(name, values, nullable, str(proton_type))
    if base.name == "string":
        _check_each(name, values, str(proton_type), lambda value: type(value) is str or (nullable and value is None))
        return np.array(values, dtype=object)
    if base.name in ("date", "datetime", "datetime64"):
        return _decode_times(name, values, base, nullable, str(proton_type))
    raise UnsupportedError(f"Argument {name!r} has type {str(proton_type)!r}, which the decoder does not support.")


def encode_result(values: np.ndarray | Sequence[Any], return_type: str = "float64") -> bytes:
    """Encode results as `{"result": [...]}`, the only key Proton accepts in the reply."""
    base = parse_type(return_type).base.name
    if base not in ENCODABLE_RETURN_TYPES:
        raise UnsupportedError(
            f"Return type {return_type!r} cannot be encoded; use one of {', '.join(ENCODABLE_RETURN_TYPES)}."
        )
    array = np.asarray(values)
    if base in FLOATS:
        array = array.astype(np.float64, copy=False)
    if array.dtype == object:
        return orjson.dumps({"result": array.tolist()})
    return orjson.dumps({"result": array}, option=orjson.OPT_SERIALIZE_NUMPY)


def _decode_floats(name: str, values: list[Any], type_name: str) -> np.ndarray:
    fast = _fast_array(values, (int, float), np.float64)
    if fast is not None and fast.dtype.kind in "fiu":
        return fast.astype(np.float64, copy=False)
    _check_each(name, values, type_name, lambda value: value is None or type(value) in (int, float))
    return np.array(values, dtype=np.float64)


def _decode_integers(name: str, values: list[Any], type_name: str, nullable: bool) -> np.ndarray:
    low, high = INTEGER_BOUNDS[type_name]
    target = np.uint64 if type_name == "uint64" else np.int64
    fast = _fast_array(values, (int,), np.int64)
    if fast is not None and fast.dtype.kind in "iu":
        if fast.size and (int(fast.min()) < low or int(fast.max()) > high):
            index = int(np.argmax((fast < low) | (fast > high)))
            raise _type_error(name, index, values[index], type_name, f"outside [{low}, {high}]")
        return fast.astype(np.float64 if nullable else target, copy=False)

    accepts_quoted = type_name in ("int64", "uint64")
    numbers: list[int | None] = []
    for index, value in enumerate(values):
        if type(value) is int:
            number: int | None = value
        elif accepts_quoted and type(value) is str and _QUOTED_INTEGER.fullmatch(value):
            number = int(value)
        elif nullable and value is None:
            numbers.append(None)
            continue
        elif type(value) is float and value.is_integer() and not low <= value <= high:
            # orjson reads an integer literal beyond 64 bits as a float.
            raise _type_error(name, index, value, type_name, f"outside [{low}, {high}]")
        else:
            raise _type_error(name, index, value, type_name)
        if not low <= number <= high:
            raise _type_error(name, index, value, type_name, f"outside [{low}, {high}]")
        numbers.append(number)
    if nullable:
        return np.array([np.nan if number is None else float(number) for number in numbers], dtype=np.float64)
    return np.array(numbers, dtype=target)


def _decode_bools(name: str, values: list[Any], nullable: bool, type_name: str) -> np.ndarray:
    fast = _fast_array(values, (bool,), bool)
    if fast is not None and fast.dtype.kind == "b":
        return fast.astype(np.float64) if nullable else fast
    _check_each(name, values, type_name, lambda value: type(value) is bool or (nullable and value is None))
    return np.array([np.nan if value is None else float(value) for value in values], dtype=np.float64)


def _decode_times(name: str, values: list[Any], base: ProtonType, nullable: bool, type_name: str) -> np.ndarray:
    _check_each(name, values, type_name, lambda value: type(value) is str or (nullable and value is None))
    if base.name == "datetime64":
        precision = int(base.parameters[0])
        time_format = "%Y-%m-%d %H:%M:%S.%f" if precision > 0 else _DATETIME_FORMATS["datetime"]
    else:
        time_format = _DATETIME_FORMATS[base.name]
    try:
        parsed = pd.to_datetime(pd.Series(values, dtype=object), format=time_format, errors="raise")
    except (ValueError, TypeError):
        for index, value in enumerate(values):
            _parse_time(name, index, value, base, type_name, time_format)
        raise
    # pandas may parse into a coarser unit than ns, and casting an out-of-range time to ns wraps.
    outside = ((parsed < _TIME_MIN) | (parsed > _TIME_MAX)).to_numpy()
    if outside.any():
        index = int(np.argmax(outside))
        raise _time_range_error(name, index, values[index], type_name)
    return parsed.to_numpy(dtype="datetime64[ns]")


def _parse_time(name: str, index: int, value: Any, base: ProtonType, type_name: str, time_format: str) -> None:
    """Parse one time value to find the row that failed a whole-column parse, and raise its error."""
    if value is None:
        return
    try:
        stamp = pd.to_datetime(value, format=time_format)
    except pd.errors.OutOfBoundsDatetime:
        raise _time_range_error(name, index, value, type_name) from None
    except (ValueError, TypeError):
        raise _type_error(name, index, value, type_name, f"expected the form {_example(base)!r}") from None
    if not _TIME_MIN <= stamp <= _TIME_MAX:
        raise _time_range_error(name, index, value, type_name)


def _time_range_error(name: str, index: int, value: Any, type_name: str) -> InputDataError:
    return InputDataError(
        f"Invalid value for argument {name!r} at row {index}: {_short(value)} is outside {_TIME_MIN} to {_TIME_MAX}, "
        f"the range that the server decodes {type_name} into. Filter or clamp such rows in SQL."
    )


def _decode_arrays(name: str, values: list[Any], inner: ProtonType, nullable: bool) -> np.ndarray:
    decoded = np.empty(len(values), dtype=object)
    for index, value in enumerate(values):
        if value is None and nullable:
            decoded[index] = None
            continue
        if not isinstance(value, list):
            raise _type_error(name, index, value, f"array({inner})")
        try:
            decoded[index] = decode_column(name, value, inner)
        except InputDataError as error:
            raise InputDataError(f"In row {index}: {error}") from None
    return decoded


def _fast_array(values: list[Any], element_types: tuple[type, ...], empty_dtype: Any) -> np.ndarray | None:
    """Convert `values` in one numpy call when every element's type is in `element_types`, else return None.

    Checking the types first keeps JSON booleans out of numeric columns (numpy would read them as
    0/1) and nested or mixed values away from numpy's ragged-array ValueError, so those rows reach
    the per-value checks, which name the bad row.
    """
    if not values:
        return np.empty(0, dtype=empty_dtype)
    if not set(map(type, values)) <= set(element_types):
        return None
    return np.asarray(values)


def _check_each(name: str, values: list[Any], type_name: str, is_valid: Any) -> None:
    for index, value in enumerate(values):
        if not is_valid(value):
            raise _type_error(name, index, value, type_name)


def _type_error(name: str, index: int, value: Any, type_name: str, detail: str = "") -> InputDataError:
    reason = f" ({detail})" if detail else ""
    return InputDataError(
        f"Invalid value for argument {name!r} at row {index}: {_short(value)}{reason}. "
        f"Expected Proton type {type_name}; cast the argument in SQL or fix the registered type."
    )


def _short(value: Any) -> str:
    # The body is JSON, so a missing value is shown as the `null` the client sent.
    return "null" if value is None else shown(value, _SHOWN_CHARACTERS)


def _name_list(names: list[str]) -> str:
    """Show `names` as a list of at most about `_SHOWN_NAMES` characters, counting the ones left out."""
    shown_names: list[str] = []
    for name in names:
        if shown_names and len(", ".join([*shown_names, _short(name)])) > _SHOWN_NAMES:
            break
        shown_names.append(_short(name))
    rest = len(names) - len(shown_names)
    return f"[{', '.join(shown_names)}]" + (f" and {rest} more" if rest else "")


def _example(base: ProtonType) -> str:
    if base.name == "date":
        return "2023-07-27"
    if base.name == "datetime" or base.parameters[0] == "0":
        return "2023-07-27 04:00:00"
    return "2023-07-27 04:00:00." + "0" * int(base.parameters[0])
