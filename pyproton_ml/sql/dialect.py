"""The Proton dialect for sqlglot: ClickHouse plus Proton's streaming constructs.

sqlglot registers a ``Dialect`` subclass under its lower-cased class name, so
importing this module makes ``read="proton"`` and ``dialect="proton"`` work.
The ``sqlglot.dialects`` entry point in pyproject.toml also loads it for
sqlglot users who never import pyproton_ml.

The target Proton version is a dialect setting, as in
``sqlglot.Dialect.get_or_raise("proton, version=1.6")``. Without one, the
generator writes the newest grammar we support (Proton 3.x).
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.dialects.clickhouse import ClickHouse
from sqlglot.generators.clickhouse import ClickHouseGenerator
from sqlglot.tokens import TokenType

from pyproton_ml.errors import UnsupportedError
from pyproton_ml.sql import nodes
from pyproton_ml.sql.functions import proton_function_name
from pyproton_ml.sql.parser import ProtonParser

# The oldest Proton whose grammar we render. Older servers used `AND DELAY` in
# EMIT and lacked `CREATE REMOTE FUNCTION`.
MIN_VERSION = (1, 6, 0)

# Proton 3.0 renamed `AFTER WATERMARK` to `AFTER WINDOW CLOSE` and moved the
# delay to a `WITH DELAY` suffix of the policy. Source: Proton docs
# `streaming-aggregations.md` (EMIT policies) and the 3.x
# `src/Parsers/Streaming/ParserEmitQuery.cpp`.
EMIT_GRAMMAR_3_VERSION = (3, 0, 0)

# Lower-case type names, as Proton prints them (docs `sql-create-stream.md`).
PROTON_TYPE_NAMES = {
    exp.DType.ARRAY: "array",
    exp.DType.BIGINT: "int64",
    exp.DType.BOOLEAN: "bool",
    exp.DType.DATE: "date",
    exp.DType.DATE32: "date32",
    exp.DType.DATETIME: "datetime",
    exp.DType.DATETIME64: "datetime64",
    exp.DType.DECIMAL: "decimal",
    exp.DType.DOUBLE: "float64",
    exp.DType.FLOAT: "float32",
    exp.DType.INT: "int32",
    exp.DType.LOWCARDINALITY: "low_cardinality",
    exp.DType.MAP: "map",
    exp.DType.SMALLINT: "int16",
    exp.DType.STRUCT: "tuple",
    exp.DType.TEXT: "string",
    exp.DType.TINYINT: "int8",
    exp.DType.UBIGINT: "uint64",
    exp.DType.UINT: "uint32",
    exp.DType.USMALLINT: "uint16",
    exp.DType.UTINYINT: "uint8",
    exp.DType.UUID: "uuid",
}


class ProtonGenerator(ClickHouseGenerator):
    TYPE_MAPPING = {**ClickHouseGenerator.TYPE_MAPPING, **PROTON_TYPE_NAMES}

    TRANSFORMS = {
        **ClickHouseGenerator.TRANSFORMS,
        # Proton takes the level as a second argument: `quantile(x, 0.9)`, where
        # ClickHouse writes the parametric form `quantile(0.9)(x)`.
        exp.Quantile: lambda self, e: self.func("quantile", e.this, e.args.get("quantile")),
    }

    def func(self, name: str, *args: Any, prefix: str = "(", suffix: str = ")", normalize: bool = True) -> str:
        return super().func(proton_function_name(name), *args, prefix=prefix, suffix=suffix, normalize=normalize)

    def datatype_sql(self, expression: exp.DataType) -> str:
        if expression.this in self.STRING_TYPE_MAPPING:
            type_sql = "string"
        else:
            # Skip ClickHouseGenerator.datatype_sql, which wraps `Nullable(...)` in
            # ClickHouse's capitalisation.
            type_sql = super(ClickHouseGenerator, self).datatype_sql(expression)

        if expression.args.get("nullable") is True:
            type_sql = f"nullable({type_sql})"

        return type_sql

    def after_limit_modifiers(self, expression: exp.Expr) -> list[str]:
        # Proton reads EMIT after LIMIT and before SETTINGS
        # (src/Parsers/ParserSelectQuery.cpp, read at commit 0619da7c).
        emit = expression.args.get("emit")
        emit_sql = self.seg(self.sql(emit)) if emit else ""
        modifiers = super().after_limit_modifiers(expression)
        return [*modifiers[:-2], emit_sql, *modifiers[-2:]]

    def interval_sql(self, expression: exp.Interval) -> str:
        # sqlglot stores a parsed `INTERVAL 10 SECOND` as the string '10'; print
        # whole numbers bare, the way Proton's documentation writes them.
        # str.isdigit alone also accepts '²' and '٧', which int() rejects or reads as 7.
        amount = expression.this
        if isinstance(amount, exp.Literal) and amount.is_string and amount.name.isascii() and amount.name.isdigit():
            expression = expression.copy()
            expression.set("this", exp.Literal.number(int(amount.name)))
        return super().interval_sql(expression)

    # Proton-only nodes.

    def intervalshorthand_sql(self, expression: nodes.IntervalShorthand) -> str:
        return f"{expression.this}{expression.text('unit')}"

    def streamtable_sql(self, expression: nodes.StreamTable) -> str:
        alias = self.sql(expression, "alias")
        alias_sql = f" AS {alias}" if alias else ""
        return f"table({self.sql(expression, 'this')}){alias_sql}"

    def windowtablefunction_sql(self, expression: nodes.WindowTableFunction) -> str:
        arguments = [expression.this, expression.args.get("time_column"), *expression.expressions]
        alias = self.sql(expression, "alias")
        alias_sql = f" AS {alias}" if alias else ""
        return f"{self.func(expression.text('kind'), *arguments)}{alias_sql}"

    def emit_sql(self, expression: nodes.Emit) -> str:
        version = self.dialect.version
        if version < MIN_VERSION:
            raise UnsupportedError(
                f"EMIT for Proton {'.'.join(map(str, version))} is not supported; "
                f"pyproton-ml renders Proton {'.'.join(map(str, MIN_VERSION))} or newer."
            )

        policy = expression.text("policy")
        grammar_3 = version >= EMIT_GRAMMAR_3_VERSION
        parts = ["EMIT"]
        if expression.args.get("stream"):
            parts.append("STREAM")

        if policy == "AFTER WINDOW CLOSE":
            parts.append("AFTER WINDOW CLOSE" if grammar_3 else "AFTER WATERMARK")
        elif policy == "PERIODIC":
            parts.append(f"PERIODIC {self.sql(expression, 'interval')}")
        elif policy == "ON UPDATE":
            parts.append("ON UPDATE")
        else:
            raise UnsupportedError(
                f"EMIT policy {policy!r} is not supported. Use 'AFTER WINDOW CLOSE', 'PERIODIC' or 'ON UPDATE'."
            )

        delay = expression.args.get("delay")
        if delay:
            if policy != "AFTER WINDOW CLOSE":
                raise UnsupportedError(f"EMIT {policy} cannot take a watermark delay; only AFTER WINDOW CLOSE can.")
            parts.append(f"WITH DELAY {self.sql(delay)}")

        timeout = expression.args.get("timeout")
        if timeout:
            parts.append(f"AND TIMEOUT {self.sql(timeout)}")

        return " ".join(parts)

    def createstream_sql(self, expression: nodes.CreateStream) -> str:
        exists = " IF NOT EXISTS" if expression.args.get("exists") else ""
        schema = expression.this
        columns = self.expressions(schema, flat=False)
        sql = f"CREATE STREAM{exists} {self.sql(schema, 'this')}{self.seg('(')}{self.sep('')}{self.indent(columns) if self.pretty else columns}{self.seg(')', sep='' if not self.pretty else self.sep())}"

        primary_key = expression.args.get("primary_key")
        if primary_key:
            sql += f"{self.seg('PRIMARY KEY')} ({self.expressions(sqls=primary_key, flat=True)})"

        settings = expression.args.get("settings")
        if settings:
            sql += f"{self.seg('SETTINGS')} {self.expressions(sqls=settings, flat=True)}"

        return sql

    def creatematerializedview_sql(self, expression: nodes.CreateMaterializedView) -> str:
        exists = " IF NOT EXISTS" if expression.args.get("exists") else ""
        into = expression.args.get("into")
        into_sql = f" INTO {self.sql(into)}" if into else ""
        query = self.sql(expression, "expression")
        return f"CREATE MATERIALIZED VIEW{exists} {self.sql(expression, 'this')}{into_sql} AS{self.sep()}{query}"

    def createremotefunction_sql(self, expression: nodes.CreateRemoteFunction) -> str:
        replace = " OR REPLACE" if expression.args.get("replace") else ""
        arguments = self.expressions(expression, flat=True)
        parts = [
            f"CREATE{replace} REMOTE FUNCTION {self.sql(expression, 'this')}({arguments})",
            f"RETURNS {self.sql(expression, 'returns')}",
            f"URL {self.sql(expression, 'url')}",
        ]

        auth_header = expression.args.get("auth_header")
        auth_key = expression.args.get("auth_key")
        if bool(auth_header) != bool(auth_key):
            raise UnsupportedError("AUTH_METHOD 'auth_header' needs both AUTH_HEADER and AUTH_KEY; got only one.")
        if auth_header:
            parts.append(
                f"AUTH_METHOD 'auth_header' AUTH_HEADER {self.sql(auth_header)} AUTH_KEY {self.sql(auth_key)}"
            )
        else:
            parts.append("AUTH_METHOD 'none'")

        timeout = expression.args.get("execution_timeout")
        if timeout:
            parts.append(f"EXECUTION_TIMEOUT {self.sql(timeout)}")

        return self.sep().join(parts) if self.pretty else " ".join(parts)

    def dropfunction_sql(self, expression: nodes.DropFunction) -> str:
        exists = " IF EXISTS" if expression.args.get("exists") else ""
        return f"DROP FUNCTION{exists} {self.sql(expression, 'this')}"


ProtonGenerator.TRANSFORMS = {**ProtonGenerator.TRANSFORMS, **nodes.node_transforms(ProtonGenerator)}


class Proton(ClickHouse):
    """Timeplus Proton: ClickHouse SQL with streams, window table functions and EMIT."""

    # Proton documents its functions in lower case (`count`, `avg`); sqlglot's
    # typed nodes would print `COUNT`, `AVG`.
    NORMALIZE_FUNCTIONS = "lower"

    class Tokenizer(ClickHouse.Tokenizer):
        KEYWORDS = {
            **ClickHouse.Tokenizer.KEYWORDS,
            "LOW_CARDINALITY": TokenType.LOWCARDINALITY,
        }
        # `session(...)` is Proton's session-window table function, not a keyword.
        KEYWORDS.pop("SESSION")

    Parser = ProtonParser

    Generator = ProtonGenerator
