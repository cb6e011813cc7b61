"""A stand-in for Proton's native TCP port that rejects every query and quotes it back.

Proton's syntax errors quote the statement text, so a client that leaks a secret
into an error message or a log shows it here. The server speaks just enough of
the native protocol that proton-driver 0.3.0 uses (ClickHouse lineage):

- it replies to the client's Hello with a server Hello at a revision (54000) below
  the one that adds a time zone field;
- it reads the Query packet and replies with one Exception packet (type 2):
  Int32 code, then the name, message and stack trace as length-prefixed strings,
  then a UInt8 flag for a nested exception.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SERVER_REVISION = 54000
SYNTAX_ERROR_CODE = 62
QUOTED_CHARACTERS = 160
_STATEMENT_STARTS = (b"CREATE", b"SELECT", b"INSERT", b"DROP", b"ALTER")


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while True:
        low_bits = value & 0x7F
        value >>= 7
        encoded.append(low_bits | (0x80 if value else 0))
        if not value:
            return bytes(encoded)


def _string(text: str) -> bytes:
    data = text.encode()
    return _varint(len(data)) + data


def _read_statement(connection: socket.socket) -> str:
    """Read the Query packet and return its statement text.

    Once the statement has begun to arrive, the rest of the packet follows at once,
    so a short quiet period ends the read.
    """
    received = b""
    while True:
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        received += chunk
        if any(word in received for word in _STATEMENT_STARTS):
            connection.settimeout(0.2)
    starts = [received.find(word) for word in _STATEMENT_STARTS if word in received]
    if not starts:
        return ""
    # After the statement come the compression flag and an empty Data block, which begins
    # with the packet type byte 2; no statement sent here contains that byte.
    return received[min(starts) :].split(b"\x02")[0].decode("utf-8", "replace")


def _error_message(statement: str, fail_at: str | None) -> str:
    """Quote the statement as a syntax error does: whole, or a window from the failing word.

    ClickHouse-lineage servers quote at most SHOW_CHARS_ON_SYNTAX_ERROR (160) characters
    from the failing token and append '...' when they cut, so a key can be cut in two.
    """
    if fail_at is None or fail_at not in statement:
        return f"Syntax error: failed at position 1 ('{statement}'): {statement}. Expected one of: REMOTE"
    position = statement.index(fail_at)
    window = statement[position : position + QUOTED_CHARACTERS]
    cut = "..." if position + QUOTED_CHARACTERS < len(statement) else ""
    return f"Syntax error: failed at position {position + 1} ('{fail_at}'): {window}{cut}. Expected one of: REMOTE"


def _serve_one(connection: socket.socket, statements: list[str], fail_at: str | None) -> None:
    with connection:
        connection.settimeout(5)
        connection.recv(65536)
        connection.sendall(_varint(0) + _string("proton-stand-in") + _varint(3) + _varint(0) + _varint(SERVER_REVISION))
        statement = _read_statement(connection)
        statements.append(statement)
        message = _error_message(statement, fail_at)
        packet = _varint(2) + struct.pack("<i", SYNTAX_ERROR_CODE) + _string("DB::Exception") + _string(message)
        connection.sendall(packet + _string("") + b"\x00")


@contextmanager
def proton_error_server(fail_at: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """Run the server on 127.0.0.1 and yield its port and the statements it received.

    With ``fail_at``, errors quote a 160-character window that starts at that word.
    """
    statements: list[str] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stopping = threading.Event()

    def accept_loop() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            _serve_one(connection, statements, fail_at)

    thread = threading.Thread(target=accept_loop, name="proton-error-server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], statements
    finally:
        stopping.set()
        thread.join(timeout=5)
        listener.close()
