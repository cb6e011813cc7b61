"""The ``pyproton-ml`` command line, run in-process through click's CliRunner."""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import click
from click.testing import CliRunner
from click.testing import Result

from pyproton_ml.cli import main
from pyproton_ml.models import Argument
from pyproton_ml.models import save_model
from pyproton_ml.models import train_classifier

REPOSITORY = Path(__file__).resolve().parent.parent
KEY = "cli-test-key-0123456789"

COMMANDS = [
    [],
    ["demo"],
    ["serve"],
    ["register"],
    ["apply"],
    ["stream-events"],
    ["example"],
    ["example", "generate"],
    ["example", "data"],
    ["example", "train"],
]

ARGUMENTS = [Argument("amount", "float64"), Argument("card_txn_count_10m", "uint64")]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep settings of the developer's shell out of every command."""
    for name in list(os.environ):
        if name.startswith("PYPROTON_ML_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-01", periods=200, freq="min"),
            "amount": rng.gamma(2.0, 50.0, 200),
            "card_txn_count_10m": rng.integers(0, 10, 200).astype("uint64"),
        }
    )
    frame["is_fraud"] = (frame["amount"] > 150).astype(int)
    directory = tmp_path_factory.mktemp("models")
    trained = train_classifier(frame, [argument.name for argument in ARGUMENTS], "is_fraud", "ts")
    save_model(trained.pipeline, trained.to_metadata("fraud", "1", "fraud_score", ARGUMENTS), directory)
    save_model(trained.pipeline, trained.to_metadata("other", "1", "other_score", ARGUMENTS), directory)
    return directory


@pytest.fixture()
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is bound but not listening, so every connection is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


def run(*arguments: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(arguments), env=env)


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def assert_one_line_error(result: Result, exit_code: int, *fragments: str) -> str:
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command) or "main")
def test_cli_help(command: list[str]) -> None:
    result = run(*command, "--help")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: main {' '.join(command)}".rstrip() + " [OPTIONS]")
    assert "-h, --help" in result.stdout


@pytest.mark.parametrize("command", COMMANDS[1:], ids=lambda command: " ".join(command))
def test_cli_short_help_option(command: list[str]) -> None:
    assert run(*command, "-h").stdout == run(*command, "--help").stdout


def _options(command: click.Command, path: str = "pyproton-ml") -> Iterator[tuple[str, click.Option]]:
    for parameter in command.params:
        if isinstance(parameter, click.Option):
            yield path, parameter
    if isinstance(command, click.Group):
        for name, subcommand in command.commands.items():
            yield from _options(subcommand, f"{path} {name}")


@pytest.mark.parametrize(
    ("path", "parameter"),
    [(path, parameter) for path, parameter in _options(main) if parameter.name not in ("help", "version")],
    ids=lambda value: value if isinstance(value, str) else value.opts[-1],
)
def test_cli_option_names_its_variable(path: str, parameter: click.Option) -> None:
    """The README promises that every option can be set from the environment and that --help names the variable."""
    assert isinstance(parameter.envvar, str), f"{path} {parameter.opts[-1]} has no environment variable"
    assert parameter.envvar.startswith("PYPROTON_ML_")
    assert parameter.show_envvar


def test_cli_no_auth_from_environment(models_dir: Path) -> None:
    """PYPROTON_ML_NO_AUTH reaches serve through click; an invalid value names the variable's option."""
    result = run("serve", "--models", str(models_dir), env={"PYPROTON_ML_NO_AUTH": "maybe"})

    assert_one_line_error(result, 2, "--no-auth", "maybe")


def test_cli_version() -> None:
    result = run("--version")

    assert result.exit_code == 0
    assert re.fullmatch(r"pyproton-ml, version \S+\n", result.stdout)


