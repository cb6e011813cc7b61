"""Parsing Proton SQL into the same expression types the generator prints.

This lets tests round-trip every statement we emit (parse, regenerate,
compare), and lets users read Proton SQL with ``sqlglot.parse_one(sql,
read="proton")``. Sources for the grammar: Proton
``src/Parsers/ParserSelectQuery.cpp`` (EMIT after LIMIT, before SETTINGS),
``src/Parsers/Streaming/ParserCreateMaterializedViewQuery.cpp`` (``INTO``),
``src/Parsers/ParserCreateFunctionQuery.cpp`` (``REMOTE FUNCTION``) and the
docs ``streaming-aggregations.md`` (EMIT policies).
"""

from __future__ import annotations

import re
from typing import Any

from sqlglot import exp
from sqlglot.parsers.clickhouse import ClickHouseParser
from sqlglot.tokens import TokenType

from pyproton_ml.sql import nodes

_SHORTHAND = re.compile(r"([0-9]+)(ms|s|m|h|d)", re.IGNORECASE)
WINDOW_FUNCTIONS = ("tumble", "hop", "session")


def _interval(expression: exp.Expr) -> exp.Expr:
    """Turn a column named like ``10m`` (how ClickHouse tokenizes the shorthand) into an interval."""
    if isinstance(expression, exp.Column) and not expression.table:
        match = _SHORTHAND.fullmatch(expression.name)
        if match:
            return nodes.IntervalShorthand(this=match.group(1), unit=exp.var(match.group(2).lower()))
    return expression


def _source(expression: exp.Expr) -> exp.Expr:
    if isinstance(expression, exp.Anonymous) and expression.name.lower() == "table" and len(expression.expressions) == 1:
        inner = expression.expressions[0]
        return nodes.StreamTable(this=exp.Table(this=inner.this.copy() if isinstance(inner, exp.Column) else inner.copy()))
    if isinstance(expression, exp.Column):
        return exp.Table(this=expression.this.copy(), db=expression.args.get("table"))
    return expression


