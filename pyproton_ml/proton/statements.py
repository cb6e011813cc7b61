"""Split SQL scripts into statements, summarize them for logs and redact secrets in them."""

from __future__ import annotations

import re

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from pyproton_ml.errors import ProtonError
from pyproton_ml.sql import dialect as _registers_proton_dialect  # noqa: F401

# Splitting needs only string literals, quoted identifiers, comments and semicolons, which the
# Proton dialect lexes as ClickHouse does.
_TOKENIZER_DIALECT = "proton"

# Object keywords that end the kind of a DDL statement, e.g. CREATE MATERIALIZED VIEW.
_OBJECT_KEYWORDS = frozenset({"STREAM", "VIEW", "FUNCTION", "TABLE", "DATABASE", "DICTIONARY", "USER", "ROLE", "FORMAT"})
_DDL_VERBS = frozenset({"CREATE", "DROP", "ALTER", "ATTACH", "DETACH", "TRUNCATE", "RENAME", "OPTIMIZE"})
_REDACTED = "'***'"
# Words without which a text contains no secret that redact_text can find.
_SECRET_WORDS = ("auth_key", "password", "identified", "secret", "credential", "token", "_key", "://")


@dataclass(frozen=True)
class StatementSummary:
    """The kind and object name of one statement, safe to log at INFO."""

    kind: str
    name: str | None

    def __str__(self) -> str:
        return self.kind if self.name is None else f"{self.kind} {self.name}"


def split_statements(script: str, *, source: str = "<string>") -> list[str]:
    """Split a SQL script at top-level semicolons and return the statements without them.

    Semicolons inside string literals, quoted identifiers and comments do not split.
    Comments before a statement are dropped, and a text that holds only comments
    yields no statement. A final statement without a semicolon is kept.
    """
    tokens = _tokenize(script, source)
    statements: list[str] = []
    first: Token | None = None

    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if first is not None:
                statements.append(script[first.start : token.start].strip())
            first = None
        elif first is None:
            first = token

    if first is not None:
        statements.append(script[first.start :].strip())
    return statements


def read_sql_file(path: str | Path) -> list[str]:
    """Read one ``.sql`` file and return its statements in order."""
    file_path = Path(path)
    try:
        script = file_path.read_text(encoding="utf-8")
    except OSError as error:
        raise ProtonError(f"Cannot read SQL file {str(file_path)!r}: {error.strerror}. Check the path and its permissions.") from error
    except UnicodeDecodeError as error:
        raise ProtonError(
            f"Cannot read SQL file {str(file_path)!r}: byte {error.start} is not UTF-8 ({error.reason}). "
            "Save the file as UTF-8."
        ) from error
    return split_statements(script, source=str(file_path))