@pytest.mark.parametrize(
    ("arguments", "fragments"),
    [
        (["demo", "--events", "x.csv"], ["--events needs --merchants and --labels"]),
        (["demo", "--events", "x.csv", "--merchants", "m.csv"], ["--events needs --merchants and --labels"]),
        (["demo", "--public-dataset", "--events", "x.csv"], ["either --public-dataset or --events"]),
        (["demo", "--merchants", "m.csv"], ["--merchants and --labels go with --events"]),
        (["stream-events", "--public-dataset", "--events", "x.csv"], ["either --public-dataset or --events"]),
        (["demo", "--public-dataset", "--merchants", "m.csv"], ["either --public-dataset or --events"]),
        (["stream-events", "--public-dataset", "--labels", "l.csv"], ["either --public-dataset or --events"]),
        (["example", "train", "--labels", "l.csv"], ["--merchants and --labels go with --events"]),
        (["demo", "--block-size", "0"], ["--block-size", "0"]),
        (["demo", "--block-size", "65410"], ["--block-size", "65410"]),
        (["register", "--url", "http://udf:8000", "--execution-timeout-ms", "0"], ["--execution-timeout-ms", "0"]),
        (["register"], ["--url"]),
        (["serve", "--port", "70000"], ["--port", "70000"]),
        (["example", "data"], ["--out"]),
        (["example", "data", "--out", "x", "--format", "json"], ["--format", "json"]),
        (["stream-events", "--count", "0"], ["--count", "0"]),
    ],
)
def test_cli_usage_error(arguments: list[str], fragments: list[str]) -> None:
    result = run(*arguments)

    assert_one_line_error(result, 2, *fragments)
    assert "Usage: main" in result.stderr


def test_cli_events_file_missing(tmp_path: Path) -> None:
    missing = tmp_path / "payments.csv"
    result = run("example", "train", "--events", str(missing), "--merchants", str(missing), "--labels", str(missing))

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert str(missing) in result.stderr


def test_register_unknown_function(models_dir: Path) -> None:
    result = run("register", "--models", str(models_dir), "--url", "http://udf:8000", "--function", "no_such")

    line = assert_one_line_error(result, 2, "--function", "'no_such'")
    assert "found: fraud_score, other_score" in line


def test_register_no_models(tmp_path: Path) -> None:
    result = run("register", "--models", str(tmp_path), "--url", "http://udf:8000", "--print-sql")

    assert_one_line_error(result, 1, "No models found", repr(str(tmp_path)))


def test_register_without_key(models_dir: Path) -> None:
    result = run("register", "--models", str(models_dir), "--url", "http://udf:8000")

    assert_one_line_error(result, 1, "PYPROTON_ML_AUTH_KEY", "--auth-key-file")