class ProtonParser(ClickHouseParser):
    def _parse_table(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
        table = super()._parse_table(*args, **kwargs)
        if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Anonymous):
            return table

        function = table.this
        name = function.name.lower()
        alias = table.args.get("alias")
        if name == "table" and len(function.expressions) == 1:
            stream_table = _source(function)
            stream_table.set("alias", alias)
            return stream_table

        if name in WINDOW_FUNCTIONS and function.expressions:
            source, *rest = function.expressions
            time_column = None
            if rest and not isinstance(_interval(rest[0]), nodes.IntervalShorthand):
                time_column, *rest = rest
            return nodes.WindowTableFunction(
                kind=exp.var(name),
                this=_source(source),
                time_column=time_column,
                expressions=[_interval(argument) for argument in rest],
                alias=alias,
            )
        return table

    def _parse_table_alias(self, *args: Any, **kwargs: Any) -> exp.TableAlias | None:
        # `FROM s EMIT ...`: EMIT starts a clause, it is not an alias of `s`.
        if self._curr and self._curr.text.upper() == "EMIT":
            return None
        return super()._parse_table_alias(*args, **kwargs)

    def _parse_query_modifiers(self, this: Any) -> Any:
        this = super()._parse_query_modifiers(this)
        if isinstance(this, exp.Select) and self._match_text_seq("EMIT"):
            this.set("emit", self._parse_emit())
            # SETTINGS may follow EMIT.
            this = super()._parse_query_modifiers(this)
        return this

    def _parse_emit(self) -> nodes.Emit:
        stream = self._match_text_seq("STREAM")
        interval = None
        if self._match_text_seq("AFTER", "WINDOW", "CLOSE") or self._match_text_seq("AFTER", "WATERMARK"):
            policy = "AFTER WINDOW CLOSE"
        elif self._match_text_seq("PERIODIC"):
            policy = "PERIODIC"
            interval = self._parse_emit_interval()
        elif self._match_text_seq("ON", "UPDATE"):
            policy = "ON UPDATE"
        else:
            self.raise_error("Expected an EMIT policy: AFTER WINDOW CLOSE, PERIODIC <interval> or ON UPDATE")

        delay = self._parse_emit_interval() if self._match_text_seq("WITH", "DELAY") else None
        timeout = self._parse_emit_interval() if self._match_text_seq("AND", "TIMEOUT") else None
        return nodes.Emit(policy=exp.var(policy), interval=interval, delay=delay, timeout=timeout, stream=stream or None)

    def _parse_emit_interval(self) -> exp.Expr:
        if self._curr and _SHORTHAND.fullmatch(self._curr.text):
            self._advance()
            match = _SHORTHAND.fullmatch(self._prev.text)
            return nodes.IntervalShorthand(this=match.group(1), unit=exp.var(match.group(2).lower()))
        interval = self._parse_interval()
        if interval is None:
            self.raise_error("Expected an interval such as 5s or INTERVAL 5 SECOND")
        return interval

    def _parse_create(self) -> exp.Expr:
        index = self._index
        replace = self._match_pair(TokenType.OR, TokenType.REPLACE)
        if self._match_text_seq("REMOTE", "FUNCTION"):
            return self._parse_create_remote_function(replace)
        if not replace and self._match_text_seq("STREAM"):
            return self._parse_create_stream()
        if not replace and self._match_text_seq("MATERIALIZED", "VIEW"):
            return self._parse_create_materialized_view()
        self._retreat(index)
        return super()._parse_create()

    def _parse_create_stream(self) -> nodes.CreateStream:
        exists = self._match_text_seq("IF", "NOT", "EXISTS")
        table = self._parse_table_parts(schema=True)
        schema = self._parse_schema(this=table)

        primary_key = None
        if self._match(TokenType.PRIMARY_KEY):
            primary_key = self._parse_wrapped_csv(self._parse_id_var)

        settings = None
        if self._match(TokenType.SETTINGS):
            settings = self._parse_csv(self._parse_assignment)

        return nodes.CreateStream(this=schema, exists=exists or None, primary_key=primary_key, settings=settings)

    def _parse_create_materialized_view(self) -> nodes.CreateMaterializedView:
        exists = self._match_text_seq("IF", "NOT", "EXISTS")
        name = self._parse_table_parts()
        into = self._parse_table_parts() if self._match(TokenType.INTO) else None
        self._match(TokenType.ALIAS)
        query = self._parse_select()
        return nodes.CreateMaterializedView(this=name, into=into, expression=query, exists=exists or None)

    def _parse_create_remote_function(self, replace: bool) -> nodes.CreateRemoteFunction:
        name = self._parse_id_var()
        arguments = self._parse_wrapped_csv(self._parse_field_def)

        if not self._match_text_seq("RETURNS"):
            self.raise_error("Expected RETURNS <type>")
        returns = self._parse_types()

        if not self._match_text_seq("URL"):
            self.raise_error("Expected URL '<address>'")
        url = self._parse_string()

        auth_header = auth_key = None
        if self._match_text_seq("AUTH_METHOD"):
            method = self._parse_string()
            if method.name == "auth_header":
                if not self._match_text_seq("AUTH_HEADER"):
                    self.raise_error("Expected AUTH_HEADER '<name>'")
                auth_header = self._parse_string()
                if not self._match_text_seq("AUTH_KEY"):
                    self.raise_error("Expected AUTH_KEY '<key>'")
                auth_key = self._parse_string()
            elif method.name != "none":
                self.raise_error("AUTH_METHOD must be 'none' or 'auth_header'")

        timeout = self._parse_number() if self._match_text_seq("EXECUTION_TIMEOUT") else None
        return nodes.CreateRemoteFunction(
            this=name,
            expressions=arguments,
            returns=returns,
            url=url,
            auth_header=auth_header,
            auth_key=auth_key,
            execution_timeout=timeout,
            replace=replace or None,
        )