def read_sql_directory(directory: str | Path) -> list[str]:
    """Return the statements of every ``*.sql`` file in a folder, files in name order.

    Name order is the apply order, so prefix files with numbers (``010_streams.sql``).
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ProtonError(f"SQL directory {str(folder)!r} is not a directory. Pass the directory that contains the *.sql files.")

    files = sorted(folder.glob("*.sql"))
    if not files:
        raise ProtonError(f"SQL directory {str(folder)!r} contains no *.sql files. Pass the directory that contains them.")

    statements: list[str] = []
    for file_path in files:
        statements.extend(read_sql_file(file_path))
    return statements


def summarize_statement(statement: str) -> StatementSummary:
    """Return the statement kind (``CREATE MATERIALIZED VIEW``) and the object name it touches."""
    tokens = _tokenize(statement, "<statement>")
    words = [token.text.upper() for token in tokens]
    if not words:
        return StatementSummary(kind="EMPTY", name=None)

    if words[0] == "INSERT":
        position = 2 if len(words) > 1 and words[1] == "INTO" else 1
        if len(words) > position and words[position] == "STREAM":
            position += 1
        return StatementSummary(kind="INSERT", name=_qualified_name(tokens, position))

    if words[0] not in _DDL_VERBS:
        return StatementSummary(kind=words[0], name=None)

    kind_words: list[str] = []
    position = 0
    while position < len(words):
        word = words[position]
        if words[position : position + 2] == ["OR", "REPLACE"]:
            kind_words.append("OR REPLACE")
            position += 2
            continue
        kind_words.append(word)
        position += 1
        if word in _OBJECT_KEYWORDS:
            break
    else:
        return StatementSummary(kind=" ".join(kind_words[:2]), name=None)

    for clause in (["IF", "NOT", "EXISTS"], ["IF", "EXISTS"]):
        if words[position : position + len(clause)] == clause:
            position += len(clause)
            break
    return StatementSummary(kind=" ".join(kind_words), name=_qualified_name(tokens, position))


def secret_literals(statement: str) -> list[str]:
    """Return the string literals of a statement that hold secrets, in every form a message may quote.

    These are the values of ``AUTH_KEY`` (remote UDF registration) and of any
    ``password``/``sasl_password`` setting (external streams). Each value comes
    unescaped and as SQL spells it (``it''s`` and ``it\\'s`` for ``it's``), because
    Proton's error messages quote the statement text, longest form first.
    """
    try:
        tokens = _tokenize(statement, "<statement>")
    except ProtonError:
        return []
    forms: set[str] = set()
    for token in _secret_tokens(tokens):
        if token.text:
            forms.add(token.text)
            forms.add(token.text.replace("'", "''"))
            forms.add(token.text.replace("\\", "\\\\").replace("'", "\\'"))
            forms.add(statement[token.start : token.end + 1])
    return sorted(forms, key=len, reverse=True)


def redact_text(text: str) -> str:
    """Return a log message with the secrets of any statement in it replaced by ``'***'``.

    Text that names no secret-bearing keyword comes back unchanged. Text that does, but
    cannot be tokenized, is hidden whole, because its secret cannot be located.
    """
    lowered = text.lower()
    if not any(word in lowered for word in _SECRET_WORDS):
        return text
    try:
        tokens = _tokenize(text, "<log message>")
    except ProtonError:
        return "<text hidden because it may hold a secret>"
    # Prose around a statement can pair its apostrophes with the statement's quotes, so the
    # pattern pass catches what the token pass then misses.
    return _redact_patterns(_replace_secrets(text, tokens))


def redact_statement(statement: str) -> str:
    """Return the statement with secret string literals replaced by ``'***'``, for DEBUG logs."""
    try:
        tokens = _tokenize(statement, "<statement>")
    except ProtonError:
        return "<statement that could not be tokenized>"

    return _replace_secrets(statement, tokens)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Return text with every non-empty secret replaced by ``***``, and every literal that looks secret.

    Proton quotes at most a window of a failed statement, which can end inside a key, so
    literals after a secret keyword are replaced even when they are cut off.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _redact_patterns(text)


# A literal after a keyword or setting that names a secret, closed or cut off by the end of a message.
_SECRET_LITERAL = re.compile(
    r"""(?ix)
    \b(?P<keyword>
        auth_key | password | identified(?:\s+with\s+\w+)?\s+by
        | \w*(?:password|secret|credentials?|token)\w* \s*=
        | \w*_key \s*=
    )
    (?P<space>\s*)
    (?: '(?:[^'\\]|\\.|'')*(?:'|$) | [0-9][0-9A-Za-z_.+-]* )
    """,
)
# The password of a URL's user information, as in http://user:password@host.
_URL_PASSWORD = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@']*):[^@\s']*@")


def _redact_patterns(text: str) -> str:
    text = _SECRET_LITERAL.sub(lambda match: match.group("keyword") + match.group("space") + _REDACTED, text)
    return _URL_PASSWORD.sub(lambda match: match.group(1) + ":***@", text)


def _replace_secrets(text: str, tokens: Sequence[Token]) -> str:
    redacted = text
    # Replace from the end so that earlier offsets stay valid.
    for token in sorted(_secret_tokens(tokens), key=lambda item: item.start, reverse=True):
        redacted = redacted[: token.start] + _REDACTED + redacted[token.end + 1 :]
    return redacted


def _secret_tokens(tokens: Sequence[Token]) -> list[Token]:
    """Return the literals that hold secrets: keys, passwords, credentials and URLs with a password."""
    found: list[Token] = []
    identified = False
    for index, token in enumerate(tokens):
        word = token.text.lower()
        identified = identified or (token.token_type != TokenType.STRING and word == "identified")
        if token.token_type not in (TokenType.STRING, TokenType.NUMBER) or index == 0:
            continue
        previous = tokens[index - 1].text.lower()
        if previous in ("auth_key", "password") or (previous == "by" and identified):
            found.append(token)
        elif previous == "=" and index >= 2 and _is_secret_setting(tokens[index - 2].text):
            found.append(token)
        elif token.token_type == TokenType.STRING and _URL_PASSWORD.search(token.text):
            found.append(token)
    return found


def _is_secret_setting(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith("_key") or any(part in lowered for part in ("password", "secret", "credential", "token"))


def _qualified_name(tokens: Sequence[Token], position: int) -> str | None:
    if position >= len(tokens):
        return None
    parts = [tokens[position].text]
    while position + 2 < len(tokens) and tokens[position + 1].token_type == TokenType.DOT:
        parts.append(tokens[position + 2].text)
        position += 2
    return ".".join(parts)


def _tokenize(script: str, source: str) -> list[Token]:
    try:
        return list(Dialect.get_or_raise(_TOKENIZER_DIALECT).tokenize(script))
    except TokenError as error:
        # The message of TokenError quotes the script around the fault, which may contain secrets.
        raise ProtonError(
            f"Cannot split SQL from {source!r}: the tokenizer failed ({type(error).__name__}). "
            "Check for an unclosed string literal, quoted identifier or /* comment."
        ) from None