def test_register_print_sql_masks_key(models_dir: Path) -> None:
    result = run(
        "register", "--models", str(models_dir), "--url", "http://udf:8000/", "--print-sql",
        env={"PYPROTON_ML_AUTH_KEY": KEY},
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert KEY not in result.output
    statements = [statement.strip() for statement in result.stdout.split(";") if statement.strip()]
    assert len(statements) == 2
    assert statements[0].splitlines() == [
        "CREATE OR REPLACE REMOTE FUNCTION fraud_score(amount float64, card_txn_count_10m uint64)",
        "RETURNS float64",
        "URL 'http://udf:8000/udf/fraud_score'",
        "AUTH_METHOD 'auth_header' AUTH_HEADER 'X-API-Key' AUTH_KEY '********'",
        "EXECUTION_TIMEOUT 10000",
    ]
    assert statements[1].startswith("CREATE OR REPLACE REMOTE FUNCTION other_score(")


def test_register_print_sql_one_function(models_dir: Path) -> None:
    result = run(
        "register", "--models", str(models_dir), "--url", "http://udf:8000", "--print-sql",
        "--function", "other_score", "--auth-header", "X-Token", "--execution-timeout-ms", "2500",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "fraud_score" not in result.stdout
    assert "AUTH_HEADER 'X-Token' AUTH_KEY '********'" in result.stdout
    assert "EXECUTION_TIMEOUT 2500;" in result.stdout


@pytest.mark.parametrize("url", ["ftp://udf:8000", "http://[::1"])
def test_register_invalid_url(models_dir: Path, url: str) -> None:
    result = run("register", "--models", str(models_dir), "--url", url, "--print-sql")

    assert_one_line_error(result, 1, f"Invalid UDF URL '{url}/udf/")


def test_register_closed_port(models_dir: Path, closed_port: int) -> None:
    env = {"PYPROTON_ML_PROTON_HOST": "127.0.0.1", "PYPROTON_ML_PROTON_PORT": str(closed_port), "PYPROTON_ML_AUTH_KEY": KEY}

    result = run("register", "--models", str(models_dir), "--url", "http://udf:8000", env=env)

    assert_one_line_error(result, 1, f"127.0.0.1:{closed_port}", "unreachable")
    assert KEY not in result.output


def test_apply_missing_sql_dir(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_folder"

    result = run("apply", "--sql-dir", str(missing))

    assert_one_line_error(result, 2, "--sql-dir", str(missing), "does not exist")


def test_apply_closed_port(closed_port: int) -> None:
    env = {"PYPROTON_ML_PROTON_HOST": "127.0.0.1", "PYPROTON_ML_PROTON_PORT": str(closed_port)}

    result = run("apply", "--sql-dir", str(REPOSITORY / "sql"), env=env)

    assert_one_line_error(result, 1, f"127.0.0.1:{closed_port}", "unreachable", "statement 1/")


def test_apply_closed_port_option(closed_port: int) -> None:
    result = run("apply", "--sql-dir", str(REPOSITORY / "sql"), "--proton-host", "127.0.0.1", "--proton-port", str(closed_port))

    assert_one_line_error(result, 1, f"127.0.0.1:{closed_port}", "unreachable")


def test_apply_invalid_port_variable() -> None:
    result = run("apply", "--sql-dir", str(REPOSITORY / "sql"), env={"PYPROTON_ML_PROTON_PORT": "99999"})

    assert_one_line_error(result, 2, "--proton-port", "99999")


def test_stream_events_closed_port(closed_port: int) -> None:
    env = {"PYPROTON_ML_PROTON_HOST": "127.0.0.1", "PYPROTON_ML_PROTON_PORT": str(closed_port)}

    result = run("stream-events", "--count", "5", env=env)

    assert_one_line_error(result, 1, f"127.0.0.1:{closed_port}", "unreachable")


def test_serve_without_key(models_dir: Path) -> None:
    result = run("serve", "--models", str(models_dir), "--port", "0")

    assert_one_line_error(result, 1, "no key is set", "--no-auth")


@pytest.mark.parametrize(
    ("arguments", "env", "expected"),
    [
        ([], {}, 10),
        (["--read-timeout", "5"], {}, 5),
        ([], {"PYPROTON_ML_READ_TIMEOUT": "7"}, 7),
    ],
)
def test_serve_read_timeout_reaches_config(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], env: dict[str, str], expected: int
) -> None:
    from pyproton_ml.serving import server

    started = []
    monkeypatch.setattr(server, "serve", started.append)
    result = run("serve", "--models", str(models_dir), *arguments, env={"PYPROTON_ML_AUTH_KEY": KEY, **env})

    assert result.exit_code == 0, result.output
    assert [config.read_timeout for config in started] == [expected]


@pytest.mark.parametrize(
    ("arguments", "env"),
    [
        (["serve"], {"PYPROTON_ML_READ_TIMEOUT": "5_0"}),
        (["serve"], {"PYPROTON_ML_READ_TIMEOUT": "\u0665"}),
        (["serve", "--port", "8_000"], {}),
        (["demo", "--block-size", "\u0665\u0660\u0660"], {}),
    ],
    ids=["underscore-env", "arabic-indic-env", "underscore-option", "arabic-indic-option"],
)
def test_cli_integers_ascii_only(models_dir: Path, arguments: list[str], env: dict[str, str]) -> None:
    """click's int() reads '5_0' as 50 and Arabic-Indic digits; the settings parsers do not, so neither does the CLI."""
    result = run(*arguments, "--models" if arguments[0] == "serve" else "--seed", str(models_dir) if arguments[0] == "serve" else "7", env=env)

    assert_one_line_error(result, 2, "is not a whole number written in ASCII digits")


@pytest.mark.parametrize(("value", "disabled"), [("t", True), ("y", True), ("f", False), ("n", False)])
def test_no_auth_words_match_click(models_dir: Path, monkeypatch: pytest.MonkeyPatch, value: str, disabled: bool) -> None:
    from pyproton_ml.serving import server

    started = []
    monkeypatch.setattr(server, "serve", started.append)
    result = run("serve", "--models", str(models_dir), env={"PYPROTON_ML_NO_AUTH": value, "PYPROTON_ML_AUTH_KEY": KEY})

    assert result.exit_code == 0, result.output
    assert [config.auth_enabled for config in started] == [not disabled]


def test_example_generate_check_committed() -> None:
    result = run("example", "generate", "--check", "--sql-dir", str(REPOSITORY / "sql"), "--dashboards-dir", str(REPOSITORY / "dashboards"))

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{REPOSITORY / 'sql'} and {REPOSITORY / 'dashboards'} are up to date.\n"


@pytest.fixture()
def generated_copy(tmp_path: Path) -> tuple[Path, Path]:
    sql_dir = tmp_path / "sql"
    dashboards_dir = tmp_path / "dashboards"
    shutil.copytree(REPOSITORY / "sql", sql_dir)
    shutil.copytree(REPOSITORY / "dashboards", dashboards_dir)
    return sql_dir, dashboards_dir


def check_copy(sql_dir: Path, dashboards_dir: Path) -> Result:
    return run("example", "generate", "--check", "--sql-dir", str(sql_dir), "--dashboards-dir", str(dashboards_dir))


def test_example_generate_check_copy(generated_copy: tuple[Path, Path]) -> None:
    assert check_copy(*generated_copy).exit_code == 0


def test_example_generate_check_changed_sql(generated_copy: tuple[Path, Path]) -> None:
    sql_dir, dashboards_dir = generated_copy
    changed = sorted(sql_dir.glob("*.sql"))[0]
    changed.write_text(changed.read_text() + "\n-- edited by hand\n")

    result = check_copy(sql_dir, dashboards_dir)

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"out of date, missing or not generated: {changed}"]


def test_example_generate_check_changed_dashboard(generated_copy: tuple[Path, Path]) -> None:
    sql_dir, dashboards_dir = generated_copy
    changed = sorted(dashboards_dir.rglob("*.json"))[0]
    changed.write_text(changed.read_text().replace('"', "'", 1))

    result = check_copy(sql_dir, dashboards_dir)

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"out of date, missing or not generated: {changed}"]


def test_example_generate_check_missing_and_extra(generated_copy: tuple[Path, Path]) -> None:
    sql_dir, dashboards_dir = generated_copy
    removed = sorted(sql_dir.glob("*.sql"))[-1]
    removed.unlink()
    extra = dashboards_dir / "left_over.json"
    extra.write_text("{}")

    result = check_copy(sql_dir, dashboards_dir)

    assert result.exit_code == 1
    assert f"out of date, missing or not generated: {removed}" in result.stdout.splitlines()
    assert f"out of date, missing or not generated: {extra}" in result.stdout.splitlines()


def test_example_generate_writes(tmp_path: Path) -> None:
    sql_dir = tmp_path / "sql"
    dashboards_dir = tmp_path / "dashboards"

    written = run("example", "generate", "--sql-dir", str(sql_dir), "--dashboards-dir", str(dashboards_dir))
    checked = check_copy(sql_dir, dashboards_dir)

    assert written.exit_code == 0, written.output
    assert all(line.startswith("wrote ") for line in written.stdout.splitlines())
    assert checked.exit_code == 0, checked.output
    for committed in (REPOSITORY / "sql").glob("*.sql"):
        assert (sql_dir / committed.name).read_text() == committed.read_text()


@pytest.mark.parametrize(
    "arguments",
    [
        ["example", "data", "--out", "/proc/pyproton-ml-test/data"],
        ["example", "generate", "--sql-dir", "/proc/pyproton-ml-test/sql", "--dashboards-dir", "/proc/pyproton-ml-test/dash"],
    ],
    ids=["example-data", "example-generate"],
)
def test_cli_unwritable_folder(arguments: list[str]) -> None:
    result = run(*arguments)

    assert_one_line_error(result, 1, "Cannot access '/proc/pyproton-ml-test", "Check that the path exists")


def test_example_data_writes_paths(tmp_path: Path) -> None:
    result = run("example", "data", "--out", str(tmp_path), "--seed", "3")

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"wrote {tmp_path / name}.csv" for name in ("payments", "merchants", "labels")]
    assert all((tmp_path / f"{name}.csv").is_file() for name in ("payments", "merchants", "labels"))


def test_demo_embedded_max_block(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    models = tmp_path / "models"
    assert run("example", "data", "--out", str(data_dir), "--seed", "5").exit_code == 0

    result = run(
        "demo", "--models-dir", str(models), "--block-size", "65409",
        "--events", str(data_dir / "payments.csv"),
        "--merchants", str(data_dir / "merchants.csv"),
        "--labels", str(data_dir / "labels.csv"),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    scored = re.search(r"scored over HTTP\s+(\d+) rows in (\d+) requests? of up to 65409 rows", result.stdout)
    assert scored is not None, result.stdout
    assert int(scored.group(1)) > 0
    assert int(scored.group(2)) == 1
    assert "max score difference 0.00e+00" in result.stdout
    assert re.search(r"test range\s+\d+ rows, fraud rate \d+\.\d\d%", result.stdout), result.stdout
    assert (models / "fraud_score" / "1" / "model.joblib").is_file()
    # CliRunner's stderr is no terminal, so progress arrives as lines, the last one at 100 %.
    assert re.search(rf"Scoring: {scored.group(1)}/{scored.group(1)} \(100 %\)", result.stderr), result.stderr
    assert "replacing" not in result.stderr, "a first run replaces nothing"
